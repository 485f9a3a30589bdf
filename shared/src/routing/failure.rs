//! What went wrong with a provider call, as a class the router handles deliberately.

use crate::words::wire_words;

wire_words! {
    pub enum FailureClass {
        /// The provider could not be reached.
        Connect = "connect",
        /// No first token within the first-token timeout.
        FirstTokenTimeout = "first_token_timeout",
        /// The stream went quiet mid-answer for longer than the idle timeout.
        Stall = "stall",
        /// HTTP 429.
        RateLimited = "rate_limited",
        /// HTTP 5xx (other than 529).
        ServerError = "server_error",
        /// HTTP 529 or an `overloaded` error.
        Overloaded = "overloaded",
        /// HTTP 401/403: the key is wrong or lacks access. Not retried; the provider is marked misconfigured.
        Auth = "auth",
        /// HTTP 400/404/413/422: our request was wrong. Not retried, and not blamed on the provider.
        BadRequest = "bad_request",
        /// The stream broke off or could not be read.
        Malformed = "malformed",
        /// The provider reported an error inside the stream.
        StreamError = "stream_error",
        /// The answer ran past its bound in time or in bytes (a stream that never ends). Not retried on the
        /// same provider, which would likely do it again.
        TooLong = "too_long",
    }
}

impl FailureClass {
    /// The class of a non-2xx HTTP answer; `kind` is the error type the body named, if any.
    pub fn from_http(status: u16, kind: Option<&str>) -> Self {
        let overloaded = kind.is_some_and(|k| k.contains("overloaded"));
        match status {
            429 => FailureClass::RateLimited,
            529 => FailureClass::Overloaded,
            _ if overloaded => FailureClass::Overloaded,
            401 | 403 => FailureClass::Auth,
            400..=499 => FailureClass::BadRequest,
            _ => FailureClass::ServerError,
        }
    }

    /// The class of an error event inside a stream.
    pub fn from_stream_error(code: Option<&str>, message: &str) -> Self {
        let said = |w: &str| code.is_some_and(|c| c.contains(w)) || message.to_lowercase().contains(w);
        if said("overloaded") {
            FailureClass::Overloaded
        } else if code.is_some_and(|c| c.contains("malformed")) {
            FailureClass::Malformed
        } else if said("rate_limit") || said("rate limit") {
            FailureClass::RateLimited
        } else {
            FailureClass::StreamError
        }
    }

    /// Whether trying the same provider again may help.
    pub fn retryable(self) -> bool {
        !matches!(
            self,
            FailureClass::Auth | FailureClass::BadRequest | FailureClass::TooLong
        )
    }

    /// Whether the failure says something about the provider's health (and so counts for its breaker).
    pub fn blames_provider(self) -> bool {
        self != FailureClass::BadRequest
    }

    /// How a person would say it: "Anthropic {is overloaded}".
    pub fn words(self) -> &'static str {
        match self {
            FailureClass::Connect => "could not be reached",
            FailureClass::FirstTokenTimeout => "did not start answering in time",
            FailureClass::Stall => "stopped mid-answer",
            FailureClass::RateLimited => "is rate-limiting us",
            FailureClass::ServerError => "had a server error",
            FailureClass::Overloaded => "is overloaded",
            FailureClass::Auth => "refused our API key",
            FailureClass::BadRequest => "could not take this request",
            FailureClass::Malformed => "sent a broken answer",
            FailureClass::StreamError => "reported an error mid-answer",
            FailureClass::TooLong => "sent an answer past the length or time limit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_failures_are_classed_by_status_and_error_type() {
        assert_eq!(FailureClass::from_http(429, None), FailureClass::RateLimited);
        assert_eq!(FailureClass::from_http(529, None), FailureClass::Overloaded);
        assert_eq!(
            FailureClass::from_http(500, Some("overloaded_error")),
            FailureClass::Overloaded
        );
        assert_eq!(FailureClass::from_http(503, None), FailureClass::ServerError);
        assert_eq!(FailureClass::from_http(401, None), FailureClass::Auth);
        assert_eq!(FailureClass::from_http(403, None), FailureClass::Auth);
        assert_eq!(FailureClass::from_http(400, None), FailureClass::BadRequest);
        assert_eq!(FailureClass::from_http(422, None), FailureClass::BadRequest);
    }

    #[test]
    fn auth_our_own_mistakes_and_runaway_answers_are_not_retried_and_only_ours_is_not_blamed() {
        assert!(!FailureClass::Auth.retryable() && FailureClass::Auth.blames_provider());
        assert!(!FailureClass::TooLong.retryable() && FailureClass::TooLong.blames_provider());
        assert!(!FailureClass::BadRequest.retryable() && !FailureClass::BadRequest.blames_provider());
        for c in [
            FailureClass::Connect,
            FailureClass::FirstTokenTimeout,
            FailureClass::Stall,
            FailureClass::RateLimited,
            FailureClass::ServerError,
            FailureClass::Overloaded,
            FailureClass::Malformed,
            FailureClass::StreamError,
        ] {
            assert!(c.retryable() && c.blames_provider(), "{c:?}");
        }
    }

    #[test]
    fn stream_errors_that_say_overloaded_are_overloads() {
        assert_eq!(
            FailureClass::from_stream_error(Some("overloaded_error"), "Overloaded"),
            FailureClass::Overloaded
        );
        assert_eq!(
            FailureClass::from_stream_error(None, "Rate limit exceeded upstream"),
            FailureClass::RateLimited
        );
        assert_eq!(
            FailureClass::from_stream_error(None, "internal"),
            FailureClass::StreamError
        );
        assert_eq!(
            FailureClass::from_stream_error(Some("malformed_stream"), "not JSON"),
            FailureClass::Malformed,
            "our parser's own verdict on an unreadable stream"
        );
    }
}
