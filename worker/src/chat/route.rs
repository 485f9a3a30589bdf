//! Routing one model call across providers: along `PROVIDER_ORDER`, skipping providers whose circuit is
//! open, retrying retryable failures with backoff and full jitter within the attempt limit and the overall
//! deadline, then falling back to the next provider. Every attempt is a node in the execution tree, a row in
//! the call log and a report to the shared health store; the status line says what happens in words.

use std::time::Duration;

use datasage_shared::api::Phase;
use datasage_shared::llm::{Message, TokenUsage};
use datasage_shared::routing::{Admission, BreakerConfig, Next, RetryPolicy};
use datasage_shared::tree::{LlmCallInfo, NodeKind, NodeStatus};
use worker::Delay;

use super::attempt::{attempt, Attempt, AttemptInfo, CallType, Outcome};
use super::{Emitter, Job};
use crate::db::CallLog;
use crate::provider_health;
use crate::util::now_ms;

/// How calls are routed (from `wrangler.toml` vars).
#[derive(Debug, Clone, Copy)]
pub struct Routing {
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
    pub first_token_timeout_ms: u64,
    pub stall_timeout_ms: u64,
    /// The most one answer may take, start to finish, and the most text (answer and reasoning) it may
    /// send: past either the attempt ends as `too_long` and the upstream request is aborted.
    pub answer_timeout_ms: u64,
    pub max_answer_bytes: usize,
}

/// `14:05 UTC` for a time in milliseconds since the epoch.
fn clock(ms: u64) -> String {
    let d = js_sys::Date::new(&(ms as f64).into());
    format!("{:02}:{:02} UTC", d.get_utc_hours(), d.get_utc_minutes())
}

/// Routes one call; every attempt's tokens and cost are added to `spent`.
pub async fn call(
    job: &Job,
    em: &mut Emitter,
    messages: &[Message],
    call_type: CallType,
    calls: &mut Vec<CallLog>,
    spent: &mut Vec<(TokenUsage, Option<f64>)>,
) -> Attempt {
    let routing = job.routing;
    let started = now_ms();
    // Why each provider gave up, in plain words for the person (the detail is in the tree and the metrics).
    let mut reasons: Vec<String> = Vec::new();
    for (i, provider) in job.providers.iter().enumerate() {
        let next = job
            .providers
            .get(i + 1)
            .map(|p| format!("using {}", p.label()))
            .or_else(|| {
                job.builtin_fallback
                    .then(|| "the built-in analyst will answer".to_owned())
            })
            .unwrap_or_else(|| "no other provider is left".to_owned());
        let admission = provider_health::admit(&job.env, provider.name()).await;
        let breaker = match admission {
            Admission::Allowed => "closed",
            Admission::Probe => "half_open",
            Admission::Rejected { .. } => "open",
        };
        if let Admission::Rejected {
            until_ms,
            misconfigured,
        } = admission
        {
            let why = if misconfigured {
                format!(
                    "is misconfigured (its API key was refused; skipped until {})",
                    clock(until_ms)
                )
            } else {
                format!("is unavailable (circuit open until {})", clock(until_ms))
            };
            let reason = format!("{} {why}", provider.label());
            em.status(Phase::CallingModel, format!("{reason} — {next}"));
            let node = em.start(
                NodeKind::LlmCall,
                format!("{} · {} (skipped)", provider.name(), provider.model()),
            );
            if let Some(n) = em.tree.node_mut(node) {
                n.llm = Some(LlmCallInfo {
                    provider: provider.name().to_owned(),
                    model: provider.model().to_owned(),
                    outcome: "skipped".into(),
                    breaker: breaker.into(),
                    ..LlmCallInfo::default()
                });
            }
            em.finish(node, NodeStatus::Failed, Some(reason.clone()));
            reasons.push(reason);
            continue;
        }
        let mut retries = 0;
        loop {
            let info = AttemptInfo { retries, breaker };
            let a = attempt(provider.as_ref(), job, em, messages, call_type, calls, info).await;
            spent.push((a.usage, a.cost));
            if let Some(report) = a.report.clone() {
                if !matches!(a.outcome, Outcome::Cancelled) {
                    provider_health::record(&job.env, provider.name(), report, routing.breaker).await;
                }
            }
            let (class, retry_after_ms) = match &a.outcome {
                Outcome::Answered(_) | Outcome::Cancelled => return a,
                Outcome::Failed {
                    class,
                    retry_after_ms,
                    ..
                } => (*class, *retry_after_ms),
            };
            let Some(class) = class else { return a };
            em.discard(format!("{} {}", provider.label(), class.words()));
            // A half-open circuit gets one probe, not retries.
            let retryable = class.retryable() && breaker != "half_open";
            let elapsed = now_ms().saturating_sub(started);
            match routing.retry.next(
                retries + 1,
                retryable,
                retry_after_ms,
                elapsed,
                js_sys::Math::random(),
            ) {
                Next::RetryIn(wait_ms) => {
                    em.status(
                        Phase::CallingModel,
                        format!(
                            "{} {} — retrying in {} s",
                            provider.label(),
                            class.words(),
                            wait_ms.div_ceil(1000).max(1)
                        ),
                    );
                    Delay::from(Duration::from_millis(wait_ms)).await;
                    if em.client_gone() {
                        return Attempt {
                            outcome: Outcome::Cancelled,
                            ..a
                        };
                    }
                    retries += 1;
                }
                Next::NextProvider => {
                    let reason = format!("{} {}", provider.label(), class.words());
                    em.status(Phase::CallingModel, format!("{reason} — {next}"));
                    reasons.push(reason);
                    break;
                }
            }
        }
    }
    Attempt {
        outcome: Outcome::Failed {
            class: None,
            message: if reasons.is_empty() {
                "No AI provider is configured.".to_owned()
            } else {
                format!("No AI provider could answer: {}.", reasons.join("; "))
            },
            retry_after_ms: None,
        },
        usage: TokenUsage::default(),
        cost: None,
        report: None,
        provider: String::new(),
        model: String::new(),
    }
}
