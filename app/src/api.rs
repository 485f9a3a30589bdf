//! The API client: the anonymous dev token, JSON requests, uploads with progress, and the streaming chat
//! request read incrementally from the `fetch` body as it arrives.

use std::cell::RefCell;
use std::rc::Rc;

use datasage_shared::api::{ApiError, ChatRequest, DevToken, ErrorBody, ErrorCode, StreamEvent};
use datasage_shared::wire::FromJson;
use futures::future::{LocalBoxFuture, Shared};
use futures::FutureExt;
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, File, Headers, ProgressEvent, ReadableStreamDefaultReader, RequestInit, Response,
    XmlHttpRequest,
};

use crate::events::EventReader;
use crate::json::decode;

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
    /// An upload was refused: the reason (a `CSV_*` code) and the line where the file went wrong.
    Upload(ErrorBody),
}

/// An error the server sent inside a stream or a socket frame.
impl From<ErrorBody> for ClientError {
    fn from(e: ErrorBody) -> Self {
        match e.code {
            ErrorCode::RateLimited => ClientError::RateLimited {
                retry_after_secs: e.retry_after_secs.unwrap_or(60),
            },
            ErrorCode::Unauthorized => ClientError::Unauthorized(e.message),
            code => ClientError::Server {
                code,
                message: e.message,
            },
        }
    }
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
            ClientError::Server {
                code: ErrorCode::ProvidersUnavailable,
                message,
            } => format!(
                "{}. The providers may be back in a minute or so — then Retry.",
                message.trim_end_matches('.')
            ),
            ClientError::Server { message, .. } => message.clone(),
            ClientError::Upload(e) => match e.line {
                Some(line) if !e.message.contains(&format!("line {line}")) => {
                    format!("{} (line {line})", e.message)
                }
                _ => e.message.clone(),
            },
        }
    }
}

/// A success answer's JSON read as `T`.
fn answer<T: FromJson>(body: &str) -> Result<T, ClientError> {
    decode(body).map_err(|e| ClientError::Network(format!("unexpected answer: {e}")))
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

/// A value this browser kept under `key` (the conversation, the dataset), if any.
pub fn remembered(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten().filter(|v| !v.is_empty())
}

pub fn remember(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

pub fn forget(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
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
    signal: Option<&AbortSignal>,
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
    if let Some(signal) = signal {
        init.set_signal(Some(signal));
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
    let parsed = decode::<ApiError>(&body).ok();
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

type TokenFuture = Shared<LocalBoxFuture<'static, Result<String, ClientError>>>;

thread_local! {
    /// The sign-in in flight: everyone who needs a token while it runs waits for the same one, so two
    /// requests at page load never end up signed in as two different users.
    static SIGNING_IN: RefCell<Option<TokenFuture>> = const { RefCell::new(None) };
}

async fn fetch_token() -> Result<String, ClientError> {
    let resp = fetch("POST", "/api/v1/auth/dev-token", None, None, None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let t: DevToken = decode(&text(&resp).await?)
        .map_err(|e| ClientError::Network(format!("unexpected sign-in answer: {e}")))?;
    if let Some(s) = storage() {
        let _ = s.set_item(TOKEN_KEY, &t.token);
    }
    Ok(t.token)
}

/// The stored token, or a fresh anonymous one from the server.
async fn token(fresh: bool) -> Result<String, ClientError> {
    if !fresh {
        if let Some(t) = storage().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten()) {
            return Ok(t);
        }
    }
    let pending = SIGNING_IN.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| fetch_token().boxed_local().shared())
            .clone()
    });
    let token = pending.await;
    SIGNING_IN.with(|s| s.borrow_mut().take());
    token
}

/// A JSON request with the stored token, retried once with a fresh token if it was refused.
async fn authed(method: &str, path: &str, body: Option<String>) -> Result<Response, ClientError> {
    let mut resp = fetch(method, path, Some(&token(false).await?), body.clone(), None).await?;
    if resp.status() == 401 {
        resp = fetch(method, path, Some(&token(true).await?), body, None).await?;
    }
    if resp.ok() {
        Ok(resp)
    } else {
        Err(error_of(&resp).await)
    }
}

/// Downloads `path`, fetched with the stored token, as the file `filename`.
pub async fn download(path: &str, filename: &str) -> Result<(), ClientError> {
    let resp = authed("GET", path, None).await?;
    let blob: web_sys::Blob = JsFuture::from(resp.blob().map_err(js_err)?)
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(js_err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_err)?;
    let link: web_sys::HtmlAnchorElement = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into().ok())
        .ok_or_else(|| ClientError::Network("cannot start a download here".into()))?;
    link.set_href(&url);
    link.set_download(filename);
    link.click();
    // The download has started by then; the blob's memory goes back.
    let release = move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    };
    leptos::prelude::set_timeout(release, std::time::Duration::from_secs(60));
    Ok(())
}

/// `GET` a JSON resource.
pub async fn get<T: FromJson>(path: &str) -> Result<T, ClientError> {
    let resp = authed("GET", path, None).await?;
    answer(&text(&resp).await?)
}

/// A request with a JSON body, answered with JSON.
pub async fn send_json<T: FromJson>(
    method: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, ClientError> {
    let body = serde_json::to_string(body).map_err(|e| ClientError::Network(e.to_string()))?;
    let resp = authed(method, path, Some(body)).await?;
    answer(&text(&resp).await?)
}

/// A `POST` whose answer is only its status.
pub async fn post(path: &str, body: &impl serde::Serialize) -> Result<(), ClientError> {
    let body = serde_json::to_string(body).map_err(|e| ClientError::Network(e.to_string()))?;
    authed("POST", path, Some(body)).await.map(|_| ())
}

pub async fn delete(path: &str) -> Result<(), ClientError> {
    authed("DELETE", path, None).await.map(|_| ())
}

/// Uploads `file` as a dataset, reporting the fraction sent to `on_progress` (fetch cannot report upload
/// progress, so this uses XMLHttpRequest). The answer is the new dataset, or why it was refused.
pub async fn upload<T: FromJson>(
    file: &File,
    privacy: bool,
    on_progress: impl Fn(f64) + 'static,
) -> Result<T, ClientError> {
    let on_progress: Rc<dyn Fn(f64)> = Rc::new(on_progress);
    let path = format!(
        "/api/v1/datasets?name={}&privacy={privacy}",
        String::from(js_sys::encode_uri_component(&file.name()))
    );
    let mut xhr = send_file(&path, file, &token(false).await?, on_progress.clone()).await?;
    if xhr.status().unwrap_or(0) == 401 {
        xhr = send_file(&path, file, &token(true).await?, on_progress).await?;
    }
    let status = xhr.status().unwrap_or(0);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    if (200..300).contains(&status) {
        return answer(&body);
    }
    match (status, decode::<ApiError>(&body)) {
        (429, Ok(e)) => Err(ClientError::RateLimited {
            retry_after_secs: e.error.retry_after_secs.unwrap_or(60),
        }),
        (_, Ok(e)) => Err(ClientError::Upload(e.error)),
        (s, Err(_)) => Err(ClientError::Server {
            code: ErrorCode::Internal,
            message: format!("the upload failed with HTTP {s}"),
        }),
    }
}

async fn send_file(
    path: &str,
    file: &File,
    token: &str,
    on_progress: Rc<dyn Fn(f64)>,
) -> Result<XmlHttpRequest, ClientError> {
    let xhr = XmlHttpRequest::new().map_err(js_err)?;
    xhr.open("POST", path).map_err(js_err)?;
    xhr.set_request_header("authorization", &format!("Bearer {token}"))
        .map_err(js_err)?;
    xhr.set_request_header("content-type", "text/csv")
        .map_err(js_err)?;
    let total = file.size();
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        let of = if ev.length_computable() { ev.total() } else { total };
        if of > 0.0 {
            on_progress((ev.loaded() / of).min(1.0));
        }
    });
    xhr.upload()
        .map_err(js_err)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    let done = Promise::new(&mut |resolve, reject| {
        xhr.set_onload(Some(&resolve));
        xhr.set_onerror(Some(&reject));
        xhr.set_onabort(Some(&reject));
    });
    xhr.send_with_opt_blob(Some(file)).map_err(js_err)?;
    let sent = JsFuture::from(done).await;
    // The progress handler must outlive the request; it is released only now.
    drop(progress);
    sent.map_err(|_| ClientError::Network("the upload was interrupted".into()))?;
    Ok(xhr)
}

/// Makes sure the app holds a token, fetching one on first load.
pub async fn sign_in() -> Result<(), ClientError> {
    token(false).await.map(|_| ())
}

/// Sends a question and calls `on_event` for every event as it arrives. An expired or foreign token is
/// replaced once with a fresh one.
/// Aborting `signal` stops the request (and the server then aborts its provider call).
pub async fn stream_chat(
    req: &ChatRequest,
    signal: &AbortSignal,
    mut on_event: impl FnMut(StreamEvent, Option<String>),
) -> Result<(), ClientError> {
    let body = serde_json::to_string(req).map_err(|e| ClientError::Network(e.to_string()))?;
    let path = "/api/v1/chat/stream";
    let mut resp = fetch(
        "POST",
        path,
        Some(&token(false).await?),
        Some(body.clone()),
        Some(signal),
    )
    .await?;
    if resp.status() == 401 {
        resp = fetch("POST", path, Some(&token(true).await?), Some(body), Some(signal)).await?;
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
    let mut events = EventReader::default();
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
        events.push(&bytes, &mut on_event).map_err(ClientError::Network)?;
    }
    events.finish().map_err(ClientError::Network)
}
