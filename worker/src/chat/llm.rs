//! The LLM path, as a small plan: the model sees the dataset profile (sample rows only outside privacy
//! mode), recent history and the question, and replies either with read-only SQL queries or with its
//! answer. The worker validates and runs the queries on D1 and gives the results back; a failed query goes
//! back once for correction, and the number of query rounds is bounded. The answer's text streams to the
//! client as the model writes it; its chart is filled from the query results. An empty or missing answer
//! gets one corrective re-ask; a blank bubble is never the result.

use datasage_shared::analyst::{chart, profile_markdown};
use datasage_shared::api::{
    AnswerMetadata, ApiError, ChartConfig, ChatAnswer, Confidence, ErrorBody, ErrorCode, Phase, Usage,
};
use datasage_shared::extract::{AnswerExtractor, Extracted, JsonOutcome};
use datasage_shared::llm::{Collected, LlmEvent, LlmRequest, Message, TokenUsage};
use datasage_shared::prompt::{
    build_messages, estimate_tokens, repair_messages, results_messages, PromptInput, QueryReport,
    DEFAULT_HISTORY_BUDGET,
};
use datasage_shared::query::QueryResult;
use datasage_shared::text::{excerpt, stream_chunks};
use datasage_shared::tokens;
use datasage_shared::tree::{LlmCallInfo, NodeKind, NodeStatus};
use std::future::Future;
use std::time::Duration;

use datasage_shared::routing::{AttemptReport, FailureClass};
use futures::future::{select, Either};
use futures::StreamExt;
use worker::{AbortController, Delay};

use super::{route, Emitter, Job};
use crate::db::CallLog;
use crate::providers::Provider;
use crate::util::now_ms;

const TEMPERATURE: f32 = 0.2;
const MAX_TOKENS: u32 = 1_500;
/// Rounds of queries a model may ask for before it must answer.
pub const MAX_QUERY_ROUNDS: usize = 3;
/// Queries run per round; any beyond are ignored.
const MAX_QUERIES_PER_ROUND: usize = 3;

/// How one model call ended.
pub enum Outcome {
    Answered(Extracted),
    /// `class` is `None` when no provider was left to try.
    Failed {
        class: Option<FailureClass>,
        message: String,
        retry_after_ms: Option<u64>,
    },
    Cancelled,
}

pub struct Attempt {
    pub outcome: Outcome,
    pub usage: TokenUsage,
    pub cost: Option<f64>,
    /// What the health store is told; `None` when no attempt went out.
    pub report: Option<AttemptReport>,
    /// The provider and model that made (or last made) the call.
    pub provider: String,
    pub model: String,
}

/// Why the model is called, as logged in `llm_calls.call_type`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CallType {
    /// The first call: choose queries (or answer from the profile).
    Plan,
    /// After a failed query: fix it.
    Correction,
    /// After query results: answer (or ask for more).
    Answer,
    /// After an empty reply: the same request again, insisting on an answer.
    Repair,
}

impl CallType {
    fn as_str(self) -> &'static str {
        match self {
            CallType::Plan => "plan",
            CallType::Correction => "correction",
            CallType::Answer => "answer",
            CallType::Repair => "repair",
        }
    }
}

pub async fn answer(job: &Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    let started = now_ms();
    let ds = &job.dataset;
    let node = em.start(NodeKind::Step, "Assemble prompt");
    let profile = profile_markdown(&ds.name, &ds.profile, ds.privacy);
    let mut messages = build_messages(&PromptInput {
        dataset_name: &ds.name,
        dataset_context: &profile,
        history: &job.history,
        question: &job.question,
        history_budget_tokens: DEFAULT_HISTORY_BUDGET,
    });
    let prompt_tokens: usize = messages.iter().map(|m| estimate_tokens(&m.content)).sum();
    let detail = format!(
        "profile of {}{}, {} earlier turn(s), question — about {prompt_tokens} tokens",
        ds.name,
        if ds.privacy {
            " (privacy mode: schema and statistics only)"
        } else {
            " with sample rows"
        },
        job.history.len()
    );
    em.finish(node, NodeStatus::Done, Some(detail));

    let mut calls = Vec::new();
    let mut attempts = Vec::new();
    let mut results: Vec<QueryResult> = Vec::new();
    let mut rounds = 0;
    let mut corrected = false;
    let mut empty: Option<Extracted> = None;
    let mut call_type = CallType::Plan;
    let mut answered_by: (String, String);
    let result = loop {
        let attempt = route::call(job, em, &messages, call_type, &mut calls, &mut attempts).await;
        answered_by = (attempt.provider, attempt.model);
        let ex = match attempt.outcome {
            Outcome::Cancelled => break Err(super::cancelled()),
            // Every provider failed (the router tried them all): the model's earlier prose, if a repair was
            // under way, or an error the built-in analyst may answer in place of.
            Outcome::Failed { message, .. } => match empty.as_ref() {
                Some(first) => break fallback(em, &[first], message),
                None => break Err(ApiError::new(ErrorCode::ProvidersUnavailable, message).error),
            },
            Outcome::Answered(ex) => ex,
        };
        if ex.response_text.is_some() {
            break Ok(ex);
        }
        if !ex.queries.is_empty() && rounds < MAX_QUERY_ROUNDS {
            rounds += 1;
            let mut executed = Vec::new();
            for q in ex.queries.iter().take(MAX_QUERIES_PER_ROUND) {
                executed.push(super::run_query(job, em, &q.purpose, &q.sql).await);
                if em.client_gone() {
                    break;
                }
            }
            if em.client_gone() {
                break Err(super::cancelled());
            }
            let failed = executed.iter().any(|e| e.result.is_err());
            // One correction for failed queries; after that the model answers from what it has.
            let rounds_left = if failed && corrected {
                0
            } else {
                MAX_QUERY_ROUNDS - rounds
            };
            call_type = if failed && !corrected {
                corrected = true;
                CallType::Correction
            } else {
                CallType::Answer
            };
            let reports: Vec<QueryReport<'_>> = ex
                .queries
                .iter()
                .zip(&executed)
                .map(|(q, e)| QueryReport {
                    purpose: &q.purpose,
                    sql: &e.sql,
                    outcome: e.result.as_ref().map_err(String::clone),
                })
                .collect();
            messages.extend(results_messages(&ex.raw, &reports, rounds_left));
            results.extend(executed.into_iter().filter_map(|e| e.result.ok()));
            continue;
        }
        // Neither an answer nor (allowed) queries: ask once more, then fall back.
        match empty.take() {
            None if call_type != CallType::Repair => {
                em.status(
                    Phase::CallingModel,
                    "The answer came back empty — asking the model again…",
                );
                messages = repair_messages(&messages, &ex.raw);
                call_type = CallType::Repair;
                empty = Some(ex);
            }
            first => {
                let why = if ex.queries.is_empty() {
                    EMPTY_TWICE.to_owned()
                } else {
                    format!("The model did not answer within {MAX_QUERY_ROUNDS} rounds of queries. Please try a simpler question.")
                };
                let candidates: Vec<&Extracted> = [Some(&ex), first.as_ref()].into_iter().flatten().collect();
                break fallback(em, &candidates, why);
            }
        }
    };
    let usage = attempts.iter().fold(
        TokenUsage::default(),
        |acc, (u, _): &(TokenUsage, Option<f64>)| TokenUsage {
            input_tokens: acc.input_tokens + u.input_tokens,
            output_tokens: acc.output_tokens + u.output_tokens,
            reasoning_tokens: acc.reasoning_tokens + u.reasoning_tokens,
            cached_input_tokens: acc.cached_input_tokens + u.cached_input_tokens,
        },
    );
    let costs: Vec<f64> = attempts.iter().filter_map(|(_, c)| *c).collect();
    let cost_usd = (!costs.is_empty()).then(|| costs.iter().sum());
    let result = result.map(|ex| {
        let chart_config = ex
            .chart_config
            .as_ref()
            .and_then(|spec| chart_for(&results, em, spec));
        let confidence = match ex.json {
            JsonOutcome::Complete => ex.confidence.unwrap_or(Confidence::Medium),
            _ => Confidence::Low,
        };
        ChatAnswer {
            message: ex.response_text.unwrap_or_default(),
            chart_config,
            confidence,
            metadata: AnswerMetadata {
                execution_tree: em.tree.clone(),
                usage: Usage::new(usage.input_tokens, usage.output_tokens),
                provider: answered_by.0,
                model: answered_by.1,
                latency_ms: now_ms().saturating_sub(started),
                cost_usd,
                dataset: Some(ds.reference()),
            },
        }
    });
    (result, calls)
}

fn provider_error(message: String) -> ErrorBody {
    ApiError::new(ErrorCode::ProviderError, message).error
}

const EMPTY_TWICE: &str =
    "The model returned an empty answer twice. Please rephrase the question or try again.";

/// When the repair did not produce an answer: the model's raw prose (if it wrote any) becomes the answer at
/// low confidence, streamed now since the extractor held it back; otherwise the user gets `error`.
fn fallback(em: &mut Emitter, candidates: &[&Extracted], error: String) -> Result<Extracted, ErrorBody> {
    let Some(prose) = candidates.iter().find_map(|ex| ex.prose()) else {
        return Err(provider_error(error));
    };
    let node = em.start(NodeKind::Step, "Use the model's unformatted reply");
    for chunk in stream_chunks(&prose) {
        em.content(chunk);
    }
    em.finish(
        node,
        NodeStatus::Done,
        Some("the reply was not in the requested format; confidence lowered".into()),
    );
    Ok(Extracted {
        response_text: Some(prose),
        chart_config: None,
        confidence: Some(Confidence::Low),
        queries: Vec::new(),
        json: JsonOutcome::Missing,
        raw: String::new(),
    })
}

/// Fills the model's chart from the query results, or drops it with a note in the tree.
fn chart_for(results: &[QueryResult], em: &mut Emitter, spec: &serde_json::Value) -> Option<ChartConfig> {
    let node = em.start(NodeKind::Step, "Fill chart from query results");
    match chart::fill(results, spec) {
        Ok(chart::Filled { chart: c, cut }) => {
            let kind = serde_json::to_value(c.chart_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            let detail = format!(
                "{} chart of {} by {}: {} points{}",
                kind.unwrap_or_default(),
                c.y,
                c.x,
                c.data.len(),
                cut.map_or(String::new(), |c| format!("; {c}"))
            );
            em.finish(node, NodeStatus::Done, Some(detail));
            Some(c)
        }
        Err(why) => {
            em.finish(node, NodeStatus::Failed, Some(format!("chart dropped: {why}")));
            None
        }
    }
}

/// Where an attempt stands in its routing: how many retries came before it on this provider, and the
/// provider's circuit when it went out.
#[derive(Clone, Copy)]
pub struct AttemptInfo {
    pub retries: u32,
    pub breaker: &'static str,
}

enum Waited<T> {
    Done(T),
    Expired,
    ClientGone,
}

/// How often a wait checks whether the client is still there.
const TICK_MS: u64 = 250;

/// Waits for `fut` until `until_ms`, giving up early if the client disconnects.
async fn timed<F: Future + Unpin>(mut fut: F, until_ms: u64, em: &Emitter) -> Waited<F::Output> {
    loop {
        let now = now_ms();
        if em.client_gone() {
            return Waited::ClientGone;
        }
        if now >= until_ms {
            return Waited::Expired;
        }
        let wait = Delay::from(Duration::from_millis((until_ms - now).min(TICK_MS)));
        if let Either::Left((out, _)) = select(&mut fut, wait).await {
            return Waited::Done(out);
        }
    }
}

/// One streamed model call on one provider: relays the answer text as it is extracted, bounded by the
/// first-token and idle timeouts, and records everything in the tree and in `calls`. A failure, a timeout
/// or a disconnected client aborts the upstream request.
pub async fn attempt(
    provider: &dyn Provider,
    job: &Job,
    em: &mut Emitter,
    messages: &[Message],
    call_type: CallType,
    calls: &mut Vec<CallLog>,
    info: AttemptInfo,
) -> Attempt {
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
    let retry = if info.retries > 0 {
        format!(", retry {}", info.retries)
    } else {
        String::new()
    };
    let label = format!(
        "{} · {} ({}{retry})",
        provider.name(),
        provider.model(),
        call_type.as_str()
    );
    let node = em.start(NodeKind::LlmCall, label);
    let started = now_ms();
    let req = LlmRequest {
        model: provider.model().to_owned(),
        messages: messages.to_vec(),
        temperature: TEMPERATURE,
        max_tokens: MAX_TOKENS,
    };
    let routing = &job.routing;
    let first_token_deadline = started + routing.first_token_timeout_ms;
    let mut seen = Collected::default();
    let mut extractor = AnswerExtractor::new();
    let mut ttft_ms: Option<u64> = None;
    let mut failure: Option<(FailureClass, String, Option<u64>)> = None;
    let mut cancelled = false;
    let controller = AbortController::default();
    match timed(
        provider.stream(req, controller.signal()),
        first_token_deadline,
        em,
    )
    .await
    {
        Waited::ClientGone => cancelled = true,
        Waited::Expired => {
            failure = Some((
                FailureClass::FirstTokenTimeout,
                format!("no answer within {} ms", routing.first_token_timeout_ms),
                None,
            ));
        }
        Waited::Done(Err(e)) => failure = Some((e.class(), e.to_string(), e.retry_after_ms())),
        Waited::Done(Ok(mut stream)) => {
            let mut writing = false;
            let mut last_event = now_ms();
            let answer_deadline = started + routing.answer_timeout_ms;
            let mut received = 0;
            loop {
                let until = match ttft_ms {
                    None => first_token_deadline,
                    Some(_) => last_event + routing.stall_timeout_ms,
                };
                let item = match timed(stream.next(), until.min(answer_deadline), em).await {
                    Waited::Done(Some(item)) => item,
                    Waited::Done(None) => break,
                    Waited::ClientGone => {
                        cancelled = true;
                        break;
                    }
                    Waited::Expired => {
                        failure = Some(match ttft_ms {
                            _ if now_ms() >= answer_deadline => (
                                FailureClass::TooLong,
                                format!(
                                    "the answer was still going after {} ms",
                                    routing.answer_timeout_ms
                                ),
                                None,
                            ),
                            None => (
                                FailureClass::FirstTokenTimeout,
                                format!("no first token within {} ms", routing.first_token_timeout_ms),
                                None,
                            ),
                            Some(_) => (
                                FailureClass::Stall,
                                format!("the stream went quiet for {} ms", routing.stall_timeout_ms),
                                None,
                            ),
                        });
                        break;
                    }
                };
                last_event = now_ms();
                received += match &item {
                    Ok(LlmEvent::Text(t) | LlmEvent::Reasoning(t)) => t.len(),
                    _ => 0,
                };
                if received > routing.max_answer_bytes {
                    failure = Some((
                        FailureClass::TooLong,
                        format!("the answer passed {} bytes", routing.max_answer_bytes),
                        None,
                    ));
                    break;
                }
                match item {
                    Ok(LlmEvent::Text(t)) => {
                        ttft_ms.get_or_insert_with(|| now_ms().saturating_sub(started));
                        let delta = extractor.push(&t);
                        if !delta.is_empty() {
                            if !writing {
                                em.status(Phase::Writing, "Writing answer…");
                                writing = true;
                            }
                            em.content(&delta);
                        }
                    }
                    Ok(LlmEvent::Error { code, message }) => {
                        let class = FailureClass::from_stream_error(code.as_deref(), &message);
                        failure = Some((class, format!("{} reported: {message}", provider.label()), None));
                        break;
                    }
                    Ok(ev) => {
                        if matches!(ev, LlmEvent::Reasoning(_)) {
                            ttft_ms.get_or_insert_with(|| now_ms().saturating_sub(started));
                        }
                        seen.add(ev);
                    }
                    Err(e) => {
                        failure = Some((e.class(), e.to_string(), None));
                        break;
                    }
                }
            }
        }
    }
    let latency_ms = now_ms().saturating_sub(started);
    if failure.is_none() && !cancelled && seen.finish.is_none() {
        failure = Some((
            FailureClass::Malformed,
            format!("{} ended its stream before finishing", provider.label()),
            None,
        ));
    }
    if failure.is_some() || cancelled {
        // Stop the provider generating for nobody.
        controller.abort();
    }
    let extracted = extractor.finish();
    let (usage, usage_source) = match seen.usage {
        Some(u) => (u, "reported"),
        // No usage reported: counted with the o200k vocabulary, once, over the whole text.
        None => (
            TokenUsage {
                input_tokens: messages.iter().map(|m| tokens::count(&m.content) as u64).sum(),
                output_tokens: tokens::count(&extracted.raw) as u64,
                ..TokenUsage::default()
            },
            "estimated",
        ),
    };
    let cost = job.prices.cost(provider.model(), &usage);
    let status = match (&failure, cancelled) {
        (_, true) => "cancelled",
        (Some(_), _) => "error",
        (None, _) if extracted.response_text.is_none() && extracted.queries.is_empty() => "empty",
        (None, _) => "ok",
    };

    if let Some(n) = em.tree.node_mut(node) {
        n.llm = Some(LlmCallInfo {
            provider: provider.name().to_owned(),
            model: provider.model().to_owned(),
            prompt_tokens: usage.input_tokens,
            completion_tokens: usage.output_tokens,
            cost_usd: cost.unwrap_or(0.0),
            ttft_ms,
            retries: info.retries,
            outcome: status.to_owned(),
            failure_class: failure.as_ref().map(|f| f.0),
            breaker: info.breaker.to_owned(),
        });
    }
    let detail = match (&failure, status) {
        (Some((class, msg, _)), _) => Some(format!(
            "{}: {msg}",
            serde_json::to_value(class)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )),
        (None, "empty") => Some("response_text was empty or missing".into()),
        _ if !seen.reasoning.is_empty() => Some(format!("reasoning: {}", excerpt(&seen.reasoning, 500))),
        _ => None,
    };
    em.finish(
        node,
        if status == "ok" {
            NodeStatus::Done
        } else {
            NodeStatus::Failed
        },
        detail,
    );

    // The log keeps the newest message; in privacy mode query results never reach the log.
    let prompt = match (call_type, job.dataset.privacy) {
        (CallType::Correction | CallType::Answer, true) => {
            "<query results withheld: privacy mode>".to_owned()
        }
        _ => messages.last().map(|m| m.content.clone()).unwrap_or_default(),
    };
    calls.push(CallLog {
        provider: provider.name().to_owned(),
        model: provider.model().to_owned(),
        call_type: call_type.as_str().to_owned(),
        status: status.to_owned(),
        prompt,
        response: extracted.raw.clone(),
        usage: Usage::new(usage.input_tokens, usage.output_tokens),
        usage_source,
        cost_usd: cost,
        latency_ms,
        metadata: serde_json::json!({
            "finish_reason": seen.finish,
            "ttft_ms": ttft_ms,
            "json": match &extracted.json {
                JsonOutcome::Complete => "complete".to_owned(),
                JsonOutcome::Missing => "missing".to_owned(),
                JsonOutcome::Malformed(e) => format!("malformed: {e}"),
            },
            "cached_input_tokens": usage.cached_input_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "reasoning_chars": seen.reasoning.chars().count(),
            "error": failure.as_ref().map(|f| f.1.clone()),
            "failure_class": failure.as_ref().map(|f| f.0),
            "retries": info.retries,
            "breaker": info.breaker,
        }),
    });
    let report = AttemptReport {
        failure: failure.as_ref().map(|f| f.0),
        error: failure.as_ref().map(|f| f.1.clone()),
        latency_ms,
        ttft_ms,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cost_usd: cost.unwrap_or(0.0),
    };
    let outcome = match (failure, cancelled) {
        (_, true) => Outcome::Cancelled,
        (Some((class, message, retry_after_ms)), _) => Outcome::Failed {
            class: Some(class),
            message,
            retry_after_ms,
        },
        (None, _) => Outcome::Answered(extracted),
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
