//! The no-key path: the built-in analyst reads the question, plans the SQL that computes it, runs that SQL
//! over the dataset like any model-proposed query, and streams the answer written from the rows in
//! word-sized chunks, paced like an LLM so the product feels the same with or without a key.

use std::time::Duration;

use datasage_shared::analyst::{self, plan, reading};
use datasage_shared::api::{AnswerMetadata, ApiError, ChatAnswer, ErrorBody, ErrorCode, Phase, Usage};
use datasage_shared::text::stream_chunks;
use datasage_shared::tree::{NodeKind, NodeStatus};
use worker::Delay;

use super::{Emitter, Job};
use crate::db::CallLog;
use crate::util::now_ms;

pub const PROVIDER: &str = "builtin";
pub const MODEL: &str = "datasage-analyst";
const STREAM_BUDGET_MS: u64 = 1_500;

pub async fn answer(job: &Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, Vec<CallLog>) {
    let started = now_ms();
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

    let mut executed_sql = None;
    let result = match &plan.sql {
        None => None,
        Some(sql) => {
            let executed = super::run_query(job, em, &plan.reading, sql).await;
            executed_sql = Some(executed.sql);
            match executed.result {
                Ok(rows) => Some(rows),
                Err(why) => {
                    let error =
                        ApiError::new(ErrorCode::Internal, format!("the analyst's query failed: {why}"));
                    return (Err(error.error), Vec::new());
                }
            }
        }
    };
    let analysis = analyst::write(&reading, &job.dataset.name, &job.dataset.profile, result.as_ref());

    em.status(Phase::Writing, "Writing answer…");
    let node = em.start(NodeKind::Step, "Write answer");
    let mut sent = String::with_capacity(analysis.text.len());
    let chunks = stream_chunks(&analysis.text);
    // LLM-like pace, but a long answer (a column table) never takes more than STREAM_BUDGET_MS to arrive.
    let delay_ms = job
        .builtin_chunk_delay_ms
        .min(STREAM_BUDGET_MS / chunks.len().max(1) as u64);
    for chunk in chunks {
        if em.client_gone() {
            break;
        }
        em.content(chunk);
        sent.push_str(chunk);
        if delay_ms > 0 {
            Delay::from(Duration::from_millis(delay_ms)).await;
        }
    }
    let latency_ms = now_ms().saturating_sub(started);
    let cancelled = em.client_gone();
    em.finish(
        node,
        if cancelled {
            NodeStatus::Failed
        } else {
            NodeStatus::Done
        },
        cancelled.then(|| "client disconnected".into()),
    );

    let call = CallLog {
        provider: PROVIDER.into(),
        model: MODEL.into(),
        call_type: "answer".into(),
        status: if cancelled { "cancelled" } else { "ok" }.into(),
        prompt: job.question.clone(),
        response: sent,
        usage: Usage::default(),
        usage_source: "reported",
        cost_usd: Some(0.0),
        latency_ms,
        metadata: serde_json::json!({
            "reading": plan.reading,
            "left_out": reading.left_out,
            "sql": executed_sql,
        }),
    };
    let result = if cancelled {
        Err(super::cancelled())
    } else {
        Ok(ChatAnswer {
            message: analysis.text,
            chart_config: analysis.chart,
            confidence: analysis.confidence,
            metadata: AnswerMetadata {
                execution_tree: em.tree.clone(),
                usage: Usage::default(),
                provider: PROVIDER.into(),
                model: MODEL.into(),
                latency_ms,
                cost_usd: Some(0.0),
                dataset: Some(job.dataset.reference()),
            },
        })
    };
    (result, vec![call])
}
