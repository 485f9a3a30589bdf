//! The one normalized LLM stream: every provider's bytes become [`LlmEvent`]s before anything else sees them.

use serde::{Deserialize, Serialize};

use crate::words::wire_words;

/// A chat message role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

wire_words! {
    /// Why the model is called, as the call log says.
    pub enum CallType {
        /// The first call: choose queries (or answer from the profile).
        Plan = "plan",
        /// After a failed query: fix it.
        Correction = "correction",
        /// After query results: answer (or ask for more).
        Answer = "answer",
        /// After an empty reply: the same request again, insisting on an answer.
        Repair = "repair",
    }
}

wire_words! {
    /// Where a call's token counts come from.
    pub enum UsageSource {
        /// The provider reported them.
        Reported = "reported",
        /// It reported none: estimated from the text (`tokens::estimate`).
        Estimated = "estimated",
    }
}

/// What to ask a model, independent of provider.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: f32,
    pub max_tokens: u32,
}

/// Why a model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    ToolCalls,
    Other(String),
}

impl FinishReason {
    /// Maps a provider's finish/stop reason string onto the common set.
    pub fn from_provider(s: &str) -> Self {
        match s {
            "stop" | "end_turn" | "stop_sequence" => FinishReason::Stop,
            "length" | "max_tokens" => FinishReason::Length,
            "content_filter" | "refusal" => FinishReason::ContentFilter,
            "tool_calls" | "tool_use" | "function_call" => FinishReason::ToolCalls,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

/// Token usage of one call, normalized across providers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// All input tokens, cached ones included (Anthropic reports those separately; they are added here).
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// The part of `input_tokens` read from a prompt cache.
    pub cached_input_tokens: u64,
}

/// One normalized stream event.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// A piece of the answer text.
    Text(String),
    /// A piece of the model's reasoning: shown in the execution tree, never in the answer.
    Reasoning(String),
    Usage(TokenUsage),
    Finish(FinishReason),
    /// The provider reported an error inside the stream.
    Error {
        code: Option<String>,
        message: String,
    },
}

/// The text, finish reason and usage a whole stream adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    pub text: String,
    pub reasoning: String,
    pub finish: Option<FinishReason>,
    pub usage: Option<TokenUsage>,
    pub errors: Vec<String>,
}

impl Collected {
    pub fn add(&mut self, ev: LlmEvent) {
        match ev {
            LlmEvent::Text(t) => self.text.push_str(&t),
            LlmEvent::Reasoning(r) => self.reasoning.push_str(&r),
            LlmEvent::Usage(u) => self.usage = Some(u),
            LlmEvent::Finish(f) => self.finish = Some(f),
            LlmEvent::Error { message, .. } => self.errors.push(message),
        }
    }
}
