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

use super::context::{json, read_json, Ctx};
use crate::chat::{self, Cancel, Emitter, Job, Subscribers};
use crate::datasets::{self, Dataset};
use crate::db::{self, AnswerLog, Shape};
use crate::error::{Failure, Result};
use crate::provider_health;
use crate::providers::Provider;
use crate::rate_limiter;
use crate::store::SAMPLE_ID;
use crate::util::random_uuid;

/// Most earlier exchanges read for the prompt (the prompt's token budget then decides how many fit).
const HISTORY_TURNS: usize = 20;

/// Everything checked before any work starts; with the job, how many storing attempts are to fail.
async fn prepare(mut req: Request, cx: &Ctx) -> Result<(Job, usize)> {
    let chat_req: ChatRequest = read_json(&mut req).await?;
    let config = &cx.config;
    let decision = rate_limiter::check(&cx.env, &cx.user_id, config.rate_limit_per_minute).await?;
    if let Some(secs) = decision
        .retry_after_secs()
        .filter(|_| matches!(decision, Decision::Limited { .. }))
    {
        return Err(ApiError::rate_limited(secs).into());
    }
    let dataset = claim(cx, &chat_req).await?;
    let providers: Vec<_> = config.providers.iter().cloned().map(Provider::new).collect();
    let history = if providers.is_empty() {
        Vec::new()
    } else {
        db::recent_turns(&cx.db, &chat_req.session_id, HISTORY_TURNS, chat_req.rewind_to).await?
    };
    let faults = config
        .fault(&chat_req.message, "store-fail")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let job = Job {
        user_id: cx.user_id.clone(),
        inject_panic: config.fault(&chat_req.message, "panic").is_some(),
        session_id: chat_req.session_id,
        question: chat_req.message,
        rewind_to: chat_req.rewind_to,
        dataset,
        providers,
        builtin_fallback: config.builtin_fallback,
        routing: config.routing,
        env: cx.env.clone(),
        history,
        prices: config.prices.clone(),
        builtin_chunk_delay_ms: config.builtin_chunk_delay_ms,
        max_stored_bytes: config.max_stored_bytes,
    };
    Ok((job, faults))
}

/// The question's dataset, and its session claimed for the caller. Another user's dataset does not exist
/// for this one: 404, before the session is touched.
async fn claim(cx: &Ctx, chat_req: &ChatRequest) -> Result<Dataset> {
    let dataset_id = chat_req.dataset_id.as_deref().unwrap_or(SAMPLE_ID);
    let dataset = datasets::find(&cx.db, &cx.user_id, dataset_id).await?;
    if !db::claim_session(&cx.db, &chat_req.session_id, &cx.user_id, &chat_req.message).await? {
        return Err(Failure::api(ErrorCode::NotFound, "session not found"));
    }
    Ok(dataset)
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

pub async fn stream(req: Request, cx: Ctx, wctx: Context) -> Result<Response> {
    let (job, faults) = prepare(req, &cx).await?;
    let (tx, rx) = mpsc::unbounded();
    let mut subscribers = Subscribers::new(random_uuid()?);
    subscribers.add(tx);
    let env = cx.env;
    wctx.wait_until(async move {
        let mut em = Emitter::new(subscribers, Cancel::default());
        let (_, log) = chat::run(job, &mut em).await;
        drop(em); // ends the client's stream before the write below
        store(&env, log, faults).await;
    });
    let body = rx.map(|frame| {
        let json = serde_json::to_string(&frame).unwrap_or_default();
        Ok::<Vec<u8>, worker::Error>(sse::encode_data(&json).into_bytes())
    });
    let headers = Headers::new();
    headers.set("content-type", "text/event-stream; charset=utf-8")?;
    headers.set("cache-control", "no-cache, no-transform")?;
    headers.set("x-accel-buffering", "no")?;
    Ok(Response::from_stream(body)?.with_headers(headers))
}

pub async fn complete(req: Request, cx: Ctx, wctx: Context) -> Result<Response> {
    let (job, faults) = prepare(req, &cx).await?;
    let mut em = Emitter::new(Subscribers::new(random_uuid()?), Cancel::default());
    let (result, log) = chat::run(job, &mut em).await;
    let env = cx.env;
    wctx.wait_until(async move { store(&env, log, faults).await });
    match result {
        Ok(answer) => json(&answer),
        Err(body) => Err(Failure::Api(ApiError { error: body })),
    }
}

/// What the guard (`worker/guard.mjs`) sends when a question's answer died with the wasm instance: the
/// question is stored with a call-log row saying so, under the question's own authentication.
pub async fn failed(mut req: Request, cx: &Ctx) -> Result<Response> {
    let chat_req: ChatRequest = read_json(&mut req).await?;
    let dataset = claim(cx, &chat_req).await?;
    let log = AnswerLog {
        user_id: cx.user_id.clone(),
        session_id: chat_req.session_id,
        question: chat_req.message,
        dataset: dataset.reference(),
        answer: None,
        calls: vec![db::CallLog::worker_failure(
            "the worker failed mid-answer (a runtime error); the answer and its calls were lost",
        )],
        rewind_to: None,
    };
    db::store_answer(&cx.db, &log, Shape::NoAnswer, false).await?;
    Response::empty().map_err(Failure::from)
}

/// `GET /api/v1/chat/metrics`: every configured provider's state and metrics, from the shared health store.
pub async fn metrics(cx: &Ctx) -> Result<Response> {
    let names: Vec<String> = cx.config.providers.iter().map(|p| p.name.to_owned()).collect();
    json(&ProviderMetrics {
        providers: provider_health::metrics(&cx.env, &names).await?,
        storage: provider_health::storage(&cx.env).await?,
    })
}
