//! Provider protocols as pure code: request bodies and stateful stream parsers, one module per protocol.
//! The worker does the HTTP; everything that knows a provider's byte format lives here, tested natively.

pub mod anthropic;
pub mod openai;

use serde_json::Value;

use crate::llm::{LlmEvent, LlmRequest};
use crate::sse::{SseEvent, SseParser};
use crate::text::excerpt;

/// The wire protocol a provider speaks: what its request looks like and how its stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI chat completions: OpenAI, OpenRouter and every OpenAI-compatible server.
    OpenAi,
    Anthropic,
}

/// One streaming request to a provider, ready to send. Not `Debug`: a header holds the API key.
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: String,
}

impl Protocol {
    /// The request asking `base_url` for a streamed completion of `req`, authenticated with `api_key`.
    pub fn request(self, base_url: &str, api_key: &str, req: &LlmRequest) -> HttpRequest {
        let mut headers = vec![
            ("content-type", "application/json".to_owned()),
            ("accept", "text/event-stream".to_owned()),
        ];
        let (url, body) = match self {
            Protocol::OpenAi => {
                headers.push(("authorization", format!("Bearer {api_key}")));
                (openai::endpoint(base_url), openai::request_body(req))
            }
            Protocol::Anthropic => {
                headers.push(("x-api-key", api_key.to_owned()));
                headers.push(("anthropic-version", anthropic::API_VERSION.to_owned()));
                (anthropic::endpoint(base_url), anthropic::request_body(req))
            }
        };
        HttpRequest {
            url,
            headers,
            body: body.to_string(),
        }
    }

    /// A fresh parser for one response body in this protocol.
    pub fn parser(self) -> Box<dyn StreamParser> {
        match self {
            Protocol::OpenAi => Box::new(openai::OpenAiStream::new()),
            Protocol::Anthropic => Box::new(anthropic::AnthropicStream::new()),
        }
    }
}

/// A provider's error response body, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The provider's explanation, with OpenRouter's upstream detail when it gives one.
    pub message: String,
    /// The provider's error code (`model_not_found`, `429`…), as text.
    pub code: Option<String>,
    /// The error type (`invalid_request_error`, `overloaded_error`…).
    pub kind: Option<String>,
}

/// How much of an error body is read: the worker stops reading there, so a provider's 2 MB error page
/// costs 16 KB. Every field kept from it is cut further, to [`ERROR_MESSAGE_CHARS`] and [`ERROR_CODE_CHARS`].
pub const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;
pub const ERROR_MESSAGE_CHARS: usize = 300;
pub const ERROR_CODE_CHARS: usize = 64;

/// Reads an error body in OpenAI's, OpenRouter's or Anthropic's shape; anything else is kept as text. Every
/// field is bounded, whatever the body held.
pub fn http_error(body: &str) -> HttpError {
    let Some(err) = serde_json::from_str::<Value>(body)
        .ok()
        .map(|v| v["error"].clone())
        .filter(Value::is_object)
    else {
        return HttpError {
            message: excerpt(body.trim(), ERROR_MESSAGE_CHARS),
            code: None,
            kind: None,
        };
    };
    let text = |v: &Value, max: usize| match v {
        Value::String(s) => Some(excerpt(s, max)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut message =
        text(&err["message"], ERROR_MESSAGE_CHARS).unwrap_or_else(|| "the provider reported an error".into());
    if let Some(raw) = err["metadata"]["raw"].as_str() {
        let upstream = err["metadata"]["provider_name"]
            .as_str()
            .map_or(String::new(), |p| format!("{}: ", excerpt(p, ERROR_CODE_CHARS)));
        message = format!("{message} ({upstream}{})", excerpt(raw, ERROR_MESSAGE_CHARS));
    }
    HttpError {
        message,
        code: text(&err["code"], ERROR_CODE_CHARS),
        kind: text(&err["type"], ERROR_CODE_CHARS),
    }
}

/// A stateful parser turning one provider's streamed body bytes into normalized events. Bytes may be
/// split anywhere; the parser buffers what it cannot use yet.
pub trait StreamParser {
    /// Feeds the next chunk of body bytes.
    fn push(&mut self, bytes: &[u8]) -> Vec<LlmEvent>;
    /// Ends the body, returning what its last unterminated event held.
    fn finish(&mut self) -> Vec<LlmEvent>;
}

/// A provider's mapping from one server-sent event (never blank) to normalized events.
pub trait SseMapper: Default {
    fn map(&mut self, event: &SseEvent, out: &mut Vec<LlmEvent>);
}

/// A provider stream carried over server-sent events: the framing is shared, the mapping is the provider's.
#[derive(Debug, Default)]
pub struct SseStream<M> {
    sse: SseParser,
    mapper: M,
}

impl<M: SseMapper> SseStream<M> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps events through the provider's mapper; an error a provider reports mid-stream is cut to the
    /// same bounds as an HTTP error body's, since it is logged and shown.
    fn map(&mut self, events: impl IntoIterator<Item = SseEvent>) -> Vec<LlmEvent> {
        let mut out = Vec::new();
        for ev in events.into_iter().filter(|ev| !ev.data.trim().is_empty()) {
            self.mapper.map(&ev, &mut out);
        }
        for ev in &mut out {
            if let LlmEvent::Error { code, message } = ev {
                *message = excerpt(message, ERROR_MESSAGE_CHARS);
                *code = code.as_deref().map(|c| excerpt(c, ERROR_CODE_CHARS));
            }
        }
        out
    }
}

impl<M: SseMapper> StreamParser for SseStream<M> {
    fn push(&mut self, bytes: &[u8]) -> Vec<LlmEvent> {
        match self.sse.push(bytes) {
            Ok(events) => self.map(events),
            Err(overflow) => vec![LlmEvent::Error {
                code: Some("malformed_stream".into()),
                message: overflow.to_string(),
            }],
        }
    }

    fn finish(&mut self) -> Vec<LlmEvent> {
        let last = self.sse.finish();
        self.map(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{FinishReason, Message, Role};

    fn question() -> LlmRequest {
        LlmRequest {
            model: "m-1".into(),
            messages: vec![
                Message::new(Role::System, "be brief"),
                Message::new(Role::User, "How many rows?"),
            ],
            temperature: 0.2,
            max_tokens: 100,
        }
    }

    fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn an_openai_compatible_request_streams_from_chat_completions_with_a_bearer_key() {
        let req = Protocol::OpenAi.request("https://openrouter.ai/api/v1/", "sk-1", &question());
        assert_eq!(req.url, "https://openrouter.ai/api/v1/chat/completions");
        assert_eq!(header(&req, "authorization"), Some("Bearer sk-1"));
        assert_eq!(header(&req, "accept"), Some("text/event-stream"));
        assert_eq!(header(&req, "x-api-key"), None);
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["model"], "m-1");
    }

    #[test]
    fn an_anthropic_request_carries_its_key_and_api_version_and_no_bearer_token() {
        let req = Protocol::Anthropic.request("https://api.anthropic.com", "ak-1", &question());
        assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
        assert_eq!(header(&req, "x-api-key"), Some("ak-1"));
        assert_eq!(header(&req, "anthropic-version"), Some(anthropic::API_VERSION));
        assert_eq!(header(&req, "authorization"), None);
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["system"], "be brief");
    }

    #[test]
    fn each_protocol_reads_its_own_stream_and_finishes_it() {
        let openai = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let anthropic = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n";
        for (protocol, body) in [(Protocol::OpenAi, openai), (Protocol::Anthropic, anthropic)] {
            let mut parser = protocol.parser();
            let mut events = parser.push(body.as_bytes());
            events.extend(parser.finish());
            assert!(
                events.contains(&LlmEvent::Text("Hi".into())),
                "{protocol:?}: {events:?}"
            );
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, LlmEvent::Finish(FinishReason::Stop))),
                "{protocol:?}: {events:?}"
            );
        }
    }
}
