//! The user's hub: one SQLite-backed Durable Object per user. It admits every question of the user
//! (one rate limit, whatever the transport or tab), runs each answer as its own task — so an answer
//! outlives the tab that asked — and fans every event out to every subscriber: the user's WebSockets
//! (`sockets`), its buffer for late resumes (`streams`) and, for a question asked over SSE, that client.
//!
//! A stop from any tab or transport cancels the answer's token; the answer paths check it between steps
//! and abort the provider call upstream. An SSE client that goes away stops its own answer, as before; a
//! tab that goes away does not.
//!
//! `client` is the worker's side: the calls the routes make to the hub.

mod answer;
pub mod client;
mod limit;
mod sockets;
mod streams;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use datasage_shared::api::{
    ApiError, ChatAnswer, ChatRequest, ErrorBody, ErrorCode, StreamEvent, StreamFrame,
};
use datasage_shared::hub::{ChatFrame, ClientFrame, HubFrame, PING, PONG};
use datasage_shared::sse;
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use worker::{
    console_error, durable_object, Delay, DurableObject, Env, Headers, Method, Request, Response, SqlStorage,
    State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use crate::budget::{self, Budget};
use crate::chat::{self, Cancel, Emitter, Subscribers};
use crate::config::Config;
use crate::error::{Failure, Result};
use crate::objects::{create_tables, param};
use crate::provider_health;
use crate::util::{now_ms, random_uuid};
pub use answer::claim;
use answer::Prepared;
use sockets::{Attachment, Sockets};
use streams::{Started, Streams};

/// Tickets already used to open a socket, kept until they expire: a ticket opens one socket.
const TICKETS: &str = "CREATE TABLE IF NOT EXISTS used_tickets (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL)";

#[durable_object]
pub struct UserHub {
    hub: Rc<Hub>,
}

/// The hub's state, shared with the answers it runs.
struct Hub {
    env: Env,
    sql: SqlStorage,
    streams: Streams,
    sockets: Sockets,
    /// The user's monthly budget: its ledger, and what answers in flight hold.
    budget: Rc<Budget>,
    /// The stop token of each answer running now, by stream id.
    live: RefCell<HashMap<String, Cancel>>,
}

/// What the worker sends the hub with a question asked over HTTP.
#[derive(Serialize, Deserialize)]
pub struct Ask {
    pub user_id: String,
    pub request: ChatRequest,
}

/// One event of an SSE answer, encoded, and whether it may wait to go out with the next ones: text after
/// the answer's first words may, anything else goes out at once.
type SseEvent = (Vec<u8>, bool);

/// Who asked, and so where the answer goes besides the user's sockets.
enum Asker {
    Socket,
    /// An SSE client: its events, and its going away stops the answer.
    Sse(mpsc::UnboundedSender<SseEvent>),
    /// A JSON client, waiting for the whole answer.
    Json(oneshot::Sender<std::result::Result<ChatAnswer, ErrorBody>>),
}

impl DurableObject for UserHub {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        let raw = state._inner();
        create_tables(
            &sql,
            "user hub",
            &[
                &limit::TABLES[..],
                &[TICKETS, budget::TABLES][..],
                &streams::TABLES[..],
            ]
            .concat(),
        );
        if let Err(e) = limit::carry_over(&sql) {
            console_error!("hub: cannot carry the rate limit's window over: {e}");
        }
        // A fresh instance runs no answer: any stream still marked running was cut off by a restart.
        let streams = Streams::new(sql.clone());
        if let Err(e) = streams.cut_off_orphans(now_ms()) {
            console_error!("hub: cannot end the streams a restart cut off: {e}");
        }
        let hub = Hub {
            env,
            streams,
            budget: Rc::new(Budget::new(sql.clone())),
            sql,
            sockets: Sockets::new(raw),
            live: RefCell::default(),
        };
        Self { hub: Rc::new(hub) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let result = match (req.method(), req.path().as_str()) {
            (Method::Post, "/chat") => self.hub.http_chat(req).await,
            (Method::Post, "/stop") => self.hub.http_stop(req).await,
            (Method::Get, "/connect") => self.hub.connect(&req).await,
            (Method::Post, "/sessions-changed") => {
                self.hub.sockets.broadcast(&to_json(&HubFrame::SessionsChanged));
                Ok(Response::empty()?.with_status(204))
            }
            (_, path) => Err(Failure::api(ErrorCode::NotFound, format!("hub: no route {path}"))),
        };
        Ok(result.unwrap_or_else(Failure::into_response))
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        self.hub.sockets.seen(&ws, now_ms());
        let WebSocketIncomingMessage::String(text) = message else {
            send(&ws, &refused(ErrorCode::BadRequest, "frames are JSON text"));
            return Ok(());
        };
        if text == PING {
            let _ = ws.send_with_str(PONG); // the runtime answers pings itself; this is its fallback
            return Ok(());
        }
        match ClientFrame::parse(&text) {
            Err(e) => send(&ws, &HubFrame::Error(e)),
            Ok(ClientFrame::Chat(frame)) => self.hub.socket_chat(&ws, frame).await,
            Ok(ClientFrame::Stop { stream_id }) => {
                if !self.hub.stop(&stream_id) {
                    send(
                        &ws,
                        &refused(ErrorCode::NotFound, "no answer in flight with this stream id"),
                    );
                }
            }
            Ok(ClientFrame::Resume { stream_id, after_seq }) => self.hub.resume(&ws, &stream_id, after_seq),
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> worker::Result<()> {
        let _ = ws.close(Some(1000), Some("closed"));
        self.hub.left(&ws);
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        self.hub.left(&ws);
        Ok(())
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.hub.sweep().await;
        Response::empty()
    }
}

impl Hub {
    fn config(&self) -> Rc<Config> {
        Config::of(&self.env)
    }

    /// `POST /chat?transport=sse|json`: a question asked over HTTP.
    async fn http_chat(self: &Rc<Self>, mut req: Request) -> Result<Response> {
        let ask: Ask = req.json().await?;
        if param(&req.url()?, "transport") == "sse" {
            let (tx, rx) = mpsc::unbounded();
            self.ask(&ask.user_id, random_uuid()?, ask.request, Asker::Sse(tx))
                .await?;
            return sse_response(rx);
        }
        let (tx, rx) = oneshot::channel();
        self.ask(&ask.user_id, random_uuid()?, ask.request, Asker::Json(tx))
            .await?;
        match rx.await {
            Ok(Ok(answer)) => Response::from_json(&answer).map_err(Failure::from),
            Ok(Err(error)) => Err(Failure::Api(ApiError { error })),
            Err(_) => Err(Failure::Internal("the answer ended without a result".into())),
        }
    }

    /// `POST /stop {stream_id}`: a stop from HTTP.
    async fn http_stop(&self, mut req: Request) -> Result<Response> {
        let stop: datasage_shared::hub::StopRequest = req.json().await?;
        if !self.stop(&stop.stream_id) {
            return Err(Failure::api(
                ErrorCode::NotFound,
                "no answer in flight with this stream id",
            ));
        }
        Response::from_json(&serde_json::json!({"stopped": stop.stream_id})).map_err(Failure::from)
    }

    /// A question asked over a socket: refused with an `error` frame to that socket, or started.
    async fn socket_chat(self: &Rc<Self>, ws: &WebSocket, frame: ChatFrame) {
        let Some(user_id) = sockets::attachment(ws).map(|a| a.user_id) else {
            return send(
                ws,
                &refused(ErrorCode::Unauthorized, "this socket has no sign-in"),
            );
        };
        let started = match frame.request() {
            Ok(request) => self.ask(&user_id, frame.request_id, request, Asker::Socket).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = started {
            send(ws, &HubFrame::Error(e.into_api_error().error));
        }
    }

    /// Admits, checks and starts one answer, announcing it to every socket of the user.
    async fn ask(
        self: &Rc<Self>,
        user_id: &str,
        request_id: String,
        req: ChatRequest,
        asker: Asker,
    ) -> Result<Started> {
        let config = self.config();
        let hub = answer::Hub {
            env: &self.env,
            sql: &self.sql,
            budget: &self.budget,
        };
        let prepared = answer::prepare(hub, &config, user_id, req).await?;
        let started = Started {
            stream_id: random_uuid()?,
            session_id: prepared.job.session_id.clone(),
            request_id,
            question: prepared.job.question.clone(),
        };
        self.streams.open(&started)?;
        self.sockets.broadcast(&to_json(&started.frame()));
        let cancel = Cancel::default();
        self.live
            .borrow_mut()
            .insert(started.stream_id.clone(), cancel.clone());
        let hub = Rc::clone(self);
        let task = started.clone();
        wasm_bindgen_futures::spawn_local(async move { hub.run(task, prepared, asker, cancel).await });
        Ok(started)
    }

    /// Answers, then stores the answer once, whoever is still listening.
    async fn run(self: Rc<Self>, started: Started, prepared: Prepared, asker: Asker, cancel: Cancel) {
        // The asker gets its response first, so whatever happens to the answer is told inside its stream.
        Delay::from(Duration::ZERO).await;
        let Prepared { job, faults } = prepared;
        let (sse, reply) = match asker {
            Asker::Socket => (None, None),
            Asker::Sse(tx) => (Some(tx), None),
            Asker::Json(tx) => (None, Some(tx)),
        };
        let sink = self.sink(sse, cancel.clone());
        let subscribers = Subscribers::new(started.stream_id.clone(), started.session_id.clone(), sink);
        let mut em = Emitter::new(subscribers, cancel.clone());
        let (result, log) = chat::run(job, &mut em).await;
        drop(em); // ends an SSE client's stream before the writes below
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
        if cancel.is_cancelled() {
            let stream_id = started.stream_id.clone();
            self.sockets.broadcast(&to_json(&HubFrame::Stopped { stream_id }));
        }
        // Its final event went out: a tab connecting from now on is not told it runs (it would wait for
        // an end it already missed), and a stop has nothing left to stop.
        self.live.borrow_mut().remove(&started.stream_id);
        if let Err(e) = self.streams.end(&started.stream_id) {
            console_error!("hub: cannot end stream {}: {e}", started.stream_id);
        }
        let outcome = answer::store(&self.env, log, faults).await;
        self.streams.forget(&started.stream_id);
        // Forgotten before it is counted: a tab told the answer is stored finds it so.
        provider_health::count_storage(&self.env, outcome).await;
    }

    /// Where an answer's events go: kept for resumes, sent to every socket, and to the SSE client that
    /// asked, if one did — whose going away stops the answer.
    fn sink(&self, sse: Option<mpsc::UnboundedSender<SseEvent>>, cancel: Cancel) -> impl FnMut(&StreamFrame) {
        let (streams, sockets) = (self.streams.clone(), self.sockets.clone());
        let mut text_sent = false;
        move |frame: &StreamFrame| {
            let json = to_json(frame);
            sockets.broadcast(&json);
            if let Some(tx) = &sse {
                let text = matches!(frame.event, StreamEvent::Content { .. });
                let event = (sse::encode_data(&json).into_bytes(), text && text_sent);
                text_sent |= text;
                if tx.unbounded_send(event).is_err() {
                    cancel.cancel();
                }
            }
            streams.record(frame, json);
        }
    }

    /// Cancels an answer in flight; whether there was one.
    fn stop(&self, stream_id: &str) -> bool {
        match self.live.borrow().get(stream_id) {
            Some(cancel) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Sends a socket every kept event of a stream after `after_seq`.
    fn resume(&self, ws: &WebSocket, stream_id: &str, after_seq: u64) {
        match self.streams.after(stream_id, after_seq) {
            Ok(Some(frames)) => frames.iter().for_each(|f| {
                let _ = ws.send_with_str(f);
            }),
            Ok(None) => send(
                ws,
                &refused(
                    ErrorCode::NotFound,
                    "this stream is over; the conversation is stored",
                ),
            ),
            Err(e) => {
                console_error!("hub: cannot read stream {stream_id}: {e}");
                send(
                    ws,
                    &refused(ErrorCode::Internal, "something went wrong; please try again"),
                );
            }
        }
    }

    /// `GET /connect?jti&exp&auth_exp&user_id`: a ticket the worker verified; the hub says whether it was
    /// used before, then accepts the socket.
    async fn connect(&self, req: &Request) -> Result<Response> {
        let url = req.url()?;
        let num = |k: &str| param(&url, k).parse::<u64>().unwrap_or(0);
        if !self.redeem(&param(&url, "jti"), num("exp"))? {
            return Err(Failure::api(
                ErrorCode::Unauthorized,
                "ticket refused: it was used already",
            ));
        }
        let pair = WebSocketPair::new()?;
        let now = now_ms();
        let attachment = Attachment {
            user_id: param(&url, "user_id"),
            last_frame_ms: now,
            auth_exp: num("auth_exp"),
        };
        self.sockets.accept(&pair.server, attachment)?;
        for s in self.streams.running() {
            let _ = pair.server.send_with_str(to_json(&s.frame()));
        }
        self.sockets
            .announce(now, self.config().hub.heartbeat_window_ms, None);
        self.schedule(Some(now + 1_000)).await;
        Ok(Response::from_websocket(pair.client)?)
    }

    /// Marks a ticket used; false if it was already. Synchronous SQLite: two sockets cannot share one.
    fn redeem(&self, jti: &str, exp: u64) -> Result<bool> {
        let now_secs = (now_ms() / 1000) as i64;
        self.sql
            .exec("DELETE FROM used_tickets WHERE exp < ?", vec![now_secs.into()])?;
        let written = self
            .sql
            .exec(
                "INSERT OR IGNORE INTO used_tickets (jti, exp) VALUES (?, ?)",
                vec![jti.into(), (exp as i64).into()],
            )?
            .rows_written();
        Ok(!jti.is_empty() && written > 0)
    }

    /// A socket closed or failed: the other tabs get the new count.
    fn left(&self, ws: &WebSocket) {
        self.sockets.changed();
        self.sockets
            .announce(now_ms(), self.config().hub.heartbeat_window_ms, Some(ws));
    }

    /// The heartbeat check: closes silent and expired sockets, announces the new count, and comes back when
    /// the next socket may fall silent.
    async fn sweep(&self) {
        let (now, window) = (now_ms(), self.config().hub.heartbeat_window_ms);
        let (closed, next) = self.sockets.sweep(now, window);
        if closed {
            self.sockets.announce(now, window, None);
        }
        self.schedule(next).await;
    }

    async fn schedule(&self, at_ms: Option<u64>) {
        let Some(at) = at_ms else { return };
        let wait = Duration::from_millis(at.saturating_sub(now_ms()).max(50));
        if let Err(e) = self.sockets.state().storage().set_alarm(wait).await {
            console_error!("hub: cannot schedule the heartbeat check: {e}");
        }
    }
}

/// Most events sent in one chunk.
const EVENTS_PER_CHUNK: usize = 64;
/// Least time between two chunks of one answer: the events sent meanwhile go out together.
const CHUNK_EVERY_MS: u64 = 20;

/// The SSE body: an answer's text, after its first words, goes out at most every [`CHUNK_EVERY_MS`], what
/// came meanwhile together in one chunk; every other event, and text after a quiet spell, at once. Each
/// chunk crosses from wasm to JavaScript, out of this object and through the worker's guard, so under load
/// fewer crossings are what keeps up; a reader sees text at most 20 ms later, one screen frame.
fn sse_response(rx: mpsc::UnboundedReceiver<SseEvent>) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "text/event-stream; charset=utf-8")?;
    headers.set("cache-control", "no-cache, no-transform")?;
    headers.set("x-accel-buffering", "no")?;
    let body = futures::stream::unfold((rx, 0u64), |(mut rx, sent_ms)| async move {
        let (mut chunk, may_wait) = rx.next().await?;
        let wait = (sent_ms + CHUNK_EVERY_MS).saturating_sub(now_ms());
        if may_wait && wait > 0 {
            Delay::from(Duration::from_millis(wait)).await;
        }
        for _ in 1..EVENTS_PER_CHUNK {
            match rx.try_recv() {
                Ok((more, _)) => chunk.extend(more),
                Err(_) => break,
            }
        }
        Some((Ok::<Vec<u8>, worker::Error>(chunk), (rx, now_ms())))
    });
    Ok(Response::from_stream(body)?.with_headers(headers))
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn refused(code: ErrorCode, message: &str) -> HubFrame {
    HubFrame::Error(ApiError::new(code, message).error)
}

fn send(ws: &WebSocket, frame: &HubFrame) {
    let _ = ws.send_with_str(to_json(frame));
}
