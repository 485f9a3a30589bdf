//! A mock LLM provider for tests only, speaking OpenAI chat completions (`POST /v1/chat/completions`) and
//! Anthropic Messages (`POST /v1/messages`) streaming byte for byte as the real APIs do.
//!
//! What it replies is chosen per request by markers in the conversation's user messages, so concurrent
//! tests never share state:
//! - none: a short JSON answer (`DEFAULT_ANSWER`), streamed in small pieces;
//! - `[mock:paced]`: a JSON answer of `PACED_WORDS` words, one every `PACED_DELAY`, closed only at the end;
//! - `[mock:long=N]`: a JSON answer of N pieces of markdown (paragraphs, lists, tables), one every `pace`
//!   on a fixed schedule (so `pace=5` is a steady 200 pieces a second);
//! - `[mock:answer=empty]` (empty `response_text`, then a good answer when re-asked), `[mock:answer=empty-always]`,
//!   `[mock:answer=tricky]` (escapes split across chunks), `[mock:answer=malformed]`, `[mock:answer=prose]`,
//!   `[mock:answer=hostile]` ([`HOSTILE_MARKDOWN`]: script URLs spelled every way a browser still reads);
//! - `[mock:chart=X,Y]`: a JSON answer asking for a bar chart of `Y` by `X`;
//! - `[mock:prompt-tokens=N]`: usage reports N prompt tokens (`PROMPT_TOKENS` otherwise), as a real prompt
//!   of that size would;
//! - `[mock:fixture=openai/text_with_usage]`: a recorded stream replayed from the fixtures, `[mock:pace=MS]`
//!   pausing between its chunks;
//! - `[mock:status=500]`: an HTTP error in the provider's own error format; `[mock:cut]`: a stream that
//!   breaks off before finishing;
//! - `[mock:sql=SELECT …]`: the SQL plan — first a query reply asking for that query; once results come
//!   back, an answer quoting the results verbatim (with `[mock:chart=X,Y]`, a chart of those result
//!   columns); `[mock:fix=SELECT …]` is the corrected query sent when a result says `FAILED`;
//!   `[mock:sql-always=SELECT …]` asks for queries in every reply, never answering; `[mock:sql-huge=N]`
//!   plans `SELECT 1 + 1 + … FROM data` with N terms (an expression far longer than a question may be).
//!
//! Faults, for the routing tests — any marker may be scoped to one protocol as `[mock:openai:key=…]` or
//! `[mock:anthropic:key=…]` (a scoped marker wins over a plain one):
//! - `[mock:retry-after=S]`: a `Retry-After` header on the `status` error;
//! - `[mock:fail-first=N]`: `status` (or any other fault) applies to the first N requests of this
//!   conversation to that endpoint only, then answers normally;
//! - `[mock:delay-headers=MS]`: no response at all for MS (no first byte);
//! - `[mock:stall=MS]`: half the answer, then silence for MS, then the rest;
//! - `[mock:stream-error]`: half the answer, then an error event inside the stream;
//! - `[mock:garbage]`: a stream of lines that are not the protocol, then the connection closes;
//! - `[mock:endless=N]`: an answer that never ends — pieces of N bytes, one every `pace` ms (default 20);
//! - `[mock:huge-line=N]`: one SSE line of N bytes that never ends, sent in 64 KB chunks;
//! - `[mock:huge-error=N]`: `status` 500 with an error body whose message is N bytes.
//!
//! Every request is recorded with its arrival time, and a streamed answer whose connection closed before
//! its last byte is recorded as aborted.
//!
//! Every request is recorded, so tests can assert on the prompt and headers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub at: std::time::Instant,
    /// Its number among the mock's requests, so aborts can be matched to it.
    pub seq: u64,
}

impl Recorded {
    fn user_texts(&self) -> Vec<String> {
        self.body["messages"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .filter(|m| m["role"] == "user")
                    .filter_map(|m| m["content"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The last user message's text.
    pub fn question(&self) -> String {
        self.user_texts().pop().unwrap_or_default()
    }

    /// Every user message, joined: markers may sit in an earlier turn than the last.
    pub fn conversation(&self) -> String {
        self.user_texts().join("\n")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Number of words `[mock:paced]` streams, and the pause before each.
pub const PACED_WORDS: usize = 40;
pub const PACED_DELAY: Duration = Duration::from_millis(50);
/// The answer text of the default reply.
pub const DEFAULT_ANSWER: &str = "The dataset has **3,000 rows**. West leads revenue.";
/// What `[mock:answer=hostile]` answers: links whose targets are script URLs in entity, numeric-entity,
/// `&colon;`, tab- and newline-split and reference-definition spellings, raw HTML, an image, and one safe
/// link (which must stay live).
pub const HOSTILE_MARKDOWN: &str = "Hostile links: [entity](&#106;avascript:alert(1)) \
[hex](&#x6A;avascript:alert(2)) [colon](javascript&colon;alert(3)) [tab](java&#09;script:alert(4)) \
[newline](java&#10;script:alert(5)) [ref][r] <javascript:alert(6)> ![img](javascript:alert(7)) \
<a href=\"javascript:alert(8)\">raw</a> <img src=x onerror=alert(9)> [safe](https://example.com/ok)\n\n\
[r]: &#106;avascript:alert(10)";

/// The decoded text of `[mock:answer=tricky]`.
pub const TRICKY_ANSWER: &str = "Quote \"q\", backslash \\, tab\t, newline\nand é, 😀 — done";
/// Prompt tokens the generated streams report.
pub const PROMPT_TOKENS: u64 = 321;

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// `seq` of every streamed answer whose connection closed before its end.
    aborted: Arc<Mutex<Vec<u64>>>,
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
            .route("/v1/chat/completions", post(handle))
            .route("/v1/messages", post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // Each piece of a stream goes out when written, as a provider's streaming server sends it: with
        // Nagle's algorithm a piece waits for the previous one's ACK, which the reader may delay 40 ms.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared })
    }

    /// The `OPENAI_BASE_URL` pointing here.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The `ANTHROPIC_BASE_URL` pointing here.
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether the streamed answer to request `seq` lost its connection before its end.
    pub fn was_aborted(&self, seq: u64) -> bool {
        self.shared
            .aborted
            .lock()
            .map(|a| a.contains(&seq))
            .unwrap_or(false)
    }

    /// Requests whose conversation contains `needle`, in arrival order.
    pub fn requests_containing(&self, needle: &str) -> Vec<Recorded> {
        let all = self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default();
        all.into_iter()
            .filter(|r| r.conversation().contains(needle))
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    OpenAi,
    Anthropic,
}

/// The values of every `[mock:key=value]` (or `[mock:key]`) marker in `text`.
fn markers(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("[mock:") {
        rest = &rest[i + "[mock:".len()..];
        let Some(end) = rest.find(']') else { break };
        let (k, v) = rest[..end].split_once('=').unwrap_or((&rest[..end], ""));
        out.push((k.to_owned(), v.to_owned()));
        rest = &rest[end..];
    }
    out
}

async fn handle(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let seq = shared.requests.lock().map(|r| r.len() as u64).unwrap_or(0);
    let rec = Recorded {
        path: uri.path().to_owned(),
        headers,
        body,
        at: std::time::Instant::now(),
        seq,
    };
    let format = if rec.path.ends_with("/messages") {
        Format::Anthropic
    } else {
        Format::OpenAi
    };
    let scope = match format {
        Format::OpenAi => "openai:",
        Format::Anthropic => "anthropic:",
    };
    let conversation = rec.conversation();
    // Earlier requests of this conversation to this endpoint, for `fail-first`.
    let earlier = shared
        .requests
        .lock()
        .map(|r| {
            r.iter()
                .filter(|o| o.path == rec.path && o.conversation() == conversation)
                .count()
        })
        .unwrap_or(0);
    let marks = markers(&conversation);
    let last = rec.question();
    let is_repair = last.contains("empty or missing");
    let results = last
        .split_once("<results>\n")
        .and_then(|(_, rest)| rest.split_once("</results>"))
        .map(|(inside, _)| inside.trim().to_owned());
    let model = rec.body["model"].as_str().unwrap_or("mock-model").to_owned();
    if let Ok(mut r) = shared.requests.lock() {
        r.push(rec);
    }
    // A later marker wins, so each turn of a conversation can ask for something else; a marker scoped to
    // this protocol wins over a plain one.
    let find = |key: &str| {
        marks
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mark = |key: &str| find(&format!("{scope}{key}")).or_else(|| find(key));
    let faulty = mark("fail-first")
        .and_then(|n| n.parse::<usize>().ok())
        .is_none_or(|n| earlier < n);
    let fault = |key: &str| mark(key).filter(|_| faulty);
    let prompt_tokens = mark("prompt-tokens")
        .and_then(|n| n.parse().ok())
        .unwrap_or(PROMPT_TOKENS);
    if let Some(ms) = fault("delay-headers").and_then(|ms| ms.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let pace_ms = mark("pace").and_then(|ms| ms.parse().ok());
    if let Some(n) = fault("endless").and_then(|n| n.parse::<usize>().ok()) {
        return guarded(endless(format, model, n, pace_ms.unwrap_or(20)), &shared, seq);
    }
    if let Some(n) = fault("huge-line").and_then(|n| n.parse::<usize>().ok()) {
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        let body =
            stream::iter((0..n.div_ceil(64 * 1024)).map(move |_| Ok::<Bytes, Infallible>(chunk.clone())));
        let body = body.chain(stream::pending());
        return guarded(event_stream(Body::from_stream(body)), &shared, seq);
    }
    if let Some(n) = fault("huge-error").and_then(|n| n.parse::<usize>().ok()) {
        let body =
            json!({ "error": { "message": "m".repeat(n), "type": "server_error", "code": "c".repeat(n) } });
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    }
    if let Some(code) = fault("status") {
        let mut resp = error_response(
            format,
            StatusCode::from_u16(code.parse().unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
        if let Some(v) = mark("retry-after").and_then(|v| v.parse().ok()) {
            resp.headers_mut().insert("retry-after", v);
        }
        return resp;
    }
    // The default answer, and how many of its pieces go out before a mid-stream fault: all but the last
    // two, so the answer text is already streaming when the fault hits.
    let pieces = split(&answer_json(DEFAULT_ANSWER));
    let before_fault = pieces.len().saturating_sub(2);
    if fault("garbage").is_some() {
        let frames = vec![
            "data: {not json\n\n".to_owned(),
            "event: nonsense\ndata: ]]]\n\n".to_owned(),
        ];
        return guarded(sse_response(frames, Duration::ZERO), &shared, seq);
    }
    if fault("stream-error").is_some() {
        let first = &pieces[..before_fault];
        let mut frames = match format {
            Format::OpenAi => openai_frames(&model, first, false, prompt_tokens),
            Format::Anthropic => anthropic_frames(&model, first, false, prompt_tokens),
        };
        frames.push(match format {
            Format::OpenAi => "data: {\"error\": {\"message\": \"upstream model failed\", \"type\": \"server_error\"}}\n\n".to_owned(),
            Format::Anthropic => "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n".to_owned(),
        });
        return guarded(sse_response(frames, Duration::from_millis(20)), &shared, seq);
    }
    if let Some(ms) = fault("stall").and_then(|ms| ms.parse::<u64>().ok()) {
        let frames = match format {
            Format::OpenAi => openai_frames(&model, &pieces, true, prompt_tokens),
            Format::Anthropic => anthropic_frames(&model, &pieces, true, prompt_tokens),
        };
        // The silence falls just before the last pieces of the text. Both protocols close a finished
        // stream with three frames; what comes before the pieces is their opening.
        let opening = frames.len() - pieces.len() - 3;
        let at = opening + before_fault;
        let delays: Vec<Duration> = (0..frames.len())
            .map(|i| {
                if i == at {
                    Duration::from_millis(ms)
                } else {
                    Duration::from_millis(10)
                }
            })
            .collect();
        return guarded(paced_response(frames, delays), &shared, seq);
    }
    let pace = mark("pace")
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::ZERO);
    if let Some(name) = mark("fixture") {
        return replay_fixture(name, pace);
    }
    if let Some(reply) = plan_reply(&mark, results.as_deref(), is_repair) {
        let frames = match format {
            Format::OpenAi => openai_frames(&model, &split(&reply), true, prompt_tokens),
            Format::Anthropic => anthropic_frames(&model, &split(&reply), true, prompt_tokens),
        };
        return sse_response(frames, pace);
    }
    if let Some(n) = mark("long").and_then(|n| n.parse().ok()) {
        let mut pieces = vec![r#"{"response_text": ""#.to_owned()];
        pieces.extend(long_markdown(n).into_iter().map(|p| json_escaped(&p)));
        pieces.push(r#"", "chart_config": null, "confidence": "high"}"#.to_owned());
        let frames = match format {
            Format::OpenAi => openai_frames(&model, &pieces, true, prompt_tokens),
            Format::Anthropic => anthropic_frames(&model, &pieces, true, prompt_tokens),
        };
        return scheduled_response(frames, pace);
    }
    let (pieces, delay) = match (mark("paced"), mark("answer"), mark("chart")) {
        (Some(_), _, _) => {
            let mut pieces = vec![r#"{"response_text": ""#.to_owned()];
            pieces.extend((1..=PACED_WORDS).map(|i| format!("word{i} ")));
            pieces.push(r#"", "chart_config": null, "confidence": "high"}"#.to_owned());
            (pieces, PACED_DELAY)
        }
        (_, Some("empty"), _) if !is_repair => (split(&answer_json("")), Duration::ZERO),
        (_, Some("empty-always"), _) => (split(&answer_json("")), Duration::ZERO),
        (_, Some("tricky"), _) => {
            let raw = r#"{"response_text": "Quote \"q\", backslash \\, tab\t, newline\nand \u00e9, \ud83d\ude00 \u2014 done", "confidence": "high"}"#;
            // Three-character pieces split escapes and \u sequences across chunks.
            (
                raw.chars()
                    .collect::<Vec<_>>()
                    .chunks(3)
                    .map(|c| c.iter().collect())
                    .collect(),
                Duration::ZERO,
            )
        }
        (_, Some("malformed"), _) => (
            split(r#"{"response_text": "Partial answer", "confidence": hi"#),
            Duration::ZERO,
        ),
        (_, Some("prose"), _) => (split("The total is 12."), Duration::ZERO),
        (_, Some("hostile"), _) => (split(&answer_json(HOSTILE_MARKDOWN)), Duration::ZERO),
        (_, _, Some(spec)) => {
            let (x, y) = spec.split_once(',').unwrap_or((spec, "revenue"));
            let reply = json!({"response_text": "Here is the chart.", "confidence": "high",
                "chart_config": {"type": "bar", "x": x, "y": y, "title": "Mock chart", "data": [{"made": "up"}]}});
            (split(&reply.to_string()), Duration::ZERO)
        }
        _ => (split(&answer_json(DEFAULT_ANSWER)), Duration::ZERO),
    };
    let finish = fault("cut").is_none();
    let frames = match format {
        Format::OpenAi => openai_frames(&model, &pieces, finish, prompt_tokens),
        Format::Anthropic => anthropic_frames(&model, &pieces, finish, prompt_tokens),
    };
    guarded(sse_response(frames, delay), &shared, seq)
}

/// Records request `seq` as aborted if its response body is dropped before its last byte.
fn guarded(resp: Response, shared: &Shared, seq: u64) -> Response {
    struct Guard {
        done: std::cell::Cell<bool>,
        seq: u64,
        aborted: Arc<Mutex<Vec<u64>>>,
    }
    impl Drop for Guard {
        fn drop(&mut self) {
            if !self.done.get() {
                if let Ok(mut a) = self.aborted.lock() {
                    a.push(self.seq);
                }
            }
        }
    }
    let (parts, body) = resp.into_parts();
    let guard = Guard {
        done: std::cell::Cell::new(false),
        seq,
        aborted: shared.aborted.clone(),
    };
    let body = stream::unfold((body.into_data_stream(), guard), |(mut data, guard)| async move {
        match data.next().await {
            Some(item) => Some((item, (data, guard))),
            None => {
                guard.done.set(true);
                None
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// The SQL plan's replies: queries first, then an answer from the results (see the module docs).
fn plan_reply<'a>(
    mark: &dyn Fn(&str) -> Option<&'a str>,
    results: Option<&str>,
    is_repair: bool,
) -> Option<String> {
    let queries = |sql: &str| json!({"queries": [{"sql": sql, "purpose": "mock query"}]}).to_string();
    if let Some(sql) = mark("sql-always") {
        return Some(queries(sql));
    }
    let sql = mark("sql").map(str::to_owned).or_else(|| {
        let terms: usize = mark("sql-huge")?.parse().ok()?;
        Some(format!("SELECT 1{} AS n FROM data", " + 1".repeat(terms)))
    });
    match results {
        Some(r) if r.contains("FAILED:") && mark("fix").is_some() => mark("fix").map(queries),
        Some(r) if sql.is_some() => {
            let chart = mark("chart").map(|spec| {
                let (x, y) = spec.split_once(',').unwrap_or((spec, "revenue"));
                json!({"type": "bar", "x": x, "y": y, "title": "Mock chart", "data": [{"made": "up"}]})
            });
            Some(
                json!({"response_text": format!("From the results:\n\n{r}"), "chart_config": chart, "confidence": "high"})
                    .to_string(),
            )
        }
        None if !is_repair => sql.as_deref().map(queries),
        _ => None,
    }
}

fn answer_json(text: &str) -> String {
    json!({"response_text": text, "chart_config": null, "confidence": "high"}).to_string()
}

/// Eight-character pieces, like a model's tokens.
fn split(s: &str) -> Vec<String> {
    s.chars()
        .collect::<Vec<_>>()
        .chunks(8)
        .map(|c| c.iter().collect())
        .collect()
}

fn error_response(format: Format, status: StatusCode) -> Response {
    let message = format!("mock failure {}", status.as_u16());
    let body = match format {
        Format::OpenAi => json!({ "error": { "message": message, "type": "server_error", "code": null } }),
        Format::Anthropic => json!({ "type": "error", "error": { "type": "api_error", "message": message } }),
    };
    (status, Json(body)).into_response()
}

/// OpenAI frames as api.openai.com sends them with `include_usage`: role chunk, one chunk per piece, then
/// (if `finish`) the finish chunk, the usage chunk with empty `choices`, and `[DONE]`.
fn openai_frames(model: &str, pieces: &[String], finish: bool, prompt_tokens: u64) -> Vec<String> {
    let chunk = |delta: Value, finish_reason: Value| {
        json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]})
    };
    let mut frames = vec![format!(
        "data: {}\n\n",
        chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    )];
    frames.extend(
        pieces
            .iter()
            .map(|w| format!("data: {}\n\n", chunk(json!({"content": w}), Value::Null))),
    );
    if finish {
        frames.push(format!("data: {}\n\n", chunk(json!({}), json!("stop"))));
        let usage = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model, "choices": [],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": pieces.len(), "total_tokens": prompt_tokens + pieces.len() as u64}});
        frames.push(format!("data: {usage}\n\n"));
        frames.push("data: [DONE]\n\n".to_owned());
    }
    frames
}

/// Anthropic frames as api.anthropic.com sends them: `message_start` with the input usage, one text block
/// of deltas with pings, then (if `finish`) `message_delta` with the stop reason and output usage.
fn anthropic_frames(model: &str, pieces: &[String], finish: bool, prompt_tokens: u64) -> Vec<String> {
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut frames = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": prompt_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n".to_owned(),
    ];
    frames.extend(pieces.iter().map(|p| {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
        )
    }));
    if finish {
        frames.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        frames.push(ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": pieces.len()}}),
        ));
        frames.push(ev("message_stop", json!({"type": "message_stop"})));
    }
    frames
}

/// An answer that never ends: its opening, then pieces of `bytes` bytes every `pace_ms`, forever.
fn endless(format: Format, model: String, bytes: usize, pace_ms: u64) -> Response {
    let opening = vec![r#"{"response_text": ""#.to_owned()];
    let piece = "w".repeat(bytes);
    let frame = move |p: &str| match format {
        Format::OpenAi => openai_frames(&model, &[p.to_owned()], false, PROMPT_TOKENS)
            .pop()
            .unwrap_or_default(),
        Format::Anthropic => anthropic_frames(&model, &[p.to_owned()], false, PROMPT_TOKENS)
            .pop()
            .unwrap_or_default(),
    };
    let first: Vec<String> = match format {
        Format::OpenAi => openai_frames("mock", &opening, false, PROMPT_TOKENS),
        Format::Anthropic => anthropic_frames("mock", &opening, false, PROMPT_TOKENS),
    };
    let head = stream::iter(first.into_iter().map(|f| Ok::<Bytes, Infallible>(Bytes::from(f))));
    let tail = stream::repeat(()).then(move |()| {
        let f = frame(&piece);
        async move {
            tokio::time::sleep(Duration::from_millis(pace_ms)).await;
            Ok::<Bytes, Infallible>(Bytes::from(f))
        }
    });
    event_stream(Body::from_stream(head.chain(tail)))
}

/// SSE frames, each sent after its own delay.
fn paced_response(frames: Vec<String>, delays: Vec<Duration>) -> Response {
    let body = stream::iter(frames.into_iter().zip(delays)).then(|(f, d)| async move {
        tokio::time::sleep(d).await;
        Ok::<Bytes, Infallible>(Bytes::from(f))
    });
    event_stream(Body::from_stream(body))
}

/// Frame `i` goes out `i × every` after the first: a steady rate, however long each send takes.
fn scheduled_response(frames: Vec<String>, every: Duration) -> Response {
    let start = tokio::time::Instant::now();
    let body = stream::iter(frames.into_iter().zip(0u32..)).then(move |(f, i)| async move {
        tokio::time::sleep_until(start + every * i).await;
        Ok::<Bytes, Infallible>(Bytes::from(f))
    });
    event_stream(Body::from_stream(body))
}

fn event_stream(body: Body) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn sse_response(frames: Vec<String>, delay: Duration) -> Response {
    let delays = vec![delay; frames.len()];
    paced_response(frames, delays)
}

/// Replays a recorded stream from `shared/tests/fixtures/providers/<name>.sse` in small uneven chunks,
/// pausing `pace` between them.
fn replay_fixture(name: &str, pace: Duration) -> Response {
    let path = crate::repo_root()
        .join("shared/tests/fixtures/providers")
        .join(format!("{name}.sse"));
    let Ok(bytes) = std::fs::read(&path) else {
        return (StatusCode::NOT_FOUND, format!("no fixture {}", path.display())).into_response();
    };
    let chunks: Vec<Bytes> = bytes.chunks(37).map(Bytes::copy_from_slice).collect();
    let body = stream::iter(chunks).then(move |c| async move {
        if !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        Ok::<Bytes, Infallible>(c)
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `n` pieces (a word, a list marker, a table cell…) of a report-like markdown answer: paragraphs, with a
/// list and a table every few of them.
fn long_markdown(n: usize) -> Vec<String> {
    let mut pieces = Vec::with_capacity(n);
    let mut block = 0;
    while pieces.len() < n {
        block += 1;
        pieces.push(format!("## Finding {block}\n\n"));
        pieces.extend((1..=60).map(|w| format!("word{w} ")));
        pieces.push("\n\n".into());
        if block % 3 == 0 {
            pieces.extend((1..=5).map(|i| format!("- item **{i}** of finding {block}\n")));
            pieces.push("\n| region | revenue |\n|---|--:|\n".into());
            pieces.extend((1..=5).map(|i| format!("| R{i} | {},{:03}.50 |\n", block * i, i * 7)));
            pieces.push("\n".into());
        }
    }
    pieces.truncate(n);
    pieces
}

/// `text` as it appears inside a JSON string.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
