//! One provider's health: its circuit breaker and its running metrics. A Durable Object keeps one of these
//! per provider, so every isolate shares them and they survive restarts; this module is the arithmetic.

use serde::{Deserialize, Serialize};

use super::failure::FailureClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit.
    pub threshold: u32,
    /// How long it stays open before one probe may go through.
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            threshold: 3,
            cooldown_ms: 5 * 60 * 1000,
        }
    }
}

/// A half-open probe that never reported back (its worker died) stops blocking others after this long.
const PROBE_TIMEOUT_MS: u64 = 60_000;
/// Latency samples kept for percentiles.
const SAMPLES: usize = 200;
/// Weight of the newest latency in the moving average.
const EWMA_ALPHA: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Breaker {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        until_ms: u64,
    },
    HalfOpen {
        probe_started_ms: u64,
    },
    /// The provider refused our key: skipped until the cooldown ends, then probed like an open circuit.
    Misconfigured {
        until_ms: u64,
    },
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed {
            consecutive_failures: 0,
        }
    }
}

/// Whether a call may go to the provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "admission", rename_all = "snake_case")]
pub enum Admission {
    Allowed,
    /// The one call that decides whether a half-open circuit closes.
    Probe,
    Rejected {
        until_ms: u64,
        misconfigured: bool,
    },
}

/// How a provider looks from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    /// Working, but failing lately.
    Degraded,
    Open,
    Misconfigured,
}

/// One finished attempt, as the router reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptReport {
    /// `None` when it succeeded.
    pub failure: Option<FailureClass>,
    pub error: Option<String>,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub total: u64,
    pub failed: u64,
    pub latency_ewma_ms: f64,
    latencies: Vec<u64>,
    ttfts: Vec<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub last_error: Option<String>,
    pub last_error_ms: Option<u64>,
    /// Outcomes of the latest attempts (true = success), newest last, for "degraded".
    recent: Vec<bool>,
}

fn push_bounded<T>(v: &mut Vec<T>, x: T, cap: usize) {
    if v.len() == cap {
        v.remove(0);
    }
    v.push(x);
}

/// The `p`-th percentile (0..=1) of `samples`, nearest rank.
pub fn percentile(samples: &[u64], p: f64) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_unstable();
    let rank = (p * s.len() as f64).ceil() as usize;
    Some(s[rank.clamp(1, s.len()) - 1])
}

/// A provider's breaker and metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderHealth {
    pub breaker: Breaker,
    pub metrics: Metrics,
}

/// `GET /api/v1/chat/metrics`: one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMetricsView {
    pub provider: String,
    pub state: HealthState,
    pub circuit_open_until_ms: Option<u64>,
    pub total_requests: u64,
    pub failed_requests: u64,
    pub success_rate: Option<f64>,
    pub latency_ms_avg: Option<f64>,
    pub latency_ms_p50: Option<u64>,
    pub latency_ms_p95: Option<u64>,
    pub ttft_ms_p50: Option<u64>,
    pub ttft_ms_p95: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub last_error: Option<String>,
    pub last_error_at_ms: Option<u64>,
}

impl ProviderHealth {
    /// Whether a call may go out now; moves an open circuit whose cooldown ended to half-open.
    pub fn admit(&mut self, now_ms: u64) -> Admission {
        match self.breaker {
            Breaker::Closed { .. } => Admission::Allowed,
            Breaker::Open { until_ms } | Breaker::Misconfigured { until_ms } if now_ms < until_ms => {
                Admission::Rejected {
                    until_ms,
                    misconfigured: matches!(self.breaker, Breaker::Misconfigured { .. }),
                }
            }
            Breaker::HalfOpen { probe_started_ms } if now_ms < probe_started_ms + PROBE_TIMEOUT_MS => {
                Admission::Rejected {
                    until_ms: probe_started_ms + PROBE_TIMEOUT_MS,
                    misconfigured: false,
                }
            }
            _ => {
                self.breaker = Breaker::HalfOpen {
                    probe_started_ms: now_ms,
                };
                Admission::Probe
            }
        }
    }

    /// Records a finished attempt: metrics always; the breaker only for outcomes that say something about
    /// the provider (our own bad requests do not).
    pub fn record(&mut self, report: &AttemptReport, now_ms: u64, config: BreakerConfig) {
        let m = &mut self.metrics;
        m.total += 1;
        m.latency_ewma_ms = if m.total == 1 {
            report.latency_ms as f64
        } else {
            EWMA_ALPHA * report.latency_ms as f64 + (1.0 - EWMA_ALPHA) * m.latency_ewma_ms
        };
        push_bounded(&mut m.latencies, report.latency_ms, SAMPLES);
        if let Some(t) = report.ttft_ms {
            push_bounded(&mut m.ttfts, t, SAMPLES);
        }
        m.input_tokens += report.input_tokens;
        m.output_tokens += report.output_tokens;
        m.cost_usd += report.cost_usd;
        push_bounded(&mut m.recent, report.failure.is_none(), 20);
        match report.failure {
            None => self.breaker = Breaker::default(),
            Some(class) => {
                m.failed += 1;
                m.last_error = report.error.clone().or_else(|| Some(class.words().to_owned()));
                m.last_error_ms = Some(now_ms);
                if class == FailureClass::Auth {
                    self.breaker = Breaker::Misconfigured {
                        until_ms: now_ms + config.cooldown_ms,
                    };
                } else if class.blames_provider() {
                    self.breaker = match self.breaker {
                        Breaker::Closed { consecutive_failures }
                            if consecutive_failures + 1 < config.threshold =>
                        {
                            Breaker::Closed {
                                consecutive_failures: consecutive_failures + 1,
                            }
                        }
                        _ => Breaker::Open {
                            until_ms: now_ms + config.cooldown_ms,
                        },
                    };
                }
            }
        }
    }

    pub fn state(&self, now_ms: u64) -> HealthState {
        match self.breaker {
            Breaker::Misconfigured { until_ms } if now_ms < until_ms => HealthState::Misconfigured,
            Breaker::Open { .. } | Breaker::HalfOpen { .. } | Breaker::Misconfigured { .. } => {
                HealthState::Open
            }
            Breaker::Closed { consecutive_failures } => {
                let recent = &self.metrics.recent;
                let failures = recent.iter().filter(|ok| !**ok).count();
                if consecutive_failures > 0 || failures * 10 > recent.len() {
                    HealthState::Degraded
                } else {
                    HealthState::Healthy
                }
            }
        }
    }

    pub fn view(&self, provider: &str, now_ms: u64) -> ProviderMetricsView {
        let m = &self.metrics;
        ProviderMetricsView {
            provider: provider.to_owned(),
            state: self.state(now_ms),
            circuit_open_until_ms: match self.breaker {
                Breaker::Open { until_ms } | Breaker::Misconfigured { until_ms } => Some(until_ms),
                _ => None,
            },
            total_requests: m.total,
            failed_requests: m.failed,
            success_rate: (m.total > 0).then(|| (m.total - m.failed) as f64 / m.total as f64),
            latency_ms_avg: (m.total > 0).then_some(m.latency_ewma_ms),
            latency_ms_p50: percentile(&m.latencies, 0.5),
            latency_ms_p95: percentile(&m.latencies, 0.95),
            ttft_ms_p50: percentile(&m.ttfts, 0.5),
            ttft_ms_p95: percentile(&m.ttfts, 0.95),
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost_usd: m.cost_usd,
            last_error: m.last_error.clone(),
            last_error_at_ms: m.last_error_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: BreakerConfig = BreakerConfig {
        threshold: 3,
        cooldown_ms: 1_000,
    };

    fn report(failure: Option<FailureClass>, latency_ms: u64) -> AttemptReport {
        AttemptReport {
            failure,
            error: failure.map(|f| format!("{f:?}")),
            latency_ms,
            ttft_ms: Some(latency_ms / 2),
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.001,
        }
    }

    #[test]
    fn the_circuit_opens_at_exactly_the_threshold_then_probes_once_and_closes_on_success() {
        let mut h = ProviderHealth::default();
        let fail = Some(FailureClass::ServerError);
        h.record(&report(fail, 10), 0, CFG);
        h.record(&report(fail, 10), 0, CFG);
        assert_eq!(h.admit(0), Admission::Allowed, "two failures: still closed");
        assert_eq!(h.state(0), HealthState::Degraded);
        h.record(&report(fail, 10), 100, CFG);
        assert_eq!(
            h.admit(500),
            Admission::Rejected {
                until_ms: 1_100,
                misconfigured: false
            }
        );
        assert_eq!(h.state(500), HealthState::Open);
        assert_eq!(h.admit(1_100), Admission::Probe, "cooldown over: one probe");
        assert!(
            matches!(h.admit(1_101), Admission::Rejected { .. }),
            "only one probe"
        );
        h.record(&report(None, 10), 1_200, CFG);
        assert_eq!(h.admit(1_201), Admission::Allowed);
    }

    #[test]
    fn a_failed_probe_reopens_the_circuit_and_a_lost_probe_expires() {
        let mut h = ProviderHealth {
            breaker: Breaker::Open { until_ms: 0 },
            ..Default::default()
        };
        assert_eq!(h.admit(10), Admission::Probe);
        h.record(&report(Some(FailureClass::Overloaded), 5), 20, CFG);
        assert_eq!(h.breaker, Breaker::Open { until_ms: 1_020 });
        assert_eq!(h.admit(1_020), Admission::Probe);
        assert!(matches!(h.admit(1_021), Admission::Rejected { .. }));
        assert_eq!(
            h.admit(1_020 + PROBE_TIMEOUT_MS),
            Admission::Probe,
            "the lost probe stops blocking"
        );
    }

    #[test]
    fn auth_errors_mark_the_provider_misconfigured_and_our_bad_requests_count_for_nothing() {
        let mut h = ProviderHealth::default();
        for _ in 0..5 {
            h.record(&report(Some(FailureClass::BadRequest), 5), 0, CFG);
        }
        assert_eq!(h.admit(0), Admission::Allowed);
        h.record(&report(Some(FailureClass::Auth), 5), 0, CFG);
        assert_eq!(h.state(10), HealthState::Misconfigured);
        assert_eq!(
            h.admit(10),
            Admission::Rejected {
                until_ms: 1_000,
                misconfigured: true
            }
        );
    }

    #[test]
    fn metrics_add_up_with_percentiles_and_the_last_error() {
        let mut h = ProviderHealth::default();
        for i in 1..=100 {
            h.record(&report(None, i * 10), i, CFG);
        }
        h.record(&report(Some(FailureClass::Stall), 5_000), 777, CFG);
        let v = h.view("openai", 800);
        assert_eq!((v.total_requests, v.failed_requests), (101, 1));
        assert_eq!(v.latency_ms_p50, Some(510));
        assert_eq!(v.latency_ms_p95, Some(960));
        assert_eq!(v.ttft_ms_p50, Some(255));
        assert_eq!(v.input_tokens, 1_010);
        assert!((v.cost_usd - 0.101).abs() < 1e-9);
        assert_eq!(v.last_error.as_deref(), Some("Stall"));
        assert_eq!(v.last_error_at_ms, Some(777));
        assert_eq!(v.state, HealthState::Degraded);
        assert!(v.success_rate.is_some_and(|r| (r - 100.0 / 101.0).abs() < 1e-9));
    }

    #[test]
    fn health_round_trips_through_storage() {
        let mut h = ProviderHealth::default();
        h.record(&report(Some(FailureClass::Connect), 5), 3, CFG);
        let back: ProviderHealth = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
    }
}
