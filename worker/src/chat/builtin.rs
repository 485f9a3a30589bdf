//! The no-key path: the built-in analyst reads the question, plans the SQL that computes it, runs that SQL
//! over the dataset like any model-proposed query, and streams the answer written from the rows in
//! word-sized chunks, paced like an LLM so the product feels the same with or without a key.

use std::time::Duration;

use datasage_shared::analyst;
use datasage_shared::analyst::plan::{self, Plan};
use datasage_shared::analyst::reading::{self, Reading};
use datasage_shared::api::{AnswerMetadata, ApiError, ChatAnswer, ErrorBody, ErrorCode, Phase, Usage};
use datasage_shared::llm::{CallType, UsageSource};
use datasage_shared::query::QueryResult;
use datasage_shared::text::stream_chunks;
use datasage_shared::tree::{CallStatus, NodeKind, NodeStatus};
use worker::Delay;

use super::emitter::{cancelled, Emitter};
use super::job::Job;
use super::sql::run_query;
use crate::db::CallLog;
use crate::util::now_ms;

pub const PROVIDER: &str = "builtin";
pub const MODEL: &str = "datasage-analyst";
const STREAM_BUDGET_MS: u64 = 1_500;

pub async fn answer(job: &Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    let started = now_ms();
    let (reading, plan) = analyze(job, em);
    let (rows, executed_sql) = match compute(job, em, &plan).await {
        Ok(computed) => computed,
        Err(error) => return (Err(error), Vec::new()),
    };
    let analysis = analyst::write(&reading, &job.dataset.name, &job.dataset.profile, rows.as_ref());
    let sent = write(job, em, &analysis.text).await;
    let latency_ms = now_ms().saturating_sub(started);
    let stopped = em.stopped();
    let call = CallLog {
        provider: PROVIDER.into(),
        model: MODEL.into(),
        call_type: CallType::Answer,
        status: if stopped {
            CallStatus::Cancelled
        } else {
            CallStatus::Ok
        },
        prompt: job.question.clone(),
        response: sent,
        usage: Usage::default(),
        usage_source: UsageSource::Reported,
        cost_usd: Some(0.0),
        unpriced: false,
        latency_ms,
        // With providers configured, the built-in analyst answers only after every one of them failed.
        fallback: !job.providers.is_empty(),
        metadata: serde_json::json!({
            "reading": plan.reading,
            "left_out": reading.left_out,
            "sql": executed_sql,
        }),
    };
    if stopped {
        return (Err(cancelled()), vec![call]);
    }
    let answer = ChatAnswer {
        message: analysis.text,
        chart_config: analysis.chart,
        confidence: analysis.confidence,
        metadata: AnswerMetadata {
            execution_tree: em.tree.snapshot(),
            usage: Usage::default(),
            provider: PROVIDER.into(),
            model: MODEL.into(),
            latency_ms,
            cost_usd: Some(0.0),
            dataset: Some(job.dataset.reference()),
        },
    };
    (Ok(answer), vec![call])
}

/// Reads the question and plans its SQL, shown as the tree's first step.
fn analyze(job: &Job, em: &mut Emitter) -> (Reading, Plan) {
    let columns = &job.dataset.profile.columns;
    let node = em.start(NodeKind::Step, "Analyze question");
    let reading = reading::read(columns, &job.question);
    let plan = plan::plan(&reading, columns);
    let left_out = if reading.left_out.is_empty() {
        String::new()
    } else {
        format!("; not understood: {}", reading.left_out.join(", "))
    };
    em.finish(
        node,
        NodeStatus::Done,
        Some(format!("read as: {}{left_out}", plan.reading)),
    );
    (reading, plan)
}

/// Runs the plan's query, if it has one: its rows and the SQL as it ran.
async fn compute(
    job: &Job,
    em: &mut Emitter,
    plan: &Plan,
) -> Result<(Option<QueryResult>, Option<String>), ErrorBody> {
    let Some(sql) = &plan.sql else {
        return Ok((None, None));
    };
    let executed = run_query(job, em, &plan.reading, sql).await;
    match executed.result {
        Ok(rows) => Ok((Some(rows), Some(executed.sql))),
        Err(why) => {
            Err(ApiError::new(ErrorCode::Internal, format!("the analyst's query failed: {why}")).error)
        }
    }
}

/// Streams the written answer in word-sized chunks until it is all out or the work is stopped; what went
/// out.
async fn write(job: &Job, em: &mut Emitter, text: &str) -> String {
    em.status(Phase::Writing, "Writing answer…");
    let node = em.start(NodeKind::Step, "Write answer");
    let mut sent = String::with_capacity(text.len());
    let chunks = stream_chunks(text);
    // LLM-like pace, but a long answer (a column table) never takes more than STREAM_BUDGET_MS to arrive.
    let delay_ms = job
        .builtin_chunk_delay_ms
        .min(STREAM_BUDGET_MS / chunks.len().max(1) as u64);
    for chunk in chunks {
        if em.stopped() {
            break;
        }
        em.content(chunk);
        sent.push_str(chunk);
        if delay_ms > 0 {
            Delay::from(Duration::from_millis(delay_ms)).await;
        }
    }
    let stopped = em.stopped();
    let status = if stopped {
        NodeStatus::Failed
    } else {
        NodeStatus::Done
    };
    em.finish(node, status, stopped.then(|| "client disconnected".into()));
    sent
}
