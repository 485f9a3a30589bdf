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

use crate::db::{AnswerLog, CallLog, Reply};
pub use emitter::{Cancel, Emitter, Subscribers};
pub use job::Job;

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
