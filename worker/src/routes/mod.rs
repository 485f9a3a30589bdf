//! The router: matches method and path to a route, builds the request context once for every
//! authenticated route, then hands off to a thin handler.

mod chat;
mod context;
mod datasets;
mod dev_token;
mod health;
mod sessions;
mod usage;
mod ws;

use datasage_shared::api::ErrorCode;
use worker::{Env, Method, Request, Response};

use crate::config::Config;
use crate::error::{Failure, Result};
use context::Ctx;

/// A route that needs the caller's identity.
enum Authed<'a> {
    /// Reached only from `guard.mjs`, which refuses this path from outside.
    FailedAnswer,
    ChatStream,
    Chat,
    ChatStop,
    WsTicket,
    ChatMetrics,
    Sessions,
    Session(&'a str),
    SessionCalls(&'a str),
    DeleteSession(&'a str),
    RenameSession(&'a str),
    UploadDataset,
    Datasets,
    Dataset(&'a str),
    DatasetRows(&'a str),
    DeleteDataset(&'a str),
    UpdateDataset(&'a str),
    UsageSummary,
    UsageEstimate,
    Usage,
    UsageCalls,
    AdminUsage,
    SetBudget(&'a str),
}

fn authed<'a>(method: &Method, segments: &[&'a str]) -> Option<Authed<'a>> {
    use Authed::*;
    Some(match (method, segments) {
        (Method::Post, ["__guard", "failed-answer"]) => FailedAnswer,
        (Method::Post, ["api", "v1", "chat", "stream"]) => ChatStream,
        (Method::Post, ["api", "v1", "chat"]) => Chat,
        (Method::Post, ["api", "v1", "chat", "stop"]) => ChatStop,
        (Method::Post, ["api", "v1", "ws", "ticket"]) => WsTicket,
        (Method::Get, ["api", "v1", "chat", "metrics"]) => ChatMetrics,
        (Method::Get, ["api", "v1", "sessions"]) => Sessions,
        (Method::Get, ["api", "v1", "sessions", id]) => Session(id),
        (Method::Get, ["api", "v1", "sessions", id, "llm-calls"]) => SessionCalls(id),
        (Method::Delete, ["api", "v1", "sessions", id]) => DeleteSession(id),
        (Method::Patch, ["api", "v1", "sessions", id]) => RenameSession(id),
        (Method::Post, ["api", "v1", "datasets"]) => UploadDataset,
        (Method::Get, ["api", "v1", "datasets"]) => Datasets,
        (Method::Get, ["api", "v1", "datasets", id]) => Dataset(id),
        (Method::Get, ["api", "v1", "datasets", id, "rows"]) => DatasetRows(id),
        (Method::Delete, ["api", "v1", "datasets", id]) => DeleteDataset(id),
        (Method::Patch, ["api", "v1", "datasets", id]) => UpdateDataset(id),
        (Method::Get, ["api", "v1", "usage", "summary"]) => UsageSummary,
        (Method::Get, ["api", "v1", "usage", "estimate"]) => UsageEstimate,
        (Method::Get, ["api", "v1", "usage"]) => Usage,
        (Method::Get, ["api", "v1", "usage", "calls"]) => UsageCalls,
        (Method::Get, ["api", "v1", "admin", "usage"]) => AdminUsage,
        (Method::Put, ["api", "v1", "admin", "users", id, "budget"]) => SetBudget(id),
        _ => return None,
    })
}

pub async fn handle(req: Request, env: Env) -> Result<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    let config = Config::of(&env);
    if let Some(route) = authed(&method, &segments) {
        let cx = Ctx::new(&req, env, config)?;
        return dispatch(route, req, cx).await;
    }
    match (method, segments.as_slice()) {
        (Method::Get, ["health"]) => health::get(&config),
        (Method::Post, ["api", "v1", "auth", "dev-token"]) => dev_token::post(&env, &config),
        (Method::Get, ["api", "v1", "ws", "chat"]) => ws::chat(&req, &env, &config).await,
        (
            _,
            ["health"]
            | ["api", "v1", "auth", "dev-token"]
            | ["api", "v1", "chat", ..]
            | ["api", "v1", "ws", ..]
            | ["api", "v1", "sessions", ..]
            | ["api", "v1", "datasets", ..]
            | ["api", "v1", "usage", ..]
            | ["api", "v1", "admin", ..],
        ) => Err(Failure::api(
            ErrorCode::MethodNotAllowed,
            format!("{} is not allowed on {path}", req.method()),
        )),
        _ => Err(Failure::api(ErrorCode::NotFound, format!("no route for {path}"))),
    }
}

async fn dispatch(route: Authed<'_>, req: Request, cx: Ctx) -> Result<Response> {
    use Authed::*;
    match route {
        FailedAnswer => chat::failed(req, &cx).await,
        ChatStream => chat::stream(req, &cx).await,
        Chat => chat::complete(req, &cx).await,
        ChatStop => chat::stop(req, &cx).await,
        WsTicket => ws::ticket(&cx),
        ChatMetrics => chat::metrics(&cx).await,
        Sessions => sessions::list(&cx).await,
        Session(id) => sessions::get(&cx, id).await,
        SessionCalls(id) => sessions::llm_calls(&cx, id).await,
        DeleteSession(id) => sessions::delete(&cx, id).await,
        RenameSession(id) => sessions::rename(req, &cx, id).await,
        UploadDataset => datasets::upload(req, &cx).await,
        Datasets => datasets::list(&cx).await,
        Dataset(id) => datasets::get(&cx, id).await,
        DatasetRows(id) => datasets::rows(&req, &cx, id).await,
        DeleteDataset(id) => datasets::delete(&cx, id).await,
        UpdateDataset(id) => datasets::update(req, &cx, id).await,
        UsageSummary => usage::summary(&cx).await,
        UsageEstimate => usage::estimate(&req, &cx).await,
        Usage => usage::report(&req, &cx).await,
        UsageCalls => usage::calls(&req, &cx).await,
        AdminUsage => usage::admin_report(&req, &cx).await,
        SetBudget(id) => usage::set_budget(req, &cx, id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        authed(&method, &segments).map(|r| match r {
            Authed::Session(id) | Authed::SessionCalls(id) | Authed::Dataset(id) => id.to_owned(),
            _ => String::new(),
        })
    }

    #[test]
    fn every_api_route_goes_through_authentication_and_only_health_and_dev_tokens_do_not() {
        let authenticated = [
            (Method::Post, "/api/v1/chat/stream"),
            (Method::Post, "/api/v1/chat"),
            (Method::Post, "/api/v1/chat/stop"),
            (Method::Post, "/api/v1/ws/ticket"),
            (Method::Get, "/api/v1/chat/metrics"),
            (Method::Get, "/api/v1/sessions"),
            (Method::Get, "/api/v1/sessions/s-1"),
            (Method::Get, "/api/v1/sessions/s-1/llm-calls"),
            (Method::Patch, "/api/v1/sessions/s-1"),
            (Method::Delete, "/api/v1/sessions/s-1"),
            (Method::Post, "/api/v1/datasets"),
            (Method::Get, "/api/v1/datasets"),
            (Method::Get, "/api/v1/datasets/d-1"),
            (Method::Get, "/api/v1/datasets/d-1/rows"),
            (Method::Patch, "/api/v1/datasets/d-1"),
            (Method::Delete, "/api/v1/datasets/d-1"),
            (Method::Get, "/api/v1/usage/summary"),
            (Method::Get, "/api/v1/usage/estimate"),
            (Method::Get, "/api/v1/usage"),
            (Method::Get, "/api/v1/usage/calls"),
            (Method::Get, "/api/v1/admin/usage"),
            (Method::Put, "/api/v1/admin/users/u-1/budget"),
            (Method::Post, "/__guard/failed-answer"),
        ];
        for (method, path) in authenticated {
            assert!(route(method.clone(), path).is_some(), "{method:?} {path}");
        }
        for (method, path) in [
            (Method::Get, "/health"),
            (Method::Post, "/api/v1/auth/dev-token"),
            (Method::Get, "/api/v1/chat/stream"),
            (Method::Get, "/api/v1/ws/chat"),
            (Method::Put, "/api/v1/sessions/s-1"),
            (Method::Get, "/api/v1/nope"),
        ] {
            assert!(route(method.clone(), path).is_none(), "{method:?} {path}");
        }
        assert_eq!(
            route(Method::Get, "/api/v1/sessions/s-9/llm-calls").as_deref(),
            Some("s-9")
        );
    }
}
