//! Per-user rate limiting in a Durable Object: one object per user, so every isolate sees one count.
//!
//! The check is exact under concurrency: the object handles one event at a time, and the read-decide-write
//! below is synchronous SQLite with no `await` in between, so no two requests can interleave inside it.
//! The window is persisted, so limits hold across restarts and evictions.

use datasage_shared::ratelimit::{Decision, SlidingWindow};
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

use crate::objects::{create_tables, param, Object};
use crate::util::now_ms;

const WINDOW_MS: u64 = 60_000;

#[durable_object(fetch)]
pub struct RateLimiter {
    state: State,
}

#[derive(Deserialize)]
struct Row {
    hits: String,
}

impl DurableObject for RateLimiter {
    fn new(state: State, _env: Env) -> Self {
        create_tables(
            &state.storage().sql(),
            "rate limiter",
            &["CREATE TABLE IF NOT EXISTS sliding_window (id INTEGER PRIMARY KEY CHECK (id = 1), hits TEXT NOT NULL)"],
        );
        Self { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let limit: u32 = param(&req.url()?, "limit").parse().unwrap_or(20);
        Response::from_json(&self.check(limit)?)
    }
}

impl RateLimiter {
    /// Read, decide and write with no `await`: atomic within the object.
    fn check(&self, limit: u32) -> Result<Decision> {
        let sql = self.state.storage().sql();
        let rows: Vec<Row> = sql
            .exec("SELECT hits FROM sliding_window WHERE id = 1", None)?
            .to_array()?;
        let mut window: SlidingWindow = rows
            .first()
            .and_then(|r| serde_json::from_str(&r.hits).ok())
            .unwrap_or_default();
        let decision = window.check(now_ms(), limit, WINDOW_MS);
        if matches!(decision, Decision::Allowed { .. }) {
            let hits = serde_json::to_string(&window).map_err(|e| worker::Error::RustError(e.to_string()))?;
            sql.exec(
                "INSERT INTO sliding_window (id, hits) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET hits = excluded.hits",
                vec![hits.into()],
            )?;
        }
        Ok(decision)
    }
}

/// Asks the user's limiter whether one more request is admitted.
pub async fn check(env: &Env, user_id: &str, limit: u32) -> crate::error::Result<Decision> {
    Object::new(env, "RATE_LIMITER", user_id)?
        .call(Method::Post, &format!("/check?limit={limit}"), None)
        .await
}
