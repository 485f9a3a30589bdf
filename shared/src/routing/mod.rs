//! Provider routing that survives failure, as pure logic: failure classes, retry timing, and each
//! provider's circuit breaker and metrics. The worker's router drives these; a Durable Object stores the
//! health so every isolate shares it.

pub mod failure;
pub mod health;
pub mod retry;

pub use failure::FailureClass;
pub use health::{Admission, AttemptReport, BreakerConfig, HealthState, ProviderHealth, ProviderMetricsView};
pub use retry::{Next, RetryPolicy};
