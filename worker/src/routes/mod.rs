//! The router: matches method and path, then hands off to a thin handler.

mod chat;
mod datasets;
mod dev_token;
mod health;
mod sessions;

use datasage_shared::api::ErrorCode;
use serde::Serialize;
use worker::{Context, Env, Method, Request, Response};

use crate::error::{Failure, Result};

pub async fn handle(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match (method, segments.as_slice()) {
        (Method::Get, ["health"]) => health::get(&env),
        // Reached only from `guard.mjs`, which refuses this path from outside.
        (Method::Post, ["__guard", "failed-answer"]) => chat::failed(req, &env).await,
        (Method::Post, ["api", "v1", "auth", "dev-token"]) => dev_token::post(&env),
        (Method::Post, ["api", "v1", "chat", "stream"]) => chat::stream(req, env, ctx).await,
        (Method::Post, ["api", "v1", "chat"]) => chat::complete(req, env, ctx).await,
        (Method::Get, ["api", "v1", "chat", "metrics"]) => chat::metrics(&req, &env).await,
        (Method::Get, ["api", "v1", "sessions", id, "llm-calls"]) => {
            sessions::llm_calls(&req, &env, id).await
        }
        (Method::Get, ["api", "v1", "sessions"]) => sessions::list(&req, &env).await,
        (Method::Get, ["api", "v1", "sessions", id]) => sessions::get(&req, &env, id).await,
        (Method::Delete, ["api", "v1", "sessions", id]) => sessions::delete(&req, &env, id).await,
        (Method::Patch, ["api", "v1", "sessions", id]) => {
            let id = (*id).to_owned();
            sessions::rename(req, &env, &id).await
        }
        (Method::Post, ["api", "v1", "datasets"]) => datasets::upload(req, &env).await,
        (Method::Get, ["api", "v1", "datasets"]) => datasets::list(&req, &env).await,
        (Method::Get, ["api", "v1", "datasets", id]) => datasets::get(&req, &env, id).await,
        (Method::Delete, ["api", "v1", "datasets", id]) => datasets::delete(&req, &env, id).await,
        (Method::Patch, ["api", "v1", "datasets", id]) => {
            let id = (*id).to_owned();
            datasets::update(req, &env, &id).await
        }
        (Method::Get, ["api", "v1", "datasets", id, "rows"]) => datasets::rows(&req, &env, id).await,
        (
            _,
            ["health"]
            | ["api", "v1", "auth", "dev-token"]
            | ["api", "v1", "chat", ..]
            | ["api", "v1", "sessions", ..]
            | ["api", "v1", "datasets", ..],
        ) => Err(Failure::api(
            ErrorCode::MethodNotAllowed,
            format!("{} is not allowed on {path}", req.method()),
        )),
        _ => Err(Failure::api(ErrorCode::NotFound, format!("no route for {path}"))),
    }
}

/// A JSON response with status 200.
pub fn json<T: Serialize>(value: &T) -> Result<Response> {
    Response::from_json(value).map_err(Failure::from)
}
