//! Bearer-token authentication for `/api/v1/*`.

use datasage_shared::api::ErrorCode;
use datasage_shared::jwt;
use worker::{Env, Request};

use crate::config::jwt_secret;
use crate::error::{Failure, Result};
use crate::util::now_ms;

/// The longest `Authorization` header read.
const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// The authenticated user's claims (`sub` is the user id), from a valid `Authorization: Bearer <JWT>`.
pub fn authenticate(req: &Request, env: &Env) -> Result<jwt::Claims> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    // A token is a few hundred bytes; a header far longer is refused before it is parsed. Headers past
    // 128 KB in all never reach this code: Cloudflare's edge refuses them (the local runtime answers a
    // plain-text 431 somewhere between 400 and 600 KB).
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return Err(Failure::api(
            ErrorCode::Unauthorized,
            format!("the Authorization header is over {MAX_AUTHORIZATION_BYTES} bytes"),
        ));
    }
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
        .map_err(|e| Failure::api(ErrorCode::Unauthorized, e.to_string()))
}
