//! Provider routing through real `wrangler dev`, with the mock injecting every failure class into one
//! provider: each ends in exactly one clean answer from the next provider (or a clear error when all
//! fail); retries honour `Retry-After`; the circuit breaker, shared through a Durable Object, opens at the
//! threshold, probes when half-open and closes; a client that goes away aborts the upstream call.

use std::sync::Arc;
use std::time::Duration;

use datasage_shared::api::{ChatAnswer, ErrorCode, StreamEvent};
use datasage_shared::routing::FailureClass;
use datasage_shared::tree::TreeNode;
use datasage_tests::client::{fresh_user, token_for, Api, Timed};
use datasage_tests::mock_provider::{DEFAULT_ANSWER, PACED_WORDS};
use serde_json::{json, Value};

use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};

use super::{chat_body, content_of_after_discard, logged_calls, statuses_of, Ctx, CLAUDE_KEY, MOCK_KEY};

fn final_answer(events: &[Timed]) -> Option<&ChatAnswer> {
    match events.last().map(|t| &t.event) {
        Some(StreamEvent::Complete(a)) => Some(a),
        _ => None,
    }
}

/// Every LLM-call node of a tree, in order.
fn llm_nodes(root: &TreeNode) -> Vec<TreeNode> {
    fn walk(node: &TreeNode, out: &mut Vec<TreeNode>) {
        if node.llm.is_some() {
            out.push(node.clone());
        }
        node.children.iter().for_each(|c| walk(c, out));
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

/// One cell of the fault matrix: markers injecting a fault into OpenAI, the class the attempts must be
/// recorded with, and how many OpenAI requests it takes (2 = retried once, 1 = not retried).
struct Cell {
    name: &'static str,
    markers: &'static str,
    class: FailureClass,
    openai_requests: usize,
    text_shown_first: bool,
}

const CELLS: &[Cell] = &[
    Cell {
        name: "5xx",
        markers: "[mock:openai:status=503]",
        class: FailureClass::ServerError,
        openai_requests: 2,
        text_shown_first: false,
    },
    Cell {
        name: "529 overloaded",
        markers: "[mock:openai:status=529]",
        class: FailureClass::Overloaded,
        openai_requests: 2,
        text_shown_first: false,
    },
    Cell {
        name: "429",
        markers: "[mock:openai:status=429]",
        class: FailureClass::RateLimited,
        openai_requests: 2,
        text_shown_first: false,
    },
    Cell {
        name: "400 ours",
        markers: "[mock:openai:status=400]",
        class: FailureClass::BadRequest,
        openai_requests: 1,
        text_shown_first: false,
    },
    Cell {
        name: "no first byte",
        markers: "[mock:openai:delay-headers=6000]",
        class: FailureClass::FirstTokenTimeout,
        openai_requests: 2,
        text_shown_first: false,
    },
    Cell {
        name: "stall",
        markers: "[mock:openai:stall=5000]",
        class: FailureClass::Stall,
        openai_requests: 2,
        text_shown_first: true,
    },
    Cell {
        name: "in-stream error",
        markers: "[mock:openai:stream-error]",
        class: FailureClass::StreamError,
        openai_requests: 2,
        text_shown_first: true,
    },
    Cell {
        name: "malformed",
        markers: "[mock:openai:garbage]",
        class: FailureClass::Malformed,
        openai_requests: 2,
        text_shown_first: false,
    },
    Cell {
        name: "cut mid-stream",
        markers: "[mock:openai:cut]",
        class: FailureClass::Malformed,
        openai_requests: 2,
        text_shown_first: true,
    },
];

/// Asks through `api`, streaming or not; returns the final answer and the streamed events (none for JSON).
async fn ask(
    api: &Api,
    user: &str,
    question: &str,
    streaming: bool,
) -> (Result<ChatAnswer, Value>, Vec<Timed>) {
    let token = token_for(user);
    let body = chat_body(question, user);
    if streaming {
        let events = api.stream(&token, &body, |_| false).await;
        let result = match events.last().map(|t| &t.event) {
            Some(StreamEvent::Complete(a)) => Ok((**a).clone()),
            Some(StreamEvent::Error(e)) => Err(json!({"error": e})),
            other => Err(json!(format!("{other:?}"))),
        };
        (result, events)
    } else {
        let (status, _, body) = api.post("/api/v1/chat", Some(&token), &body).await;
        let result = if status == 200 {
            serde_json::from_value(body.clone()).map_err(|_| body)
        } else {
            Err(body)
        };
        (result, Vec::new())
    }
}

async fn check_cell(c: &Ctx, api: &Api, cell: &Cell, streaming: bool) {
    let user = fresh_user("fault");
    let at = format!("{} ({})", cell.name, if streaming { "streaming" } else { "json" });
    let (result, events) = ask(api, &user, &format!("Totals? {} {user}", cell.markers), streaming).await;
    let answer = result.unwrap_or_else(|e| panic!("{at}: no answer: {e}"));
    assert_eq!(answer.message, DEFAULT_ANSWER, "{at}");
    assert_eq!(
        answer.metadata.provider, "anthropic",
        "{at}: the next provider answered"
    );
    if streaming {
        assert_eq!(
            content_of_after_discard(&events),
            DEFAULT_ANSWER,
            "{at}: exactly one clean answer, nothing spliced"
        );
        let discards = events
            .iter()
            .filter(|t| matches!(t.event, StreamEvent::Discard { .. }))
            .count();
        assert_eq!(
            discards > 0,
            cell.text_shown_first,
            "{at}: discard only when text had been shown"
        );
    }
    let openai = c
        .mock
        .requests_containing(&user)
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count();
    assert_eq!(openai, cell.openai_requests, "{at}: OpenAI attempts");
    let nodes = llm_nodes(&answer.metadata.execution_tree.root);
    let failed: Vec<_> = nodes
        .iter()
        .filter_map(|n| n.llm.as_ref())
        .filter(|l| l.provider == "openai")
        .collect();
    assert_eq!(
        failed.len(),
        cell.openai_requests,
        "{at}: one tree node per attempt"
    );
    for (i, l) in failed.iter().enumerate() {
        assert_eq!(
            (l.failure_class, l.retries, l.outcome.as_str()),
            (Some(cell.class), i as u32, "error"),
            "{at}"
        );
    }
    let calls = logged_calls(api, &token_for(&user), &user, |calls| {
        calls.len() == cell.openai_requests + 1
    })
    .await;
    for call in &calls[..cell.openai_requests] {
        assert_eq!(
            (
                &call["provider"],
                &call["status"],
                &call["metadata"]["failure_class"]
            ),
            (&json!("openai"), &json!("error"), &json!(cell.class)),
            "{at}: every attempt logged"
        );
    }
    assert_eq!(
        (
            &calls[cell.openai_requests]["provider"],
            &calls[cell.openai_requests]["status"]
        ),
        (&json!("anthropic"), &json!("ok"))
    );
}

pub async fn every_failure_class_ends_in_one_clean_answer_from_the_next_provider(c: Arc<Ctx>) {
    let mut cells = Vec::new();
    for cell in CELLS {
        for streaming in [true, false] {
            cells.push(check_cell(&c, &c.routing, cell, streaming));
        }
    }
    futures::future::join_all(cells).await;
    // Connection refused: nothing reaches a mock, so the tree and log tell.
    for streaming in [true, false] {
        let user = fresh_user("connect");
        let (result, _) = ask(&c.unreachable, &user, "Totals?", streaming).await;
        let answer = result.unwrap_or_else(|e| panic!("connect: {e}"));
        assert_eq!(
            (answer.message.as_str(), answer.metadata.provider.as_str()),
            (DEFAULT_ANSWER, "anthropic")
        );
        let nodes = llm_nodes(&answer.metadata.execution_tree.root);
        let classes: Vec<_> = nodes
            .iter()
            .filter_map(|n| n.llm.as_ref())
            .map(|l| l.failure_class)
            .collect();
        assert_eq!(
            classes,
            [Some(FailureClass::Connect), Some(FailureClass::Connect), None]
        );
    }
}

pub async fn a_mid_stream_failure_is_discarded_and_never_spliced_into_the_answer(c: Arc<Ctx>) {
    let user = fresh_user("splice");
    let token = token_for(&user);
    let (result, events) = ask(
        &c.routing,
        &user,
        &format!("Totals? [mock:openai:stall=5000] {user}"),
        true,
    )
    .await;
    let answer = result.unwrap_or_else(|e| panic!("{e}"));
    let first_discard = events
        .iter()
        .position(|t| matches!(t.event, StreamEvent::Discard { .. }))
        .expect("a discard event");
    let before: String = events[..first_discard]
        .iter()
        .filter_map(|t| match &t.event {
            StreamEvent::Content { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        !before.is_empty() && DEFAULT_ANSWER.starts_with(&before),
        "partial text went out first: {before}"
    );
    assert_eq!(content_of_after_discard(&events), answer.message);
    let statuses = statuses_of(&events);
    assert!(
        statuses
            .iter()
            .any(|s| s == "OpenAI stopped mid-answer — retrying in 1 s"),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|s| s == "OpenAI stopped mid-answer — using Anthropic"),
        "{statuses:?}"
    );
    // The stored conversation holds the clean answer only: the next turn's history shows it.
    logged_calls(&c.routing, &token, &user, |calls| calls.len() == 3).await;
    let (next, _) = ask(&c.routing, &user, "And then?", true).await;
    assert!(next.is_ok(), "{next:?}");
    let last = c.mock.requests_containing(&user).pop().expect("second turn");
    let earlier: Vec<&str> = last.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(earlier, [json!({"response_text": DEFAULT_ANSWER}).to_string()]);
}

pub async fn retry_after_is_honoured_before_retrying(c: Arc<Ctx>) {
    let user = fresh_user("retryafter");
    let question = format!(
        "Totals? [mock:openai:status=429][mock:openai:retry-after=1][mock:openai:fail-first=1] {user}"
    );
    let (result, _) = ask(&c.routing, &user, &question, true).await;
    let answer = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        answer.metadata.provider, "openai",
        "the retry on the same provider succeeded"
    );
    let reqs: Vec<_> = c.mock.requests_containing(&user);
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at.duration_since(reqs[0].at);
    assert!(
        gap >= Duration::from_millis(1000),
        "waited {gap:?}, Retry-After said 1 s"
    );
}

pub async fn when_every_provider_fails_the_error_is_clear(c: Arc<Ctx>) {
    for streaming in [true, false] {
        let user = fresh_user("allfail");
        let question = format!("Totals? [mock:openai:status=503][mock:anthropic:status=500] {user}");
        let (result, _) = ask(&c.routing, &user, &question, streaming).await;
        let err = result.expect_err("no provider can answer");
        assert_eq!(
            err["error"]["code"],
            json!(ErrorCode::ProvidersUnavailable),
            "{err}"
        );
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            message, "No AI provider could answer: OpenAI had a server error; Anthropic had a server error.",
            "each provider's reason in plain words, no HTTP detail"
        );
        assert_eq!(c.mock.requests_containing(&user).len(), 4, "two attempts each");
    }
}

pub async fn a_refused_key_marks_the_provider_misconfigured_and_it_is_skipped(c: Arc<Ctx>) {
    let user = fresh_user("badkey");
    let (result, _) = ask(
        &c.auth,
        &user,
        &format!("Totals? [mock:openai:status=401] {user}"),
        true,
    )
    .await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("anthropic")
    );
    assert_eq!(
        c.mock
            .requests_containing(&user)
            .iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .count(),
        1,
        "an auth error is not retried"
    );
    let (_, metrics) = c.auth.get("/api/v1/chat/metrics", Some(&token_for(&user))).await;
    let openai = &metrics["providers"][0];
    assert_eq!(
        (&openai["provider"], &openai["state"]),
        (&json!("openai"), &json!("misconfigured")),
        "{metrics}"
    );
    assert!(
        openai["last_error"].as_str().is_some_and(|e| e.contains("401")),
        "{metrics}"
    );

    let next = fresh_user("badkey-next");
    let (result, events) = ask(&c.auth, &next, &format!("Totals? {next}"), true).await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("anthropic")
    );
    assert!(
        c.mock
            .requests_containing(&next)
            .iter()
            .all(|r| r.path.ends_with("/messages")),
        "OpenAI skipped"
    );
    assert!(events.iter().any(|t| matches!(&t.event,
        StreamEvent::Status { message, .. } if message.starts_with("OpenAI is misconfigured (its API key was refused"))));
}

pub async fn the_breaker_opens_at_the_threshold_probes_when_half_open_and_closes(c: Arc<Ctx>) {
    let openai_requests = |user: &str| {
        c.mock
            .requests_containing(user)
            .iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .count()
    };
    let state = |metrics: &Value| {
        metrics["providers"][0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let token = token_for(&fresh_user("observer"));
    for i in 1..=3 {
        let user = fresh_user("trip");
        let (result, _) = ask(
            &c.breaker,
            &user,
            &format!("Totals? [mock:openai:status=503] {user}"),
            true,
        )
        .await;
        assert_eq!(
            result.map(|a| a.metadata.provider).ok().as_deref(),
            Some("anthropic")
        );
        assert_eq!(openai_requests(&user), 1);
        let (_, metrics) = c.breaker.get("/api/v1/chat/metrics", Some(&token)).await;
        let expected = if i < 3 { "degraded" } else { "open" };
        assert_eq!(state(&metrics), expected, "after {i} failures: {metrics}");
    }
    // Open: OpenAI is skipped, with a status saying so.
    let user = fresh_user("skipped");
    let (result, events) = ask(&c.breaker, &user, &format!("Totals? {user}"), true).await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("anthropic")
    );
    assert_eq!(openai_requests(&user), 0);
    assert!(events.iter().any(|t| matches!(&t.event,
        StreamEvent::Status { message, .. } if message.starts_with("OpenAI is unavailable (circuit open until ")
            && message.ends_with("UTC) — using Anthropic"))));
    let answer = final_answer(&events).expect("answer");
    let nodes = llm_nodes(&answer.metadata.execution_tree.root);
    assert_eq!(
        nodes[0]
            .llm
            .as_ref()
            .map(|l| (l.outcome.as_str(), l.breaker.as_str())),
        Some(("skipped", "open"))
    );

    // After the cooldown, one probe goes through; it succeeds and the circuit closes.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let user = fresh_user("probe");
    let (result, events) = ask(&c.breaker, &user, &format!("Totals? {user}"), true).await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("openai"),
        "the probe answered"
    );
    let answer = final_answer(&events).expect("answer");
    let nodes = llm_nodes(&answer.metadata.execution_tree.root);
    assert_eq!(
        nodes[0].llm.as_ref().map(|l| l.breaker.as_str()),
        Some("half_open")
    );
    let (_, metrics) = c.breaker.get("/api/v1/chat/metrics", Some(&token)).await;
    assert_eq!(
        state(&metrics),
        "degraded",
        "closed, with recent failures: {metrics}"
    );
    let m = &metrics["providers"][0];
    assert_eq!(
        (m["total_requests"].as_u64(), m["failed_requests"].as_u64()),
        (Some(4), Some(3))
    );
    assert!(
        m["latency_ms_p50"].as_u64().is_some() && m["ttft_ms_p95"].as_u64().is_some(),
        "{m}"
    );
    assert!(m["circuit_open_until_ms"].is_null());
    let user = fresh_user("closed");
    let (result, _) = ask(&c.breaker, &user, &format!("Totals? {user}"), true).await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("openai")
    );
}

pub async fn a_disconnect_aborts_the_upstream_call(c: Arc<Ctx>) {
    let user = fresh_user("abort");
    let token = token_for(&user);
    let body = chat_body(&format!("Long answer please [mock:paced] {user}"), &user);
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let events = c
        .llm
        .stream(&token, &body, |e| {
            use std::sync::atomic::Ordering;
            if matches!(e, StreamEvent::Content { .. }) {
                seen.fetch_add(1, Ordering::Relaxed);
            }
            seen.load(Ordering::Relaxed) >= 3
        })
        .await;
    assert!(events.len() >= 3);
    let seq = c.mock.requests_containing(&user)[0].seq;
    let mut aborted = false;
    for _ in 0..40 {
        if c.mock.was_aborted(seq) {
            aborted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        aborted,
        "the mock saw the upstream connection close before its {PACED_WORDS} words were sent"
    );
    let calls = logged_calls(&c.llm, &token, &user, |calls| !calls.is_empty()).await;
    assert_eq!(calls[0]["status"], "cancelled");
}

pub async fn an_open_circuit_survives_a_restart(c: Arc<Ctx>) {
    let vars: Vec<(&str, String)> = vec![
        ("JWT_SECRET", TEST_JWT_SECRET.into()),
        ("DEV_AUTH", "false".into()),
        ("PROVIDER_ORDER", "openai,anthropic".into()),
        ("OPENROUTER_API_KEY", String::new()),
        ("OPENAI_API_KEY", MOCK_KEY.into()),
        ("OPENAI_BASE_URL", c.mock.openai_base_url()),
        ("ANTHROPIC_API_KEY", CLAUDE_KEY.into()),
        ("ANTHROPIC_BASE_URL", c.mock.anthropic_base_url()),
        ("RETRY_MAX_ATTEMPTS", "1".into()),
        ("BREAKER_THRESHOLD", "1".into()),
        ("BREAKER_COOLDOWN_MS", "600000".into()),
    ];
    let instance = tokio::task::spawn_blocking(move || {
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        WorkerInstance::start("restart", &refs)
    })
    .await
    .expect("join")
    .expect("instance");
    let user = fresh_user("restart");
    let token = token_for(&user);
    let api = Api::new(&instance.base_url);
    let (result, _) = ask(
        &api,
        &user,
        &format!("Totals? [mock:openai:status=503] {user}"),
        true,
    )
    .await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("anthropic")
    );
    let (_, before) = api.get("/api/v1/chat/metrics", Some(&token)).await;
    assert_eq!(before["providers"][0]["state"], "open", "{before}");

    let instance = tokio::task::spawn_blocking(move || instance.restart())
        .await
        .expect("join")
        .expect("restarted");
    let api = Api::new(&instance.base_url);
    let (_, after) = api.get("/api/v1/chat/metrics", Some(&token)).await;
    assert_eq!(after["providers"][0]["state"], "open", "{after}");
    assert_eq!(
        after["providers"][0]["circuit_open_until_ms"],
        before["providers"][0]["circuit_open_until_ms"]
    );
    let next = fresh_user("restart-next");
    let (result, _) = ask(&api, &next, &format!("Totals? {next}"), true).await;
    assert_eq!(
        result.map(|a| a.metadata.provider).ok().as_deref(),
        Some("anthropic")
    );
    assert!(
        c.mock
            .requests_containing(&next)
            .iter()
            .all(|r| r.path.ends_with("/messages")),
        "OpenAI still skipped"
    );
    tokio::task::spawn_blocking(move || drop(instance))
        .await
        .expect("stopped");
}
