//! The execution tree: every step and every LLM call of one answer, as the user sees it live.
//!
//! Times are milliseconds since the request started, so a tree reads the same wherever it is rendered.

use serde::{Deserialize, Serialize};

use crate::words::wire_words;

wire_words! {
    /// What a node stands for.
    pub enum NodeKind {
        Request = "request",
        Step = "step",
        LlmCall = "llm_call",
        Query = "query",
    }
}

wire_words! {
    /// Where a node is in its life.
    pub enum NodeStatus {
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// Facts about one LLM call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmCallInfo {
    pub provider: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// Time to the first streamed token, once it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
    /// Retries of this call on this provider before this attempt (0 for the first attempt).
    pub retries: u32,
    #[serde(default)]
    pub outcome: CallStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_class: Option<crate::routing::FailureClass>,
    /// The provider's circuit when the attempt went out.
    #[serde(default)]
    pub breaker: Circuit,
}

wire_words! {
    /// How one model call ended, in the execution tree and the call log.
    #[derive(Default)]
    pub enum CallStatus {
        /// It answered: text, or queries to run.
        #[default]
        Ok = "ok",
        /// It finished with neither.
        Empty = "empty",
        /// It failed; its failure class says how.
        Error = "error",
        /// The work was stopped first.
        Cancelled = "cancelled",
        /// It never went out: the provider's circuit was open.
        Skipped = "skipped",
    }
}

wire_words! {
    /// A provider's circuit breaker when a call went out.
    #[derive(Default)]
    pub enum Circuit {
        #[default]
        Closed = "closed",
        /// One probe call is let through.
        HalfOpen = "half_open",
        Open = "open",
    }
}

/// Facts about one SQL query over the dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryInfo {
    /// The SQL as it ran (or as proposed, when it was refused).
    pub sql: String,
    /// Rows returned; `None` when the query was refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

impl LlmCallInfo {
    /// One line for people: provider, model, tokens, cost, time to first token, and — when they say
    /// something — the retry, the circuit and what went wrong.
    pub fn summary(&self) -> String {
        let mut parts = vec![self.provider.clone(), self.model.clone()];
        if self.outcome == CallStatus::Skipped {
            parts.push("skipped: circuit open".into());
            return parts.join(" · ");
        }
        parts.push(format!(
            "{}+{} tokens",
            self.prompt_tokens, self.completion_tokens
        ));
        if self.cost_usd > 0.0 {
            parts.push(format!("${:.5}", self.cost_usd));
        }
        if let Some(t) = self.ttft_ms {
            parts.push(format!("first token {t} ms"));
        }
        if self.retries > 0 {
            parts.push(format!("retry {}", self.retries));
        }
        if self.breaker == Circuit::HalfOpen {
            parts.push("probe (circuit half-open)".into());
        }
        if let Some(class) = self.failure_class {
            parts.push(format!("failed: {}", class.as_str().replace('_', " ")));
        } else if self.outcome != CallStatus::Ok {
            parts.push(self.outcome.as_str().to_owned());
        }
        parts.join(" · ")
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    pub id: u32,
    pub kind: NodeKind,
    pub label: String,
    pub status: NodeStatus,
    pub started_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Free text shown under the label: the SQL, a row count, an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmCallInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<QueryInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TreeNode>,
}

/// Identifies a node within its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(u32);

/// The whole tree, rooted at the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionTree {
    pub root: TreeNode,
    #[serde(skip)]
    next_id: u32,
}

impl ExecutionTree {
    /// A tree whose running root node is the request itself.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            root: TreeNode::new(0, NodeKind::Request, label.into(), 0),
            next_id: 1,
        }
    }

    /// A tree read back from the wire, which (like serde's `skip`) does not carry the next node id.
    pub(crate) fn with_root(root: TreeNode) -> Self {
        Self { root, next_id: 0 }
    }

    pub fn root_id(&self) -> NodeId {
        NodeId(0)
    }

    /// Adds a running child under `parent` and returns its id (a no-op id if `parent` is unknown).
    pub fn start(&mut self, parent: NodeId, kind: NodeKind, label: impl Into<String>, now_ms: u64) -> NodeId {
        let id = self.next_id;
        self.next_id += 1;
        if let Some(p) = self.root.find_mut(parent.0) {
            p.children.push(TreeNode::new(id, kind, label.into(), now_ms));
        }
        NodeId(id)
    }

    /// Marks a node finished; its duration is measured from its start.
    pub fn finish(&mut self, id: NodeId, status: NodeStatus, now_ms: u64) {
        if let Some(n) = self.root.find_mut(id.0) {
            n.status = status;
            n.duration_ms = Some(now_ms.saturating_sub(n.started_ms));
        }
    }

    /// Mutable access to a node, to fill in its detail or LLM facts.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut TreeNode> {
        self.root.find_mut(id.0)
    }
}

impl TreeNode {
    fn new(id: u32, kind: NodeKind, label: String, started_ms: u64) -> Self {
        Self {
            id,
            kind,
            label,
            status: NodeStatus::Running,
            started_ms,
            duration_ms: None,
            detail: None,
            llm: None,
            query: None,
            children: Vec::new(),
        }
    }

    fn find_mut(&mut self, id: u32) -> Option<&mut TreeNode> {
        if self.id == id {
            return Some(self);
        }
        self.children.iter_mut().find_map(|c| c.find_mut(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_steps_record_status_and_duration() {
        let mut t = ExecutionTree::new("Answer");
        let step = t.start(t.root_id(), NodeKind::Step, "Analyze", 5);
        let call = t.start(step, NodeKind::LlmCall, "openai", 7);
        t.finish(call, NodeStatus::Failed, 20);
        t.finish(step, NodeStatus::Done, 30);
        let step_node = &t.root.children[0];
        assert_eq!(step_node.duration_ms, Some(25));
        assert_eq!(step_node.children[0].status, NodeStatus::Failed);
        assert_eq!(step_node.children[0].duration_ms, Some(13));
        assert_eq!(t.root.status, NodeStatus::Running);
    }

    #[test]
    fn an_attempt_reads_as_one_line_saying_what_happened() {
        let mut call = LlmCallInfo {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            prompt_tokens: 321,
            completion_tokens: 9,
            cost_usd: 0.000_053_55,
            ttft_ms: Some(17),
            retries: 1,
            outcome: CallStatus::Error,
            failure_class: Some(crate::routing::FailureClass::FirstTokenTimeout),
            breaker: Circuit::HalfOpen,
        };
        assert_eq!(
            call.summary(),
            "openai · gpt-4o-mini · 321+9 tokens · $0.00005 · first token 17 ms · retry 1 · probe (circuit half-open) · failed: first token timeout"
        );
        call.outcome = CallStatus::Skipped;
        assert_eq!(call.summary(), "openai · gpt-4o-mini · skipped: circuit open");
        let ok = LlmCallInfo {
            provider: "anthropic".into(),
            model: "claude".into(),
            outcome: CallStatus::Ok,
            ..LlmCallInfo::default()
        };
        assert_eq!(ok.summary(), "anthropic · claude · 0+0 tokens");
    }

    #[test]
    fn tree_round_trips_through_json() {
        let mut t = ExecutionTree::new("Answer");
        let s = t.start(t.root_id(), NodeKind::Query, "SUM(revenue)", 1);
        t.node_mut(s).unwrap().detail = Some("5 rows".into());
        let back: ExecutionTree = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back.root, t.root);
    }
}
