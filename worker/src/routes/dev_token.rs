//! `POST /api/v1/auth/dev-token`: a token for a fresh anonymous user, only where `DEV_AUTH = "true"`.

use datasage_shared::api::{DevToken, ErrorCode};
use datasage_shared::jwt::{self, Claims};
use worker::{Env, Response};

use super::context::json;
use crate::config::{jwt_secret, Config};
use crate::error::{Failure, Result};
use crate::util::{now_ms, random_uuid};

const LIFETIME_SECS: u64 = 30 * 24 * 3600;

pub fn post(env: &Env, config: &Config) -> Result<Response> {
    if !config.dev_auth {
        return Err(Failure::api(
            ErrorCode::NotFound,
            "dev tokens are disabled in this environment",
        ));
    }
    let now = now_ms() / 1000;
    let user_id = format!("anon-{}", random_uuid()?);
    let claims = Claims {
        sub: user_id.clone(),
        exp: now + LIFETIME_SECS,
        nbf: Some(now),
        iat: Some(now),
        role: None, // never admin: anyone may ask for a dev token
    };
    let token = jwt::sign(&claims, jwt_secret(env)?.expose().as_bytes());
    json(&DevToken {
        token,
        user_id,
        expires_at: claims.exp,
    })
}
