//! One model call on one provider, in two pieces once [`begin`] has announced it: [`stream`] runs the
//! call — the upstream request, the first-token, stall and total deadlines, the answer's byte bound,
//! relaying the answer text as it is extracted — and returns what happened as a value ([`Streamed`]);
//! [`record`] turns that value into the call's tree node, its call-log row, the provider-health report
//! and the [`Attempt`] routing acts on.

use std::future::Future;
use std::time::Duration;

use datasage_shared::api::{Phase, Usage};
use datasage_shared::extract::{AnswerExtractor, Extracted, JsonOutcome};
use datasage_shared::llm::{CallType, Collected, LlmEvent, LlmRequest, Message, TokenUsage, UsageSource};
use datasage_shared::pricing::Charge;
use datasage_shared::routing::{AttemptReport, FailureClass};
use datasage_shared::text::excerpt;
use datasage_shared::tokens;
use datasage_shared::tree::{CallStatus, Circuit, LlmCallInfo, NodeId, NodeKind, NodeStatus};
use futures::future::{select, Either};
use futures::StreamExt;
use worker::{AbortController, Delay};

use super::emitter::Emitter;
use super::job::Job;
use crate::config::Routing;
use crate::db::CallLog;
use crate::providers::{Provider, ProviderError};
use crate::util::now_ms;

const TEMPERATURE: f32 = 0.2;
/// The most output tokens a call may produce: what a budget holds for its answer.
pub const MAX_TOKENS: u32 = 1_500;

/// How one model call ended.
pub enum Outcome {
    Answered(Extracted),
    /// `class` is `None` when no provider was left to try; `over_budget` when one was left out because its
    /// call would have taken the month past the user's budget.
    Failed {
        class: Option<FailureClass>,
        message: String,
        retry_after_ms: Option<u64>,
        over_budget: bool,
    },
    Cancelled,
}

pub struct Attempt {
    pub outcome: Outcome,
    pub usage: TokenUsage,
    /// What the call counts as (an unpriced model's at the most expensive known price).
    pub cost: f64,
    /// What the health store is told; `None` when no attempt went out.
    pub report: Option<AttemptReport>,
    /// The provider and model that made (or last made) the call.
    pub provider: String,
    pub model: String,
}

/// Where an attempt stands in its routing: how many retries came before it on this provider, the
/// provider's circuit when it went out, and whether an earlier provider of the call gave up first.
#[derive(Clone, Copy)]
pub struct AttemptInfo {
    pub retries: u32,
    pub breaker: Circuit,
    pub fallback: bool,
}

enum Waited<T> {
    Done(T),
    Expired,
    Stopped,
}

/// How often a wait checks whether the client is still there.
const TICK_MS: u64 = 250;

/// Waits for `fut` until `until_ms`, giving up early if the client disconnects. `tick` is the attempt's
/// one timer: it outlives each wait and is re-armed only when it fires (at most [`TICK_MS`] ahead, and no
/// later than the deadline), so a stream of a thousand tokens sets a timer every 250 ms, not a thousand.
async fn timed<F: Future + Unpin>(
    mut fut: F,
    until_ms: u64,
    em: &Emitter,
    tick: &mut Option<Delay>,
) -> Waited<F::Output> {
    loop {
        let now = now_ms();
        if em.stopped() {
            return Waited::Stopped;
        }
        if now >= until_ms {
            return Waited::Expired;
        }
        let timer =
            tick.get_or_insert_with(|| Delay::from(Duration::from_millis((until_ms - now).min(TICK_MS))));
        match select(&mut fut, timer).await {
            Either::Left((out, _)) => return Waited::Done(out),
            Either::Right(_) => *tick = None,
        }
    }
}

/// Why a call failed: its class, the message for people, and how long the provider asked us to wait.
type Failure = (FailureClass, String, Option<u64>);

/// What one streamed call produced, before anything is recorded.
pub struct Streamed {
    pub seen: Collected,
    pub extracted: Extracted,
    pub ttft_ms: Option<u64>,
    pub failure: Option<Failure>,
    pub cancelled: bool,
    pub latency_ms: u64,
}

/// Announces a call: its status line, and its node in the tree (which [`record`] fills in).
pub fn begin(provider: &Provider, call_type: CallType, info: AttemptInfo, em: &mut Emitter) -> NodeId {
    announce(provider, call_type, em);
    let retry = if info.retries > 0 {
        format!(", retry {}", info.retries)
    } else {
        String::new()
    };
    em.start(
        NodeKind::LlmCall,
        format!(
            "{} · {} ({}{retry})",
            provider.name(),
            provider.model(),
            call_type.as_str()
        ),
    )
}

/// The status line for a call.
fn announce(provider: &Provider, call_type: CallType, em: &mut Emitter) {
    match call_type {
        CallType::Plan => em.status(Phase::Planning, "Planning query…"),
        CallType::Correction => em.status(Phase::Planning, "Correcting the query…"),
        CallType::Answer => em.status(
            Phase::CallingModel,
            format!(
                "Reading the results with {} ({})…",
                provider.model(),
                provider.label()
            ),
        ),
        // A repair keeps the status that says why the model is asked again.
        CallType::Repair => {}
    }
}

/// Runs one call within `routing`'s deadlines and bounds, relaying the answer text as it is extracted.
/// A failure, a timeout or a disconnected client aborts the upstream request.
pub async fn stream(
    provider: &Provider,
    routing: &Routing,
    em: &mut Emitter,
    messages: &[Message],
) -> Streamed {
    let started = now_ms();
    let req = LlmRequest {
        model: provider.model().to_owned(),
        messages: messages.to_vec(),
        temperature: TEMPERATURE,
        max_tokens: MAX_TOKENS,
    };
    let mut reader = Reader::new(started, routing);
    let controller = AbortController::default();
    let mut tick = None;
    match timed(
        Box::pin(provider.stream(&req, controller.signal())),
        reader.first_token_deadline,
        em,
        &mut tick,
    )
    .await
    {
        Waited::Stopped => reader.cancelled = true,
        Waited::Expired => {
            reader.failure = Some((
                FailureClass::FirstTokenTimeout,
                format!("no answer within {} ms", routing.first_token_timeout_ms),
                None,
            ));
        }
        Waited::Done(Err(e)) => reader.failure = Some((e.class(), e.to_string(), e.retry_after_ms())),
        Waited::Done(Ok(mut events)) => loop {
            let item = match timed(events.next(), reader.until(), em, &mut tick).await {
                Waited::Done(Some(item)) => item,
                Waited::Done(None) => break,
                Waited::Stopped => {
                    reader.cancelled = true;
                    break;
                }
                Waited::Expired => {
                    reader.failure = Some(reader.expired());
                    break;
                }
            };
            if reader.take(item, em).is_break() {
                break;
            }
        },
    }
    let streamed = reader.finish(provider);
    if streamed.failure.is_some() || streamed.cancelled {
        // Stop the provider generating for nobody.
        controller.abort();
    }
    streamed
}

/// The state of one call's stream as its events arrive.
struct Reader<'a> {
    routing: &'a Routing,
    started: u64,
    first_token_deadline: u64,
    answer_deadline: u64,
    last_event: u64,
    received: usize,
    writing: bool,
    seen: Collected,
    extractor: AnswerExtractor,
    ttft_ms: Option<u64>,
    failure: Option<Failure>,
    cancelled: bool,
}

impl<'a> Reader<'a> {
    fn new(started: u64, routing: &'a Routing) -> Self {
        Self {
            routing,
            started,
            first_token_deadline: started + routing.first_token_timeout_ms,
            answer_deadline: started + routing.answer_timeout_ms,
            last_event: started,
            received: 0,
            writing: false,
            seen: Collected::default(),
            extractor: AnswerExtractor::new(),
            ttft_ms: None,
            failure: None,
            cancelled: false,
        }
    }

    /// When the next event must have come: the first token's deadline, then the stall timeout after the
    /// last event — never past the answer's own deadline.
    fn until(&self) -> u64 {
        let next = match self.ttft_ms {
            None => self.first_token_deadline,
            Some(_) => self.last_event + self.routing.stall_timeout_ms,
        };
        next.min(self.answer_deadline)
    }

    /// Which deadline passed.
    fn expired(&self) -> Failure {
        let r = self.routing;
        match self.ttft_ms {
            _ if now_ms() >= self.answer_deadline => (
                FailureClass::TooLong,
                format!("the answer was still going after {} ms", r.answer_timeout_ms),
                None,
            ),
            None => (
                FailureClass::FirstTokenTimeout,
                format!("no first token within {} ms", r.first_token_timeout_ms),
                None,
            ),
            Some(_) => (
                FailureClass::Stall,
                format!("the stream went quiet for {} ms", r.stall_timeout_ms),
                None,
            ),
        }
    }

    fn first_token(&mut self) {
        let started = self.started;
        self.ttft_ms
            .get_or_insert_with(|| now_ms().saturating_sub(started));
    }

    /// Takes one stream event; `Break` when the call ends here (a failure, or past its byte bound).
    fn take(&mut self, item: Result<LlmEvent, ProviderError>, em: &mut Emitter) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow::{Break, Continue};
        self.last_event = now_ms();
        self.received += match &item {
            Ok(LlmEvent::Text(t) | LlmEvent::Reasoning(t)) => t.len(),
            _ => 0,
        };
        if self.received > self.routing.max_answer_bytes {
            let bound = self.routing.max_answer_bytes;
            self.failure = Some((
                FailureClass::TooLong,
                format!("the answer passed {bound} bytes"),
                None,
            ));
            return Break(());
        }
        match item {
            Ok(LlmEvent::Text(t)) => {
                self.first_token();
                let delta = self.extractor.push(&t);
                if !delta.is_empty() {
                    if !self.writing {
                        em.status(Phase::Writing, "Writing answer…");
                        self.writing = true;
                    }
                    em.content(&delta);
                }
            }
            Ok(ev) => {
                if matches!(ev, LlmEvent::Reasoning(_)) {
                    self.first_token();
                }
                self.seen.add(ev);
            }
            Err(e) => {
                self.failure = Some((e.class(), e.to_string(), None));
                return Break(());
            }
        }
        Continue(())
    }

    /// What the call produced; a stream that ended without finishing is malformed.
    fn finish(mut self, provider: &Provider) -> Streamed {
        if self.failure.is_none() && !self.cancelled && self.seen.finish.is_none() {
            self.failure = Some((
                FailureClass::Malformed,
                format!("{} ended its stream before finishing", provider.label()),
                None,
            ));
        }
        Streamed {
            latency_ms: now_ms().saturating_sub(self.started),
            extracted: self.extractor.finish(),
            seen: self.seen,
            ttft_ms: self.ttft_ms,
            failure: self.failure,
            cancelled: self.cancelled,
        }
    }
}

/// What a call was, for recording it.
pub struct Call<'a> {
    pub provider: &'a Provider,
    pub job: &'a Job,
    pub messages: &'a [Message],
    pub call_type: CallType,
    pub info: AttemptInfo,
    pub node: NodeId,
}

impl Streamed {
    /// How the call ended, as the tree and the call log say.
    fn status(&self) -> CallStatus {
        match (&self.failure, self.cancelled) {
            (_, true) => CallStatus::Cancelled,
            (Some(_), _) => CallStatus::Error,
            (None, _) if self.extracted.response_text.is_none() && self.extracted.queries.is_empty() => {
                CallStatus::Empty
            }
            (None, _) => CallStatus::Ok,
        }
    }

    /// The usage the provider reported, or — when it reported none — estimated from the text, once, over
    /// the whole of it (`shared::tokens`).
    fn usage(&self, messages: &[Message]) -> (TokenUsage, UsageSource) {
        match self.seen.usage {
            Some(u) => (u, UsageSource::Reported),
            None => (
                TokenUsage {
                    input_tokens: messages.iter().map(|m| tokens::estimate(&m.content) as u64).sum(),
                    output_tokens: tokens::estimate(&self.extracted.raw) as u64,
                    ..TokenUsage::default()
                },
                UsageSource::Estimated,
            ),
        }
    }

    /// The tree node's detail: the failure, an empty answer, or the start of the model's reasoning.
    fn detail(&self) -> Option<String> {
        match (&self.failure, self.status()) {
            (Some((class, msg, _)), _) => Some(format!("{}: {msg}", class.as_str())),
            (None, CallStatus::Empty) => Some("response_text was empty or missing".into()),
            _ if !self.seen.reasoning.is_empty() => {
                Some(format!("reasoning: {}", excerpt(&self.seen.reasoning, 500)))
            }
            _ => None,
        }
    }
}

/// Turns what a call produced into its tree node, its call-log row (pushed on `calls`), its health report
/// and the [`Attempt`] routing acts on.
pub fn record(s: Streamed, call: Call<'_>, em: &mut Emitter, calls: &mut Vec<CallLog>) -> Attempt {
    let Call {
        provider,
        job,
        messages,
        call_type,
        info,
        node,
    } = call;
    let (usage, usage_source) = s.usage(messages);
    let charge = job.prices.charge(provider.model(), &usage);
    let cost = charge.usd;
    let status = s.status();
    if let Some(n) = em.tree.node_mut(node) {
        n.llm = Some(LlmCallInfo {
            provider: provider.name().to_owned(),
            model: provider.model().to_owned(),
            prompt_tokens: usage.input_tokens,
            completion_tokens: usage.output_tokens,
            cost_usd: cost,
            ttft_ms: s.ttft_ms,
            retries: info.retries,
            outcome: status,
            failure_class: s.failure.as_ref().map(|f| f.0),
            breaker: info.breaker,
        });
    }
    let done = if status == CallStatus::Ok {
        NodeStatus::Done
    } else {
        NodeStatus::Failed
    };
    em.finish(node, done, s.detail());
    calls.push(log_row(
        &s,
        &call_meta(provider, job, messages, call_type, info),
        (usage, usage_source),
        charge,
    ));
    let report = AttemptReport {
        failure: s.failure.as_ref().map(|f| f.0),
        error: s.failure.as_ref().map(|f| f.1.clone()),
        latency_ms: s.latency_ms,
        ttft_ms: s.ttft_ms,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cost_usd: cost,
    };
    let outcome = match (s.failure, s.cancelled) {
        (_, true) => Outcome::Cancelled,
        (Some((class, message, retry_after_ms)), _) => Outcome::Failed {
            class: Some(class),
            message,
            retry_after_ms,
            over_budget: false,
        },
        (None, _) => Outcome::Answered(s.extracted),
    };
    Attempt {
        outcome,
        usage,
        cost,
        report: Some(report),
        provider: provider.name().to_owned(),
        model: provider.model().to_owned(),
    }
}

/// What the call-log row says of the call itself.
struct Meta {
    provider: String,
    model: String,
    call_type: CallType,
    prompt: String,
    info: AttemptInfo,
}

fn call_meta(
    provider: &Provider,
    job: &Job,
    messages: &[Message],
    call_type: CallType,
    info: AttemptInfo,
) -> Meta {
    // The log keeps the newest message; in privacy mode query results never reach the log.
    let prompt = match (call_type, job.dataset.privacy) {
        (CallType::Correction | CallType::Answer, true) => {
            "<query results withheld: privacy mode>".to_owned()
        }
        _ => messages.last().map(|m| m.content.clone()).unwrap_or_default(),
    };
    Meta {
        provider: provider.name().to_owned(),
        model: provider.model().to_owned(),
        call_type,
        prompt,
        info,
    }
}

/// The call's row in `llm_calls`.
fn log_row(
    s: &Streamed,
    m: &Meta,
    (usage, usage_source): (TokenUsage, UsageSource),
    charge: Charge,
) -> CallLog {
    CallLog {
        provider: m.provider.clone(),
        model: m.model.clone(),
        call_type: m.call_type,
        status: s.status(),
        prompt: m.prompt.clone(),
        response: s.extracted.raw.clone(),
        usage: Usage::new(usage.input_tokens, usage.output_tokens),
        usage_source,
        cost_usd: Some(charge.usd),
        unpriced: charge.unpriced,
        latency_ms: s.latency_ms,
        fallback: m.info.fallback,
        metadata: serde_json::json!({
            "finish_reason": s.seen.finish,
            "ttft_ms": s.ttft_ms,
            "json": match &s.extracted.json {
                JsonOutcome::Complete => "complete".to_owned(),
                JsonOutcome::Missing => "missing".to_owned(),
                JsonOutcome::Malformed(e) => format!("malformed: {e}"),
            },
            "cached_input_tokens": usage.cached_input_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "reasoning_chars": s.seen.reasoning.chars().count(),
            "error": s.failure.as_ref().map(|f| f.1.clone()),
            "failure_class": s.failure.as_ref().map(|f| f.0),
            "retries": m.info.retries,
            "breaker": m.info.breaker,
        }),
    }
}

#[cfg(test)]
mod tests {
    use datasage_shared::extract::AnswerExtractor;
    use datasage_shared::llm::Role;

    use super::*;

    fn streamed(reply: &str, failure: Option<Failure>, cancelled: bool) -> Streamed {
        let mut extractor = AnswerExtractor::new();
        extractor.push(reply);
        Streamed {
            seen: Collected::default(),
            extracted: extractor.finish(),
            ttft_ms: Some(120),
            failure,
            cancelled,
            latency_ms: 900,
        }
    }

    fn stall() -> Option<Failure> {
        Some((
            FailureClass::Stall,
            "the stream went quiet for 15000 ms".into(),
            None,
        ))
    }

    #[test]
    fn a_call_that_failed_is_an_error_even_with_text_and_a_stopped_one_is_cancelled() {
        let answer = r#"{"response_text": "West leads"}"#;
        assert_eq!(streamed(answer, None, false).status(), CallStatus::Ok);
        assert_eq!(streamed(answer, stall(), false).status(), CallStatus::Error);
        assert_eq!(streamed(answer, stall(), true).status(), CallStatus::Cancelled);
        let detail = streamed(answer, stall(), false).detail();
        assert_eq!(
            detail.as_deref(),
            Some("stall: the stream went quiet for 15000 ms")
        );
    }

    #[test]
    fn a_reply_with_neither_an_answer_nor_a_query_is_empty_and_the_tree_says_so() {
        let s = streamed(r#"{"response_text": ""}"#, None, false);
        assert_eq!(s.status(), CallStatus::Empty);
        assert_eq!(s.detail().as_deref(), Some("response_text was empty or missing"));
    }

    #[test]
    fn reported_usage_is_kept_and_missing_usage_is_counted_and_marked_estimated() {
        let messages = [Message::new(Role::User, "How many rows are there?")];
        let mut s = streamed(r#"{"response_text": "3,000 rows"}"#, None, false);
        let (counted, source) = s.usage(&messages);
        assert_eq!(source, UsageSource::Estimated);
        assert!(
            counted.input_tokens > 0 && counted.output_tokens > 0,
            "{counted:?}"
        );
        let reported = TokenUsage {
            input_tokens: 812,
            output_tokens: 64,
            ..TokenUsage::default()
        };
        s.seen.usage = Some(reported);
        assert_eq!(s.usage(&messages), (reported, UsageSource::Reported));
    }
}
