//! `POST /api/v1/chat/stream` (server-sent events) and `POST /api/v1/chat` (one JSON answer).
//!
//! Both authenticate, validate, rate-limit and claim the session before any provider is called; the answer
//! is then produced by `chat::run`, and stored with `wait_until` so storage never delays the answer —
//! also when a streaming client disconnects midway. Storing degrades rather than vanishes (see `store`).

use std::time::Duration;

use datasage_shared::api::{ApiError, ChatRequest, ErrorCode, ProviderMetrics, StorageMetrics};
use datasage_shared::ratelimit::Decision;
use datasage_shared::sse;
use futures::channel::mpsc;
use futures::StreamExt;
use worker::{console_error, Context, Delay, Env, Headers, Request, Response};

use crate::auth::authenticate;
use crate::chat::{self, Emitter, Job};
use crate::config::Config;
use crate::datasets::{self, SAMPLE_ID};
use crate::db::{self, AnswerLog, Shape};
use crate::error::{Failure, Result};
use crate::provider_health;
use crate::providers;
use crate::rate_limiter;

/// Most earlier exchanges read for the prompt (the prompt's token budget then decides how many fit).
const HISTORY_TURNS: usize = 20;

/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything checked before any work starts; with the job, how many storing attempts are to fail.
async fn prepare(mut req: Request, env: &Env) -> Result<(Job, usize)> {
    let user_id = authenticate(&req, env)?;
    let body = req
        .bytes()
        .await
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "could not read the request body"))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(Failure::api(
            ErrorCode::PayloadTooLarge,
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    let chat_req = ChatRequest::parse(&body)?;
    let config = Config::from_env(env);
    let decision = rate_limiter::check(env, &user_id, config.rate_limit_per_minute).await?;
    if let Some(secs) = decision
        .retry_after_secs()
        .filter(|_| matches!(decision, Decision::Limited { .. }))
    {
        return Err(ApiError::rate_limited(secs).into());
    }
    let db = env.d1("DB")?;
    // Another user's dataset does not exist for this one: 404, before the session is touched.
    let dataset = datasets::find(&db, &user_id, chat_req.dataset_id.as_deref().unwrap_or(SAMPLE_ID)).await?;
    if !db::claim_session(&db, &chat_req.session_id, &user_id, &chat_req.message).await? {
        return Err(Failure::api(ErrorCode::NotFound, "session not found"));
    }
    let providers: Vec<_> = config.providers.iter().cloned().map(providers::build).collect();
    let history = if providers.is_empty() {
        Vec::new()
    } else {
        db::recent_turns(&db, &chat_req.session_id, HISTORY_TURNS, chat_req.rewind_to).await?
    };
    let faults = config
        .fault(&chat_req.message, "store-fail")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let inject_panic = config.fault(&chat_req.message, "panic").is_some();
    let job = Job {
        user_id,
        session_id: chat_req.session_id,
        question: chat_req.message,
        rewind_to: chat_req.rewind_to,
        dataset,
        providers,
        builtin_fallback: config.builtin_fallback,
        routing: config.routing,
        env: env.clone(),
        history,
        prices: config.prices,
        builtin_chunk_delay_ms: config.builtin_chunk_delay_ms,
        max_stored_bytes: config.max_stored_bytes,
        inject_panic,
    };
    Ok((job, faults))
}

/// Stores an answer: whole; whole again after a pause (D1 may be briefly unavailable); shortened; then
/// only the question and call log. How it went is counted for `/api/v1/chat/metrics`. `faults` is how
/// many attempts are made to fail (fault injection).
async fn store(env: &Env, log: AnswerLog, faults: usize) {
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

/// The pause before storing an answer a second time.
const RETRY_PAUSE_MS: u64 = 300;

pub async fn stream(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let (job, faults) = prepare(req, &env).await?;
    let (tx, rx) = mpsc::unbounded();
    ctx.wait_until(async move {
        let mut em = Emitter::new(Some(tx));
        let (_, log) = chat::run(job, &mut em).await;
        drop(em); // ends the client's stream before the write below
        store(&env, log, faults).await;
    });
    let body = rx.map(|ev| {
        let json = serde_json::to_string(&ev).unwrap_or_default();
        Ok::<Vec<u8>, worker::Error>(sse::encode_data(&json).into_bytes())
    });
    let headers = Headers::new();
    headers.set("content-type", "text/event-stream; charset=utf-8")?;
    headers.set("cache-control", "no-cache, no-transform")?;
    headers.set("x-accel-buffering", "no")?;
    Ok(Response::from_stream(body)?.with_headers(headers))
}

pub async fn complete(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let (job, faults) = prepare(req, &env).await?;
    let mut em = Emitter::new(None);
    let (result, log) = chat::run(job, &mut em).await;
    ctx.wait_until(async move { store(&env, log, faults).await });
    match result {
        Ok(answer) => super::json(&answer),
        Err(body) => Err(Failure::Api(ApiError { error: body })),
    }
}

/// What the guard (`worker/guard.mjs`) sends when a question's answer died with the wasm instance: the
/// question is stored with a call-log row saying so, under the question's own authentication.
pub async fn failed(mut req: Request, env: &Env) -> Result<Response> {
    let user_id = authenticate(&req, env)?;
    let body = req.bytes().await?;
    let chat_req = ChatRequest::parse(&body)?;
    let db = env.d1("DB")?;
    let dataset_id = chat_req.dataset_id.as_deref().unwrap_or(SAMPLE_ID);
    let dataset = datasets::find(&db, &user_id, dataset_id).await?;
    if !db::claim_session(&db, &chat_req.session_id, &user_id, &chat_req.message).await? {
        return Err(Failure::api(ErrorCode::NotFound, "session not found"));
    }
    let log = AnswerLog {
        user_id,
        session_id: chat_req.session_id,
        question: chat_req.message,
        dataset: dataset.reference(),
        answer: None,
        calls: vec![db::CallLog::worker_failure(
            "the worker failed mid-answer (a runtime error); the answer and its calls were lost",
        )],
        rewind_to: None,
    };
    db::store_answer(&db, &log, Shape::NoAnswer, false).await?;
    Response::empty().map_err(Failure::from)
}

/// `GET /api/v1/chat/metrics`: every configured provider's state and metrics, from the shared health store.
pub async fn metrics(req: &Request, env: &Env) -> Result<Response> {
    authenticate(req, env)?;
    let names: Vec<String> = Config::from_env(env)
        .providers
        .iter()
        .map(|p| p.name.to_owned())
        .collect();
    super::json(&ProviderMetrics {
        providers: provider_health::metrics(env, &names).await?,
        storage: provider_health::storage(env).await?,
    })
}
