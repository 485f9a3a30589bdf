//! When to try again: exponential backoff with full jitter, bounded in attempts and by an overall deadline,
//! with a provider's `Retry-After` honoured.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per provider, the first included.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// The whole routing of one call (every provider, every attempt) ends by then.
    pub deadline_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay_ms: 500,
            max_delay_ms: 8_000,
            deadline_ms: 60_000,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try the same provider again.
    RetryIn(u64),
    /// Move on to the next provider.
    NextProvider,
}

impl RetryPolicy {
    /// The full-jitter delay before retry number `retry` (0 for the first retry): uniform in
    /// `[0, min(max, base · 2^retry)]`, `unit` being a uniform draw from `[0, 1)`.
    pub fn backoff_ms(&self, retry: u32, unit: f64) -> u64 {
        let ceiling = self
            .base_delay_ms
            .saturating_mul(1u64 << retry.min(32))
            .min(self.max_delay_ms);
        (ceiling as f64 * unit.clamp(0.0, 1.0)) as u64
    }

    /// After attempt number `attempt` (1-based) failed retryably or not: retry (after the backoff, or the
    /// provider's `Retry-After` if longer) while attempts remain and the wait ends before the deadline;
    /// otherwise the next provider.
    pub fn next(
        &self,
        attempt: u32,
        retryable: bool,
        retry_after_ms: Option<u64>,
        elapsed_ms: u64,
        unit: f64,
    ) -> Next {
        if !retryable || attempt >= self.max_attempts {
            return Next::NextProvider;
        }
        let wait = self
            .backoff_ms(attempt - 1, unit)
            .max(retry_after_ms.unwrap_or(0));
        if elapsed_ms.saturating_add(wait) >= self.deadline_ms {
            Next::NextProvider
        } else {
            Next::RetryIn(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 500,
        max_delay_ms: 8_000,
        deadline_ms: 20_000,
    };

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        assert_eq!(P.backoff_ms(0, 0.999_999), 499);
        assert_eq!(P.backoff_ms(1, 0.999_999), 999);
        assert_eq!(P.backoff_ms(5, 0.999_999), 7_999);
        assert_eq!(P.backoff_ms(60, 0.5), 4_000, "no overflow far out");
        assert_eq!(P.backoff_ms(3, 0.0), 0);
    }

    #[test]
    fn retries_stop_at_the_attempt_limit_the_deadline_or_a_non_retryable_failure() {
        assert_eq!(P.next(1, true, None, 0, 0.5), Next::RetryIn(250));
        assert_eq!(P.next(2, true, None, 0, 0.5), Next::RetryIn(500));
        assert_eq!(P.next(3, true, None, 0, 0.5), Next::NextProvider);
        assert_eq!(P.next(1, false, None, 0, 0.5), Next::NextProvider);
        assert_eq!(P.next(1, true, None, 19_900, 0.5), Next::NextProvider);
    }

    #[test]
    fn retry_after_is_honoured_unless_it_would_pass_the_deadline() {
        assert_eq!(P.next(1, true, Some(2_000), 0, 0.5), Next::RetryIn(2_000));
        assert_eq!(P.next(1, true, Some(30_000), 0, 0.5), Next::NextProvider);
    }
}
