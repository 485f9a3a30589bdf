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
use datasage_shared::extract::{Extracted, JsonOutcome};
use datasage_shared::llm::TokenUsage;
use datasage_shared::prompt::{
    build_messages, estimate_tokens, repair_messages, results_messages, PromptInput, QueryReport,
    DEFAULT_HISTORY_BUDGET,
};
use datasage_shared::query::QueryResult;
use datasage_shared::text::stream_chunks;
use datasage_shared::tree::{NodeKind, NodeStatus};

use super::attempt::{CallType, Outcome};
use super::{route, Emitter, Job};
use crate::db::CallLog;
use crate::util::now_ms;

/// Rounds of queries a model may ask for before it must answer.
pub const MAX_QUERY_ROUNDS: usize = 3;
/// Queries run per round; any beyond are ignored.
const MAX_QUERIES_PER_ROUND: usize = 3;

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
