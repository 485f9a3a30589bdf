//! The user's rate limit, kept in the hub's SQLite: one count per user whatever the transport or tab.
//!
//! Exact under concurrency: the hub handles one event at a time, and the read-decide-write below is
//! synchronous SQLite with no `await` in between, so no two questions can interleave inside it. The window
//! is persisted, so the limit holds across restarts and evictions.

use datasage_shared::ratelimit::{Decision, SlidingWindow};
use serde::Deserialize;
use worker::{Result, SqlStorage};

use crate::util::now_ms;

pub const TABLES: &str =
    "CREATE TABLE IF NOT EXISTS sliding_window (id INTEGER PRIMARY KEY CHECK (id = 1), hits TEXT NOT NULL)";

const WINDOW_MS: u64 = 60_000;

#[derive(Deserialize)]
struct Row {
    hits: String,
}

/// Admits one more question if the last minute had fewer than `limit`.
pub fn admit(sql: &SqlStorage, limit: u32) -> Result<Decision> {
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
