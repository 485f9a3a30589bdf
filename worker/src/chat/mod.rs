//! Answering one question: the two answer paths — the built-in analyst and an LLM provider — writing to
//! the same [`Emitter`], so streaming and non-streaming clients get the same answer and the same log.
//!
//! `job` is the question and what answering needs; `emitter` the tree, the listeners and the stop token;
//! `builtin` and `llm` the two paths; `route` routes one model call across providers, `attempt` makes one
//! call on one provider; `sql` runs one query.

mod attempt;
mod builtin;
mod emitter;
mod job;
mod llm;
mod route;
mod sql;

use datasage_shared::api::{ChatAnswer, ErrorBody, ErrorCode, Phase, StoredAnswer};
use datasage_shared::budget::too_little_note;
use datasage_shared::tokens;
use datasage_shared::usage::CostEstimate;

use crate::config::Config;
use crate::datasets::Dataset;
use crate::db::{AnswerLog, CallLog, Reply};
pub use emitter::{Cancel, Emitter, Subscribers};
pub use job::Job;

/// What a question about `dataset` may cost as configured: the first provider's prices (the most
/// expensive known for an unpriced model) and the prompt before the question; nothing from the built-in
/// analyst. The app turns it into a range for the question being typed (`CostEstimate::range`).
pub fn cost_estimate(config: &Config, dataset: &Dataset) -> CostEstimate {
    let Some(p) = config.providers.first() else {
        return CostEstimate {
            provider: builtin::PROVIDER.into(),
            model: builtin::MODEL.into(),
            input_per_m: 0.0,
            output_per_m: 0.0,
            unpriced: false,
            prompt_tokens: 0,
            max_output_tokens: 0,
        };
    };
    let price = config.prices.price(&p.model);
    let charged = price.unwrap_or_else(|| config.prices.ceiling());
    let prompt = llm::prompt_messages(dataset, &[], "");
    CostEstimate {
        provider: p.name.into(),
        model: p.model.clone(),
        input_per_m: charged.input,
        output_per_m: charged.output,
        unpriced: price.is_none(),
        prompt_tokens: prompt
            .iter()
            .map(|m| tokens::estimate(&m.content) as u64 + 8)
            .sum(),
        max_output_tokens: u64::from(attempt::MAX_TOKENS),
    }
}

/// Answers the question, streaming through `em`, and returns the result and what to store.
pub async fn run(job: Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, AnswerLog) {
    em.status(Phase::Analyzing, "Analyzing query…");
    if let Some(note) = &job.budget_note {
        em.status(Phase::Budget, note.clone());
    }
    if job.inject_panic {
        panic!("injected fault: a panic mid-answer");
    }
    let (mut result, calls) = answer(&job, em).await;
    em.close(&mut result);
    // Everything but the text, the execution tree included, so a reload restores the answer whole — or,
    // past what a row may hold, a shortened copy, which the person is told of before the answer ends.
    let answer = reply(&result, &job, em);
    em.end(&result);
    let log = AnswerLog {
        user_id: job.user_id,
        session_id: job.session_id,
        question: job.question,
        dataset: job.dataset.reference(),
        answer,
        calls,
        rewind_to: job.rewind_to,
    };
    (result, log)
}

/// The providers' answer or, when none could give one (every provider failed, or the budget left none
/// to call), the built-in analyst's where it may answer.
async fn answer(job: &Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    if job.providers.is_empty() {
        return builtin::answer(job, em).await;
    }
    let (result, mut calls) = llm::answer(job, em).await;
    let over_budget = match &result {
        Err(e) if e.code == ErrorCode::ProvidersUnavailable => false,
        Err(e) if e.code == ErrorCode::BudgetExceeded => true,
        _ => return (result, calls),
    };
    if !job.builtin_fallback || em.stopped() {
        return (result, calls);
    }
    match job.allowance.as_ref().filter(|_| over_budget) {
        Some(budget) => {
            em.discard("this month's budget cannot cover a model call; the built-in analyst answers instead");
            em.status(Phase::Budget, too_little_note(&budget.reset_at));
        }
        None => {
            em.discard("every provider failed; the built-in analyst answers instead");
            em.status(
                Phase::Analyzing,
                "No AI provider could answer — the built-in analyst answers instead…",
            );
        }
    }
    let (result, builtin_calls) = builtin::answer(job, em).await;
    calls.extend(builtin_calls);
    (result, calls)
}

/// What the answer stores: the answer (or, past what a row may hold, a shortened copy, which the person
/// is told of before the answer ends); after a stop, the text shown until then.
fn reply(result: &Result<ChatAnswer, ErrorBody>, job: &Job, em: &mut Emitter) -> Option<Reply> {
    let a = match result {
        Ok(a) => a,
        Err(e) if e.code == ErrorCode::Cancelled && !em.shown().is_empty() => {
            return Some(Reply::Stopped(em.shown().to_owned()))
        }
        Err(_) => return None,
    };
    let whole = StoredAnswer::of(a);
    Some(match whole.shortened(&a.message, job.max_stored_bytes) {
        Some((text, short)) => {
            em.status(
                Phase::Writing,
                "This answer is too long to save whole: the saved copy is shortened.",
            );
            Reply::Answered(text, Box::new(short))
        }
        None => Reply::Answered(a.message.clone(), Box::new(whole)),
    })
}
