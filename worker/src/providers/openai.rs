//! OpenAI chat completions over HTTP (<https://platform.openai.com/docs/api-reference/chat/create>).
//! Any OpenAI-compatible server (Ollama, vLLM, LM Studio…) is the same adapter with another base URL.

use datasage_shared::llm::LlmRequest;
use datasage_shared::provider::openai::{endpoint, request_body, OpenAiStream};
use futures::future::LocalBoxFuture;
use worker::{Fetch, Headers, Method, Request, RequestInit};

use super::{normalize, LlmStream, Provider, ProviderError};
use crate::config::OpenAiConfig;

/// Longest error body read from a failed response.
const MAX_ERROR_BODY: usize = 2_000;

pub struct OpenAiCompatible {
    name: String,
    config: OpenAiConfig,
}

impl OpenAiCompatible {
    pub fn new(name: impl Into<String>, config: OpenAiConfig) -> Self {
        Self {
            name: name.into(),
            config,
        }
    }

    async fn start(&self, req: LlmRequest) -> Result<LlmStream, ProviderError> {
        let headers = Headers::new();
        let auth = format!("Bearer {}", self.config.api_key.expose());
        for (k, v) in [
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
            ("authorization", &auth),
        ] {
            headers
                .set(k, v)
                .map_err(|e| ProviderError::Connect(e.to_string()))?;
        }
        let body = request_body(&req).to_string();
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        let request = Request::new_with_init(&endpoint(&self.config.base_url), &init)
            .map_err(|e| ProviderError::Connect(e.to_string()))?;
        let mut resp = Fetch::Request(request)
            .send()
            .await
            .map_err(|e| ProviderError::Connect(e.to_string()))?;
        let status = resp.status_code();
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(MAX_ERROR_BODY).collect());
            return Err(ProviderError::Http { status, message });
        }
        let body = resp.stream().map_err(|e| ProviderError::Stream(e.to_string()))?;
        Ok(normalize(body, OpenAiStream::new()))
    }
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn stream(&self, req: LlmRequest) -> LocalBoxFuture<'_, Result<LlmStream, ProviderError>> {
        Box::pin(self.start(req))
    }
}
