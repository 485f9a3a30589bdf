//! The LLM path: the prompt (dataset profile, recent history, the question) goes to a provider whose
//! normalized stream feeds the `response_text` extractor, so the answer's text reaches the client at the
//! model's pace. An empty or missing answer gets one corrective re-ask; a blank bubble is never the result.

use datasage_shared::analyst::{chart, profile_markdown};
use datasage_shared::api::{
    AnswerMetadata, ApiError, ChartConfig, ChatAnswer, Confidence, ErrorBody, ErrorCode, Phase, Usage,
};
use datasage_shared::extract::{AnswerExtractor, Extracted, JsonOutcome};
use datasage_shared::llm::{Collected, LlmEvent, LlmRequest, Message, TokenUsage};
use datasage_shared::prompt::{
    build_messages, estimate_tokens, repair_messages, PromptInput, DEFAULT_HISTORY_BUDGET,
};
use datasage_shared::text::{excerpt, stream_chunks};
use datasage_shared::tokens;
use datasage_shared::tree::{LlmCallInfo, NodeKind, NodeStatus};
use futures::StreamExt;

use super::{Emitter, Job};
use crate::db::CallLog;
use crate::providers::Provider;
use crate::util::now_ms;

const TEMPERATURE: f32 = 0.2;
const MAX_TOKENS: u32 = 1_500;

/// How one model call ended.
enum Outcome {
    Answered(Extracted),
    Failed(String),
    Cancelled,
}

struct Attempt {
    outcome: Outcome,
    usage: TokenUsage,
    cost: Option<f64>,
}

pub async fn answer(
    provider: &dyn Provider,
    job: &Job,
    em: &mut Emitter,
) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    let started = now_ms();
    let node = em.start(NodeKind::Step, "Assemble prompt");
    let profile = profile_markdown(job.table);
    let messages = build_messages(&PromptInput {
        dataset_name: &job.table.name,
        dataset_context: &profile,
        history: &job.history,
        question: &job.question,
        history_budget_tokens: DEFAULT_HISTORY_BUDGET,
    });
    let prompt_tokens: usize = messages.iter().map(|m| estimate_tokens(&m.content)).sum();
    let detail = format!(
        "profile of {}, {} earlier turn(s), question — about {prompt_tokens} tokens",
        job.table.name,
        job.history.len()
    );
    em.finish(node, NodeStatus::Done, Some(detail));

    let mut calls = Vec::new();
    let first = call(provider, job, em, &messages, "answer", &mut calls).await;
    let mut attempts = vec![(first.usage, first.cost)];
    let result = match first.outcome {
        Outcome::Cancelled => Err(super::cancelled()),
        Outcome::Failed(message) => Err(provider_error(message)),
        Outcome::Answered(ex) if ex.response_text.is_some() => Ok(ex),
        Outcome::Answered(empty) => {
            em.status(
                Phase::CallingModel,
                "The answer came back empty — asking the model again…",
            );
            let repair = call(
                provider,
                job,
                em,
                &repair_messages(&messages, &empty.raw),
                "repair",
                &mut calls,
            )
            .await;
            attempts.push((repair.usage, repair.cost));
            match repair.outcome {
                Outcome::Cancelled => Err(super::cancelled()),
                Outcome::Answered(ex) if ex.response_text.is_some() => Ok(ex),
                Outcome::Answered(ex) => fallback(em, &[&ex, &empty], EMPTY_TWICE.into()),
                Outcome::Failed(message) => fallback(em, &[&empty], message),
            }
        }
    };
    let usage = attempts
        .iter()
        .fold(TokenUsage::default(), |acc, (u, _)| TokenUsage {
            input_tokens: acc.input_tokens + u.input_tokens,
            output_tokens: acc.output_tokens + u.output_tokens,
            reasoning_tokens: acc.reasoning_tokens + u.reasoning_tokens,
            cached_input_tokens: acc.cached_input_tokens + u.cached_input_tokens,
        });
    let costs: Vec<f64> = attempts.iter().filter_map(|(_, c)| *c).collect();
    let cost_usd = (!costs.is_empty()).then(|| costs.iter().sum());
    let result = result.map(|ex| {
        let chart_config = ex.chart_config.as_ref().and_then(|spec| chart_for(job, em, spec));
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
                provider: provider.name().to_owned(),
                model: provider.model().to_owned(),
                latency_ms: now_ms().saturating_sub(started),
                cost_usd,
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
        json: JsonOutcome::Missing,
        raw: String::new(),
    })
}

/// Fills the model's chart from the data, or drops it with a note in the tree.
fn chart_for(job: &Job, em: &mut Emitter, spec: &serde_json::Value) -> Option<ChartConfig> {
    let node = em.start(NodeKind::Query, "Compute chart data");
    match chart::fill(job.table, spec) {
        Ok(c) => {
            let kind = serde_json::to_value(c.chart_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            let detail = format!(
                "{} chart of {} by {}: {} points",
                kind.unwrap_or_default(),
                c.y,
                c.x,
                c.data.len()
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

/// One streamed model call: relays the answer text as it is extracted, records everything in the tree and
/// in `calls`.
async fn call(
    provider: &dyn Provider,
    job: &Job,
    em: &mut Emitter,
    messages: &[Message],
    call_type: &str,
    calls: &mut Vec<CallLog>,
) -> Attempt {
    if call_type != "repair" {
        // A repair keeps the status that says why the model is asked again.
        em.status(
            Phase::CallingModel,
            format!("Asking {} ({})…", provider.model(), provider.name()),
        );
    }
    let label = format!(
        "{} · {}{}",
        provider.name(),
        provider.model(),
        if call_type == "repair" { " (repair)" } else { "" }
    );
    let node = em.start(NodeKind::LlmCall, label);
    let started = now_ms();
    let req = LlmRequest {
        model: provider.model().to_owned(),
        messages: messages.to_vec(),
        temperature: TEMPERATURE,
        max_tokens: MAX_TOKENS,
    };
    let mut seen = Collected::default();
    let mut extractor = AnswerExtractor::new();
    let mut ttft_ms: Option<u64> = None;
    let mut failure: Option<String> = None;
    match provider.stream(req).await {
        Err(e) => failure = Some(e.to_string()),
        Ok(mut stream) => {
            let mut writing = false;
            while let Some(item) = stream.next().await {
                if em.client_gone() {
                    break; // dropping the stream stops reading the upstream body
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
                    Ok(LlmEvent::Error { message, .. }) => {
                        failure = Some(format!("{} reported: {message}", provider.name()));
                        break;
                    }
                    Ok(ev) => seen.add(ev),
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
        }
    }
    let latency_ms = now_ms().saturating_sub(started);
    let cancelled = em.client_gone();
    if failure.is_none() && !cancelled && seen.finish.is_none() {
        failure = Some(format!("{} ended its stream before finishing", provider.name()));
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
        (None, _) if extracted.response_text.is_none() => "empty",
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
            retries: 0,
        });
    }
    let detail = match (&failure, status) {
        (Some(msg), _) => Some(msg.clone()),
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

    let question = messages.last().map(|m| m.content.clone()).unwrap_or_default();
    calls.push(CallLog {
        provider: provider.name().to_owned(),
        model: provider.model().to_owned(),
        call_type: call_type.to_owned(),
        status: status.to_owned(),
        prompt: question,
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
            "error": failure,
        }),
    });
    let outcome = match (failure, cancelled) {
        (_, true) => Outcome::Cancelled,
        (Some(msg), _) => Outcome::Failed(msg),
        (None, _) => Outcome::Answered(extracted),
    };
    Attempt { outcome, usage, cost }
}
