//! What every `/api/v1/*` handler starts from — the authenticated user, the database and the
//! configuration, built once by the router so no handler can forget to authenticate — and the two ends of
//! a JSON exchange.

use std::rc::Rc;

use datasage_shared::api::{ErrorCode, RequestBody};
use serde::Serialize;
use worker::{D1Database, Env, Request, Response};

use crate::auth::authenticate;
use crate::config::Config;
use crate::error::{Failure, Result};

/// Largest accepted JSON request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An authenticated request's context.
pub struct Ctx {
    pub user_id: String,
    /// The token carries `"role": "admin"`.
    pub admin: bool,
    /// When the caller's sign-in expires (Unix seconds).
    pub auth_exp: u64,
    pub db: D1Database,
    pub config: Rc<Config>,
    pub env: Env,
}

impl Ctx {
    /// Authenticates `req`; a request without a valid token goes no further.
    pub fn new(req: &Request, env: Env, config: Rc<Config>) -> Result<Self> {
        let claims = authenticate(req, &env)?;
        Ok(Ctx {
            admin: claims.is_admin(),
            user_id: claims.sub,
            auth_exp: claims.exp,
            db: env.d1("DB")?,
            config,
            env,
        })
    }
}

/// Reads a JSON request body of at most [`MAX_BODY_BYTES`] and checks it; a 400 (or 413) otherwise.
pub async fn read_json<T: RequestBody>(req: &mut Request) -> Result<T> {
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
    Ok(T::parse(&body)?)
}

/// A JSON response with status 200.
pub fn json<T: Serialize>(value: &T) -> Result<Response> {
    Response::from_json(value).map_err(Failure::from)
}
