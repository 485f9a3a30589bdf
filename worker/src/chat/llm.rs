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
use datasage_shared::llm::{CallType, Message, TokenUsage};
use datasage_shared::prompt::{
    build_messages, estimate_tokens, repair_messages, results_messages, PromptInput, QueryReport, Turn,
    DEFAULT_HISTORY_BUDGET,
};
use datasage_shared::query::QueryResult;
use datasage_shared::text::stream_chunks;
use datasage_shared::tree::{NodeKind, NodeStatus};

use super::attempt::Outcome;
use super::emitter::{cancelled, Emitter};
use super::job::Job;
use super::route;
use super::sql::run_query;
use crate::datasets::Dataset;
use crate::db::CallLog;
use crate::util::now_ms;

/// Rounds of queries a model may ask for before it must answer.
pub const MAX_QUERY_ROUNDS: usize = 3;
/// Queries run per round; any beyond are ignored.
const MAX_QUERIES_PER_ROUND: usize = 3;

pub async fn answer(job: &Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    let started = now_ms();
    let mut c = Conversation::new(assemble(job, em));
    let result = c.run(job, em).await;
    let result = result.map(|ex| c.answer(ex, job, em, started));
    (result, c.calls)
}

/// The prompt: the dataset's profile, recent history and the question, shown as the tree's first step.
fn assemble(job: &Job, em: &mut Emitter) -> Vec<Message> {
    let ds = &job.dataset;
    let node = em.start(NodeKind::Step, "Assemble prompt");
    let messages = prompt_messages(ds, &job.history, &job.question);
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
    messages
}

/// The prompt for `question` about `ds` after `history`: the dataset's profile (sample rows only outside
/// privacy mode), as much history as fits, the question.
pub fn prompt_messages(ds: &Dataset, history: &[Turn], question: &str) -> Vec<Message> {
    let profile = profile_markdown(&ds.name, &ds.profile, ds.privacy);
    build_messages(&PromptInput {
        dataset_name: &ds.name,
        dataset_context: &profile,
        history,
        question,
        history_budget_tokens: DEFAULT_HISTORY_BUDGET,
    })
}

/// The exchange with the model so far.
struct Conversation {
    messages: Vec<Message>,
    calls: Vec<CallLog>,
    /// Every attempt's tokens and cost.
    spent: Vec<(TokenUsage, f64)>,
    results: Vec<QueryResult>,
    rounds: usize,
    corrected: bool,
    /// The first empty reply, while its repair is under way.
    empty: Option<Extracted>,
    call_type: CallType,
    /// The provider and model of the last call.
    answered_by: (String, String),
}

impl Conversation {
    fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            calls: Vec::new(),
            spent: Vec::new(),
            results: Vec::new(),
            rounds: 0,
            corrected: false,
            empty: None,
            call_type: CallType::Plan,
            answered_by: (String::new(), String::new()),
        }
    }

    /// Calls the model until it answers, runs out of rounds, or every provider failed.
    async fn run(&mut self, job: &Job, em: &mut Emitter) -> Result<Extracted, ErrorBody> {
        loop {
            let attempt = route::call(
                job,
                em,
                &self.messages,
                self.call_type,
                &mut self.calls,
                &mut self.spent,
            )
            .await;
            self.answered_by = (attempt.provider, attempt.model);
            let ex = match attempt.outcome {
                Outcome::Cancelled => return Err(cancelled()),
                // Every provider failed (the router tried them all): the model's earlier prose, if a
                // repair was under way, or an error the built-in analyst may answer in place of.
                Outcome::Failed {
                    message, over_budget, ..
                } => {
                    return match (self.empty.as_ref(), &job.allowance) {
                        (Some(first), _) => fallback(em, &[first], message),
                        (None, Some(budget)) if over_budget => {
                            Err(ApiError::budget_exceeded(budget.reset_at.clone()).error)
                        }
                        (None, _) => Err(ApiError::new(ErrorCode::ProvidersUnavailable, message).error),
                    }
                }
                Outcome::Answered(ex) => ex,
            };
            if ex.response_text.is_some() {
                return Ok(ex);
            }
            if !ex.queries.is_empty() && self.rounds < MAX_QUERY_ROUNDS {
                self.query_round(job, em, &ex).await?;
                continue;
            }
            if let Some(done) = self.repair_or_give_up(em, ex) {
                return done;
            }
        }
    }

    /// Runs the queries the model asked for and gives it their results (or their errors, once, to fix).
    async fn query_round(&mut self, job: &Job, em: &mut Emitter, ex: &Extracted) -> Result<(), ErrorBody> {
        self.rounds += 1;
        let mut executed = Vec::new();
        for q in ex.queries.iter().take(MAX_QUERIES_PER_ROUND) {
            executed.push(run_query(job, em, &q.purpose, &q.sql).await);
            if em.stopped() {
                return Err(cancelled());
            }
        }
        let failed = executed.iter().any(|e| e.result.is_err());
        // One correction for failed queries; after that the model answers from what it has.
        let rounds_left = if failed && self.corrected {
            0
        } else {
            MAX_QUERY_ROUNDS - self.rounds
        };
        self.call_type = if failed && !self.corrected {
            self.corrected = true;
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
        self.messages
            .extend(results_messages(&ex.raw, &reports, rounds_left));
        self.results
            .extend(executed.into_iter().filter_map(|e| e.result.ok()));
        Ok(())
    }

    /// Neither an answer nor (allowed) queries: ask once more (`None`: go on), then fall back.
    fn repair_or_give_up(&mut self, em: &mut Emitter, ex: Extracted) -> Option<Result<Extracted, ErrorBody>> {
        match self.empty.take() {
            None if self.call_type != CallType::Repair => {
                em.status(
                    Phase::CallingModel,
                    "The answer came back empty — asking the model again…",
                );
                self.messages = repair_messages(&self.messages, &ex.raw);
                self.call_type = CallType::Repair;
                self.empty = Some(ex);
                None
            }
            first => {
                let why = if ex.queries.is_empty() {
                    EMPTY_TWICE.to_owned()
                } else {
                    format!("The model did not answer within {MAX_QUERY_ROUNDS} rounds of queries. Please try a simpler question.")
                };
                let candidates: Vec<&Extracted> = [Some(&ex), first.as_ref()].into_iter().flatten().collect();
                Some(fallback(em, &candidates, why))
            }
        }
    }

    /// The answer as the client gets it: the text, the chart filled from the query results, and what every
    /// attempt cost.
    fn answer(&mut self, ex: Extracted, job: &Job, em: &mut Emitter, started: u64) -> ChatAnswer {
        let usage = self
            .spent
            .iter()
            .fold(TokenUsage::default(), |acc, (u, _)| TokenUsage {
                input_tokens: acc.input_tokens + u.input_tokens,
                output_tokens: acc.output_tokens + u.output_tokens,
                reasoning_tokens: acc.reasoning_tokens + u.reasoning_tokens,
                cached_input_tokens: acc.cached_input_tokens + u.cached_input_tokens,
            });
        let costs: Vec<f64> = self.spent.iter().map(|(_, c)| *c).collect();
        let chart_config = ex
            .chart_config
            .as_ref()
            .and_then(|spec| chart_for(&self.results, em, spec));
        let confidence = match ex.json {
            JsonOutcome::Complete => ex.confidence.unwrap_or(Confidence::Medium),
            _ => Confidence::Low,
        };
        ChatAnswer {
            message: ex.response_text.unwrap_or_default(),
            chart_config,
            confidence,
            metadata: AnswerMetadata {
                execution_tree: em.tree.snapshot(),
                usage: Usage::new(usage.input_tokens, usage.output_tokens),
                provider: std::mem::take(&mut self.answered_by.0),
                model: std::mem::take(&mut self.answered_by.1),
                latency_ms: now_ms().saturating_sub(started),
                cost_usd: (!costs.is_empty()).then(|| costs.iter().sum()),
                dataset: Some(job.dataset.reference()),
            },
        }
    }
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
