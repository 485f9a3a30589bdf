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
