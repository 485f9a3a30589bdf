//! OpenAI chat completions over HTTP (<https://platform.openai.com/docs/api-reference/chat/create>).
//! OpenRouter and any OpenAI-compatible server (Ollama, vLLM, LM Studio…) are this adapter with another
//! configuration, not another file.

use datasage_shared::llm::LlmRequest;
use datasage_shared::provider::openai::{endpoint, request_body, OpenAiStream};
use futures::future::LocalBoxFuture;
use worker::AbortSignal;

use super::{send, LlmStream, Provider, ProviderError};
use crate::config::ProviderConfig;

pub struct OpenAiCompatible {
    config: ProviderConfig,
}

impl OpenAiCompatible {
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        self.config.name
    }

    fn label(&self) -> &str {
        self.config.label
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn stream(
        &self,
        req: LlmRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'_, Result<LlmStream, ProviderError>> {
        let headers = [(
            "authorization",
            format!("Bearer {}", self.config.api_key.expose()),
        )];
        Box::pin(send(
            endpoint(&self.config.base_url),
            headers,
            request_body(&req),
            OpenAiStream::new(),
            signal,
        ))
    }
}
