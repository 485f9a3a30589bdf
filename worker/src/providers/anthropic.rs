//! Anthropic Messages over HTTP (<https://docs.anthropic.com/en/api/messages>).

use datasage_shared::llm::LlmRequest;
use datasage_shared::provider::anthropic::{endpoint, request_body, AnthropicStream, API_VERSION};
use futures::future::LocalBoxFuture;
use worker::AbortSignal;

use super::{send, LlmStream, Provider, ProviderError};
use crate::config::ProviderConfig;

pub struct Anthropic {
    config: ProviderConfig,
}

impl Anthropic {
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }
}

impl Provider for Anthropic {
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
        let headers = [
            ("x-api-key", self.config.api_key.expose().to_owned()),
            ("anthropic-version", API_VERSION.into()),
        ];
        Box::pin(send(
            endpoint(&self.config.base_url),
            headers,
            request_body(&req),
            AnthropicStream::new(),
            signal,
        ))
    }
}
