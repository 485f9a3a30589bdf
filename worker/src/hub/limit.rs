//! The user's rate limit, kept in the hub's SQLite (`datasage_shared::ratelimit`: a row per admission):
//! one count per user whatever the transport or tab.
//!
//! Exact under concurrency: the hub handles one event at a time, and the forget-count-decide-record below
//! is synchronous SQLite with no `await` in between, so no two questions can interleave inside it. The
//! window is persisted, so the limit holds across restarts and evictions.

use datasage_shared::ratelimit::{Decision, Window, ADMIT, CARRY_OVER, FORGET, OLD_TABLE, WINDOW};
use worker::{Result, SqlStorage};

use crate::objects::has_table;
use crate::util::now_ms;

pub use datasage_shared::ratelimit::TABLES;

const WINDOW_MS: u64 = 60_000;

/// Admits one more question if the last minute had fewer than `limit`.
pub fn admit(sql: &SqlStorage, limit: u32) -> Result<Decision> {
    let now = now_ms() as i64;
    sql.exec(FORGET, vec![(now - WINDOW_MS as i64).into(), now.into()])?;
    let window: Window = sql.exec(WINDOW, None)?.one()?;
    let decision = window.decide(now as u64, limit, WINDOW_MS);
    if matches!(decision, Decision::Allowed { .. }) {
        sql.exec(ADMIT, vec![now.into()])?;
    }
    Ok(decision)
}

/// A hub from before the rows keeps its last minute: the old list's admissions become rows, once.
pub fn carry_over(sql: &SqlStorage) -> Result<()> {
    if has_table(sql, OLD_TABLE)? {
        sql.exec(&CARRY_OVER.join(";\n"), None)?;
    }
    Ok(())
}
