//! A mock OpenAI-compatible provider (`POST /v1/chat/completions`, streaming), for tests only.
//!
//! What it does is chosen per request by a marker in the last user message, so concurrent tests never
//! share state: `[mock:paced]` streams slowly, `[mock:fixture=openai/text_with_usage]` replays a recorded
//! stream byte for byte, `[mock:status=500]` fails, `[mock:cut]` breaks off mid-stream. Without a marker it
//! streams a short answer quickly. Every request is recorded for assertions.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
}

impl Recorded {
    /// The last user message's text.
    pub fn question(&self) -> String {
        self.body["messages"]
            .as_array()
            .and_then(|ms| ms.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

/// Number of words `[mock:paced]` streams, and the pause before each.
pub const PACED_WORDS: usize = 40;
pub const PACED_DELAY: Duration = Duration::from_millis(50);
/// The answer streamed without a marker.
pub const DEFAULT_ANSWER: &str = "The dataset has **3,000 rows**. West leads revenue.";
/// Usage the generated streams report.
pub const PROMPT_TOKENS: u64 = 321;

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// A running mock; it stops when the process ends.
pub struct MockProvider {
    pub addr: SocketAddr,
    shared: Shared,
}

impl MockProvider {
    /// Starts on an ephemeral loopback port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> std::io::Result<Self> {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared })
    }

    /// The `OPENAI_BASE_URL` pointing here.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests whose question contains `needle`.
    pub fn requests_containing(&self, needle: &str) -> Vec<Recorded> {
        let all = self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default();
        all.into_iter()
            .filter(|r| r.question().contains(needle))
            .collect()
    }
}

fn marker(question: &str) -> Option<&str> {
    let start = question.find("[mock:")? + "[mock:".len();
    let end = question[start..].find(']')? + start;
    Some(&question[start..end])
}

async fn chat_completions(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let rec = Recorded {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
    };
    let question = rec.question();
    if let Ok(mut r) = shared.requests.lock() {
        r.push(rec);
    }
    let model = body["model"].as_str().unwrap_or("mock-model").to_owned();
    match marker(&question) {
        Some(m) if m.starts_with("status=") => {
            let status = m["status=".len()..].parse().unwrap_or(500);
            error_response(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Some(m) if m.starts_with("fixture=") => replay_fixture(&m["fixture=".len()..]),
        Some("paced") => {
            let words: Vec<String> = (1..=PACED_WORDS).map(|i| format!("word{i} ")).collect();
            sse_response(generated_stream(&model, &words, true), PACED_DELAY)
        }
        Some("cut") => {
            let words = vec!["This ".to_owned(), "answer ".to_owned(), "breaks".to_owned()];
            sse_response(generated_stream(&model, &words, false), Duration::ZERO)
        }
        _ => {
            let words: Vec<String> = datasage_shared::text::stream_chunks(DEFAULT_ANSWER)
                .into_iter()
                .map(str::to_owned)
                .collect();
            sse_response(generated_stream(&model, &words, true), Duration::ZERO)
        }
    }
}

fn error_response(status: StatusCode) -> Response {
    let body = json!({ "error": { "message": format!("mock failure {}", status.as_u16()), "type": "server_error", "code": null } });
    (status, Json(body)).into_response()
}

/// The frames of an OpenAI stream: role chunk, one chunk per word, then (if `finish`) the finish chunk, the
/// usage chunk with empty `choices`, and `[DONE]` — the shape api.openai.com sends with `include_usage`.
fn generated_stream(model: &str, words: &[String], finish: bool) -> Vec<String> {
    let chunk = |delta: Value, finish_reason: Value| {
        json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]})
    };
    let mut frames = vec![format!(
        "data: {}\n\n",
        chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    )];
    frames.extend(
        words
            .iter()
            .map(|w| format!("data: {}\n\n", chunk(json!({"content": w}), Value::Null))),
    );
    if finish {
        frames.push(format!("data: {}\n\n", chunk(json!({}), json!("stop"))));
        let usage = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model, "choices": [],
            "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": words.len(), "total_tokens": PROMPT_TOKENS + words.len() as u64}});
        frames.push(format!("data: {usage}\n\n"));
        frames.push("data: [DONE]\n\n".to_owned());
    }
    frames
}

fn sse_response(frames: Vec<String>, delay: Duration) -> Response {
    let body = stream::iter(frames).then(move |f| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<Bytes, Infallible>(Bytes::from(f))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Replays a recorded stream from `shared/tests/fixtures/providers/<name>.sse`, in small uneven chunks.
fn replay_fixture(name: &str) -> Response {
    let path = crate::repo_root()
        .join("shared/tests/fixtures/providers")
        .join(format!("{name}.sse"));
    let Ok(bytes) = std::fs::read(&path) else {
        return (StatusCode::NOT_FOUND, format!("no fixture {}", path.display())).into_response();
    };
    let chunks: Vec<Bytes> = bytes.chunks(37).map(Bytes::copy_from_slice).collect();
    let body = stream::iter(chunks).map(Ok::<Bytes, Infallible>);
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
