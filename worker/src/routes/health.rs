//! `GET /health`: liveness plus the providers this deployment would use, in order.

use datasage_shared::api::Health;
use worker::Response;

use super::context::json;
use crate::config::Config;
use crate::error::Result;

pub fn get(config: &Config) -> Result<Response> {
    json(&Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        providers: config.provider_names(),
    })
}
