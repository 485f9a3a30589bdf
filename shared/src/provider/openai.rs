//! OpenAI chat completions, streaming (<https://platform.openai.com/docs/api-reference/chat/streaming>).
//!
//! The same wire format is spoken by OpenRouter and by OpenAI-compatible servers (Ollama, vLLM, LM Studio),
//! so this one parser serves all of them.

use serde::Deserialize;
use serde_json::json;

use crate::llm::{FinishReason, LlmEvent, LlmRequest, TokenUsage};
use crate::provider::{SseMapper, SseStream};
use crate::sse::SseEvent;

/// The JSON body of a streaming `POST {base}/chat/completions`, asking for usage in the stream.
pub fn request_body(req: &LlmRequest) -> serde_json::Value {
    json!({
        "model": req.model,
        "messages": req.messages,
        "stream": true,
        "stream_options": { "include_usage": true },
        "temperature": req.temperature,
        "max_tokens": req.max_tokens,
    })
}

/// `{base}/chat/completions`, tolerating a trailing slash on the base URL.
pub fn endpoint(base_url: &str) -> String {
    format!("{}/chat/completions", base_url.trim_end_matches('/'))
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Maps OpenAI-protocol chunks; stateless, since every chunk stands alone.
#[derive(Debug, Default)]
pub struct OpenAiEvents;

/// Feed it raw body bytes, get normalized events.
pub type OpenAiStream = SseStream<OpenAiEvents>;

impl SseMapper for OpenAiEvents {
    fn map(&mut self, ev: &SseEvent, out: &mut Vec<LlmEvent>) {
        let data = ev.data.trim();
        if data == "[DONE]" {
            return; // the end is known from the finish reason and the body's end
        }
        match serde_json::from_str::<Chunk>(data) {
            Ok(chunk) => chunk_events(chunk, out),
            Err(e) => out.push(LlmEvent::Error {
                code: Some("malformed_stream".into()),
                message: format!("unparseable stream chunk: {e}"),
            }),
        }
    }
}

fn chunk_events(chunk: Chunk, out: &mut Vec<LlmEvent>) {
    if let Some(err) = chunk.error {
        out.push(LlmEvent::Error {
            code: err.code.map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            message: err.message.unwrap_or_else(|| "provider reported an error".into()),
        });
    }
    for choice in chunk.choices {
        if let Some(delta) = choice.delta {
            if let Some(r) = delta
                .reasoning
                .or(delta.reasoning_content)
                .filter(|r| !r.is_empty())
            {
                out.push(LlmEvent::Reasoning(r));
            }
            if let Some(c) = delta.content.filter(|c| !c.is_empty()) {
                out.push(LlmEvent::Text(c));
            }
        }
        if let Some(reason) = choice.finish_reason {
            out.push(LlmEvent::Finish(FinishReason::from_provider(&reason)));
        }
    }
    if let Some(u) = chunk.usage {
        out.push(LlmEvent::Usage(TokenUsage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            reasoning_tokens: u
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            cached_input_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, Role};
    use crate::provider::StreamParser;

    #[test]
    fn the_request_asks_for_streamed_usage() {
        let body = request_body(&LlmRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![Message::new(Role::User, "hi")],
            temperature: 0.2,
            max_tokens: 512,
        });
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(
            endpoint("http://127.0.0.1:9/v1/"),
            "http://127.0.0.1:9/v1/chat/completions"
        );
    }

    #[test]
    fn an_in_stream_error_becomes_an_error_event() {
        let mut p = OpenAiStream::new();
        let evs =
            p.push(b"data: {\"error\":{\"code\":502,\"message\":\"upstream died\"},\"choices\":[]}\n\n");
        assert_eq!(
            evs,
            vec![LlmEvent::Error {
                code: Some("502".into()),
                message: "upstream died".into()
            }]
        );
    }

    #[test]
    fn garbage_in_the_stream_is_reported_not_swallowed() {
        let mut p = OpenAiStream::new();
        let evs = p.push(b"data: {not json\n\n");
        assert!(matches!(&evs[..], [LlmEvent::Error { code: Some(c), .. }] if c == "malformed_stream"));
    }

    #[test]
    fn a_huge_in_stream_error_is_cut_to_an_excerpt() {
        let mut p = OpenAiStream::new();
        let frame = format!(
            "data: {{\"error\":{{\"message\":\"{}\"}}}}\n\n",
            "e".repeat(500_000)
        );
        let evs = p.push(frame.as_bytes());
        assert!(
            matches!(&evs[..], [LlmEvent::Error { message, .. }] if message.chars().count() <= crate::provider::ERROR_MESSAGE_CHARS)
        );
    }

    #[test]
    fn a_line_that_never_ends_is_a_malformed_stream() {
        let mut p = OpenAiStream::new();
        let piece = vec![b'a'; 256 * 1024];
        let evs: Vec<LlmEvent> = (0..8).flat_map(|_| p.push(&piece)).collect();
        assert!(!evs.is_empty(), "the overflow is reported");
        assert!(
            evs.iter()
                .all(|e| matches!(e, LlmEvent::Error { code: Some(c), .. } if c == "malformed_stream")),
            "{evs:?}"
        );
    }
}
