//! The live hub's wire: the frames a browser tab and the user's hub exchange over a WebSocket, the
//! single-use ticket that opens the socket, and the rules the hub applies (which origins may connect,
//! which sockets still count as open tabs).
//!
//! Frames are JSON text `{"type": …, "data": {…}}`; an answer's events go out exactly as SSE has them,
//! with `stream_id`, `session_id` and `seq` beside `type` and `data` ([`StreamFrame`]). The heartbeat is
//! the bare text frame [`PING`], answered with [`PONG`] by the runtime without waking the hub.

use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ChatRequest, ErrorBody, ErrorCode, RequestBody, StreamFrame};
use crate::jwt::{self, JwtError};

/// The heartbeat a tab sends every [`PING_INTERVAL_SECS`] and the runtime's answer to it.
pub const PING: &str = "ping";
pub const PONG: &str = "pong";
pub const PING_INTERVAL_SECS: u64 = 30;

/// How long a ticket opens a socket for.
pub const TICKET_TTL_SECS: u64 = 60;

/// The largest frame a tab may send: a question and its ids.
pub const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;

/// The WebSocket close code the hub uses when the user's sign-in expired: fetch a new ticket and reconnect.
pub const CLOSE_AUTH_EXPIRED: u16 = 4001;

/// What a tab sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    content = "data",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum ClientFrame {
    /// Ask a question; `request_id` is the tab's own, echoed in `stream_started`.
    Chat(ChatFrame),
    /// Stop an answer in flight, whichever tab asked it.
    Stop { stream_id: String },
    /// Send again every event of a stream after `after_seq` (a tab that reconnected mid-answer).
    Resume { stream_id: String, after_seq: u64 },
}

/// A question asked over the socket: the chat request and the tab's id for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatFrame {
    pub request_id: String,
    pub message: String,
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind_to: Option<u32>,
}

impl ChatFrame {
    /// The same question as the HTTP endpoints take it, checked the same way.
    pub fn request(&self) -> Result<ChatRequest, ApiError> {
        let request = ChatRequest {
            message: self.message.clone(),
            session_id: self.session_id.clone(),
            dataset_id: self.dataset_id.clone(),
            rewind_to: self.rewind_to,
        };
        request.check()?;
        Ok(request)
    }
}

impl ClientFrame {
    /// Reads one text frame; a frame that is too large, not JSON or of an unknown type is refused with
    /// `BAD_REQUEST` and a message saying which.
    pub fn parse(text: &str) -> Result<ClientFrame, ErrorBody> {
        if text.len() > MAX_CLIENT_FRAME_BYTES {
            return Err(bad(format!("the frame is over {MAX_CLIENT_FRAME_BYTES} bytes")));
        }
        serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "expected {{\"type\": \"chat\" | \"stop\" | \"resume\", \"data\": {{…}}}}: {e}"
            ))
        })
    }
}

fn bad(message: String) -> ErrorBody {
    ApiError::new(ErrorCode::BadRequest, message).error
}

/// Body of `POST /api/v1/chat/stop`: stop an answer in flight, from any client of the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopRequest {
    pub stream_id: String,
}

impl RequestBody for StopRequest {
    const EXPECTED: &'static str = "expected {\"stream_id\": \"…\"}";
}

/// Answer of `POST /api/v1/ws/ticket`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketGrant {
    pub ticket: String,
    pub expires_in: u64,
}

/// What the hub sends besides an answer's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum HubFrame {
    /// To every socket of the user on each connect and disconnect.
    ConnectionStatus { status: String, active_tabs: usize },
    /// To every socket of the user when an answer starts, whichever transport asked.
    StreamStarted {
        stream_id: String,
        session_id: String,
        request_id: String,
        question: String,
    },
    /// A stop took effect.
    Stopped { stream_id: String },
    /// A frame was refused (bad JSON, unknown type, rate limited, another user's session).
    Error(ErrorBody),
}

impl HubFrame {
    pub fn connected(active_tabs: usize) -> Self {
        HubFrame::ConnectionStatus {
            status: "connected".into(),
            active_tabs,
        }
    }
}

/// Everything a tab reads off the socket: a hub frame or one event of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Incoming {
    Stream(StreamFrame),
    Hub(HubFrame),
}

/// What a ticket says: whose socket it opens, once (`jti`), until `exp`; `auth_exp` is when the sign-in
/// it was issued under expires, which is when the hub closes the socket with [`CLOSE_AUTH_EXPIRED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub sub: String,
    pub exp: u64,
    pub jti: String,
    pub auth_exp: u64,
}

/// Tickets are signed with a key of their own, so a ticket is never a sign-in token and a sign-in token
/// never a ticket.
fn ticket_key(secret: &[u8]) -> Vec<u8> {
    [secret, b"/ws-ticket"].concat()
}

impl Ticket {
    /// A ticket for `sub`, good for [`TICKET_TTL_SECS`] (never past the sign-in's own expiry).
    pub fn issue(sub: &str, auth_exp: u64, jti: String, now: u64, secret: &[u8]) -> String {
        let ticket = Ticket {
            sub: sub.to_owned(),
            exp: (now + TICKET_TTL_SECS).min(auth_exp),
            jti,
            auth_exp,
        };
        jwt::sign(&ticket, &ticket_key(secret))
    }

    /// The ticket's claims if its signature is ours and it has not expired (no leeway: it is seconds
    /// old). Whether it was used already is the hub's to say.
    pub fn verify(token: &str, secret: &[u8], now: u64) -> Result<Ticket, ApiError> {
        let refuse = |why: &str| ApiError::new(ErrorCode::Unauthorized, format!("ticket refused: {why}"));
        let ticket: Ticket = jwt::verify_signature(token, &ticket_key(secret)).map_err(|e| match e {
            JwtError::BadSignature => refuse("its signature does not match"),
            other => refuse(&other.to_string()),
        })?;
        if now >= ticket.exp {
            return Err(refuse("it expired; ask for a new one"));
        }
        if ticket.sub.trim().is_empty() || ticket.jti.is_empty() {
            return Err(refuse("it names no user"));
        }
        Ok(ticket)
    }
}

/// Whether a socket from `origin` may open: the app's own origin, or one listed in `ALLOWED_ORIGINS`.
/// A request without `Origin` is not from a browser page (browsers always send it on a WebSocket), so no
/// page can be borrowing the user's ticket, and it is let through.
pub fn origin_allowed(origin: Option<&str>, own: &str, allowed: &[String]) -> bool {
    match origin {
        None => true,
        Some(o) => {
            let o = o.trim_end_matches('/');
            o.eq_ignore_ascii_case(own.trim_end_matches('/'))
                || allowed
                    .iter()
                    .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(o))
        }
    }
}

/// Whether a socket still counts as an open tab: it said something (a ping, a frame, its connect) within
/// the last `window_ms`. A tab that died without a close frame stops counting once the window passes.
pub fn is_live(last_seen_ms: u64, now_ms: u64, window_ms: u64) -> bool {
    now_ms.saturating_sub(last_seen_ms) < window_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::StreamEvent;

    const SECRET: &[u8] = b"s3cret";
    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_ticket_opens_a_socket_for_its_user_for_sixty_seconds_and_no_longer() {
        let token = Ticket::issue("alice", NOW + 3600, "n-1".into(), NOW, SECRET);
        let ticket = Ticket::verify(&token, SECRET, NOW + 59).unwrap();
        assert_eq!((ticket.sub.as_str(), ticket.jti.as_str()), ("alice", "n-1"));
        assert_eq!(ticket.auth_exp, NOW + 3600);
        let expired = Ticket::verify(&token, SECRET, NOW + 60).unwrap_err();
        assert_eq!(expired.error.code, ErrorCode::Unauthorized);
        assert!(
            expired.error.message.contains("expired"),
            "{}",
            expired.error.message
        );
    }

    #[test]
    fn a_ticket_never_outlives_the_sign_in_it_came_from() {
        let token = Ticket::issue("alice", NOW + 10, "n-1".into(), NOW, SECRET);
        assert!(Ticket::verify(&token, SECRET, NOW + 9).is_ok());
        assert!(Ticket::verify(&token, SECRET, NOW + 10).is_err());
    }

    #[test]
    fn forged_tickets_and_sign_in_tokens_do_not_open_sockets() {
        let other_key = Ticket::issue("alice", NOW + 3600, "n".into(), NOW, b"not-ours");
        let sign_in = jwt::sign(
            &jwt::Claims {
                sub: "alice".into(),
                exp: NOW + 3600,
                nbf: None,
                iat: None,
            },
            SECRET,
        );
        for token in [other_key.as_str(), sign_in.as_str(), "garbage", ""] {
            let err = Ticket::verify(token, SECRET, NOW).unwrap_err();
            assert_eq!(err.error.code, ErrorCode::Unauthorized, "{token}");
        }
        let ticket = Ticket::issue("alice", NOW + 3600, "n".into(), NOW, SECRET);
        assert!(
            jwt::verify(&ticket, SECRET, NOW).is_err(),
            "a ticket is not a sign-in token"
        );
    }

    #[test]
    fn only_the_apps_own_origin_and_listed_ones_may_open_a_socket() {
        let own = "http://127.0.0.1:8787";
        let allowed = vec!["https://app.example.com".to_owned()];
        assert!(origin_allowed(Some("http://127.0.0.1:8787"), own, &allowed));
        assert!(origin_allowed(Some("https://APP.example.com/"), own, &allowed));
        assert!(origin_allowed(None, own, &allowed));
        for evil in ["https://evil.example", "http://127.0.0.1:8788", "null", ""] {
            assert!(!origin_allowed(Some(evil), own, &allowed), "{evil}");
        }
    }

    #[test]
    fn a_tab_silent_for_the_whole_window_no_longer_counts() {
        assert!(is_live(1_000, 90_999, 90_000));
        assert!(!is_live(1_000, 91_000, 90_000));
        assert!(is_live(5_000, 1_000, 90_000), "a clock step back keeps it");
    }

    #[test]
    fn tab_frames_read_as_documented_and_bad_ones_say_why() {
        let chat = ClientFrame::parse(
            r#"{"type":"chat","data":{"request_id":"r1","message":"How many rows?","session_id":"s1"}}"#,
        )
        .unwrap();
        let ClientFrame::Chat(frame) = chat else {
            panic!("{chat:?}")
        };
        assert_eq!(frame.request().unwrap().message, "How many rows?");
        assert_eq!(
            ClientFrame::parse(r#"{"type":"resume","data":{"stream_id":"x","after_seq":7}}"#).unwrap(),
            ClientFrame::Resume {
                stream_id: "x".into(),
                after_seq: 7
            }
        );
        for bad in [
            "not json",
            r#"{"type":"shout","data":{}}"#,
            r#"{"type":"stop","data":{}}"#,
            r#"{"type":"stop","data":{"stream_id":"x","extra":1}}"#,
        ] {
            let err = ClientFrame::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadRequest, "{bad}");
        }
        let huge = format!(
            r#"{{"type":"stop","data":{{"stream_id":"{}"}}}}"#,
            "x".repeat(MAX_CLIENT_FRAME_BYTES)
        );
        assert!(ClientFrame::parse(&huge).unwrap_err().message.contains("over"));
    }

    #[test]
    fn an_empty_question_over_the_socket_is_refused_like_over_http() {
        let frame = ChatFrame {
            request_id: "r".into(),
            message: "   ".into(),
            session_id: "s".into(),
            dataset_id: None,
            rewind_to: None,
        };
        let http = serde_json::from_str::<ChatRequest>(r#"{"message":"   ","session_id":"s"}"#)
            .unwrap()
            .check();
        assert_eq!(frame.request().err(), http.err());
    }

    #[test]
    fn a_tab_tells_answer_events_from_hub_frames() {
        let event = r#"{"type":"content","data":{"content":"Hi"},"stream_id":"a","session_id":"s","seq":7}"#;
        match serde_json::from_str::<Incoming>(event).unwrap() {
            Incoming::Stream(f) => {
                assert_eq!((f.seq, f.session_id.as_str()), (7, "s"));
                assert_eq!(f.event, StreamEvent::Content { content: "Hi".into() });
            }
            other => panic!("{other:?}"),
        }
        let status = serde_json::to_string(&HubFrame::connected(3)).unwrap();
        assert_eq!(
            status,
            r#"{"type":"connection_status","data":{"status":"connected","active_tabs":3}}"#
        );
        assert_eq!(
            serde_json::from_str::<Incoming>(&status).unwrap(),
            Incoming::Hub(HubFrame::connected(3))
        );
    }
}
