//! Answering one question: the event emitter both transports share, and the two answer paths — the
//! built-in analyst and an LLM provider. Both report through the same [`Emitter`], so streaming and
//! non-streaming clients get the same answer and the same log.

mod attempt;
mod builtin;
mod llm;
mod route;

use datasage_shared::api::{ApiError, ChatAnswer, ErrorBody, ErrorCode, Phase, StoredAnswer, StreamEvent};
use datasage_shared::pricing::PriceTable;
use datasage_shared::prompt::Turn;
use datasage_shared::tree::{ExecutionTree, NodeId, NodeKind, NodeStatus, QueryInfo};
use futures::channel::mpsc::UnboundedSender;

use crate::datasets::Dataset;
use crate::db::AnswerLog;
use crate::providers::Provider;
use crate::query::{self, Executed};
use crate::util::now_ms;
pub use route::Routing;

/// Sends events to the client (if one is listening) and keeps the execution tree.
pub struct Emitter {
    tx: Option<UnboundedSender<StreamEvent>>,
    started_ms: u64,
    pub tree: ExecutionTree,
    client_gone: bool,
    /// Whether answer text went out since the last discard.
    text_shown: bool,
}

impl Emitter {
    /// `tx` is `None` for non-streaming requests: events are then only reflected in the result.
    pub fn new(tx: Option<UnboundedSender<StreamEvent>>) -> Self {
        Self {
            tx,
            started_ms: now_ms(),
            tree: ExecutionTree::new("Answer question"),
            client_gone: false,
            text_shown: false,
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        now_ms().saturating_sub(self.started_ms)
    }

    /// Whether a streaming client has disconnected: the work should stop.
    pub fn client_gone(&self) -> bool {
        self.client_gone || self.tx.as_ref().is_some_and(UnboundedSender::is_closed)
    }

    fn send(&mut self, ev: StreamEvent) {
        if let Some(tx) = &self.tx {
            if tx.unbounded_send(ev).is_err() {
                self.client_gone = true;
            }
        }
    }

    pub fn status(&mut self, status: Phase, message: impl Into<String>) {
        self.send(StreamEvent::Status {
            status,
            message: message.into(),
        });
    }

    pub fn content(&mut self, content: &str) {
        self.text_shown = true;
        self.send(StreamEvent::Content {
            content: content.to_owned(),
        });
    }

    /// Tells the client to throw away the answer text streamed so far (if any went out).
    pub fn discard(&mut self, reason: impl Into<String>) {
        if std::mem::take(&mut self.text_shown) {
            self.send(StreamEvent::Discard {
                reason: reason.into(),
            });
        }
    }

    fn tree_update(&mut self) {
        if self.tx.is_some() {
            self.send(StreamEvent::TreeUpdate {
                execution_tree: Box::new(self.tree.clone()),
            });
        }
    }

    /// Starts a node under the root and shows it.
    pub fn start(&mut self, kind: NodeKind, label: impl Into<String>) -> NodeId {
        let now = self.elapsed_ms();
        let root = self.tree.root_id();
        let id = self.tree.start(root, kind, label, now);
        self.tree_update();
        id
    }

    /// Finishes a node, with an optional detail line, and shows it.
    pub fn finish(&mut self, id: NodeId, status: NodeStatus, detail: Option<String>) {
        let now = self.elapsed_ms();
        self.tree.finish(id, status, now);
        if let (Some(d), Some(node)) = (detail, self.tree.node_mut(id)) {
            node.detail = Some(d);
        }
        self.tree_update();
    }

    /// Closes the tree's root and puts the final tree into the answer.
    fn close(&mut self, result: &mut Result<ChatAnswer, ErrorBody>) {
        let now = self.elapsed_ms();
        let root = self.tree.root_id();
        match result {
            Ok(answer) => {
                self.tree.finish(root, NodeStatus::Done, now);
                answer.metadata.execution_tree = self.tree.clone();
            }
            Err(_) => {
                self.tree.finish(root, NodeStatus::Failed, now);
                self.tree_update();
            }
        }
    }

    /// Sends the final event.
    fn end(&mut self, result: &Result<ChatAnswer, ErrorBody>) {
        self.send(match result {
            Ok(answer) => StreamEvent::Complete(Box::new(answer.clone())),
            Err(e) => StreamEvent::Error(e.clone()),
        });
    }
}

/// One question to answer.
pub struct Job {
    pub user_id: String,
    pub session_id: String,
    pub question: String,
    /// Replaces the session's exchanges from this one on (regenerate, edit and resend).
    pub rewind_to: Option<u32>,
    pub dataset: Dataset,
    /// The LLM providers to route across, in order; empty means the built-in analyst answers.
    pub providers: Vec<Box<dyn Provider>>,
    /// Whether the built-in analyst answers when every provider failed.
    pub builtin_fallback: bool,
    pub routing: route::Routing,
    pub env: worker::Env,
    /// Earlier exchanges of the session, oldest first (loaded only for LLM providers).
    pub history: Vec<Turn>,
    pub prices: PriceTable,
    pub builtin_chunk_delay_ms: u64,
    /// The most bytes of one stored answer (text and metadata).
    pub max_stored_bytes: usize,
    /// Fault injection: panic once the answer has started (tests the guard in `worker/guard.mjs`).
    pub inject_panic: bool,
}

/// Answers the question, streaming through `em`, and returns the result and what to store.
pub async fn run(job: Job, em: &mut Emitter) -> (Result<ChatAnswer, ErrorBody>, AnswerLog) {
    em.status(Phase::Analyzing, "Analyzing query…");
    if job.inject_panic {
        panic!("injected fault: a panic mid-answer");
    }
    let (mut result, calls) = if job.providers.is_empty() {
        builtin::answer(&job, em).await
    } else {
        let (result, mut calls) = llm::answer(&job, em).await;
        match result {
            Err(e)
                if e.code == ErrorCode::ProvidersUnavailable && job.builtin_fallback && !em.client_gone() =>
            {
                em.discard("every provider failed; the built-in analyst answers instead");
                em.status(
                    Phase::Analyzing,
                    "No AI provider could answer — the built-in analyst answers instead…",
                );
                let (result, builtin_calls) = builtin::answer(&job, em).await;
                calls.extend(builtin_calls);
                (result, calls)
            }
            other => (other, calls),
        }
    };
    em.close(&mut result);
    // Everything but the text, the execution tree included, so a reload restores the answer whole — or,
    // past what a row may hold, a shortened copy, which the person is told of before the answer ends.
    let answer = result.as_ref().ok().map(|a| {
        let whole = StoredAnswer::of(a);
        match whole.shortened(&a.message, job.max_stored_bytes) {
            Some(short) => {
                em.status(
                    Phase::Writing,
                    "This answer is too long to save whole: the saved copy is shortened.",
                );
                short
            }
            None => (a.message.clone(), whole),
        }
    });
    em.end(&result);
    let log = AnswerLog {
        user_id: job.user_id,
        session_id: job.session_id,
        question: job.question,
        dataset: job.dataset.reference(),
        answer,
        calls,
        rewind_to: job.rewind_to,
    };
    (result, log)
}

/// Runs one query over the job's dataset, shown in the tree as it runs: the SQL, then its row count and
/// duration, or why it was refused or failed.
async fn run_query(job: &Job, em: &mut Emitter, purpose: &str, sql: &str) -> Executed {
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

/// The result of an answer whose client went away.
fn cancelled() -> ErrorBody {
    ApiError::new(ErrorCode::Cancelled, "the client disconnected").error
}
