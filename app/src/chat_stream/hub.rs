//! The conversation's socket side: a question asked over the tab's socket, answers started in other tabs
//! (shown live when this tab shows their conversation, marked "answering…" in the side panel when not),
//! the rest of an answer after a reconnect or a reload, a stop from any tab, and conversations renamed or
//! deleted elsewhere.

use datasage_shared::api::{ChatRequest, ErrorBody, ErrorCode, StreamFrame};
use datasage_shared::hub::{ChatFrame, ClientFrame, Follow, HubFrame, Incoming, Step, StopRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{Author, ChatStream, Message};
use crate::api::{self, ClientError};

/// A question sent over the socket, until the hub starts its answer (or refuses it).
pub(super) struct Asked {
    request_id: String,
    question: Message,
    reply: Message,
    req: ChatRequest,
    /// Stop was pressed before the answer had a stream id.
    stop: bool,
}

/// The answer on screen that comes over the socket.
pub(super) struct Following {
    follow: Follow,
    reply: Message,
}

/// An answer running now, in any of this person's tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub stream_id: String,
    pub session_id: String,
    pub question: String,
}

impl ChatStream {
    /// Sends the question over the socket; `false` when no socket is open (the caller then uses SSE).
    pub(super) fn ask_live(&self, req: &ChatRequest, question: Message, reply: Message) -> bool {
        let request_id = api::random_id();
        let frame = ClientFrame::Chat(ChatFrame {
            request_id: request_id.clone(),
            message: req.message.clone(),
            session_id: req.session_id.clone(),
            dataset_id: req.dataset_id.clone(),
            rewind_to: req.rewind_to,
        });
        if !self.live.send(&frame) {
            return false;
        }
        self.asked.set_value(Some(Asked {
            request_id,
            question,
            reply,
            req: req.clone(),
            stop: false,
        }));
        true
    }

    pub(super) fn on_frame(&self, frame: Incoming) {
        match frame {
            Incoming::Stream(frame) => self.on_event(frame),
            Incoming::Hub(HubFrame::StreamStarted {
                stream_id,
                session_id,
                request_id,
                question,
            }) => self.started(
                Running {
                    stream_id,
                    session_id,
                    question,
                },
                &request_id,
            ),
            Incoming::Hub(HubFrame::Error(e)) => self.hub_error(e),
            Incoming::Hub(HubFrame::SessionsChanged) => self.sessions_changed(),
            Incoming::Hub(HubFrame::Stopped { .. } | HubFrame::ConnectionStatus { .. }) => {}
        }
    }

    /// The socket (re)opened: the answer on screen continues after the last event shown. A question sent
    /// on the socket that dropped may never have arrived: it goes back to the box — and if it did arrive,
    /// the hub's `stream_started` for it (sent on every connect) brings it back as a running answer.
    pub(super) fn on_open(&self) {
        let resume = self
            .following
            .try_update_value(|f| f.as_mut().map(|f| f.follow.resume()))
            .flatten();
        if let Some(resume) = resume {
            self.live.send(&resume);
        }
        if let Some(asked) = self.asked.try_update_value(Option::take).flatten() {
            let lost = ClientError::Network("the connection dropped as the question was sent".into());
            self.refused(asked.question, asked.reply, asked.req, lost);
            self.settle(asked.reply);
        }
    }

    /// Notes that an answer ended, so a late announcement of it is not taken for a new one.
    pub(super) fn saw_end(&self, stream_id: &str) {
        const KEPT: usize = 32;
        self.ended.update_value(|e| {
            if e.len() == KEPT {
                e.remove(0);
            }
            e.push(stream_id.to_owned());
        });
    }

    fn started(&self, running: Running, request_id: &str) {
        if self.ended.with_value(|e| e.contains(&running.stream_id)) {
            return;
        }
        // A conversation's row exists from its first question on: one new to this tab joins the list.
        if !self
            .sessions
            .with_untracked(|l| l.iter().any(|s| s.id == running.session_id))
        {
            self.refresh_sessions();
        }
        self.running.update(|r| {
            if !r.iter().any(|x| x.stream_id == running.stream_id) {
                r.push(running.clone());
            }
        });
        let mine = self
            .asked
            .try_update_value(|a| a.take_if(|a| a.request_id == request_id))
            .flatten();
        if let Some(asked) = mine {
            self.follow(&running.stream_id, asked.reply);
            if asked.stop {
                self.stop_live();
            }
        } else if running.session_id == self.current.get_untracked() && !self.is_streaming.get_untracked() {
            self.watch(running);
        }
    }

    /// Shows an answer asked elsewhere (another tab, or this one before a reload) from its first event.
    fn watch(&self, running: Running) {
        self.error.set(None);
        self.draft.update(|d| {
            if d.trim() == running.question {
                d.clear();
            }
        });
        self.push(Author::User, running.question);
        let reply = self.push(Author::Assistant, String::new());
        reply.streaming.set(true);
        self.is_streaming.set(true);
        self.status.set(Some("Answering…".into()));
        self.follow(&running.stream_id, reply);
        let resume = self
            .following
            .try_update_value(|f| f.as_mut().map(|f| f.follow.resume()))
            .flatten();
        if let Some(resume) = resume {
            self.live.send(&resume);
        }
    }

    fn follow(&self, stream_id: &str, reply: Message) {
        self.following.set_value(Some(Following {
            follow: Follow::new(stream_id.to_owned()),
            reply,
        }));
    }

    /// After opening a conversation: an answer running in it shows up below what is stored.
    pub(super) fn watch_running(&self) {
        let current = self.current.get_untracked();
        let running = self
            .running
            .with_untracked(|r| r.iter().find(|x| x.session_id == current).cloned());
        if let Some(running) = running.filter(|_| !self.is_streaming.get_untracked()) {
            self.watch(running);
        }
    }

    fn on_event(&self, frame: StreamFrame) {
        let terminal = frame.event.is_terminal();
        if terminal {
            self.saw_end(&frame.stream_id);
            self.running
                .update(|r| r.retain(|x| x.stream_id != frame.stream_id));
        }
        let step = self
            .following
            .try_update_value(|f| f.as_mut().map(|f| (f.follow.take(&frame), f.reply)))
            .flatten();
        match step {
            Some((Step::Show, reply)) => {
                self.apply(reply, frame.event);
                if terminal {
                    self.following.set_value(None);
                    self.settle(reply);
                }
            }
            Some((Step::Gap(Some(resume)), _)) => {
                self.live.send(&resume);
            }
            // Another conversation's answer ended: it is stored now, perhaps as a new conversation.
            _ if terminal => self.refresh_sessions(),
            _ => {}
        }
    }

    /// A refused frame: the question just sent, or a resume of an answer that is over (the stored
    /// conversation is then shown).
    fn hub_error(&self, e: ErrorBody) {
        if let Some(asked) = self.asked.try_update_value(Option::take).flatten() {
            self.refused(asked.question, asked.reply, asked.req, ClientError::from(e));
            return self.settle(asked.reply);
        }
        let following = self.following.try_update_value(Option::take).flatten();
        match following {
            Some(f) if e.code == ErrorCode::NotFound => {
                self.settle(f.reply);
                self.reload();
            }
            other => {
                self.following.set_value(other);
                self.error.set(Some(ClientError::from(e)));
            }
        }
    }

    /// Shows the stored copy of the conversation on screen.
    fn reload(&self) {
        self.clear();
        let chat = *self;
        spawn_local(async move { chat.restore().await });
    }

    /// Another tab renamed or deleted a conversation; if it deleted this one, a new one starts.
    fn sessions_changed(&self) {
        let chat = *self;
        spawn_local(async move {
            chat.load_sessions().await;
            let current = chat.current.get_untracked();
            let gone = !chat
                .sessions
                .with_untracked(|l| l.iter().any(|s| s.id == current));
            if gone && !chat.messages.with_untracked(Vec::is_empty) {
                chat.start_over();
            }
        });
    }

    /// Stops the answer on screen by its stream id, over the socket or, when it is down, over HTTP.
    pub(super) fn stop_live(&self) {
        let stream_id = self
            .following
            .with_value(|f| f.as_ref().map(|f| f.follow.stream_id.clone()));
        let Some(stream_id) = stream_id else {
            self.asked.update_value(|a| {
                if let Some(a) = a {
                    a.stop = true;
                }
            });
            return;
        };
        self.status.set(Some("Stopping…".into()));
        if !self.live.send(&ClientFrame::Stop {
            stream_id: stream_id.clone(),
        }) {
            let chat = *self;
            spawn_local(async move {
                if let Err(e) = api::post("/api/v1/chat/stop", &StopRequest { stream_id }).await {
                    chat.error.set(Some(e));
                }
            });
        }
    }
}
