//! The no-key path: the built-in analyst computes the answer from the data and streams it in word-sized
//! chunks, paced like an LLM so the product feels the same with or without a key.

use std::time::Duration;

use datasage_shared::analyst;
use datasage_shared::api::{AnswerMetadata, ChatAnswer, ErrorBody, Phase, Usage};
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
    let node = em.start(NodeKind::Step, "Analyze question");
    let analysis = analyst::run(job.table, &job.question);
    em.finish(
        node,
        NodeStatus::Done,
        Some(format!("read as: {}", analysis.reading)),
    );

    em.status(
        Phase::Computing,
        format!(
            "Computing over {} rows of {}…",
            analyst::format::number(job.table.row_count() as f64),
            job.table.name
        ),
    );
    let node = em.start(NodeKind::Query, format!("Compute over {}", job.table.name));
    em.finish(node, NodeStatus::Done, Some(analysis.computation.clone()));

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
        metadata: serde_json::json!({ "reading": analysis.reading, "computation": analysis.computation }),
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
            },
        })
    };
    (result, vec![call])
}
