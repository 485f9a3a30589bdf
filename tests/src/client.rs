//! A small client for the DataSage API as tests use it: minted tokens, JSON calls, and SSE streams read
//! incrementally with the time each event arrived.

use std::time::{Duration, Instant};

use datasage_shared::api::{StreamEvent, StreamFrame};
use datasage_shared::jwt::{self, Claims};
use datasage_shared::sse::SseParser;
use futures::StreamExt;
use serde_json::Value;

use crate::wrangler::TEST_JWT_SECRET;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh user id, so tests never share rate limits or sessions.
pub fn fresh_user(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A valid token for `user`, signed with the test instances' secret.
pub fn token_for(user: &str) -> String {
    signed(user, None)
}

/// A valid admin token for `user`: what an operator mints with `JWT_SECRET` (see the README).
pub fn admin_token_for(user: &str) -> String {
    signed(user, Some(jwt::ADMIN_ROLE))
}

fn signed(user: &str, role: Option<&str>) -> String {
    let now = unix_now();
    jwt::sign(
        &Claims {
            sub: user.into(),
            exp: now + 3600,
            nbf: Some(now),
            iat: Some(now),
            role: role.map(str::to_owned),
        },
        TEST_JWT_SECRET.as_bytes(),
    )
}

/// The answer text a client shows after these events: the content after the last `discard`.
pub fn shown_text<'a>(events: impl IntoIterator<Item = &'a StreamEvent>) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            StreamEvent::Content { content } => text.push_str(content),
            StreamEvent::Discard { .. } => text.clear(),
            _ => {}
        }
    }
    text
}

/// An event and when it arrived, measured from when the request was sent.
#[derive(Debug, Clone)]
pub struct Timed {
    pub at: Duration,
    pub event: StreamEvent,
    /// The answer's stream, and this event's place in it (1, 2, 3…).
    pub stream_id: String,
    pub seq: u64,
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST` a JSON body with a bearer token; returns status and parsed JSON body.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `POST /api/v1/chat` (the non-streaming answer).
    pub async fn chat(
        &self,
        token: &str,
        message: &str,
        session: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let body = serde_json::json!({ "message": message, "session_id": session });
        self.post("/api/v1/chat", Some(token), &body).await
    }

    /// `POST /api/v1/datasets?name=…` with a raw CSV body.
    pub async fn upload(&self, token: &str, name: &str, csv: impl Into<reqwest::Body>) -> (u16, Value) {
        self.upload_with(token, name, csv, &[]).await
    }

    /// Like [`Api::upload`], with more query parameters (`privacy=true`).
    pub async fn upload_with(
        &self,
        token: &str,
        name: &str,
        csv: impl Into<reqwest::Body>,
        params: &[(&str, &str)],
    ) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url("/api/v1/datasets"))
            .query(&[("name", name)])
            .query(params)
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `PATCH` with a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PATCH, path, token, body).await
    }

    /// `PUT` with a JSON body.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PUT, path, token, body).await
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> (u16, Value) {
        let resp = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn delete(&self, path: &str, token: &str) -> u16 {
        let resp = self.http.delete(self.url(path)).bearer_auth(token).send().await;
        resp.unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
            .status()
            .as_u16()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Opens `POST /api/v1/chat/stream` and reads events until the stream ends, or until `stop_after`
    /// returns true for an event (then the connection is dropped, like a closed browser tab).
    pub async fn stream(
        &self,
        token: &str,
        body: &Value,
        stop_after: impl Fn(&StreamEvent) -> bool,
    ) -> Vec<Timed> {
        let sent = Instant::now();
        let resp = self
            .http
            .post(self.url("/api/v1/chat/stream"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("stream request: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "stream status");
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content-type {content_type}"
        );
        let mut body = resp.bytes_stream();
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.unwrap_or_else(|e| panic!("stream body: {e}"));
            for ev in parser
                .push(&chunk)
                .unwrap_or_else(|e| panic!("stream framing: {e}"))
            {
                let frame: StreamFrame =
                    serde_json::from_str(&ev.data).unwrap_or_else(|e| panic!("bad event {}: {e}", ev.data));
                // Every stream, in every test: one stream id, numbered from 1 without gaps.
                let first: Option<&Timed> = out.first();
                assert_eq!(frame.seq, out.len() as u64 + 1, "out of sequence: {}", ev.data);
                if let Some(first) = first {
                    assert_eq!(
                        frame.stream_id, first.stream_id,
                        "another stream's event: {}",
                        ev.data
                    );
                }
                let stop = stop_after(&frame.event);
                out.push(Timed {
                    at: sent.elapsed(),
                    event: frame.event,
                    stream_id: frame.stream_id,
                    seq: frame.seq,
                });
                if stop {
                    return out;
                }
            }
        }
        out
    }
}
