//! An LLM provider reached over HTTP: its configuration (data) plus its protocol's request builder and
//! stream parser, both in `datasage_shared::provider`. One struct serves every provider; only the HTTP is
//! here. Whatever goes wrong — the connection, the HTTP status, the stream, or an error the provider
//! reports inside the stream — arrives as one [`ProviderError`].

use std::collections::VecDeque;

use datasage_shared::llm::{LlmEvent, LlmRequest};
use datasage_shared::provider::{http_error, HttpRequest, StreamParser, MAX_ERROR_BODY_BYTES};
use datasage_shared::routing::FailureClass;
use futures::stream::{self, LocalBoxStream, StreamExt};
use worker::{AbortSignal, Fetch, Headers, Method, Request, RequestInit};

use crate::body::Chunks;
use crate::config::ProviderConfig;

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
    /// An error event inside a stream that had started well (`overloaded_error` mid-answer…).
    #[error("{by} reported: {message}")]
    Reported {
        by: &'static str,
        code: Option<String>,
        message: String,
    },
}

impl ProviderError {
    pub fn class(&self) -> FailureClass {
        match self {
            ProviderError::Connect(_) => FailureClass::Connect,
            ProviderError::Http { status, kind, .. } => FailureClass::from_http(*status, kind.as_deref()),
            ProviderError::Stream(_) => FailureClass::Malformed,
            ProviderError::Reported { code, message, .. } => {
                FailureClass::from_stream_error(code.as_deref(), message)
            }
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

/// A configured provider.
pub struct Provider {
    config: ProviderConfig,
}

impl Provider {
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }

    /// Short name used in logs, metrics and the execution tree (`openai`, `anthropic`…).
    pub fn name(&self) -> &'static str {
        self.config.name
    }

    /// The name people know it by, for status lines (`OpenRouter`).
    pub fn label(&self) -> &'static str {
        self.config.label
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Starts a streaming completion; resolves once the response headers are in. Aborting `signal` closes
    /// the upstream connection, so a provider stops generating for nobody.
    pub async fn stream(&self, req: &LlmRequest, signal: AbortSignal) -> Result<LlmStream, ProviderError> {
        let c = &self.config;
        let http = c.protocol.request(&c.base_url, c.api_key.expose(), req);
        send(http, c.protocol.parser(), self.label(), signal).await
    }
}

/// POSTs the request and, once the response headers are in, returns its body run through `parser`. A
/// non-2xx answer becomes [`ProviderError::Http`] with the provider's own message.
async fn send(
    http: HttpRequest,
    parser: Box<dyn StreamParser>,
    by: &'static str,
    signal: AbortSignal,
) -> Result<LlmStream, ProviderError> {
    let connect = |e: worker::Error| ProviderError::Connect(e.to_string());
    let h = Headers::new();
    for (k, v) in &http.headers {
        h.set(k, v).map_err(connect)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(h)
        .with_body(Some(http.body.into()));
    let request = Request::new_with_init(&http.url, &init).map_err(connect)?;
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
    let body =
        Chunks::of(&resp).ok_or_else(|| ProviderError::Stream("the response has no readable body".into()))?;
    Ok(normalize(body, parser, by))
}

/// The first `max` bytes of a response body, as text; the rest is never read (its stream is dropped).
async fn read_capped(resp: &mut worker::Response, max: usize) -> String {
    let mut out = Vec::new();
    if let Some(mut body) = Chunks::of(resp) {
        while let Some(Ok(chunk)) = body.next().await {
            out.extend_from_slice(&chunk[..chunk.len().min(max - out.len())]);
            if out.len() >= max {
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a body byte stream through a protocol parser, yielding normalized events; an error event the
/// provider sent becomes [`ProviderError::Reported`], so a failure has one channel.
fn normalize(body: Chunks, parser: Box<dyn StreamParser>, by: &'static str) -> LlmStream {
    struct St {
        body: Option<Chunks>,
        parser: Box<dyn StreamParser>,
        pending: VecDeque<LlmEvent>,
    }
    let reported = move |ev| match ev {
        LlmEvent::Error { code, message } => Err(ProviderError::Reported { by, code, message }),
        ev => Ok(ev),
    };
    stream::unfold(
        St {
            body: Some(body),
            parser,
            pending: VecDeque::new(),
        },
        move |mut st| async move {
            loop {
                if let Some(ev) = st.pending.pop_front() {
                    return Some((reported(ev), st));
                }
                let body = st.body.as_mut()?;
                match body.next().await {
                    Some(Ok(bytes)) => st.pending.extend(st.parser.push(&bytes)),
                    Some(Err(e)) => {
                        st.body = None;
                        return Some((Err(ProviderError::Stream(e)), st));
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
