//! Routing one model call across providers: along `PROVIDER_ORDER`, skipping providers whose circuit is
//! open, retrying retryable failures with backoff and full jitter within the attempt limit and the overall
//! deadline, then falling back to the next provider. Every attempt is a node in the execution tree, a row in
//! the call log and a report to the shared health store; the status line says what happens in words.

use std::time::Duration;

use datasage_shared::api::Phase;
use datasage_shared::budget::{prompt_tokens_to_hold, warning};
use datasage_shared::llm::{CallType, Message, TokenUsage};
use datasage_shared::routing::{Admission, Next};
use datasage_shared::tree::{CallStatus, Circuit, LlmCallInfo, NodeKind, NodeStatus};
use worker::{console_error, Delay};

use super::attempt::{self, Attempt, AttemptInfo, Call, Outcome, MAX_TOKENS};
use super::emitter::Emitter;
use super::job::Job;
use crate::budget::Hold;
use crate::db::CallLog;
use crate::provider_health;
use crate::providers::Provider;
use crate::util::now_ms;

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
    spent: &mut Vec<(TokenUsage, f64)>,
) -> Attempt {
    let started = now_ms();
    // Why each provider gave up, in plain words for the person (the detail is in the tree and the metrics).
    let mut reasons: Vec<String> = Vec::new();
    let mut over_budget = false;
    for (i, provider) in job.providers.iter().enumerate() {
        let next = what_next(job, i);
        let admission = provider_health::admit(&job.env, provider.name()).await;
        let breaker = match admission {
            Admission::Allowed => Circuit::Closed,
            Admission::Probe => Circuit::HalfOpen,
            Admission::Rejected { .. } => Circuit::Open,
        };
        let reason = if let Admission::Rejected {
            until_ms,
            misconfigured,
        } = admission
        {
            skip(provider, until_ms, misconfigured, &next, em)
        } else {
            let c = Calling {
                provider,
                fallback: i > 0,
                job,
                messages,
                call_type,
                breaker,
                started,
            };
            match on_provider(c, em, calls, spent).await {
                Ok(attempt) => return attempt,
                Err(gave_up) => {
                    over_budget |= gave_up.over_budget;
                    em.status(Phase::CallingModel, format!("{} — {next}", gave_up.reason));
                    gave_up.reason
                }
            }
        };
        reasons.push(reason);
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
            over_budget,
        },
        usage: TokenUsage::default(),
        cost: 0.0,
        report: None,
        provider: String::new(),
        model: String::new(),
    }
}

/// What happens if provider `i` gives up, in words for the status line.
fn what_next(job: &Job, i: usize) -> String {
    job.providers
        .get(i + 1)
        .map(|p| format!("using {}", p.label()))
        .or_else(|| {
            job.builtin_fallback
                .then(|| "the built-in analyst will answer".to_owned())
        })
        .unwrap_or_else(|| "no other provider is left".to_owned())
}

/// A provider whose circuit is open is skipped: said in the status line and shown as a skipped call.
fn skip(provider: &Provider, until_ms: u64, misconfigured: bool, next: &str, em: &mut Emitter) -> String {
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
            outcome: CallStatus::Skipped,
            breaker: Circuit::Open,
            ..LlmCallInfo::default()
        });
    }
    em.finish(node, NodeStatus::Failed, Some(reason.clone()));
    reason
}

/// One call on one admitted provider.
struct Calling<'a> {
    provider: &'a Provider,
    /// An earlier provider of this call gave up (or was skipped).
    fallback: bool,
    job: &'a Job,
    messages: &'a [Message],
    call_type: CallType,
    /// The provider's circuit when it was admitted.
    breaker: Circuit,
    /// When routing this call began (the deadline counts from it).
    started: u64,
}

/// Why a provider gave up: in words for the status line, and whether it was the user's budget.
struct GaveUp {
    reason: String,
    over_budget: bool,
}

impl From<String> for GaveUp {
    fn from(reason: String) -> Self {
        GaveUp {
            reason,
            over_budget: false,
        }
    }
}

/// Holds the most this attempt can cost against the user's budget (the prompt with room for the
/// estimate's error, and a whole answer); the provider is given up when that would pass the budget, or
/// when the budget cannot be read (it fails closed).
fn hold(c: &Calling<'_>) -> Result<Option<Hold>, GaveUp> {
    let Some(allowance) = &c.job.allowance else {
        return Ok(None);
    };
    let most = c.job.prices.most(
        c.provider.model(),
        prompt_tokens_to_hold(c.messages),
        u64::from(MAX_TOKENS),
    );
    let refused = |why: &str| GaveUp {
        reason: format!("{} {why}", c.provider.label()),
        over_budget: true,
    };
    match allowance.hold(most) {
        Ok(Some(hold)) => Ok(Some(hold)),
        Ok(None) => Err(refused("would take this month past its budget")),
        Err(e) => {
            console_error!("budget: cannot hold a call's cost: {e}");
            Err(refused("was not called: the budget could not be checked"))
        }
    }
}

/// Settles a hold to what the attempt cost; the first time this month spending crosses 80 % of the
/// budget, the status line says so.
fn settle(c: &Calling<'_>, em: &mut Emitter, hold: Option<Hold>, usd: f64) {
    let (Some(allowance), Some(hold)) = (&c.job.allowance, hold) else {
        return;
    };
    match allowance.settle(hold, usd) {
        Ok(Some(spent)) => em.status(Phase::Budget, warning(spent, allowance.limit_usd)),
        Ok(None) => {}
        Err(e) => console_error!("budget: cannot settle a call's cost: {e}"),
    }
}

/// Attempts one provider, retrying what may be retried: the attempt that ends the call (`Ok`), or why the
/// provider gave up (`Err`).
async fn on_provider(
    c: Calling<'_>,
    em: &mut Emitter,
    calls: &mut Vec<CallLog>,
    spent: &mut Vec<(TokenUsage, f64)>,
) -> Result<Attempt, GaveUp> {
    let (provider, routing) = (c.provider, c.job.routing);
    let mut retries = 0;
    loop {
        let hold = hold(&c)?;
        let info = AttemptInfo {
            retries,
            breaker: c.breaker,
            fallback: c.fallback,
        };
        let node = attempt::begin(provider, c.call_type, info, em);
        let streamed = attempt::stream(provider, &routing, em, c.messages).await;
        let call = Call {
            provider,
            job: c.job,
            messages: c.messages,
            call_type: c.call_type,
            info,
            node,
        };
        let a = attempt::record(streamed, call, em, calls);
        settle(&c, em, hold, a.cost);
        spent.push((a.usage, a.cost));
        if let Some(report) = a.report.clone() {
            if !matches!(a.outcome, Outcome::Cancelled) {
                provider_health::record(&c.job.env, provider.name(), report, routing.breaker).await;
            }
        }
        let (class, retry_after_ms) = match &a.outcome {
            Outcome::Answered(_) | Outcome::Cancelled => return Ok(a),
            Outcome::Failed {
                class,
                retry_after_ms,
                ..
            } => (*class, *retry_after_ms),
        };
        let Some(class) = class else { return Ok(a) };
        em.discard(format!("{} {}", provider.label(), class.words()));
        // A half-open circuit gets one probe, not retries.
        let retryable = class.retryable() && c.breaker != Circuit::HalfOpen;
        let elapsed = now_ms().saturating_sub(c.started);
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
                if em.stopped() {
                    return Ok(Attempt {
                        outcome: Outcome::Cancelled,
                        ..a
                    });
                }
                retries += 1;
            }
            Next::NextProvider => return Err(format!("{} {}", provider.label(), class.words()).into()),
        }
    }
}
