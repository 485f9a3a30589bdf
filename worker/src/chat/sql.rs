//! Running one query for an answer, whoever wrote it, shown in the execution tree as it runs.

use datasage_shared::api::Phase;
use datasage_shared::tree::{NodeKind, NodeStatus, QueryInfo};

use super::emitter::Emitter;
use super::job::Job;
use crate::query::{self, Executed};

/// Runs one query over the job's dataset, shown in the tree as it runs: the SQL, then its row count and
/// duration, or why it was refused or failed.
pub async fn run_query(job: &Job, em: &mut Emitter, purpose: &str, sql: &str) -> Executed {
    em.status(Phase::Querying, "Running SQL…");
    let label = if purpose.trim().is_empty() {
        "Run SQL".to_owned()
    } else {
        format!("Run SQL: {}", datasage_shared::text::excerpt(purpose.trim(), 80))
    };
    let node = em.start(NodeKind::Query, label);
    if let Some(n) = em.tree.node_mut(node) {
        n.query = Some(QueryInfo {
            sql: sql.trim().to_owned(),
            rows: None,
        });
    }
    let executed = query::run(&job.env, &job.dataset, sql).await;
    let rows = executed.result.as_ref().ok().map(|r| r.rows.len() as u64);
    if let Some(n) = em.tree.node_mut(node) {
        n.query = Some(QueryInfo {
            sql: executed.sql.clone(),
            rows,
        });
    }
    let (status, detail) = match &executed.result {
        Ok(r) => (
            NodeStatus::Done,
            format!(
                "{} row{} in {} ms ({} rows read){}",
                r.rows.len(),
                if r.rows.len() == 1 { "" } else { "s" },
                executed.duration_ms,
                executed.rows_read,
                executed.cut.as_ref().map_or(String::new(), |c| format!("; {c}"))
            ),
        ),
        Err(why) => (NodeStatus::Failed, why.clone()),
    };
    em.finish(node, status, Some(detail));
    executed
}
