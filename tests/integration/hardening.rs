//! The bounds on what a provider or a model sends, storing that degrades instead of vanishing, the guard
//! that ends a request whose worker died, and uploads that once answered a generic `INTERNAL` — each
//! through `wrangler dev`, with the attack that would break it.

use std::sync::Arc;
use std::time::Duration;

use datasage_shared::api::{StreamEvent, SHORTENED_MARKER};
use datasage_tests::client::{fresh_user, token_for, Timed};
use serde_json::{json, Value};

use super::{chat_body, complete_of, logged_calls, Ctx};

/// Index of the `panicky` instance in [`Ctx::instances`].
const PANICKY: usize = 8;

/// The final `error` event of a stream, or a panic naming what it ended with.
fn error_of(events: &[Timed]) -> &datasage_shared::api::ErrorBody {
    match events.last().map(|t| &t.event) {
        Some(StreamEvent::Error(e)) => e,
        other => panic!("stream did not end with `error`: {other:?}"),
    }
}

/// A fresh user asks `question` on the hardening instance: the whole stream, and the call log once written.
struct Asked {
    user: String,
    events: Vec<Timed>,
    calls: Vec<Value>,
}

async fn ask_hardening(c: &Ctx, tag: &str, question: &str) -> Asked {
    let user = fresh_user(tag);
    let token = token_for(&user);
    let body = chat_body(&format!("{question} {user}"), &user);
    let events = c.hardening.stream(&token, &body, |_| false).await;
    let calls = logged_calls(&c.hardening, &token, &user, |calls| !calls.is_empty()).await;
    Asked { user, events, calls }
}

/// The failure class the call log recorded for each call.
fn classes(calls: &[Value]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            c["metadata"]["failure_class"]
                .as_str()
                .unwrap_or("none")
                .to_owned()
        })
        .collect()
}

pub async fn an_answer_that_never_ends_is_cut_at_its_time_bound_and_logged_too_long(c: Arc<Ctx>) {
    let Asked { user, events, calls } = ask_hardening(&c, "endless", "Go on forever [mock:endless=5]").await;
    let took = events.last().map(|t| t.at).unwrap_or_default();
    assert!(
        error_of(&events).message.contains("length or time limit"),
        "{events:?}"
    );
    assert!(took < Duration::from_secs(30), "the stream ended after {took:?}");
    assert_eq!(classes(&calls), ["too_long"], "{calls:?}");
    assert!(calls[0]["metadata"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("still going after 8000 ms")));
    let seq = c.mock.requests_containing(&user)[0].seq;
    for _ in 0..50 {
        if c.mock.was_aborted(seq) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the upstream request was not aborted");
}

pub async fn an_answer_past_its_byte_bound_is_cut_and_logged_too_long(c: Arc<Ctx>) {
    let Asked { events, calls, .. } =
        ask_hardening(&c, "flood", "Flood [mock:endless=4000] [mock:pace=1]").await;
    error_of(&events);
    let shown: usize = events
        .iter()
        .filter_map(|t| match &t.event {
            StreamEvent::Content { content } => Some(content.len()),
            _ => None,
        })
        .sum();
    assert!(
        shown <= 20_000,
        "{shown} bytes were relayed past the 20,000-byte bound"
    );
    assert_eq!(classes(&calls), ["too_long"]);
    assert!(calls[0]["metadata"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("passed 20000 bytes")));
}

/// A 10 MB line once took three first-token timeouts to fail; now it is a malformed stream at 1 MB.
pub async fn a_line_that_never_ends_fails_as_a_malformed_stream_not_a_timeout(c: Arc<Ctx>) {
    let Asked { events, calls, .. } = ask_hardening(&c, "longline", "Line [mock:huge-line=10000000]").await;
    error_of(&events);
    assert_eq!(classes(&calls), ["malformed"], "{calls:?}");
}

pub async fn a_huge_provider_error_body_is_kept_only_as_a_short_excerpt(c: Arc<Ctx>) {
    let Asked { events, calls, .. } = ask_hardening(&c, "hugeerror", "Err [mock:huge-error=2000000]").await;
    let error = error_of(&events);
    assert!(error.message.len() < 2_000, "{} bytes", error.message.len());
    let row = serde_json::to_string(&calls[0]).unwrap_or_default();
    assert!(row.len() < 4_000, "a call-log row of {} bytes", row.len());
    assert_eq!(classes(&calls), ["server_error"]);
}

/// A model naming a column of long cells once made a 20 MB answer.
pub async fn a_chart_of_huge_cells_stays_small_and_says_what_was_cut(c: Arc<Ctx>) {
    let user = fresh_user("hugecells");
    let token = token_for(&user);
    let mut csv = String::from("note,n\n");
    for i in 0..300 {
        csv.push_str(&format!("{i}{},{i}\n", "x".repeat(60_000)));
    }
    let (status, detail) = c.hardening.upload(&token, "long notes", csv.into_bytes()).await;
    assert_eq!(status, 201, "{detail}");
    let body = json!({
        "message": "Chart it [mock:sql=SELECT note, n FROM data] [mock:chart=note,n]",
        "session_id": user,
        "dataset_id": detail["id"],
    });
    let events = c.hardening.stream(&token, &body, |_| false).await;
    let answer = complete_of(&events);
    let chart = answer.chart_config.as_ref().expect("a chart");
    let bytes = serde_json::to_string(&chart.data).unwrap_or_default().len();
    assert!(bytes <= 70_000, "chart data of {bytes} bytes");
    let whole = serde_json::to_string(answer).unwrap_or_default().len();
    assert!(whole < 300_000, "an answer of {whole} bytes");
    let tree = serde_json::to_string(&answer.metadata.execution_tree).unwrap_or_default();
    assert!(
        tree.contains("were cut") || tree.contains("only the first"),
        "{tree:.2000}"
    );
}

pub async fn a_panic_mid_answer_ends_the_stream_with_an_error_and_logs_the_question(c: Arc<Ctx>) {
    let user = fresh_user("panic");
    let token = token_for(&user);
    let events = c
        .panicky
        .stream(&token, &chat_body("How many rows? [fault:panic]", &user), |_| {
            false
        })
        .await;
    assert_eq!(error_of(&events).code, datasage_shared::api::ErrorCode::Internal);
    let calls = logged_calls(&c.panicky, &token, &user, |calls| !calls.is_empty()).await;
    assert_eq!(classes(&calls), ["internal"], "{calls:?}");
    let (_, session) = c
        .panicky
        .get(&format!("/api/v1/sessions/{user}"), Some(&token))
        .await;
    assert_eq!(session["messages"][0]["content"], "How many rows? [fault:panic]");
    // What panicked, and where, is in the runtime's log: the shipped wasm has no function names, so this
    // line is how a panic is found.
    let said = |log: &str| {
        log.contains("Rust panic: panicked at worker/src/chat/mod.rs")
            && log.contains("injected fault: a panic mid-answer")
    };
    let mut log = String::new();
    for _ in 0..50 {
        log = std::fs::read_to_string(&c.instances[PANICKY].log_path).unwrap_or_default();
        if said(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(said(&log), "the log does not say what panicked where:\n{log}");

    let other = format!("{user}-json");
    let (status, _, body) = c
        .panicky
        .post(
            "/api/v1/chat",
            Some(&token),
            &chat_body("Rows? [fault:panic]", &other),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (500, &json!("INTERNAL")),
        "{body}"
    );
    logged_calls(&c.panicky, &token, &other, |calls| !calls.is_empty()).await;

    // The worker is rebuilt for the next request.
    let events = c
        .panicky
        .stream(
            &token,
            &chat_body("How many rows?", &format!("{user}-after")),
            |_| false,
        )
        .await;
    assert!(complete_of(&events).message.contains("3,000"));
}

pub async fn an_answer_too_big_to_store_is_saved_shortened_and_the_stream_says_so(c: Arc<Ctx>) {
    let user = fresh_user("toobig");
    let token = token_for(&user);
    let events = c
        .hardening
        .stream(&token, &chat_body("Write a lot [mock:long=600]", &user), |_| {
            false
        })
        .await;
    let answer = complete_of(&events).clone();
    let said = events.iter().rev().skip(1).find_map(|t| match &t.event {
        StreamEvent::Status { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(
        said.as_deref()
            .is_some_and(|m| m.contains("too long to save whole")),
        "{said:?}"
    );
    let (_, session) = c
        .hardening
        .get(&format!("/api/v1/sessions/{user}"), Some(&token))
        .await;
    let saved = session["messages"][1]["content"].as_str().unwrap_or_default();
    assert!(saved.ends_with(SHORTENED_MARKER), "{saved:.200}");
    assert!(answer
        .message
        .starts_with(saved.trim_end_matches(SHORTENED_MARKER)));
    assert!(saved.len() < answer.message.len());
}

/// D1 refusing a write (a real constraint failure, injected) is retried once, then the answer is stored
/// shortened, then only the question and call log; every outcome is counted in the metrics.
pub async fn when_storing_fails_it_retries_then_degrades_and_counts(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("store"));
    let storage = |m: &Value, k: &str| m["storage"][k].as_u64().unwrap_or(0);
    let (_, before) = c.hardening.get("/api/v1/chat/metrics", Some(&token)).await;
    let mut sessions = Vec::new();
    for fails in 1..=3 {
        let user = fresh_user(&format!("store{fails}"));
        let token = token_for(&user);
        let question = format!("Hello [fault:store-fail={fails}]");
        let (status, _, body) = c
            .hardening
            .post("/api/v1/chat", Some(&token), &chat_body(&question, &user))
            .await;
        assert_eq!(status, 200, "{body}");
        logged_calls(&c.hardening, &token, &user, |calls| !calls.is_empty()).await;
        let (_, session) = c
            .hardening
            .get(&format!("/api/v1/sessions/{user}"), Some(&token))
            .await;
        sessions.push(session["messages"].as_array().cloned().unwrap_or_default());
    }
    assert_eq!(sessions[0].len(), 2, "stored whole on the retry");
    assert!(
        sessions[0][1]["answer"]["metadata"]["execution_tree"]["root"]["children"].is_array(),
        "with its steps: {}",
        sessions[0][1]
    );
    assert_eq!(sessions[1].len(), 2, "stored shortened");
    assert!(sessions[1][1]["content"]
        .as_str()
        .is_some_and(|t| t.ends_with(SHORTENED_MARKER)));
    assert_eq!(sessions[2].len(), 1, "the question alone");
    let (_, after) = c.hardening.get("/api/v1/chat/metrics", Some(&token)).await;
    for outcome in ["retried", "shortened", "without_answer"] {
        assert!(
            storage(&after, outcome) > storage(&before, outcome),
            "{outcome}: {before} → {after}"
        );
    }
}

pub async fn awkward_column_names_are_refused_as_invalid_csv_with_the_line(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("names"));
    let long_name = format!("a,{}\n1,2\n", "n".repeat(64 * 1024));
    for csv in [
        b"a,\"b\nc\"\n1,2\n".to_vec(),
        b"a,\"b\0c\"\n1,2\n".to_vec(),
        long_name.into_bytes(),
    ] {
        let (status, body) = c.builtin.upload(&token, "names", csv).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            (
                &body["error"]["code"],
                &body["error"]["reason"],
                &body["error"]["line"]
            ),
            (&json!("INVALID_CSV"), &json!("CSV_BAD_HEADER"), &json!(1)),
            "{body}"
        );
    }
}

pub async fn oversized_forms_offsets_and_headers_get_clear_errors(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("forms"));
    let send = |body: Vec<u8>| {
        reqwest::Client::new()
            .post(c.builtin.url("/api/v1/datasets"))
            .bearer_auth(&token)
            .header("content-type", "multipart/form-data; boundary=B")
            .body(body)
            .send()
    };
    let padded = format!(
        "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nX-Pad: {}\r\n\r\na\n1\n\r\n--B--\r\n",
        "p".repeat(9 * 1024)
    );
    let fields = "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n".repeat(40_000)
        + "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na\n1\n\r\n--B--\r\n";
    for (body, says) in [(padded, "headers"), (fields, "parts")] {
        let resp = send(body.into_bytes()).await.expect("upload");
        assert_eq!(resp.status().as_u16(), 400);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "BAD_REQUEST", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(says)),
            "{body}"
        );
    }

    let (status, page) = c
        .builtin
        .get(
            "/api/v1/datasets/sample/rows?offset=18446744073709551615",
            Some(&token),
        )
        .await;
    assert_eq!(
        (status, page["rows"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{page}"
    );

    let resp = reqwest::Client::new()
        .get(c.builtin.url("/api/v1/sessions"))
        .header("authorization", format!("Bearer {}", "a".repeat(20_000)))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.expect("a JSON error, not the runtime's text");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("over 8192 bytes")));
}
