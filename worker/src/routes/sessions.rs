//! `/api/v1/sessions`: the caller's conversations — list, one with its messages (answers whole, with chart
//! and execution tree), rename, delete — and each one's logged calls. Someone else's conversation does not
//! exist for the caller.

use datasage_shared::api::{
    is_valid_id, ErrorCode, LlmCallList, SessionDetail, SessionList, SessionSummary, SessionUpdate,
};
use worker::{Env, Request, Response};

use crate::auth::authenticate;
use crate::db;
use crate::error::{Failure, Result};

pub async fn llm_calls(req: &Request, env: &Env, session_id: &str) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    // Someone else's session and a session that does not exist look the same: no existence leak.
    let not_found = || Failure::api(ErrorCode::NotFound, "session not found");
    if !is_valid_id(session_id) {
        return Err(not_found());
    }
    let db = env.d1("DB")?;
    if !db::session_owned_by(&db, session_id, &user_id).await? {
        return Err(not_found());
    }
    let calls = db::llm_calls(&db, session_id).await?;
    super::json(&LlmCallList {
        session_id: session_id.to_owned(),
        calls,
    })
}

fn not_found() -> Failure {
    Failure::api(ErrorCode::NotFound, "session not found")
}

/// The caller's session `id`, or 404.
async fn owned(db: &worker::D1Database, user_id: &str, id: &str) -> Result<SessionSummary> {
    if !is_valid_id(id) {
        return Err(not_found());
    }
    db::session(db, user_id, id).await?.ok_or_else(not_found)
}

pub async fn list(req: &Request, env: &Env) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    super::json(&SessionList {
        sessions: db::sessions(&env.d1("DB")?, &user_id).await?,
    })
}

pub async fn get(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    let db = env.d1("DB")?;
    let session = owned(&db, &user_id, id).await?;
    super::json(&SessionDetail {
        messages: db::messages(&db, id).await?,
        session,
    })
}

/// `PATCH /api/v1/sessions/{id}` with `{"title": "…"}` (1-200 characters).
pub async fn rename(mut req: Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(&req, env)?;
    let body = req
        .bytes()
        .await
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "could not read the request body"))?;
    let update: SessionUpdate = serde_json::from_slice(&body).map_err(|e| {
        Failure::api(
            ErrorCode::BadRequest,
            format!("expected {{\"title\": \"…\"}}: {e}"),
        )
    })?;
    let title = update.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Failure::api(
            ErrorCode::BadRequest,
            "`title` must be 1-200 characters",
        ));
    }
    let db = env.d1("DB")?;
    let session = owned(&db, &user_id, id).await?;
    db::rename_session(&db, id, title).await?;
    super::json(&SessionSummary {
        title: title.to_owned(),
        ..session
    })
}

pub async fn delete(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    let db = env.d1("DB")?;
    owned(&db, &user_id, id).await?;
    db::delete_session(&db, id).await?;
    Ok(Response::empty()?.with_status(204))
}
