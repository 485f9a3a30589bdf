//! The edge error type: every failure becomes one JSON shape with a stable code. Client errors pass their
//! message through; internal errors are logged and answered with a generic message.

use datasage_shared::api::{ApiError, ErrorCode};
use worker::{console_error, Headers, Response, ResponseBuilder};

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A client-facing error: its message is safe to send.
    #[error("{}", .0.error.message)]
    Api(ApiError),
    /// Anything else: logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure {
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure::Api(ApiError::new(code, message))
    }

    /// The client-facing body, logging internal details.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Failure::Api(e) => e,
            Failure::Internal(detail) => {
                console_error!("internal error: {detail}");
                ApiError::new(ErrorCode::Internal, "something went wrong; please try again")
            }
        }
    }

    pub fn into_response(self) -> Response {
        json_error(&self.into_api_error())
    }
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Self {
        Failure::Internal(e.to_string())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// Writes an [`ApiError`] as its JSON response, with `Retry-After` for rate limits.
pub fn json_error(err: &ApiError) -> Response {
    let body = serde_json::to_string(err)
        .unwrap_or_else(|_| r#"{"error":{"code":"INTERNAL","message":"error"}}"#.into());
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    if let Some(secs) = err.error.retry_after_secs {
        let _ = headers.set("retry-after", &secs.to_string());
    }
    ResponseBuilder::new()
        .with_status(err.status())
        .with_headers(headers)
        .fixed(body.into_bytes())
}

pub type Result<T> = std::result::Result<T, Failure>;
