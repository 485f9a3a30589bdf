//! LLM providers behind one trait. Each turns its HTTP response into the one normalized
//! [`LlmEvent`] stream before anything else sees it; the byte-level parsing lives in
//! `datasage_shared::provider`, so only the HTTP is here.

mod anthropic;
mod openai;

use std::collections::VecDeque;

use anthropic::Anthropic;
use datasage_shared::llm::{LlmEvent, LlmRequest};
use datasage_shared::provider::{http_error, StreamParser, MAX_ERROR_BODY_BYTES};
use datasage_shared::routing::FailureClass;
use futures::future::LocalBoxFuture;
use futures::stream::{self, LocalBoxStream, StreamExt};
use openai::OpenAiCompatible;
use worker::{AbortSignal, Fetch, Headers, Method, Request, RequestInit};

use crate::config::{Protocol, ProviderConfig};

/// The adapter for a configured provider.
pub fn build(config: ProviderConfig) -> Box<dyn Provider> {
    match config.protocol {
        Protocol::OpenAi => Box::new(OpenAiCompatible::new(config)),
        Protocol::Anthropic => Box::new(Anthropic::new(config)),
    }
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("could not reach the provider: {0}")]
    Connect(String),
    #[error("the provider answered HTTP {status}: {message}")]
    Http {
        status: u16,
        message: String,
        /// The error type the body named (`overloaded_error`…).
        kind: Option<String>,
        /// The provider's `Retry-After`, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    #[error("the provider's stream broke: {0}")]
    Stream(String),
}

impl ProviderError {
    pub fn class(&self) -> FailureClass {
        match self {
            ProviderError::Connect(_) => FailureClass::Connect,
            ProviderError::Http { status, kind, .. } => FailureClass::from_http(*status, kind.as_deref()),
            ProviderError::Stream(_) => FailureClass::Malformed,
        }
    }

    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ProviderError::Http { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }
}

/// A provider's answer as normalized events.
pub type LlmStream = LocalBoxStream<'static, Result<LlmEvent, ProviderError>>;

/// An LLM provider reached over HTTP.
pub trait Provider {
    /// Short name used in logs, metrics and the execution tree (`openai`, `anthropic`…).
    fn name(&self) -> &str;
    /// The name people know it by, for status lines (`OpenRouter`).
    fn label(&self) -> &str;
    fn model(&self) -> &str;
    /// Starts a streaming completion; resolves once the response headers are in. Aborting `signal` closes
    /// the upstream connection, so a provider stops generating for nobody.
    fn stream(
        &self,
        req: LlmRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'_, Result<LlmStream, ProviderError>>;
}

/// POSTs a JSON body with the given extra headers and, once the response headers are in, returns its body
/// run through `parser`. A non-2xx answer becomes [`ProviderError::Http`] with the provider's own message.
async fn send<P, const N: usize>(
    url: String,
    headers: [(&'static str, String); N],
    body: serde_json::Value,
    parser: P,
    signal: AbortSignal,
) -> Result<LlmStream, ProviderError>
where
    P: StreamParser + 'static,
{
    let connect = |e: worker::Error| ProviderError::Connect(e.to_string());
    let h = Headers::new();
    h.set("content-type", "application/json").map_err(connect)?;
    h.set("accept", "text/event-stream").map_err(connect)?;
    for (k, v) in &headers {
        h.set(k, v).map_err(connect)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(h)
        .with_body(Some(body.to_string().into()));
    let request = Request::new_with_init(&url, &init).map_err(connect)?;
    let mut resp = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(connect)?;
    let status = resp.status_code();
    if !(200..300).contains(&status) {
        let retry_after_ms = resp
            .headers()
            .get("retry-after")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|secs| (secs.max(0.0) * 1000.0) as u64);
        let text = read_capped(&mut resp, MAX_ERROR_BODY_BYTES).await;
        let err = http_error(&text);
        return Err(ProviderError::Http {
            status,
            message: err.message,
            kind: err.kind.or(err.code),
            retry_after_ms,
        });
    }
    let body = resp.stream().map_err(|e| ProviderError::Stream(e.to_string()))?;
    Ok(normalize(body, parser))
}

/// The first `max` bytes of a response body, as text; the rest is never read (its stream is dropped).
async fn read_capped(resp: &mut worker::Response, max: usize) -> String {
    let mut out = Vec::new();
    if let Ok(mut body) = resp.stream() {
        while let Some(Ok(chunk)) = body.next().await {
            out.extend_from_slice(&chunk[..chunk.len().min(max - out.len())]);
            if out.len() >= max {
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a body byte stream through a protocol parser, yielding normalized events.
fn normalize<P>(body: worker::ByteStream, parser: P) -> LlmStream
where
    P: StreamParser + 'static,
{
    struct St<P> {
        body: Option<worker::ByteStream>,
        parser: P,
        pending: VecDeque<LlmEvent>,
    }
    stream::unfold(
        St {
            body: Some(body),
            parser,
            pending: VecDeque::new(),
        },
        |mut st| async move {
            loop {
                if let Some(ev) = st.pending.pop_front() {
                    return Some((Ok(ev), st));
                }
                let body = st.body.as_mut()?;
                match body.next().await {
                    Some(Ok(bytes)) => st.pending.extend(st.parser.push(&bytes)),
                    Some(Err(e)) => {
                        st.body = None;
                        return Some((Err(ProviderError::Stream(e.to_string())), st));
                    }
                    None => {
                        st.body = None;
                        st.pending.extend(st.parser.finish());
                        if st.pending.is_empty() {
                            return None;
                        }
                    }
                }
            }
        },
    )
    .boxed_local()
}
