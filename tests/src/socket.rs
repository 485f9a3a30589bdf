//! A browser tab as tests see it: a real WebSocket to the user's hub, opened with a ticket, reading the
//! hub's frames as the app does.

use std::time::Duration;

use datasage_shared::api::StreamFrame;
use datasage_shared::hub::{HubFrame, Incoming, PING, PONG};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::Api;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a socket ended, when it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Closed { code: u16, reason: String },
    Dropped,
}

pub struct Tab {
    ws: Ws,
    pub ended: Option<Ended>,
}

/// Why a socket was not opened: the HTTP status and JSON body the server answered instead of upgrading.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl Api {
    /// `POST /api/v1/ws/ticket`.
    pub async fn ticket(&self, token: &str) -> String {
        let (status, _, body) = self.post("/api/v1/ws/ticket", Some(token), &json!({})).await;
        assert_eq!(status, 200, "{body}");
        body["ticket"].as_str().unwrap_or_default().to_owned()
    }

    /// A new tab of `token`'s user, from the app's own origin.
    pub async fn tab(&self, token: &str) -> Tab {
        let ticket = self.ticket(token).await;
        let origin = self.base.clone();
        self.open_socket(&ticket, Some(&origin))
            .await
            .unwrap_or_else(|e| panic!("the socket was refused: {e:?}"))
    }

    /// `GET /api/v1/ws/chat?ticket=…` with an optional `Origin`.
    pub async fn open_socket(&self, ticket: &str, origin: Option<&str>) -> Result<Tab, Refused> {
        let url = format!(
            "{}/api/v1/ws/chat?ticket={ticket}",
            self.base.replacen("http", "ws", 1)
        );
        let mut req = url
            .into_client_request()
            .map_err(|e| refused_by(0, &e.to_string()))?;
        if let Some(o) = origin {
            let value = o.parse().map_err(|_| refused_by(0, "bad origin"))?;
            req.headers_mut().insert("origin", value);
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(Tab { ws, ended: None }),
            Err(tungstenite::Error::Http(resp)) => {
                let status = resp.status().as_u16();
                let body = match resp
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                {
                    Some(body) => body,
                    None => self.refusal_body(ticket, origin).await,
                };
                Err(Refused { status, body })
            }
            Err(e) => Err(refused_by(0, &e.to_string())),
        }
    }
}

impl Api {
    /// The JSON body of a refused upgrade, asked again over plain HTTP: the handshake's error may carry
    /// only the status line when the body came in a later packet. (A refusal never uses the ticket up.)
    async fn refusal_body(&self, ticket: &str, origin: Option<&str>) -> Value {
        let mut req = self
            .http
            .get(self.url(&format!("/api/v1/ws/chat?ticket={ticket}")))
            .header("upgrade", "websocket");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        match req.send().await {
            Ok(resp) => resp.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }
}

fn refused_by(status: u16, message: &str) -> Refused {
    Refused {
        status,
        body: json!({ "error": { "message": message } }),
    }
}

impl Tab {
    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
    }

    pub async fn send_text(&mut self, text: &str) {
        let _ = self.ws.send(Message::text(text.to_owned())).await;
    }

    /// Asks a question; `request_id` is the tab's own id for it.
    pub async fn ask(&mut self, request_id: &str, message: &str, session: &str) {
        let data = json!({ "request_id": request_id, "message": message, "session_id": session });
        self.send(json!({ "type": "chat", "data": data })).await;
    }

    pub async fn ping(&mut self) {
        self.send_text(PING).await;
    }

    /// The next frame (a `pong` is skipped), or `None` if nothing came within `wait` or the socket ended.
    pub async fn next(&mut self, wait: Duration) -> Option<Incoming> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?;
            match msg {
                Some(Ok(Message::Text(t))) if t.as_str() == PONG => continue,
                Some(Ok(Message::Text(t))) => {
                    return Some(
                        serde_json::from_str(t.as_str())
                            .unwrap_or_else(|e| panic!("undecodable frame {t}: {e}")),
                    )
                }
                Some(Ok(Message::Close(frame))) => {
                    self.ended = Some(match frame {
                        Some(f) => Ended::Closed {
                            code: f.code.into(),
                            reason: f.reason.to_string(),
                        },
                        None => Ended::Closed {
                            code: 1005,
                            reason: String::new(),
                        },
                    });
                    return None;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    self.ended.get_or_insert(Ended::Dropped);
                    return None;
                }
            }
        }
    }

    /// Frames until one satisfies `done` (included) or `wait` passes without any.
    pub async fn until(&mut self, wait: Duration, done: impl Fn(&Incoming) -> bool) -> Vec<Incoming> {
        let mut got = Vec::new();
        while let Some(frame) = self.next(wait).await {
            let stop = done(&frame);
            got.push(frame);
            if stop {
                break;
            }
        }
        got
    }

    /// The events of stream `stream_id` until its final one.
    pub async fn answer(&mut self, stream_id: &str, wait: Duration) -> Vec<StreamFrame> {
        let frames = self
            .until(
                wait,
                |f| matches!(f, Incoming::Stream(s) if s.stream_id == stream_id && s.event.is_terminal()),
            )
            .await;
        events_of(&frames, stream_id)
    }

    /// The first `stream_started` (its stream id), skipping anything before it.
    pub async fn started(&mut self, wait: Duration) -> Option<String> {
        let frames = self
            .until(wait, |f| {
                matches!(f, Incoming::Hub(HubFrame::StreamStarted { .. }))
            })
            .await;
        frames.into_iter().find_map(|f| match f {
            Incoming::Hub(HubFrame::StreamStarted { stream_id, .. }) => Some(stream_id),
            _ => None,
        })
    }

    /// Closes the TCP connection without a close frame, as a crashed or killed tab does.
    pub fn kill(self) {
        drop(self.ws);
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The events of one stream among frames, in arrival order.
pub fn events_of(frames: &[Incoming], stream_id: &str) -> Vec<StreamFrame> {
    frames
        .iter()
        .filter_map(|f| match f {
            Incoming::Stream(s) if s.stream_id == stream_id => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The answer text a list of events shows (content after the last discard).
pub fn text_of(events: &[StreamFrame]) -> String {
    crate::client::shown_text(events.iter().map(|e| &e.event))
}
