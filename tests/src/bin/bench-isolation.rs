//! Isolation benchmark, run on demand (`make bench`): prints figures, asserts nothing.
//!
//! One user (B) asks questions over the sample while another (A) keeps two questions at a time running
//! over a 100,000-row upload, through one real `wrangler dev` and the mock provider. B's time to the first
//! answer text is measured quiet, then while A's model proposes (1) a self-join that would read ~2 billion
//! rows — refused by the cost bound after its probes — and (2) a kind of query that is allowed, a full
//! scan with grouping, non-stop and at the rate limiter's 20 questions a minute (the rate limit is lifted
//! here so A can ask non-stop). Locally every object shares one runtime thread, so A's work shows up in
//! B's figures here; in production each object runs on its own.
//!
//! The worker must be built first (`make worker`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use datasage_shared::api::StreamEvent;
use datasage_tests::client::{fresh_user, token_for, Api};
use datasage_tests::mock_provider::MockProvider;
use datasage_tests::percentile;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};
use serde_json::json;

const ROWS: usize = 100_000;
const QUESTIONS_PER_RUN: usize = 30;
const B_QUESTION: &str =
    "Revenue by region? [mock:sql=SELECT region, SUM(revenue) AS r FROM data GROUP BY region]";
const REFUSED: &str = "SELECT COUNT(*) AS n FROM data a JOIN data b ON a.g = b.g";
const HEAVIEST_ALLOWED: &str =
    "SELECT g, COUNT(*) AS n, SUM(x) AS s, AVG(x) AS a, MIN(x) AS lo, MAX(x) AS hi FROM data GROUP BY g";

/// Milliseconds from sending a question to its first answer text.
async fn time_to_first_text(api: &Api, token: &str, message: &str, dataset: Option<&str>) -> Option<f64> {
    let session = fresh_user("bench-session");
    let body =
        json!({ "message": format!("{message} {session}"), "session_id": session, "dataset_id": dataset });
    let events = api
        .stream(token, &body, |e| matches!(e, StreamEvent::Content { .. }))
        .await;
    events
        .iter()
        .find(|t| matches!(t.event, StreamEvent::Content { .. }))
        .map(|t| t.at.as_secs_f64() * 1e3)
}

/// What A keeps running: the SQL their model proposes, and the pause between one loop's questions.
type Load = Option<(&'static str, Duration)>;

/// B's figures while A's `load` runs in two loops; returns B's p50 and p95, and A's questions done.
async fn run(api: &Api, a: (&str, &str), b: &str, load: Load) -> (f64, f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..load.map_or(0, |_| 2) {
        let (api, token, id) = (api.clone(), token_for(a.0), a.1.to_owned());
        let (stop, done, (sql, pause)) = (stop.clone(), done.clone(), load.unwrap_or_default());
        loops.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                time_to_first_text(&api, &token, &format!("Count? [mock:sql={sql}]"), Some(&id)).await;
                done.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(pause).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = token_for(b);
    let mut ms = Vec::new();
    for _ in 0..QUESTIONS_PER_RUN {
        if let Some(t) = time_to_first_text(api, &token, B_QUESTION, None).await {
            ms.push(t);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        let _ = l.await;
    }
    ms.sort_by(f64::total_cmp);
    (
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        done.load(Ordering::Relaxed),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    let mock = rt.block_on(MockProvider::start())?;
    let worker = WorkerInstance::start(
        "bench-isolation",
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("DEV_AUTH", "false"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
            ("OPENROUTER_API_KEY", ""),
            ("ANTHROPIC_API_KEY", ""),
            ("OPENAI_API_KEY", "sk-bench"),
            ("OPENAI_BASE_URL", &mock.openai_base_url()),
            ("OPENAI_MODEL", "gpt-4o-mini"),
        ],
    )?;
    rt.block_on(async {
        let api = Api::new(&worker.base_url);
        let a = fresh_user("heavy-user");
        let mut csv = String::from("g,x\n");
        for i in 0..ROWS {
            csv.push_str(&format!("{},{}\n", i % 5, i));
        }
        let (status, detail) = api.upload(&token_for(&a), "heavy", csv.into_bytes()).await;
        if status != 201 {
            return Err(format!("upload failed: {status} {detail}").into());
        }
        let id = detail["id"].as_str().unwrap_or_default().to_owned();
        let b = fresh_user("quiet-user");
        // Warm both objects and the isolate.
        run(&api, (&a, &id), &b, None).await;
        println!("B's time to first answer text, {QUESTIONS_PER_RUN} questions each, while A keeps 2 questions running:");
        println!("{:<58} {:>8} {:>8} {:>8} {:>10}", "A is running", "p50 ms", "p95 ms", "× quiet", "A's done");
        let (quiet, quiet95, _) = run(&api, (&a, &id), &b, None).await;
        println!("{:<58} {quiet:>8.0} {quiet95:>8.0} {:>8.2} {:>10}", "nothing (quiet)", 1.0, "-");
        let flat_out = Duration::ZERO;
        // Two loops, one question every 6 s each: the 20 a minute the rate limiter lets a user ask.
        let rate_limited = Duration::from_secs(6);
        for (label, load) in [
            ("a self-join of 100k rows (refused by the cost bound)", (REFUSED, flat_out)),
            ("full scan + GROUP BY of 100k rows, non-stop", (HEAVIEST_ALLOWED, flat_out)),
            ("full scan + GROUP BY of 100k rows, at 20/min", (HEAVIEST_ALLOWED, rate_limited)),
        ] {
            let (p50, p95, done) = run(&api, (&a, &id), &b, Some(load)).await;
            println!("{label:<58} {p50:>8.0} {p95:>8.0} {:>8.2} {done:>10}", p50 / quiet);
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
