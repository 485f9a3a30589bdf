//! Anthropic Messages API, streaming (<https://docs.anthropic.com/en/api/messages-streaming>).
//!
//! The system prompt travels in its own `system` field, not as a message. Usage comes in two parts:
//! `message_start` has the input tokens, the final `message_delta` the cumulative output (and, after
//! server-side tool use, updated input) tokens.

use serde::Deserialize;
use serde_json::json;

use crate::llm::{FinishReason, LlmEvent, LlmRequest, Role, TokenUsage};
use crate::provider::{SseMapper, SseStream};
use crate::sse::SseEvent;

/// The `anthropic-version` header value this parser speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The JSON body of a streaming `POST {base}/v1/messages`.
pub fn request_body(req: &LlmRequest) -> serde_json::Value {
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let messages: Vec<serde_json::Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({ "role": m.role, "content": m.content }))
        .collect();
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "stream": true,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    body
}

/// `{base}/v1/messages`, with the base like the official SDKs' `https://api.anthropic.com`.
pub fn endpoint(base_url: &str) -> String {
    format!("{}/v1/messages", base_url.trim_end_matches('/'))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockDelta {
        delta: Delta,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    Error {
        error: WireError,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: String },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Maps Anthropic events; keeps `message_start`'s usage until the final `message_delta` completes it.
#[derive(Debug, Default)]
pub struct AnthropicEvents {
    start_usage: WireUsage,
}

/// Feed it raw body bytes, get normalized events.
pub type AnthropicStream = SseStream<AnthropicEvents>;

impl SseMapper for AnthropicEvents {
    fn map(&mut self, ev: &SseEvent, out: &mut Vec<LlmEvent>) {
        match serde_json::from_str::<Event>(&ev.data) {
            Ok(Event::MessageStart { message }) => self.start_usage = message.usage.unwrap_or_default(),
            Ok(Event::ContentBlockDelta {
                delta: Delta::Text { text },
            }) if !text.is_empty() => out.push(LlmEvent::Text(text)),
            Ok(Event::ContentBlockDelta {
                delta: Delta::Thinking { thinking },
            }) if !thinking.is_empty() => out.push(LlmEvent::Reasoning(thinking)),
            Ok(Event::MessageDelta { delta, usage }) => {
                if let Some(reason) = delta.stop_reason {
                    out.push(LlmEvent::Finish(FinishReason::from_provider(&reason)));
                }
                if let Some(u) = usage {
                    let start = self.start_usage;
                    let field = |f: fn(&WireUsage) -> Option<u64>| f(&u).or(f(&start)).unwrap_or(0);
                    let cached = field(|w| w.cache_read_input_tokens);
                    // Anthropic's input_tokens leaves out cache reads and writes; ours includes them.
                    let input = field(|w| w.input_tokens) + cached + field(|w| w.cache_creation_input_tokens);
                    out.push(LlmEvent::Usage(TokenUsage {
                        input_tokens: input,
                        output_tokens: field(|w| w.output_tokens),
                        reasoning_tokens: 0,
                        cached_input_tokens: cached,
                    }));
                }
            }
            Ok(Event::Error { error }) => out.push(LlmEvent::Error {
                code: error.kind,
                message: error
                    .message
                    .unwrap_or_else(|| "provider reported an error".into()),
            }),
            Ok(_) => {} // ping, content_block_start/stop, message_stop, tool input deltas
            Err(e) => out.push(LlmEvent::Error {
                code: Some("malformed_stream".into()),
                message: format!("unparseable stream event: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    #[test]
    fn the_system_prompt_travels_separately() {
        let body = request_body(&LlmRequest {
            model: "claude-x".into(),
            messages: vec![Message::new(Role::System, "rules"), Message::new(Role::User, "q")],
            temperature: 0.2,
            max_tokens: 100,
        });
        assert_eq!(body["system"], "rules");
        assert_eq!(body["messages"], json!([{ "role": "user", "content": "q" }]));
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["stream"], true);
        assert_eq!(
            endpoint("https://api.anthropic.com/"),
            "https://api.anthropic.com/v1/messages"
        );
    }
}
