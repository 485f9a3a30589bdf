//! Sliding-window-log rate limiting arithmetic.
//!
//! The window keeps the admission times of the last `window_ms`; a request is admitted while fewer than
//! `limit` are in it. This is exact (no burst at window edges, unlike fixed windows); the cost is one
//! timestamp per admitted request, at most `limit` of them.

use serde::{Deserialize, Serialize};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allowed { remaining: u32 },
    Limited { retry_after_ms: u64 },
}

impl Decision {
    /// Whole seconds to wait, rounded up so a client that waits that long is admitted.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Decision::Allowed { .. } => None,
            Decision::Limited { retry_after_ms } => Some(retry_after_ms.div_ceil(1000).max(1)),
        }
    }
}

/// The admission times inside the window, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlidingWindow {
    pub hits: Vec<u64>,
}

impl SlidingWindow {
    /// Admits or refuses one request at `now_ms`, recording it when admitted.
    pub fn check(&mut self, now_ms: u64, limit: u32, window_ms: u64) -> Decision {
        self.hits
            .retain(|&t| t <= now_ms && t.saturating_add(window_ms) > now_ms);
        if (self.hits.len() as u64) < u64::from(limit) {
            self.hits.push(now_ms);
            Decision::Allowed {
                remaining: limit - self.hits.len() as u32,
            }
        } else {
            // The oldest hit leaves the window at `oldest + window_ms`.
            let oldest = self.hits.first().copied().unwrap_or(now_ms);
            Decision::Limited {
                retry_after_ms: (oldest + window_ms).saturating_sub(now_ms).max(1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn admits_exactly_the_limit_then_refuses() {
        let mut w = SlidingWindow::default();
        for i in 0..20 {
            assert_eq!(
                w.check(1_000 + i, 20, MIN),
                Decision::Allowed {
                    remaining: 19 - i as u32
                }
            );
        }
        let d = w.check(1_020, 20, MIN);
        assert_eq!(
            d,
            Decision::Limited {
                retry_after_ms: 1_000 + MIN - 1_020
            }
        );
        assert_eq!(d.retry_after_secs(), Some(60));
    }

    #[test]
    fn waiting_the_retry_after_admits_again() {
        let mut w = SlidingWindow::default();
        for _ in 0..3 {
            w.check(0, 3, MIN);
        }
        let Decision::Limited { retry_after_ms } = w.check(10_000, 3, MIN) else {
            panic!("should limit")
        };
        assert!(matches!(
            w.check(10_000 + retry_after_ms - 1, 3, MIN),
            Decision::Limited { .. }
        ));
        assert!(matches!(
            w.check(10_000 + retry_after_ms, 3, MIN),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn refused_requests_do_not_count() {
        let mut w = SlidingWindow::default();
        w.check(0, 1, MIN);
        for t in 1..100 {
            w.check(t, 1, MIN);
        }
        assert_eq!(w.hits, vec![0]);
        assert!(matches!(w.check(MIN + 1, 1, MIN), Decision::Allowed { .. }));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_lock_users_out_forever() {
        let mut w = SlidingWindow::default();
        w.check(1_000_000, 1, MIN);
        // Hits "from the future" are dropped rather than blocking until the clock catches up.
        assert!(matches!(w.check(10, 1, MIN), Decision::Allowed { .. }));
    }
}
