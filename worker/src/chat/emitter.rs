//! How one answer reaches whoever waits for it, in three parts: the execution tree it records
//! ([`Recorder`]), the listeners its events go to ([`Subscribers`], every event numbered within the
//! answer's stream) and the token that says the work should stop ([`Cancel`]). [`Emitter`] holds the
//! three and is what the answer paths write to.

use std::cell::Cell;
use std::rc::Rc;

use datasage_shared::api::{ApiError, ChatAnswer, ErrorBody, ErrorCode, Phase, StreamEvent, StreamFrame};
use datasage_shared::tree::{ExecutionTree, NodeId, NodeKind, NodeStatus, TreeNode};

use crate::util::now_ms;

/// Says the work should stop. Cloned to whoever may stop it; the work checks it between steps.
#[derive(Clone, Default)]
pub struct Cancel(Rc<Cell<bool>>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.set(true);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.get()
    }
}

/// Where one answer's events go. Each event is numbered (1, 2, 3…) once, within the answer's stream, and
/// handed to the sink, which fans it out to every listener (the user's hub: its sockets, its buffer for
/// late resumes, an SSE client).
pub struct Subscribers {
    stream_id: String,
    session_id: String,
    seq: u64,
    sink: Box<dyn FnMut(&StreamFrame)>,
}

impl Subscribers {
    pub fn new(stream_id: String, session_id: String, sink: impl FnMut(&StreamFrame) + 'static) -> Self {
        Self {
            stream_id,
            session_id,
            seq: 0,
            sink: Box::new(sink),
        }
    }

    fn send(&mut self, event: StreamEvent) {
        self.seq += 1;
        let frame = StreamFrame {
            session_id: self.session_id.clone(),
            stream_id: self.stream_id.clone(),
            seq: self.seq,
            event,
        };
        (self.sink)(&frame);
    }
}

/// The execution tree of one answer, timed from when the answer started.
pub struct Recorder {
    started_ms: u64,
    tree: ExecutionTree,
}

impl Recorder {
    fn new() -> Self {
        Self {
            started_ms: now_ms(),
            tree: ExecutionTree::new("Answer question"),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        now_ms().saturating_sub(self.started_ms)
    }

    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut TreeNode> {
        self.tree.node_mut(id)
    }

    /// The tree as it stands.
    pub fn snapshot(&self) -> ExecutionTree {
        self.tree.clone()
    }

    fn start(&mut self, kind: NodeKind, label: impl Into<String>) -> NodeId {
        let now = self.elapsed_ms();
        let root = self.tree.root_id();
        self.tree.start(root, kind, label, now)
    }

    fn finish(&mut self, id: NodeId, status: NodeStatus, detail: Option<String>) {
        let now = self.elapsed_ms();
        self.tree.finish(id, status, now);
        if let (Some(d), Some(node)) = (detail, self.tree.node_mut(id)) {
            node.detail = Some(d);
        }
    }

    fn close(&mut self, status: NodeStatus) {
        let now = self.elapsed_ms();
        let root = self.tree.root_id();
        self.tree.finish(root, status, now);
    }
}

/// What the answer paths write to: status lines, answer text and tree nodes go to the subscribers; the
/// tree is recorded whether or not anyone listens.
pub struct Emitter {
    pub tree: Recorder,
    subscribers: Subscribers,
    cancel: Cancel,
    /// The answer text that went out since the last discard: what a stopped answer keeps.
    shown: String,
}

impl Emitter {
    pub fn new(subscribers: Subscribers, cancel: Cancel) -> Self {
        Self {
            tree: Recorder::new(),
            subscribers,
            cancel,
            shown: String::new(),
        }
    }

    /// Whether the work should stop.
    pub fn stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn status(&mut self, status: Phase, message: impl Into<String>) {
        self.subscribers.send(StreamEvent::Status {
            status,
            message: message.into(),
        });
    }

    /// The answer text the person sees now.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn content(&mut self, content: &str) {
        self.shown.push_str(content);
        self.subscribers.send(StreamEvent::Content {
            content: content.to_owned(),
        });
    }

    /// Tells the client to throw away the answer text streamed so far (if any went out).
    pub fn discard(&mut self, reason: impl Into<String>) {
        if !std::mem::take(&mut self.shown).is_empty() {
            self.subscribers.send(StreamEvent::Discard {
                reason: reason.into(),
            });
        }
    }

    fn tree_update(&mut self) {
        self.subscribers.send(StreamEvent::TreeUpdate {
            execution_tree: Box::new(self.tree.snapshot()),
        });
    }

    /// Starts a node under the root and shows it.
    pub fn start(&mut self, kind: NodeKind, label: impl Into<String>) -> NodeId {
        let id = self.tree.start(kind, label);
        self.tree_update();
        id
    }

    /// Finishes a node, with an optional detail line, and shows it.
    pub fn finish(&mut self, id: NodeId, status: NodeStatus, detail: Option<String>) {
        self.tree.finish(id, status, detail);
        self.tree_update();
    }

    /// Closes the tree's root and puts the final tree into the answer.
    pub fn close(&mut self, result: &mut Result<ChatAnswer, ErrorBody>) {
        match result {
            Ok(answer) => {
                self.tree.close(NodeStatus::Done);
                answer.metadata.execution_tree = self.tree.snapshot();
            }
            Err(_) => {
                self.tree.close(NodeStatus::Failed);
                self.tree_update();
            }
        }
    }

    /// Sends the final event.
    pub fn end(&mut self, result: &Result<ChatAnswer, ErrorBody>) {
        self.subscribers.send(match result {
            Ok(answer) => StreamEvent::Complete(Box::new(answer.clone())),
            Err(e) => StreamEvent::Error(e.clone()),
        });
    }
}

/// The result of an answer that was stopped.
pub fn cancelled() -> ErrorBody {
    ApiError::new(ErrorCode::Cancelled, "the answer was stopped").error
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn content(text: &str) -> StreamEvent {
        StreamEvent::Content {
            content: text.to_owned(),
        }
    }

    #[test]
    fn events_are_numbered_once_with_their_stream_and_conversation() {
        let got = Rc::new(RefCell::new(Vec::new()));
        let sink = got.clone();
        let mut subscribers = Subscribers::new("s-1".into(), "c-1".into(), move |f: &StreamFrame| {
            sink.borrow_mut().push(f.clone())
        });
        subscribers.send(content("West"));
        subscribers.send(content(" leads"));
        let frames = got.borrow();
        let seqs: Vec<u64> = frames.iter().map(|f| f.seq).collect();
        assert_eq!(seqs, [1, 2]);
        assert!(frames
            .iter()
            .all(|f| f.stream_id == "s-1" && f.session_id == "c-1"));
        assert_eq!(frames[1].event, content(" leads"));
    }

    #[test]
    fn a_stop_from_anyone_holding_the_token_stops_the_work() {
        let cancel = Cancel::default();
        let stop_button = cancel.clone();
        assert!(!cancel.is_cancelled());
        stop_button.cancel();
        assert!(cancel.is_cancelled(), "a clone cancels the same work");
    }
}
