//! LLM providers behind one trait. Each turns its HTTP response into the one normalized
//! [`LlmEvent`] stream before anything else sees it; the byte-level parsing lives in
//! `datasage_shared::provider`, so only the HTTP is here.

mod openai;

use std::collections::VecDeque;

use datasage_shared::llm::{LlmEvent, LlmRequest};
use datasage_shared::provider::StreamParser;
use futures::future::LocalBoxFuture;
use futures::stream::{self, LocalBoxStream, StreamExt};
pub use openai::OpenAiCompatible;

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("could not reach the provider: {0}")]
    Connect(String),
    #[error("the provider answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("the provider's stream broke: {0}")]
    Stream(String),
}

/// A provider's answer as normalized events.
pub type LlmStream = LocalBoxStream<'static, Result<LlmEvent, ProviderError>>;

/// An LLM provider reached over HTTP.
pub trait Provider {
    /// Short name used in logs, metrics and the execution tree (`openai`, `anthropic`…).
    fn name(&self) -> &str;
    fn model(&self) -> &str;
    /// Starts a streaming completion; resolves once the response headers are in.
    fn stream(&self, req: LlmRequest) -> LocalBoxFuture<'_, Result<LlmStream, ProviderError>>;
}

/// Runs a body byte stream through a protocol parser, yielding normalized events.
pub fn normalize<P>(body: worker::ByteStream, parser: P) -> LlmStream
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
