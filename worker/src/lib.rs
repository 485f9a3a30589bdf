//! The DataSage Cloudflare Worker: one origin serving the app's static assets and the API.
//!
//! Everything here is a thin adapter: requests are parsed and authorized, the pure core in
//! `datasage-shared` does the work, and results are written back as JSON or server-sent events.

mod auth;
mod body;
mod budget;
mod chat;
mod config;
mod datasets;
mod db;
mod error;
mod hub;
mod objects;
mod provider_health;
mod providers;
mod query;
mod routes;
mod store;
mod usage;
mod util;

use worker::{event, Context, Env, Request, Response, Result};

pub use hub::UserHub;
pub use provider_health::ProviderHealthStore;
pub use store::DatasetStore;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Ok(match routes::handle(req, env).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    })
}
