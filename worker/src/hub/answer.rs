//! One question, whichever transport asked it: admitted (the rate limit), checked (the dataset and the
//! session are the user's), answered by `chat::run` as a task of the hub — so it outlives the tab that
//! asked — and stored with its call log once. Storing degrades rather than vanishes.

use std::time::Duration;

use datasage_shared::api::{ApiError, ChatRequest, ErrorCode, StorageMetrics};
use datasage_shared::prompt::Turn;
use datasage_shared::ratelimit::Decision;
use worker::{console_error, D1Database, Delay, Env, SqlStorage};

use super::limit;
use crate::chat::Job;
use crate::config::Config;
use crate::datasets::{self, Dataset};
use crate::db::{self, AnswerLog, Shape};
use crate::error::{Failure, Result};
use crate::provider_health;
use crate::providers::Provider;
use crate::store::SAMPLE_ID;

/// Most earlier exchanges read for the prompt (the prompt's token budget then decides how many fit).
const HISTORY_TURNS: usize = 20;

/// The pause before storing an answer a second time.
const RETRY_PAUSE_MS: u64 = 300;

/// A question admitted and checked, ready to answer; `faults` is how many storing attempts are to fail.
pub struct Prepared {
    pub job: Job,
    pub faults: usize,
}

/// Admits the question (one more in the user's minute) and checks everything before any work starts.
pub async fn prepare(
    env: &Env,
    sql: &SqlStorage,
    config: &Config,
    user_id: &str,
    req: ChatRequest,
) -> Result<Prepared> {
    let decision = limit::admit(sql, config.rate_limit_per_minute)?;
    if let (Decision::Limited { .. }, Some(secs)) = (&decision, decision.retry_after_secs()) {
        return Err(ApiError::rate_limited(secs).into());
    }
    let db = env.d1("DB")?;
    let providers: Vec<_> = config.providers.iter().cloned().map(Provider::new).collect();
    // The built-in analyst reads no history.
    let history = (!providers.is_empty()).then_some(HISTORY_TURNS);
    let (dataset, history) = claim(&db, user_id, &req, history).await?;
    let faults = config
        .fault(&req.message, "store-fail")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let job = Job {
        user_id: user_id.to_owned(),
        inject_panic: config.fault(&req.message, "panic").is_some(),
        session_id: req.session_id,
        question: req.message,
        rewind_to: req.rewind_to,
        dataset,
        providers,
        builtin_fallback: config.builtin_fallback,
        routing: config.routing,
        env: env.clone(),
        history,
        prices: config.prices.clone(),
        builtin_chunk_delay_ms: config.builtin_chunk_delay_ms,
        max_stored_bytes: config.max_stored_bytes,
    };
    Ok(Prepared { job, faults })
}

/// The question's dataset, its session claimed for the caller and, with `history`, that many of its
/// latest exchanges — in one D1 round trip (and one more the first time this isolate sees the dataset's
/// version, for its profile). Another user's dataset or session does not exist for this one: 404, and a
/// question refused for its dataset leaves no session behind.
pub async fn claim(
    db: &D1Database,
    user_id: &str,
    req: &ChatRequest,
    history: Option<usize>,
) -> Result<(Dataset, Vec<Turn>)> {
    let dataset_id = req.dataset_id.as_deref().unwrap_or(SAMPLE_ID);
    let session = req.session_id.as_str();
    let mut batch = vec![
        datasets::lookup(db, user_id, dataset_id)?,
        db::claim_session(db, session, user_id, &req.message, dataset_id)?,
        db::owner(db, session)?,
    ];
    if let Some(turns) = history {
        batch.push(db::recent_turns(db, session, turns, req.rewind_to)?);
    }
    let mut results = db.batch(batch).await?.into_iter();
    let (Some(found), Some(_claimed), Some(owner)) = (results.next(), results.next(), results.next()) else {
        return Err(Failure::Internal(
            "D1 answered a batch with fewer results than statements".into(),
        ));
    };
    let dataset = datasets::question_dataset(db, found).await?;
    if !db::owned_by(owner, user_id)? {
        return Err(Failure::api(ErrorCode::NotFound, "session not found"));
    }
    let turns = results.next().map(db::turns).transpose()?.unwrap_or_default();
    Ok((dataset, turns))
}

/// Stores an answer: whole; whole again after a pause (D1 may be briefly unavailable); shortened; then
/// only the question and call log. How it went is counted for `/api/v1/chat/metrics`. `faults` is how
/// many attempts are made to fail (fault injection).
pub async fn store(env: &Env, log: AnswerLog, faults: usize) {
    let plan = [
        (Shape::Whole, 0),
        (Shape::Whole, RETRY_PAUSE_MS),
        (Shape::Shortened, 0),
        (Shape::NoAnswer, 0),
    ];
    let mut outcome = "failed";
    if let Ok(db) = env.d1("DB") {
        for (attempt, (shape, pause_ms)) in plan.into_iter().enumerate() {
            if pause_ms > 0 {
                Delay::from(Duration::from_millis(pause_ms)).await;
            }
            match db::store_answer(&db, &log, shape, attempt < faults).await {
                Ok(()) => {
                    outcome = StorageMetrics::OUTCOMES[attempt];
                    break;
                }
                Err(e) => console_error!(
                    "storing the answer of session {} ({shape:?}) failed: {e}",
                    log.session_id
                ),
            }
        }
    }
    provider_health::count_storage(env, outcome).await;
}
