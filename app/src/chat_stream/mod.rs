//! `use_chat_stream`: the conversation's live state. It owns sending, the growing answer, the status line,
//! the execution tree and errors; components only read its signals.
//!
//! Each message keeps its own signals, so a token appended to the streaming answer re-renders that one
//! message, not the conversation.
//!
//! A question goes over the tab's socket to the user's hub when one is open, over SSE otherwise; `hub`
//! is the socket side: answers asked in other tabs, resumes after a reconnect, stops from anywhere.

mod hub;

use datasage_shared::api::{
    ChatAnswer, ChatRequest, ErrorCode, Phase, SessionDetail, SessionList, SessionSummary, SessionUpdate,
    StreamEvent,
};
use datasage_shared::tree::ExecutionTree;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::AbortController;

use crate::api::{self, ClientError};
use crate::live::Live;
pub use hub::Running;
use hub::{Asked, Following};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    User,
    Assistant,
}

/// One message in the conversation.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    pub id: usize,
    pub author: Author,
    pub content: RwSignal<String>,
    pub tree: RwSignal<Option<ExecutionTree>>,
    /// The final answer's facts, once complete.
    pub answer: RwSignal<Option<ChatAnswer>>,
    pub failed: RwSignal<Option<String>>,
    pub streaming: RwSignal<bool>,
}

impl Message {
    pub(crate) fn new(id: usize, author: Author, content: String) -> Self {
        Self {
            id,
            author,
            content: RwSignal::new(content),
            tree: RwSignal::new(None),
            answer: RwSignal::new(None),
            failed: RwSignal::new(None),
            streaming: RwSignal::new(false),
        }
    }
}

/// The live conversation. `Copy`, so handlers can capture it freely.
#[derive(Clone, Copy)]
pub struct ChatStream {
    pub messages: RwSignal<Vec<Message>>,
    pub status: RwSignal<Option<String>>,
    /// What the latest answer said about the monthly budget (80 % used, or spent), until dismissed.
    pub budget_note: RwSignal<Option<String>>,
    pub is_streaming: RwSignal<bool>,
    pub error: RwSignal<Option<ClientError>>,
    /// The question box's text; a question the server never received comes back here.
    pub draft: RwSignal<String>,
    /// The dataset questions are asked about.
    dataset: Signal<String>,
    next_id: StoredValue<usize>,
    /// Aborts the answer in flight over SSE.
    abort: StoredValue<Option<AbortController>, LocalStorage>,
    /// The stream id of the answer in flight over SSE, once its first event told it.
    sse_stream: StoredValue<Option<String>>,
    /// The user's conversations, most recent first.
    pub sessions: RwSignal<Vec<SessionSummary>>,
    /// The id of the conversation on screen (new ones get theirs here, before their first question).
    pub current: RwSignal<String>,
    /// A dataset change that comes with opening a conversation, not one that should start a new one.
    opening_dataset: StoredValue<Option<String>>,
    /// The messages a resend took off the screen, put back if the server refuses it.
    replaced: StoredValue<Vec<Message>>,
    /// The last question the server refused before answering (its text and rewind), for Retry.
    refused: StoredValue<Option<(String, Option<u32>)>>,
    /// Messages' signals belong to the conversation on screen, not to whichever button created them (a
    /// Retry button, say, that disappears as soon as it is clicked). Each conversation has its own owner,
    /// a child of `root`, freed when another takes its place.
    owner: StoredValue<Owner>,
    root: StoredValue<Owner>,
    /// The tab's socket to the user's hub.
    pub live: Live,
    /// A question sent over the socket that the hub has not started yet.
    asked: StoredValue<Option<Asked>>,
    /// The answer on screen that comes over the socket, and how far it has been shown.
    following: StoredValue<Option<Following>>,
    /// Every answer of this person's running now, in any tab (the side panel marks their conversations).
    pub running: RwSignal<Vec<Running>>,
    /// The latest answers this tab saw end, over either transport: an announcement of one of them (a
    /// socket that opened as it was ending) is old news.
    ended: StoredValue<Vec<String>>,
}

const SESSION_KEY: &str = "datasage.session";

/// How a stopped answer is marked.
const STOPPED: &str = "Stopped.";

/// The conversation about the dataset `dataset` names; choosing another dataset starts a new one.
pub fn use_chat_stream(dataset: Signal<String>) -> ChatStream {
    let chat = ChatStream {
        messages: RwSignal::new(Vec::new()),
        status: RwSignal::new(None),
        budget_note: RwSignal::new(None),
        is_streaming: RwSignal::new(false),
        error: RwSignal::new(None),
        draft: RwSignal::new(String::new()),
        dataset,
        next_id: StoredValue::new(0),
        abort: StoredValue::new_local(None),
        sse_stream: StoredValue::new(None),
        sessions: RwSignal::new(Vec::new()),
        current: RwSignal::new(api::remembered(SESSION_KEY).unwrap_or_else(api::random_id)),
        opening_dataset: StoredValue::new(None),
        replaced: StoredValue::new(Vec::new()),
        refused: StoredValue::new(None),
        owner: StoredValue::new(Owner::new()),
        root: StoredValue::new(Owner::current().unwrap_or_default()),
        live: Live::new(),
        asked: StoredValue::new(None),
        following: StoredValue::new(None),
        running: RwSignal::new(Vec::new()),
        ended: StoredValue::new(Vec::new()),
    };
    Effect::watch(
        move || dataset.get(),
        move |now, _, _| {
            let opening = chat.opening_dataset.try_update_value(Option::take).flatten();
            if opening.as_ref() != Some(now) {
                chat.start_over();
            }
        },
        false,
    );
    spawn_local(async move {
        if let Err(e) = api::sign_in().await {
            chat.error.set(Some(e));
        }
        if api::remembered(SESSION_KEY).is_some() {
            chat.restore().await;
        }
        chat.refresh_sessions();
        // After the restore: an answer still running in this conversation then continues below it.
        chat.live
            .start(move |frame| chat.on_frame(frame), move || chat.on_open());
    });
    chat
}

/// Resolves on the next turn of the event loop, after every pending effect and render has run.
pub async fn next_turn() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

impl ChatStream {
    /// A new, empty conversation (the old one stays stored on the server).
    pub fn start_over(&self) {
        if self.is_streaming.get_untracked() {
            return;
        }
        self.clear();
        self.current.set(api::random_id());
        api::forget(SESSION_KEY);
    }

    /// Takes the conversation off the screen and frees its messages' signals once the page no longer
    /// shows them: their views go with the next render, which runs before the next turn of the event loop.
    fn clear(&self) {
        self.messages.set(Vec::new());
        self.error.set(None);
        let fresh = self.root.with_value(Owner::child);
        if let Some(old) = self.owner.try_update_value(|o| std::mem::replace(o, fresh)) {
            spawn_local(async move {
                next_turn().await;
                old.cleanup();
            });
        }
    }

    /// Shows the stored conversation `id`. `dataset` is the dataset it is about when that differs from the
    /// one chosen now; the caller then chooses it, and that change does not start a new conversation.
    pub fn open(&self, id: String, dataset: Option<String>) {
        if self.is_streaming.get_untracked() || self.current.get_untracked() == id {
            return;
        }
        self.opening_dataset.set_value(dataset);
        self.clear();
        api::remember(SESSION_KEY, &id);
        self.current.set(id);
        let chat = *self;
        spawn_local(async move {
            chat.restore().await;
            chat.watch_running();
        });
    }

    pub fn refresh_sessions(&self) {
        let chat = *self;
        spawn_local(async move { chat.load_sessions().await });
    }

    async fn load_sessions(&self) {
        if let Ok(list) = api::get::<SessionList>("/api/v1/sessions").await {
            self.sessions.set(list.sessions);
        }
    }

    pub fn rename(&self, id: String, title: String) {
        let chat = *self;
        spawn_local(async move {
            let path = format!("/api/v1/sessions/{id}");
            match api::send_json::<SessionSummary>("PATCH", &path, &SessionUpdate { title }).await {
                Ok(updated) => chat.sessions.update(|l| {
                    if let Some(s) = l.iter_mut().find(|s| s.id == updated.id) {
                        *s = updated;
                    }
                }),
                Err(e) => chat.error.set(Some(e)),
            }
        });
    }

    pub fn delete(&self, id: String) {
        let chat = *self;
        spawn_local(async move {
            match api::delete(&format!("/api/v1/sessions/{id}")).await {
                Ok(()) => {
                    chat.sessions.update(|l| l.retain(|s| s.id != id));
                    if chat.current.get_untracked() == id {
                        chat.start_over();
                    }
                }
                Err(e) => chat.error.set(Some(e)),
            }
        });
    }

    /// Brings back the conversation on screen from the server (after a reload, or when it is opened).
    async fn restore(&self) {
        if !self.messages.with_untracked(Vec::is_empty) {
            return;
        }
        let id = self.current.get_untracked();
        // A conversation that is gone (or never got an answer stored) simply starts fresh.
        let Ok(detail) = api::get::<SessionDetail>(&format!("/api/v1/sessions/{id}")).await else {
            return;
        };
        // The person may have moved on (New, another conversation) while it loaded.
        if self.current.get_untracked() != id || !self.messages.with_untracked(Vec::is_empty) {
            return;
        }
        for m in detail.messages {
            if m.role == "user" {
                self.push(Author::User, m.content);
            } else {
                let reply = self.push(Author::Assistant, m.content);
                reply
                    .tree
                    .set(m.answer.as_ref().map(|a| a.metadata.execution_tree.clone()));
                reply.answer.set(m.answer);
                if m.stopped {
                    reply.failed.set(Some(STOPPED.into()));
                }
            }
        }
    }

    /// Stops the answer in flight, whichever tab asked it, by its stream id: the answer then ends with
    /// its `CANCELLED` event, so what this tab shows is what is stored. An SSE answer whose stream id is
    /// not known yet (or whose stop request fails) is aborted instead: the hub stops when it disconnects.
    pub fn stop(&self) {
        let Some(controller) = self.abort.try_update_value(Option::take).flatten() else {
            return self.stop_live();
        };
        let Some(stream_id) = self.sse_stream.get_value() else {
            return controller.abort();
        };
        self.status.set(Some("Stopping…".into()));
        spawn_local(async move {
            let stop = datasage_shared::hub::StopRequest { stream_id };
            if api::post("/api/v1/chat/stop", &stop).await.is_err() {
                controller.abort();
            }
        });
    }

    fn push(&self, author: Author, content: String) -> Message {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let m = self
            .owner
            .with_value(|o| o.with(|| Message::new(id, author, content)));
        self.messages.update(|ms| ms.push(m));
        m
    }

    /// Sends a question after the conversation so far; ignored while an answer is streaming or when the
    /// text is blank.
    pub fn send(&self, text: String) {
        self.ask(text, None);
    }

    /// Edit and resend: asks `text` in place of the conversation's question number `index` (0-based); it
    /// and everything after it are replaced.
    pub fn resend(&self, index: usize, text: String) {
        if self.is_streaming.get_untracked() || text.trim().is_empty() {
            return;
        }
        self.messages.update(|ms| {
            let cut = ms
                .iter()
                .enumerate()
                .filter(|(_, m)| m.author == Author::User)
                .nth(index)
                .map_or(ms.len(), |(at, _)| at);
            self.replaced.set_value(ms.split_off(cut));
        });
        self.ask(text, u32::try_from(index).ok());
    }

    /// Asks the last question again, replacing its answer (or its failure).
    pub fn regenerate(&self) {
        let last = self.messages.with_untracked(|ms| {
            ms.iter()
                .filter(|m| m.author == Author::User)
                .enumerate()
                .last()
                .map(|(i, m)| (i, m.content.get_untracked()))
        });
        if let Some((index, text)) = last {
            self.resend(index, text);
        }
    }

    /// The banner's Retry: a question the server never received is sent again; one it answered with an
    /// error is asked again.
    pub fn retry(&self) {
        match self.refused.try_update_value(Option::take).flatten() {
            Some((text, Some(index))) => self.resend(index as usize, text),
            Some((text, None)) => {
                self.draft.update(|d| {
                    if *d == text {
                        d.clear();
                    }
                });
                self.send(text);
            }
            None => self.regenerate(),
        }
    }

    /// The position of `message` among the conversation's questions.
    pub fn question_index(&self, message: &Message) -> Option<usize> {
        self.messages.with(|ms| {
            ms.iter()
                .filter(|m| m.author == Author::User)
                .position(|m| m.id == message.id)
        })
    }

    fn ask(&self, text: String, rewind_to: Option<u32>) {
        let text = text.trim().to_owned();
        if text.is_empty() || self.is_streaming.get_untracked() {
            return;
        }
        let chat = *self;
        chat.error.set(None);
        chat.refused.set_value(None);
        let question = chat.push(Author::User, text.clone());
        let reply = chat.push(Author::Assistant, String::new());
        reply.streaming.set(true);
        chat.is_streaming.set(true);
        chat.status.set(Some("Sending…".into()));
        let req = ChatRequest {
            message: text,
            session_id: chat.current.get_untracked(),
            dataset_id: Some(chat.dataset.get_untracked()),
            rewind_to,
        };
        api::remember(SESSION_KEY, &req.session_id);
        if !chat.ask_live(&req, question, reply) {
            chat.ask_sse(req, question, reply);
        }
    }

    fn ask_sse(&self, req: ChatRequest, question: Message, reply: Message) {
        let chat = *self;
        let Ok(controller) = AbortController::new() else {
            chat.fail(
                reply,
                ClientError::Network("this browser cannot cancel requests".into()),
            );
            return chat.settle(reply);
        };
        let signal = controller.signal();
        chat.abort.set_value(Some(controller));
        spawn_local(async move {
            let mut heard = false;
            let outcome = api::stream_chat(&req, &signal, |ev, stream_id| {
                heard = true;
                if let Some(id) = stream_id {
                    if ev.is_terminal() {
                        chat.saw_end(&id);
                    }
                    chat.sse_stream.set_value(Some(id));
                }
                chat.apply(reply, ev)
            })
            .await;
            match outcome {
                Err(_) if signal.aborted() => reply.failed.set(Some(STOPPED.into())),
                Err(e) if !heard => chat.refused(question, reply, req, e),
                Err(e) => chat.fail(reply, e),
                Ok(()) => {}
            }
            chat.abort.set_value(None);
            chat.sse_stream.set_value(None);
            chat.settle(reply);
        });
    }

    /// Refused before anything happened (rate limit, network): nothing was stored, so the question goes
    /// back to the box rather than staying in the conversation unanswered.
    fn refused(&self, question: Message, reply: Message, req: ChatRequest, e: ClientError) {
        let replaced = self.replaced.try_update_value(std::mem::take).unwrap_or_default();
        self.messages.update(|ms| {
            ms.retain(|m| m.id != reply.id && m.id != question.id);
            ms.extend(replaced);
        });
        if req.rewind_to.is_none() {
            self.draft.set(req.message.clone());
        }
        self.refused.set_value(Some((req.message, req.rewind_to)));
        self.error.set(Some(e));
    }

    /// The answer on screen is over, however it ended.
    fn settle(&self, reply: Message) {
        self.replaced.set_value(Vec::new());
        reply.streaming.set(false);
        self.status.set(None);
        self.is_streaming.set(false);
        self.refresh_sessions();
    }

    fn apply(&self, reply: Message, ev: StreamEvent) {
        match ev {
            StreamEvent::Status {
                status: Phase::Budget,
                message,
            } => {
                self.budget_note.set(Some(message.clone()));
                self.status.set(Some(message));
            }
            StreamEvent::Status { message, .. } => self.status.set(Some(message)),
            StreamEvent::Content { content } => reply.content.update(|c| c.push_str(&content)),
            // The provider failed mid-answer; the answer starts over in the next content events.
            StreamEvent::Discard { .. } => reply.content.set(String::new()),
            StreamEvent::TreeUpdate { execution_tree } => reply.tree.set(Some(*execution_tree)),
            StreamEvent::Complete(answer) => {
                // The final text is authoritative: it replaces what the deltas built.
                reply.content.set(answer.message.clone());
                reply.tree.set(Some(answer.metadata.execution_tree.clone()));
                reply.answer.set(Some(*answer));
            }
            StreamEvent::Error(e) if e.code == ErrorCode::Cancelled => reply.failed.set(Some(STOPPED.into())),
            StreamEvent::Error(e) => self.fail(
                reply,
                ClientError::Server {
                    code: e.code,
                    message: e.message,
                },
            ),
        }
    }

    /// A reply that never got any text is removed and the banner explains; a partial reply keeps its text
    /// and says inline that it broke off.
    fn fail(&self, reply: Message, err: ClientError) {
        if reply.content.with_untracked(String::is_empty) {
            self.messages.update(|ms| ms.retain(|m| m.id != reply.id));
            self.error.set(Some(err));
        } else {
            reply.failed.set(Some(err.explain()));
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::*;

    use super::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn a_new_conversation_frees_the_messages_of_the_one_it_replaces() {
        // The chat's effects need the executor a mounted page would have started; this test mounts nothing,
        // and may run before any test that does.
        _ = any_spawner::Executor::init_wasm_bindgen();
        let page = Owner::new();
        let chat = page.with(|| use_chat_stream(Signal::derive(|| "sample".to_owned())));
        let old = chat.push(Author::User, "How many rows?".into());
        chat.start_over();
        assert_eq!(
            old.content.try_get_untracked().as_deref(),
            Some("How many rows?"),
            "kept while the page may still show it"
        );
        // The freeing waits for a turn of its own, queued after this test's first one.
        next_turn().await;
        next_turn().await;
        assert!(
            old.content.try_get_untracked().is_none(),
            "freed once off the screen"
        );
        let new = chat.push(Author::User, "And columns?".into());
        next_turn().await;
        assert_eq!(
            new.content.try_get_untracked().as_deref(),
            Some("And columns?"),
            "the new conversation's messages live on"
        );
    }
}
