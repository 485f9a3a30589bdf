//! Routing overhead benchmark, run on demand (`make bench`): prints figures, asserts nothing.
//!
//! Time to first answer text through the worker (auth, rate limit, session and dataset lookups, the
//! provider-health round trip, the provider call, extraction, SSE; every call logged to D1) minus the same
//! time taken directly from the mock provider, at 1, 10 and 50 concurrent streams, p50 and p99. Both sides
//! parse the stream with the same parser and `response_text` extractor, so "first text" means the same.
//!
//! The worker must be built first (`make worker`).

use std::time::{Duration, Instant};

use datasage_shared::api::StreamEvent;
use datasage_shared::extract::AnswerExtractor;
use datasage_shared::llm::{LlmEvent, LlmRequest, Message, Role};
use datasage_shared::provider::openai::{request_body, OpenAiStream};
use datasage_shared::provider::StreamParser;
use datasage_tests::client::{fresh_user, token_for, Api};
use datasage_tests::mock_provider::MockProvider;
use datasage_tests::percentile;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};
use futures::StreamExt;

const LEVELS: &[usize] = &[1, 10, 50];
const WAVES: usize = 4;

/// Milliseconds until the first answer text, straight from the mock.
async fn direct(http: &reqwest::Client, url: &str) -> f64 {
    let req = LlmRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![Message::new(Role::User, "How many rows are there?")],
        temperature: 0.2,
        max_tokens: 1_500,
    };
    let started = Instant::now();
    let resp = http.post(url).json(&request_body(&req)).send().await;
    let Ok(resp) = resp else { return f64::NAN };
    let mut body = resp.bytes_stream();
    let mut parser = OpenAiStream::new();
    let mut extractor = AnswerExtractor::new();
    while let Some(Ok(chunk)) = body.next().await {
        for ev in parser.push(&chunk) {
            if let LlmEvent::Text(t) = ev {
                if !extractor.push(&t).is_empty() {
                    return started.elapsed().as_secs_f64() * 1e3;
                }
            }
        }
    }
    f64::NAN
}

/// Milliseconds until the first `content` event, through the worker.
async fn through_worker(api: &Api) -> f64 {
    let user = fresh_user("bench");
    let body = serde_json::json!({ "message": "How many rows are there?", "session_id": user });
    let events = api
        .stream(&token_for(&user), &body, |e| {
            matches!(e, StreamEvent::Content { .. })
        })
        .await;
    events
        .iter()
        .find(|t| matches!(t.event, StreamEvent::Content { .. }))
        .map_or(f64::NAN, |t| t.at.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    let mock = rt.block_on(MockProvider::start())?;
    let worker = WorkerInstance::start(
        "bench-routing",
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("DEV_AUTH", "false"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
            ("PROVIDER_ORDER", "openai,builtin"),
            ("OPENAI_API_KEY", "sk-bench"),
            ("OPENAI_BASE_URL", &mock.openai_base_url()),
            ("OPENROUTER_API_KEY", ""),
            ("ANTHROPIC_API_KEY", ""),
        ],
    )?;
    rt.block_on(async {
        let api = Api::new(&worker.base_url);
        let http = reqwest::Client::new();
        let url = format!("{}/chat/completions", mock.openai_base_url());
        // Warm both paths (isolate start, D1 and Durable Object first use).
        for _ in 0..3 {
            through_worker(&api).await;
            direct(&http, &url).await;
        }
        println!("time to first answer text, ms ({WAVES} waves per level; logging to D1 on)");
        println!(
            "{:>11} {:>11} {:>11} {:>11} {:>11} {:>13} {:>13}",
            "concurrent",
            "direct p50",
            "direct p99",
            "worker p50",
            "worker p99",
            "overhead p50",
            "overhead p99"
        );
        for &n in LEVELS {
            let (mut direct_ms, mut worker_ms) = (Vec::new(), Vec::new());
            for _ in 0..WAVES {
                let d = futures::future::join_all((0..n).map(|_| direct(&http, &url))).await;
                direct_ms.extend(d);
                let w = futures::future::join_all((0..n).map(|_| through_worker(&api))).await;
                worker_ms.extend(w);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            direct_ms.retain(|x| x.is_finite());
            worker_ms.retain(|x| x.is_finite());
            direct_ms.sort_by(f64::total_cmp);
            worker_ms.sort_by(f64::total_cmp);
            let (d50, d99) = (percentile(&direct_ms, 0.5), percentile(&direct_ms, 0.99));
            let (w50, w99) = (percentile(&worker_ms, 0.5), percentile(&worker_ms, 0.99));
            println!(
                "{n:>11} {d50:>11.1} {d99:>11.1} {w50:>11.1} {w99:>11.1} {:>13.1} {:>13.1}",
                w50 - d50,
                w99 - d99
            );
        }
    });
    Ok(())
}
