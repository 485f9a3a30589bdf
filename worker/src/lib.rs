//! The DataSage Cloudflare Worker: one origin serving the app's static assets and the API.
//!
//! Everything here is a thin adapter: requests are parsed and authorized, the pure core in
//! `datasage-shared` does the work, and results are written back as JSON or server-sent events.

mod auth;
mod chat;
mod config;
mod datasets;
mod db;
mod error;
mod objects;
mod provider_health;
mod providers;
mod query;
mod rate_limiter;
mod routes;
mod store;
mod util;

use worker::{event, Context, Env, Request, Response, Result};

pub use provider_health::ProviderHealthStore;
pub use rate_limiter::RateLimiter;
pub use store::DatasetStore;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(match routes::handle(req, env, ctx).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    })
}
