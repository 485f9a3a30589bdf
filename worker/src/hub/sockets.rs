//! The user's open tabs: WebSockets accepted with the hibernation API, so the hub may sleep between
//! frames. What the hub knows of a socket lives in its attachment; the heartbeat (`ping` → `pong`) is
//! answered by the runtime without waking the hub, which reads when it last answered instead.
//!
//! A socket counts as an open tab while it is open and said something within the heartbeat window; past
//! the window, or past its sign-in's expiry, [`sweep`] closes it. That is what keeps `active_tabs` right
//! when a tab dies without a close frame.

use std::cell::RefCell;
use std::rc::Rc;

use datasage_shared::hub::{is_live, HubFrame, CLOSE_AUTH_EXPIRED, PING, PONG};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::web_sys;
use worker::worker_sys::{DurableObjectState, WebSocketRequestResponsePair};
use worker::{console_warn, State, WebSocket};

/// What the hub keeps on each socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    /// Whose socket (the hub is one user's, but questions are claimed in D1 under this id).
    pub user_id: String,
    /// When the socket last sent a frame (or connected), ms.
    pub last_frame_ms: u64,
    /// When the sign-in the socket was opened under expires, Unix seconds.
    pub auth_exp: u64,
}

/// The hub's view of its sockets: the runtime's state object, kept raw for what workers-rs does not bind,
/// and the list of sockets, asked of the runtime once and again only after one is accepted, closed or
/// fails — not for each of the many events an answer fans out.
#[derive(Clone)]
pub struct Sockets {
    raw: JsValue,
    known: Rc<RefCell<Option<Vec<WebSocket>>>>,
}

impl Sockets {
    /// Sets the heartbeat's auto-response once per instance.
    pub fn new(raw: DurableObjectState) -> Self {
        let sockets = Self {
            raw: raw.into(),
            known: Rc::default(),
        };
        match WebSocketRequestResponsePair::new(PING, PONG) {
            Ok(pair) => sockets.state().set_websocket_auto_response(&pair),
            Err(e) => console_warn!("hub: cannot set the ping auto-response: {e:?}"),
        }
        sockets
    }

    pub fn state(&self) -> State {
        State::from(self.raw.clone().unchecked_into::<DurableObjectState>())
    }

    /// When the runtime last answered this socket's `ping`: `getWebSocketAutoResponseTimestamp`, which
    /// workers-rs 0.8 does not bind.
    fn last_pong_ms(&self, ws: &WebSocket) -> u64 {
        let method = js_sys::Reflect::get(&self.raw, &"getWebSocketAutoResponseTimestamp".into());
        method
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call1(&self.raw, ws.as_ref()).ok())
            .and_then(|v| v.dyn_into::<js_sys::Date>().ok())
            .map_or(0, |d| d.get_time() as u64)
    }

    /// Every socket the runtime holds for this hub.
    fn all(&self) -> Vec<WebSocket> {
        let mut known = self.known.borrow_mut();
        known.get_or_insert_with(|| self.state().get_websockets()).clone()
    }

    /// A socket came or went: the list is asked of the runtime again when next needed.
    pub fn changed(&self) {
        self.known.borrow_mut().take();
    }

    /// Accepts the server end of a new socket.
    pub fn accept(&self, ws: &WebSocket, attachment: Attachment) -> worker::Result<()> {
        self.state().accept_web_socket(ws);
        self.changed();
        ws.serialize_attachment(attachment)
    }

    /// Notes that a socket just sent a frame.
    pub fn seen(&self, ws: &WebSocket, now_ms: u64) {
        if let Some(mut a) = attachment(ws) {
            a.last_frame_ms = now_ms;
            let _ = ws.serialize_attachment(a);
        }
    }

    /// When the socket last showed it is alive: its last frame or the runtime's last `pong` to it.
    fn last_seen_ms(&self, ws: &WebSocket, a: &Attachment) -> u64 {
        a.last_frame_ms.max(self.last_pong_ms(ws))
    }

    /// The open tabs: sockets open and alive within `window_ms`, except `leaving` (one being closed).
    pub fn open(&self, now_ms: u64, window_ms: u64, leaving: Option<&WebSocket>) -> Vec<WebSocket> {
        self.all()
            .into_iter()
            .filter(|ws| leaving.is_none_or(|l| !same(l, ws)))
            .filter(|ws| ws.as_ref().ready_state() == web_sys::WebSocket::OPEN)
            .filter(|ws| {
                attachment(ws).is_some_and(|a| is_live(self.last_seen_ms(ws, &a), now_ms, window_ms))
            })
            .collect()
    }

    /// Sends one frame (JSON text) to every socket of the user that is open.
    pub fn broadcast(&self, json: &str) {
        for ws in self.all() {
            if ws.as_ref().ready_state() == web_sys::WebSocket::OPEN {
                let _ = ws.send_with_str(json);
            }
        }
    }

    /// Tells every open tab how many tabs are open (`leaving` is not one of them any more).
    pub fn announce(&self, now_ms: u64, window_ms: u64, leaving: Option<&WebSocket>) {
        let tabs = self.open(now_ms, window_ms, leaving);
        let frame = HubFrame::connected(tabs.len());
        if let Ok(json) = serde_json::to_string(&frame) {
            for ws in &tabs {
                let _ = ws.send_with_str(&json);
            }
        }
    }

    /// Closes sockets silent for the whole window (gone without a close frame) and sockets whose sign-in
    /// expired (code 4001: the tab gets a new ticket and reconnects). Returns whether any were closed and
    /// when the next check is due (ms), if any socket is left.
    pub fn sweep(&self, now_ms: u64, window_ms: u64) -> (bool, Option<u64>) {
        let mut closed = false;
        let mut next: Option<u64> = None;
        for ws in self.all() {
            let Some(a) = attachment(&ws) else { continue };
            let last = self.last_seen_ms(&ws, &a);
            if a.auth_exp.saturating_mul(1000) <= now_ms {
                let _ = ws.close(Some(CLOSE_AUTH_EXPIRED), Some("the sign-in expired"));
                closed = true;
            } else if !is_live(last, now_ms, window_ms) {
                let _ = ws.close(Some(1001), Some("no ping within the heartbeat window"));
                closed = true;
            } else {
                let due = (last + window_ms).min(a.auth_exp.saturating_mul(1000));
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        if closed {
            self.changed();
        }
        (closed, next)
    }
}

pub fn attachment(ws: &WebSocket) -> Option<Attachment> {
    ws.deserialize_attachment().ok().flatten()
}

fn same(a: &WebSocket, b: &WebSocket) -> bool {
    let (a, b): (&JsValue, &JsValue) = (a.as_ref().as_ref(), b.as_ref().as_ref());
    a == b
}
