//! `GET /api/v1/sessions/{id}/llm-calls`: the session's logged calls, to its owner only.

use datasage_shared::api::{is_valid_id, ErrorCode, LlmCallList};
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
