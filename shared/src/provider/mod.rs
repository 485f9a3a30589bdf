//! Provider protocols as pure code: request bodies and stateful stream parsers, one module per protocol.
//! The worker does the HTTP; everything that knows a provider's byte format lives here, tested natively.

pub mod anthropic;
pub mod openai;

use crate::llm::LlmEvent;

/// A stateful parser turning one provider's streamed body bytes into normalized events. Bytes may be
/// split anywhere; the parser buffers what it cannot use yet.
pub trait StreamParser {
    /// Feeds the next chunk of body bytes.
    fn push(&mut self, bytes: &[u8]) -> Vec<LlmEvent>;
    /// Ends the body, returning what its last unterminated event held.
    fn finish(&mut self) -> Vec<LlmEvent>;
}
