//! Bearer-token authentication for `/api/v1/*`.

use datasage_shared::api::ErrorCode;
use datasage_shared::jwt;
use worker::{Env, Request};

use crate::config::jwt_secret;
use crate::error::{Failure, Result};
use crate::util::now_ms;

/// The authenticated user's id, from a valid `Authorization: Bearer <JWT>`.
pub fn authenticate(req: &Request, env: &Env) -> Result<String> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Failure::api(
                ErrorCode::Unauthorized,
                "missing `Authorization: Bearer <token>` header",
            )
        })?;
    let secret = jwt_secret(env)?;
    jwt::verify(token, secret.expose().as_bytes(), now_ms() / 1000)
        .map(|claims| claims.sub)
        .map_err(|e| Failure::api(ErrorCode::Unauthorized, e.to_string()))
}
