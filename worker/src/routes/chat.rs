//! `POST /api/v1/chat/stream` (server-sent events), `POST /api/v1/chat` (one JSON answer) and
//! `POST /api/v1/chat/stop`.
//!
//! The question is read and checked here, then handed to the user's hub in one round trip: the hub
//! admits it (the rate limit), claims the session, answers and stores the answer (see `hub`), and its
//! answer — the event stream, the JSON answer or the error — is passed on as it is.

use datasage_shared::api::{ChatRequest, ProviderMetrics};
use datasage_shared::hub::StopRequest;
use worker::{Request, Response};

use super::context::{json, read_json, Ctx};
use crate::db::{self, AnswerLog, Shape};
use crate::error::{Failure, Result};
use crate::hub::claim;
use crate::hub::client::{self, Transport};
use crate::provider_health;

pub async fn stream(mut req: Request, cx: &Ctx) -> Result<Response> {
    let chat_req: ChatRequest = read_json(&mut req).await?;
    client::ask(&cx.env, &cx.user_id, chat_req, Transport::Sse).await
}

pub async fn complete(mut req: Request, cx: &Ctx) -> Result<Response> {
    let chat_req: ChatRequest = read_json(&mut req).await?;
    client::ask(&cx.env, &cx.user_id, chat_req, Transport::Json).await
}

pub async fn stop(mut req: Request, cx: &Ctx) -> Result<Response> {
    let stop: StopRequest = read_json(&mut req).await?;
    client::stop(&cx.env, &cx.user_id, &stop).await
}

/// What the guard (`worker/guard.mjs`) sends when a question's answer died with the wasm instance: the
/// question is stored with a call-log row saying so, under the question's own authentication.
pub async fn failed(mut req: Request, cx: &Ctx) -> Result<Response> {
    let chat_req: ChatRequest = read_json(&mut req).await?;
    let dataset = claim(&cx.db, &cx.user_id, &chat_req, None, None).await?.dataset;
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
