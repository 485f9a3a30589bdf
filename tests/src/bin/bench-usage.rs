//! Usage benchmark, run on demand (`make bench`): prints figures, asserts nothing.
//!
//! A call log of 100,000 calls of one user this month so far (and 100,000 of another, so the index has
//! to choose) is written into a local D1 before `wrangler dev` opens it; then `GET /api/v1/usage` by day,
//! provider and session, a page of calls and the month's summary are timed through the worker. Side by
//! side in one run: with the `(user_id, created_at)` index the reports read by, and without it.
//!
//! The worker must be built first (`make worker`).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datasage_shared::calendar::Date;
use datasage_tests::calls::{generate, seed};
use datasage_tests::client::{token_for, Api};
use datasage_tests::percentile;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};

const CALLS: usize = 100_000;
const USER: &str = "bench-usage-user";
const REQUESTS: usize = 20;

/// Today, UTC.
fn today() -> Date {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Date::from_unix_ms(ms)
}

fn start(name: &str, drop_index: bool) -> std::io::Result<WorkerInstance> {
    let vars = [
        ("JWT_SECRET", TEST_JWT_SECRET),
        ("OPENAI_API_KEY", ""),
        ("ANTHROPIC_API_KEY", ""),
    ];
    WorkerInstance::start_seeded(name, &vars, |d1| {
        let (first, days) = (today().month_start().to_string(), today().day.min(28));
        let mut calls = generate(USER, CALLS, &first, days);
        calls.extend(generate("bench-usage-other", CALLS, &first, days));
        seed(d1, &calls).map_err(std::io::Error::other)?;
        if drop_index {
            let conn = rusqlite::Connection::open(d1).map_err(std::io::Error::other)?;
            conn.execute("DROP INDEX idx_llm_calls_user", [])
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    })
}

/// p50 and p95 in ms of `REQUESTS` sequential GETs of `path` (one warm-up first).
async fn time(api: &Api, token: &str, path: &str) -> (f64, f64) {
    let (status, body) = api.get(path, Some(token)).await;
    assert_eq!(status, 200, "{path}: {body}");
    let mut ms = Vec::new();
    for _ in 0..REQUESTS {
        let started = Instant::now();
        api.get(path, Some(token)).await;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.95))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let indexed = tokio::task::spawn_blocking(|| start("bench-usage-indexed", false));
    let bare = tokio::task::spawn_blocking(|| start("bench-usage-no-index", true));
    let (indexed, bare) = (indexed.await??, bare.await??);
    let token = token_for(USER);
    let range = format!("from={}&to={}", today().month_start(), today());
    println!("{CALLS} calls of the user (and {CALLS} of another) this month; {REQUESTS} requests each, ms");
    println!(
        "{:<44} {:>10} {:>10} {:>12} {:>12}",
        "request", "p50", "p95", "no index p50", "ratio"
    );
    for path in [
        format!("/api/v1/usage?group_by=day&{range}"),
        format!("/api/v1/usage?group_by=provider&{range}"),
        format!("/api/v1/usage?group_by=session&{range}"),
        format!("/api/v1/usage/calls?limit=100&{range}"),
        "/api/v1/usage/summary".to_owned(),
    ] {
        let (p50, p95) = time(&Api::new(&indexed.base_url), &token, &path).await;
        let (bare50, _) = time(&Api::new(&bare.base_url), &token, &path).await;
        let short = path.trim_start_matches("/api/v1/");
        let short = short.split("&from").next().unwrap_or(short);
        let short = short.split("?from").next().unwrap_or(short);
        println!(
            "{short:<44} {p50:>10.1} {p95:>10.1} {bare50:>12.1} {:>11.2}×",
            bare50 / p50
        );
    }
    Ok(())
}
