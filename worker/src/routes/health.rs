//! `GET /health`: liveness plus the providers this deployment would use, in order.

use datasage_shared::api::Health;
use worker::{Env, Response};

use crate::config::Config;
use crate::error::Result;

pub fn get(env: &Env) -> Result<Response> {
    super::json(&Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        providers: Config::from_env(env).provider_names(),
    })
}
