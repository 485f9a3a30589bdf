//! The tab's end of the user's hub (the README's "Live sessions"): one WebSocket, opened with a
//! single-use ticket, kept alive with a `ping` every 30 s, and reopened after a drop — with exponential
//! backoff and jitter, at once when the browser is back online or the tab is shown again, and at once with
//! a new ticket when the hub closed it because the sign-in expired (4001). While no socket is open the
//! app asks over SSE: the same hub answers, so the other tabs still see the answer.

use std::rc::Rc;

use datasage_shared::hub::{
    backoff_ms, ClientFrame, Incoming, TicketGrant, CLOSE_AUTH_EXPIRED, PING, PING_INTERVAL_SECS, PONG,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, VisibilityState, WebSocket};

use crate::api;
use crate::json::decode;

/// How the tab reaches its hub, as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Open,
    /// The socket dropped and the next try is scheduled; questions go over SSE meanwhile.
    Reconnecting,
    /// No socket could be opened at all: questions go over SSE, and it keeps trying quietly.
    Sse,
}

impl Link {
    /// As the page's `data-link` attribute has it.
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Connecting => "connecting",
            Link::Open => "open",
            Link::Reconnecting => "reconnecting",
            Link::Sse => "sse",
        }
    }
}

/// Failed tries before a tab that never had a socket settles for SSE.
const TRIES_BEFORE_SSE: u32 = 3;

/// The tab's link to its hub. `Copy`, so handlers can capture it freely.
#[derive(Clone, Copy)]
pub struct Live {
    pub link: RwSignal<Link>,
    state: StoredValue<State, LocalStorage>,
}

#[derive(Default)]
struct State {
    socket: Option<Socket>,
    /// Tries that failed since the last open socket.
    failures: u32,
    ever_open: bool,
    /// A ticket is being fetched for a new socket.
    opening: bool,
    /// The scheduled reconnect, if one is.
    retry: Option<i32>,
    on_frame: Option<Rc<dyn Fn(Incoming)>>,
    on_open: Option<Rc<dyn Fn()>>,
}

/// A socket and the handlers it calls, which live exactly as long as it does.
struct Socket {
    ws: WebSocket,
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

impl Live {
    pub fn new() -> Self {
        Self {
            link: RwSignal::new(Link::Connecting),
            state: StoredValue::new_local(State::default()),
        }
    }

    /// Opens the socket and keeps it open for the life of the page: `on_frame` gets every frame the hub
    /// sends, `on_open` runs on every (re)open.
    pub fn start(self, on_frame: impl Fn(Incoming) + 'static, on_open: impl Fn() + 'static) {
        self.state.update_value(|s| {
            s.on_frame = Some(Rc::new(on_frame));
            s.on_open = Some(Rc::new(on_open));
        });
        self.watch_the_browser();
        self.connect();
    }

    /// Sends `frame` if the socket is open; `false` if it is not (the caller then uses HTTP).
    pub fn send(self, frame: &ClientFrame) -> bool {
        let Ok(json) = serde_json::to_string(frame) else {
            return false;
        };
        self.link.get_untracked() == Link::Open
            && self
                .state
                .with_value(|s| s.socket.as_ref().map(|sock| sock.ws.send_with_str(&json).is_ok()))
                .unwrap_or(false)
    }

    /// Opens a new socket now, unless one is open or opening.
    fn connect(self) {
        let busy = self.state.with_value(|s| {
            s.opening
                || s.socket.as_ref().is_some_and(|sock| {
                    matches!(sock.ws.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN)
                })
        });
        if busy {
            return;
        }
        self.state.update_value(|s| s.opening = true);
        if let Some(handle) = self.state.try_update_value(|s| s.retry.take()).flatten() {
            if let Some(w) = web_sys::window() {
                w.clear_timeout_with_handle(handle);
            }
        }
        spawn_local(async move {
            let opened = self.open().await;
            self.state.update_value(|s| s.opening = false);
            if let Err(why) = opened {
                web_sys::console::warn_1(&format!("live updates: {why}").into());
                self.closed(0);
            }
        });
    }

    async fn open(self) -> Result<(), String> {
        let grant: TicketGrant = api::send_json("POST", "/api/v1/ws/ticket", &())
            .await
            .map_err(|e| e.explain())?;
        let ws = WebSocket::new(&socket_url(&grant.ticket)?)
            .map_err(|_| "this browser cannot open a WebSocket".to_owned())?;
        let onopen = Closure::<dyn FnMut(JsValue)>::new(move |_| self.opened());
        let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            if let Some(text) = ev.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                self.received(&text);
            }
        });
        let onclose = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            self.closed(ev.dyn_ref::<CloseEvent>().map_or(0, CloseEvent::code));
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        let socket = Socket {
            ws,
            _handlers: [onopen, onmessage, onclose],
        };
        // The socket it replaces is closed; its handlers are not running (this is not one of them).
        self.state.update_value(|s| s.socket = Some(socket));
        Ok(())
    }

    fn opened(self) {
        self.state.update_value(|s| {
            s.failures = 0;
            s.ever_open = true;
        });
        self.link.set(Link::Open);
        if let Some(on_open) = self.state.with_value(|s| s.on_open.clone()) {
            on_open();
        }
    }

    fn received(self, text: &str) {
        if text == PONG {
            return;
        }
        match decode::<Incoming>(text) {
            Ok(frame) => {
                if let Some(on_frame) = self.state.with_value(|s| s.on_frame.clone()) {
                    on_frame(frame);
                }
            }
            Err(e) => web_sys::console::warn_1(&format!("skipped a frame the app cannot read ({e})").into()),
        }
    }

    /// The socket closed (or could not open): try again, at once after a 4001, otherwise after a wait.
    fn closed(self, code: u16) {
        let (failures, ever_open) = self.state.with_value(|s| (s.failures, s.ever_open));
        self.link
            .set(match (ever_open, failures + 1 >= TRIES_BEFORE_SSE) {
                (true, _) => Link::Reconnecting,
                (false, true) => Link::Sse,
                (false, false) => Link::Connecting,
            });
        self.state
            .update_value(|s| s.failures = s.failures.saturating_add(1));
        if code == CLOSE_AUTH_EXPIRED {
            return self.connect();
        }
        let wait = backoff_ms(failures, js_sys::Math::random());
        let retry = Closure::once_into_js(move || {
            self.state.update_value(|s| s.retry = None);
            self.connect();
        });
        let handle = web_sys::window().and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), wait as i32)
                .ok()
        });
        self.state.update_value(|s| s.retry = handle);
    }

    /// Reconnects at once when the browser is back online or the tab is shown again, and pings every
    /// 30 s. These handlers live as long as the page, so they are handed to it (`forget`).
    fn watch_the_browser(self) {
        let (Some(window), Some(document)) =
            (web_sys::window(), web_sys::window().and_then(|w| w.document()))
        else {
            return;
        };
        let again = Closure::<dyn FnMut()>::new(move || {
            let shown = web_sys::window()
                .and_then(|w| w.document())
                .is_none_or(|d| d.visibility_state() == VisibilityState::Visible);
            if shown && self.link.get_untracked() != Link::Open {
                self.connect();
            }
        });
        let _ = window.add_event_listener_with_callback("online", again.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback("visibilitychange", again.as_ref().unchecked_ref());
        again.forget();
        let ping = Closure::<dyn FnMut()>::new(move || {
            if self.link.get_untracked() == Link::Open {
                self.state
                    .with_value(|s| s.socket.as_ref().map(|sock| sock.ws.send_with_str(PING)));
            }
        });
        let every = (PING_INTERVAL_SECS * 1000) as i32;
        let _ = window
            .set_interval_with_callback_and_timeout_and_arguments_0(ping.as_ref().unchecked_ref(), every);
        ping.forget();
    }
}

/// `ws(s)://<this host>/api/v1/ws/chat?ticket=…`.
fn socket_url(ticket: &str) -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().map_err(|_| "no host")?;
    let ticket = String::from(js_sys::encode_uri_component(ticket));
    Ok(format!("{scheme}://{host}/api/v1/ws/chat?ticket={ticket}"))
}
