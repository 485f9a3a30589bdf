//! One question to answer, with everything answering it needs.

use datasage_shared::pricing::PriceTable;
use datasage_shared::prompt::Turn;

use crate::budget::Allowance;
use crate::config::Routing;
use crate::datasets::Dataset;
use crate::providers::Provider;

/// One question to answer.
pub struct Job {
    pub user_id: String,
    pub session_id: String,
    pub question: String,
    /// Replaces the session's exchanges from this one on (regenerate, edit and resend).
    pub rewind_to: Option<u32>,
    pub dataset: Dataset,
    /// The LLM providers to route across, in order; empty means the built-in analyst answers.
    pub providers: Vec<Provider>,
    /// Whether the built-in analyst answers when every provider failed.
    pub builtin_fallback: bool,
    pub routing: Routing,
    pub env: worker::Env,
    /// Earlier exchanges of the session, oldest first (loaded only for LLM providers).
    pub history: Vec<Turn>,
    pub prices: PriceTable,
    pub builtin_chunk_delay_ms: u64,
    /// The most bytes of one stored answer (text and metadata).
    pub max_stored_bytes: usize,
    /// Fault injection: panic once the answer has started (tests the guard in `worker/guard.mjs`).
    pub inject_panic: bool,
    /// The user's monthly budget, which each provider call holds its most against; `None` without one.
    pub allowance: Option<Allowance>,
    /// What the answer says first about the budget: 80 % used, or spent (the built-in analyst answers).
    pub budget_note: Option<String>,
}
