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
    /// A conversation was renamed or deleted: tabs read the list again.
    SessionsChanged,
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

/// The first and the longest wait before reopening a dropped socket.
pub const BACKOFF_MIN_MS: u64 = 500;
pub const BACKOFF_MAX_MS: u64 = 30_000;

/// How long to wait before the `failures`-th try (0 after the first drop) to reopen a socket: doubling
/// from [`BACKOFF_MIN_MS`] up to [`BACKOFF_MAX_MS`], with `unit` (a random number in 0..1) spreading each
/// wait over its upper half, so a thousand tabs dropped by one deploy do not come back in one instant.
pub fn backoff_ms(failures: u32, unit: f64) -> u64 {
    let ceiling = BACKOFF_MIN_MS
        .saturating_mul(1u64 << failures.min(16))
        .min(BACKOFF_MAX_MS);
    let spread = (ceiling / 2) as f64 * unit.clamp(0.0, 1.0);
    (ceiling / 2 + spread as u64).clamp(BACKOFF_MIN_MS, BACKOFF_MAX_MS)
}

/// A tab's place in one answer's stream: the events it has shown, in order, so a replay after a
/// reconnect shows the rest of the answer with nothing twice and nothing missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub stream_id: String,
    /// The last `seq` shown (0 before the first event).
    shown: u64,
    /// The `shown` a resume was last asked after, so one gap asks once.
    resumed_after: Option<u64>,
}

/// What to do with one frame of the stream a tab follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next event: show it.
    Show,
    /// Shown already, or another answer's.
    Skip,
    /// Events are missing before this one (it arrived before a replay did): not shown; send the resume,
    /// if there is one, to fetch the missing events, this one included.
    Gap(Option<ClientFrame>),
}

impl Follow {
    pub fn new(stream_id: String) -> Self {
        Self {
            stream_id,
            shown: 0,
            resumed_after: None,
        }
    }

    pub fn take(&mut self, frame: &StreamFrame) -> Step {
        if frame.stream_id != self.stream_id || frame.seq <= self.shown {
            Step::Skip
        } else if frame.seq == self.shown + 1 {
            self.shown = frame.seq;
            Step::Show
        } else if self.resumed_after == Some(self.shown) {
            Step::Gap(None)
        } else {
            Step::Gap(Some(self.resume()))
        }
    }

    /// What to ask the hub for to get every event after the ones shown (after a reconnect, say).
    pub fn resume(&mut self) -> ClientFrame {
        self.resumed_after = Some(self.shown);
        ClientFrame::Resume {
            stream_id: self.stream_id.clone(),
            after_seq: self.shown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::StreamEvent;

    #[test]
    fn reconnect_waits_grow_from_half_a_second_to_thirty_and_are_spread_out() {
        assert_eq!(backoff_ms(0, 0.0), BACKOFF_MIN_MS);
        assert_eq!(backoff_ms(0, 1.0), BACKOFF_MIN_MS);
        assert_eq!((backoff_ms(3, 0.0), backoff_ms(3, 1.0)), (2_000, 4_000));
        for failures in [6, 7, 20, u32::MAX] {
            assert_eq!(backoff_ms(failures, 0.0), 15_000);
            assert_eq!(backoff_ms(failures, 1.0), BACKOFF_MAX_MS);
        }
        let waits: Vec<u64> = (0..12).map(|n| backoff_ms(n, 0.5)).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
    }

    fn frame(stream_id: &str, seq: u64) -> StreamFrame {
        StreamFrame {
            event: StreamEvent::Content {
                content: format!("{seq} "),
            },
            session_id: "s".into(),
            stream_id: stream_id.into(),
            seq,
        }
    }

    #[test]
    fn a_replay_after_a_reconnect_shows_only_what_the_tab_had_not_shown() {
        let mut follow = Follow::new("a".into());
        let shown: Vec<u64> = [1, 2, 3, 2, 3, 4, 5, 4]
            .into_iter()
            .filter(|&seq| follow.take(&frame("a", seq)) == Step::Show)
            .collect();
        assert_eq!(shown, [1, 2, 3, 4, 5]);
        assert_eq!(follow.take(&frame("b", 9)), Step::Skip, "another answer's event");
    }

    #[test]
    fn live_events_that_overtake_a_replay_wait_for_it_and_ask_for_it_once() {
        let mut follow = Follow::new("a".into());
        let resume = |after_seq| {
            Step::Gap(Some(ClientFrame::Resume {
                stream_id: "a".into(),
                after_seq,
            }))
        };
        // A tab that joins mid-answer hears event 7 live before its replay of 1…7 arrives.
        assert_eq!(follow.take(&frame("a", 7)), resume(0));
        assert_eq!(follow.take(&frame("a", 8)), Step::Gap(None));
        let shown: Vec<u64> = (1..=8)
            .filter(|&seq| follow.take(&frame("a", seq)) == Step::Show)
            .collect();
        assert_eq!(shown, (1..=8).collect::<Vec<_>>());
        assert_eq!(follow.take(&frame("a", 10)), resume(8), "a new gap asks again");
    }

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
                role: None,
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
