//! `/api/v1/sessions`: the caller's conversations — list, one with its messages (answers whole, with chart
//! and execution tree), rename, delete — and each one's logged calls. Someone else's conversation does not
//! exist for the caller.

use datasage_shared::api::{
    is_valid_id, ErrorCode, LlmCallList, SessionDetail, SessionList, SessionSummary, SessionUpdate,
};
use worker::{Request, Response};

use super::context::{json, read_json, Ctx};
use crate::db;
use crate::error::{Failure, Result};
use crate::hub::client;

fn not_found() -> Failure {
    Failure::api(ErrorCode::NotFound, "session not found")
}

/// The caller's session `id`, or 404: someone else's session and one that does not exist look the same.
async fn owned(cx: &Ctx, id: &str) -> Result<SessionSummary> {
    if !is_valid_id(id) {
        return Err(not_found());
    }
    db::session(&cx.db, &cx.user_id, id).await?.ok_or_else(not_found)
}

pub async fn llm_calls(cx: &Ctx, session_id: &str) -> Result<Response> {
    owned(cx, session_id).await?;
    json(&LlmCallList {
        session_id: session_id.to_owned(),
        calls: db::llm_calls(&cx.db, session_id).await?,
    })
}

pub async fn list(cx: &Ctx) -> Result<Response> {
    json(&SessionList {
        sessions: db::sessions(&cx.db, &cx.user_id).await?,
    })
}

pub async fn get(cx: &Ctx, id: &str) -> Result<Response> {
    let session = owned(cx, id).await?;
    json(&SessionDetail {
        messages: db::messages(&cx.db, id).await?,
        session,
    })
}

/// `PATCH /api/v1/sessions/{id}` with `{"title": "…"}` (1-200 characters).
pub async fn rename(mut req: Request, cx: &Ctx, id: &str) -> Result<Response> {
    let update: SessionUpdate = read_json(&mut req).await?;
    let title = update.title.trim();
    let session = owned(cx, id).await?;
    db::rename_session(&cx.db, id, title).await?;
    client::sessions_changed(&cx.env, &cx.user_id).await;
    json(&SessionSummary {
        title: title.to_owned(),
        ..session
    })
}

pub async fn delete(cx: &Ctx, id: &str) -> Result<Response> {
    owned(cx, id).await?;
    db::delete_session(&cx.db, id).await?;
    client::sessions_changed(&cx.env, &cx.user_id).await;
    Ok(Response::empty()?.with_status(204))
}
