//! The API client: the anonymous dev token, and the streaming chat request read incrementally from the
//! `fetch` body as it arrives.

use datasage_shared::api::{ApiError, ChatRequest, DevToken, ErrorCode, StreamEvent};
use datasage_shared::sse::SseParser;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, ReadableStreamDefaultReader, RequestInit, Response};

const TOKEN_KEY: &str = "datasage.token";

/// What went wrong, in terms the UI explains to a person.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientError {
    /// The server refused our credentials even after a fresh token.
    Unauthorized(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// The network failed or the connection dropped.
    Network(String),
    /// The server answered with an error.
    Server {
        code: ErrorCode,
        message: String,
    },
}

impl ClientError {
    /// A sentence for the error banner.
    pub fn explain(&self) -> String {
        match self {
            ClientError::Unauthorized(m) => {
                format!("You are signed out ({m}). Reload the page to sign in again.")
            }
            ClientError::RateLimited { retry_after_secs } => {
                format!("You're asking faster than your plan allows. Try again in {retry_after_secs} s.")
            }
            ClientError::Network(m) => {
                format!("Network problem: {m}. Check your connection and send again.")
            }
            ClientError::Server { message, .. } => message.clone(),
        }
    }
}

fn js_err(v: JsValue) -> ClientError {
    let msg = v
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| "the request failed".into());
    ClientError::Network(msg)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// A random id from the browser's CSPRNG.
pub fn random_id() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("s{}", js_sys::Date::now() as u64))
}

async fn fetch(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Result<Response, ClientError> {
    let window = web_sys::window().ok_or_else(|| ClientError::Network("no window".into()))?;
    let headers = Headers::new().map_err(js_err)?;
    headers.set("content-type", "application/json").map_err(js_err)?;
    if let Some(t) = token {
        headers
            .set("authorization", &format!("Bearer {t}"))
            .map_err(js_err)?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(&b));
    }
    let resp = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(js_err)?;
    resp.dyn_into::<Response>().map_err(js_err)
}

async fn text(resp: &Response) -> Result<String, ClientError> {
    let t = JsFuture::from(resp.text().map_err(js_err)?)
        .await
        .map_err(js_err)?;
    Ok(t.as_string().unwrap_or_default())
}

/// Turns a non-2xx response into a [`ClientError`].
async fn error_of(resp: &Response) -> ClientError {
    let status = resp.status();
    let body = text(resp).await.unwrap_or_default();
    let parsed = serde_json::from_str::<ApiError>(&body).ok();
    match (status, parsed) {
        (429, p) => ClientError::RateLimited {
            retry_after_secs: p
                .and_then(|e| e.error.retry_after_secs)
                .or_else(|| {
                    resp.headers()
                        .get("retry-after")
                        .ok()
                        .flatten()
                        .and_then(|v| v.parse().ok())
                })
                .unwrap_or(60),
        },
        (401, p) => ClientError::Unauthorized(p.map_or_else(|| "not signed in".into(), |e| e.error.message)),
        (_, Some(e)) => ClientError::Server {
            code: e.error.code,
            message: e.error.message,
        },
        (s, None) => ClientError::Server {
            code: ErrorCode::Internal,
            message: format!("the server answered HTTP {s}"),
        },
    }
}

/// The stored token, or a fresh anonymous one from the server.
async fn token(fresh: bool) -> Result<String, ClientError> {
    if !fresh {
        if let Some(t) = storage().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten()) {
            return Ok(t);
        }
    }
    let resp = fetch("POST", "/api/v1/auth/dev-token", None, None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let t: DevToken = serde_json::from_str(&text(&resp).await?)
        .map_err(|e| ClientError::Network(format!("unexpected sign-in answer: {e}")))?;
    if let Some(s) = storage() {
        let _ = s.set_item(TOKEN_KEY, &t.token);
    }
    Ok(t.token)
}

/// Makes sure the app holds a token, fetching one on first load.
pub async fn sign_in() -> Result<(), ClientError> {
    token(false).await.map(|_| ())
}

/// Sends a question and calls `on_event` for every event as it arrives. An expired or foreign token is
/// replaced once with a fresh one.
pub async fn stream_chat(
    req: &ChatRequest,
    mut on_event: impl FnMut(StreamEvent),
) -> Result<(), ClientError> {
    let body = serde_json::to_string(req).map_err(|e| ClientError::Network(e.to_string()))?;
    let mut resp = fetch(
        "POST",
        "/api/v1/chat/stream",
        Some(&token(false).await?),
        Some(body.clone()),
    )
    .await?;
    if resp.status() == 401 {
        resp = fetch(
            "POST",
            "/api/v1/chat/stream",
            Some(&token(true).await?),
            Some(body),
        )
        .await?;
    }
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let reader: ReadableStreamDefaultReader = resp
        .body()
        .ok_or_else(|| ClientError::Network("the answer had no body".into()))?
        .get_reader()
        .dyn_into()
        .map_err(|o: js_sys::Object| js_err(o.into()))?;
    let mut parser = SseParser::new();
    let mut ended = false;
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js_err)?;
        if Reflect::get(&chunk, &"done".into())
            .map_err(js_err)?
            .as_bool()
            .unwrap_or(true)
        {
            break;
        }
        let bytes = Uint8Array::new(&Reflect::get(&chunk, &"value".into()).map_err(js_err)?).to_vec();
        for ev in parser.push(&bytes) {
            if let Ok(event) = serde_json::from_str::<StreamEvent>(&ev.data) {
                ended |= event.is_terminal();
                on_event(event);
            }
        }
    }
    if ended {
        Ok(())
    } else {
        Err(ClientError::Network(
            "the connection closed before the answer was complete".into(),
        ))
    }
}
