//! Provider protocols as pure code: request bodies and stateful stream parsers, one module per protocol.
//! The worker does the HTTP; everything that knows a provider's byte format lives here, tested natively.

pub mod anthropic;
pub mod openai;

use serde_json::Value;

use crate::llm::LlmEvent;
use crate::sse::{SseEvent, SseParser};
use crate::text::excerpt;

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

/// Reads an error body in OpenAI's, OpenRouter's or Anthropic's shape; anything else is kept as text.
pub fn http_error(body: &str) -> HttpError {
    let Some(err) = serde_json::from_str::<Value>(body)
        .ok()
        .map(|v| v["error"].clone())
        .filter(Value::is_object)
    else {
        return HttpError {
            message: excerpt(body.trim(), 300),
            code: None,
            kind: None,
        };
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut message = text(&err["message"]).unwrap_or_else(|| "the provider reported an error".into());
    if let Some(raw) = err["metadata"]["raw"].as_str() {
        let upstream = err["metadata"]["provider_name"]
            .as_str()
            .map_or(String::new(), |p| format!("{p}: "));
        message = format!("{message} ({upstream}{})", excerpt(raw, 300));
    }
    HttpError {
        message,
        code: text(&err["code"]),
        kind: text(&err["type"]),
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

    fn map(&mut self, events: impl IntoIterator<Item = SseEvent>) -> Vec<LlmEvent> {
        let mut out = Vec::new();
        for ev in events.into_iter().filter(|ev| !ev.data.trim().is_empty()) {
            self.mapper.map(&ev, &mut out);
        }
        out
    }
}

impl<M: SseMapper> StreamParser for SseStream<M> {
    fn push(&mut self, bytes: &[u8]) -> Vec<LlmEvent> {
        let events = self.sse.push(bytes);
        self.map(events)
    }

    fn finish(&mut self) -> Vec<LlmEvent> {
        let last = self.sse.finish();
        self.map(last)
    }
}
