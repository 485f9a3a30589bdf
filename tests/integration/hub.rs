//! The live hub through `wrangler dev`: real WebSockets of one user (tabs) and of others, against the
//! `hub` instance (the mock provider as OpenAI, a heartbeat window of 3 s).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use datasage_shared::api::{ErrorCode, StreamEvent, StreamFrame};
use datasage_shared::hub::{HubFrame, Incoming, Ticket, CLOSE_AUTH_EXPIRED};
use datasage_shared::jwt::{self, Claims};
use datasage_tests::client::{fresh_user, token_for, unix_now, Api};
use datasage_tests::socket::{events_of, text_of, Ended, Tab};
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};
use serde_json::json;

use crate::{chat_body, logged_calls, Ctx};

const WAIT: Duration = Duration::from_secs(20);

/// What a tab shows of a stream: each event once, by its number (a tab drops a number it already has).
fn by_seq(events: &[StreamFrame]) -> BTreeMap<u64, StreamEvent> {
    events.iter().map(|e| (e.seq, e.event.clone())).collect()
}

fn error_code(frame: &Incoming) -> Option<ErrorCode> {
    match frame {
        Incoming::Hub(HubFrame::Error(e)) => Some(e.code),
        _ => None,
    }
}

/// What `tab` is told over 2 s, asserting that none of it is an event of `stream_id`: the refusals' codes.
async fn refusals_without_events(tab: &mut Tab, stream_id: &str, why: &str) -> Vec<ErrorCode> {
    let seen = tab.until(Duration::from_secs(2), |_| false).await;
    assert!(events_of(&seen, stream_id).is_empty(), "{why}");
    seen.iter().filter_map(error_code).collect()
}

async fn tabs(c: &Ctx, token: &str, n: usize) -> Vec<Tab> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(c.hub.tab(token).await);
    }
    out
}

pub async fn three_tabs_of_one_user_get_the_same_numbered_answer_asked_in_one(c: Arc<Ctx>) {
    let user = fresh_user("tabs");
    let token = token_for(&user);
    let mut t = tabs(&c, &token, 3).await;
    t[0].ask("r-1", &format!("How many rows? {user}"), &user).await;
    let mut seen = Vec::new();
    for tab in t.iter_mut() {
        let stream_id = tab.started(WAIT).await.expect("every tab hears the answer start");
        seen.push((stream_id.clone(), tab.answer(&stream_id, WAIT).await));
    }
    let (stream_id, first) = &seen[0];
    assert!(matches!(
        first.last().map(|e| &e.event),
        Some(StreamEvent::Complete(_))
    ));
    let seqs: Vec<u64> = first.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=first.len() as u64).collect::<Vec<_>>(),
        "numbered 1, 2, 3… with no gap"
    );
    assert!(first.iter().all(|e| e.session_id == user));
    for (other_id, events) in &seen[1..] {
        assert_eq!(other_id, stream_id);
        assert_eq!(events, first, "every tab gets the same events");
    }
    assert!(text_of(first).contains("3,000 rows"), "{}", text_of(first));
}

pub async fn a_stop_from_another_tab_aborts_the_provider_call_upstream_and_every_tab_sees_it(c: Arc<Ctx>) {
    let user = fresh_user("stop");
    let token = token_for(&user);
    let mut t = tabs(&c, &token, 2).await;
    t[0].ask("r-1", &format!("Long answer please [mock:paced] {user}"), &user)
        .await;
    let stream_id = t[1].started(WAIT).await.expect("the other tab hears it start");
    t[1].until(
        WAIT,
        |f| matches!(f, Incoming::Stream(s) if matches!(s.event, StreamEvent::Content { .. })),
    )
    .await;
    t[1].send(json!({"type": "stop", "data": {"stream_id": stream_id}}))
        .await;
    let stopped_at = tokio::time::Instant::now();
    let seq = c.mock.requests_containing(&user)[0].seq;
    while !c.mock.was_aborted(seq) && stopped_at.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(c.mock.was_aborted(seq), "the mock saw its connection close");
    assert!(
        stopped_at.elapsed() < Duration::from_secs(1),
        "aborted upstream within 1 s of the stop ({:?})",
        stopped_at.elapsed()
    );
    let mut shown = Vec::new();
    for tab in t.iter_mut() {
        let frames = tab
            .until(WAIT, |f| matches!(f, Incoming::Hub(HubFrame::Stopped { .. })))
            .await;
        assert!(
            frames
                .iter()
                .any(|f| matches!(f, Incoming::Hub(HubFrame::Stopped { stream_id: s }) if *s == stream_id)),
            "every tab sees the answer stopped"
        );
        shown.push(text_of(&events_of(&frames, &stream_id)));
    }
    let calls = logged_calls(&c.hub, &token, &user, |calls| !calls.is_empty()).await;
    assert_eq!(calls[0]["status"], "cancelled");
    // The partial answer is stored as stopped, with the text the asking tab showed.
    let (status, detail) = c.hub.get(&format!("/api/v1/sessions/{user}"), Some(&token)).await;
    assert_eq!(status, 200, "{detail}");
    let reply = &detail["messages"][1];
    assert_eq!(reply["stopped"], true, "{detail}");
    assert!(!shown[0].is_empty());
    assert_eq!(reply["content"].as_str(), Some(shown[0].as_str()));
}

pub async fn a_rename_or_delete_in_one_tab_reaches_the_users_other_tabs(c: Arc<Ctx>) {
    let user = fresh_user("renamed");
    let token = token_for(&user);
    let (status, _, body) = c.hub.chat(&token, "How many rows?", &user).await;
    assert_eq!(status, 200, "{body}");
    let mut other = c.hub.tab(&token).await;
    let path = format!("/api/v1/sessions/{user}");
    let (status, _) = c.hub.patch(&path, &token, &json!({"title": "Renamed"})).await;
    assert_eq!(status, 200);
    let changed = |f: &Incoming| matches!(f, Incoming::Hub(HubFrame::SessionsChanged));
    assert!(
        other.until(WAIT, changed).await.iter().any(changed),
        "told of the rename"
    );
    assert_eq!(c.hub.delete(&path, &token).await, 204);
    assert!(
        other.until(WAIT, changed).await.iter().any(changed),
        "told of the delete"
    );
}

pub async fn closing_the_tab_that_asked_does_not_stop_the_answer(c: Arc<Ctx>) {
    let user = fresh_user("close");
    let token = token_for(&user);
    let mut t = tabs(&c, &token, 2).await;
    t[0].ask("r-1", &format!("Long answer please [mock:paced] {user}"), &user)
        .await;
    let stream_id = t[0].started(WAIT).await.expect("started");
    let asking = t.remove(0);
    asking.kill();
    let events = t[0].answer(&stream_id, WAIT).await;
    assert!(
        matches!(events.last().map(|e| &e.event), Some(StreamEvent::Complete(_))),
        "the answer runs on for the other tab: {:?}",
        events.last()
    );
    let stored = stored_answer(&c, &token, &user).await;
    assert_eq!(stored, text_of(&events), "and it is stored");
}

/// The stored answer of a conversation's only exchange, once it is there.
async fn stored_answer(c: &Ctx, token: &str, session: &str) -> String {
    for _ in 0..50 {
        let (status, body) = c
            .hub
            .get(&format!("/api/v1/sessions/{session}"), Some(token))
            .await;
        if status == 200 {
            if let Some(text) = body["messages"]
                .as_array()
                .and_then(|m| m.iter().rev().find(|m| m["role"] == "assistant"))
                .and_then(|m| m["content"].as_str())
            {
                return text.to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the answer of {session} was never stored");
}

pub async fn a_tab_that_reconnects_mid_answer_resumes_with_nothing_duplicated_or_missing(c: Arc<Ctx>) {
    let user = fresh_user("resume");
    let token = token_for(&user);
    let mut tab = c.hub.tab(&token).await;
    tab.ask("r-1", &format!("Long answer please [mock:paced] {user}"), &user)
        .await;
    let stream_id = tab.started(WAIT).await.expect("started");
    let before = tab
        .until(WAIT, |f| {
            matches!(f, Incoming::Stream(s) if matches!(s.event, StreamEvent::Content { .. }) && s.seq >= 8)
        })
        .await;
    let before = events_of(&before, &stream_id);
    let had = before.last().map_or(0, |e| e.seq);
    tab.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = c.hub.tab(&token).await;
    again
        .send(json!({"type": "resume", "data": {"stream_id": stream_id, "after_seq": had}}))
        .await;
    let after = again.answer(&stream_id, WAIT).await;
    assert!(
        after.iter().all(|e| e.seq > had),
        "nothing the tab had comes again"
    );
    let mut all = by_seq(&before);
    all.extend(by_seq(&after));
    let seqs: Vec<u64> = all.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "no event missing"
    );
    let frames: Vec<StreamFrame> = all
        .into_iter()
        .map(|(seq, event)| StreamFrame {
            session_id: user.clone(),
            stream_id: stream_id.clone(),
            seq,
            event,
        })
        .collect();
    assert!(matches!(
        frames.last().map(|e| &e.event),
        Some(StreamEvent::Complete(_))
    ));
    assert_eq!(
        stored_answer(&c, &token, &user).await,
        text_of(&frames),
        "the text adds up to the answer"
    );
    let (_, late) = c.hub.get(&format!("/api/v1/sessions/{user}"), Some(&token)).await;
    assert_eq!(late["messages"].as_array().map(Vec::len), Some(2));
}

/// The hub keeps an answer's events until the answer is stored; a tab that comes back later is sent to
/// the stored conversation (`NOT_FOUND` on its resume), which holds the same answer.
pub async fn a_tab_back_after_the_answer_was_stored_is_sent_to_the_stored_conversation(c: Arc<Ctx>) {
    let user = fresh_user("resume-late");
    let token = token_for(&user);
    let mut tab = c.hub.tab(&token).await;
    tab.ask("r-1", &format!("How many rows? {user}"), &user).await;
    let stream_id = tab.started(WAIT).await.expect("started");
    let events = tab.answer(&stream_id, WAIT).await;
    tab.kill();
    let stored = stored_answer(&c, &token, &user).await;
    assert_eq!(stored, text_of(&events), "the answer is stored");
    let mut again = c.hub.tab(&token).await;
    again
        .send(json!({"type": "resume", "data": {"stream_id": stream_id, "after_seq": 2}}))
        .await;
    let codes = refusals_without_events(
        &mut again,
        &stream_id,
        "no event of the stored answer comes again",
    )
    .await;
    assert_eq!(
        codes,
        [ErrorCode::NotFound],
        "the resume is told the stream is over"
    );
}

pub async fn a_tab_gone_without_a_close_frame_stops_counting_within_the_heartbeat_window(c: Arc<Ctx>) {
    let user = fresh_user("heartbeat");
    let token = token_for(&user);
    let mut stays = c.hub.tab(&token).await;
    let goes = c.hub.tab(&token).await;
    let two = stays
        .until(WAIT, |f| {
            matches!(
                f,
                Incoming::Hub(HubFrame::ConnectionStatus { active_tabs: 2, .. })
            )
        })
        .await;
    assert!(!two.is_empty(), "two tabs counted");
    goes.kill();
    let started = tokio::time::Instant::now();
    let mut counted_one = false;
    while started.elapsed() < Duration::from_secs(8) && !counted_one {
        stays.ping().await;
        if let Some(Incoming::Hub(HubFrame::ConnectionStatus { active_tabs, .. })) =
            stays.next(Duration::from_millis(500)).await
        {
            counted_one = active_tabs == 1;
        }
    }
    assert!(
        counted_one,
        "the dead tab stopped counting within the 3 s window and a sweep"
    );
    // Pings are answered by the runtime without waking the hub; the sweep reads when it last answered.
    // A tab that only pings, for longer than the window, stays open.
    let pinging = tokio::time::Instant::now();
    while pinging.elapsed() < Duration::from_secs(5) && stays.ended.is_none() {
        stays.ping().await;
        let _ = stays.next(Duration::from_millis(500)).await;
    }
    assert!(
        stays.ended.is_none(),
        "the tab that pings stays open past the window: {:?}",
        stays.ended
    );
}

pub async fn tickets_are_single_use_short_lived_signed_and_bound_to_the_origin(c: Arc<Ctx>) {
    let user = fresh_user("ticket");
    let token = token_for(&user);
    let own = c.hub.base.clone();
    let refused = |r: Result<Tab, datasage_tests::socket::Refused>| match r {
        Ok(_) => panic!("the socket opened"),
        Err(e) => (
            e.status,
            e.body["error"]["code"].as_str().unwrap_or_default().to_owned(),
        ),
    };
    let (status, _, _) = c.hub.post("/api/v1/ws/ticket", None, &json!({})).await;
    assert_eq!(status, 401, "a ticket needs a sign-in");
    let unauthorized = (401, "UNAUTHORIZED".to_owned());
    assert_eq!(refused(c.hub.open_socket("", Some(&own)).await), unauthorized);
    assert_eq!(
        refused(c.hub.open_socket("forged.ticket.x", Some(&own)).await),
        unauthorized
    );
    assert_eq!(
        refused(c.hub.open_socket(&token, Some(&own)).await),
        unauthorized,
        "a sign-in token is no ticket"
    );
    let old = Ticket::issue(
        &user,
        unix_now() + 3600,
        "old".into(),
        unix_now() - 120,
        TEST_JWT_SECRET.as_bytes(),
    );
    assert_eq!(
        refused(c.hub.open_socket(&old, Some(&own)).await),
        unauthorized,
        "expired"
    );
    let ticket = c.hub.ticket(&token).await;
    assert_eq!(
        refused(c.hub.open_socket(&ticket, Some("https://evil.example")).await),
        (403, "FORBIDDEN".to_owned())
    );
    assert!(
        c.hub.open_socket(&ticket, Some(&own)).await.is_ok(),
        "the ticket opens once"
    );
    assert_eq!(
        refused(c.hub.open_socket(&ticket, Some(&own)).await),
        unauthorized,
        "and only once"
    );
}

pub async fn a_socket_is_closed_with_4001_when_its_sign_in_expires(c: Arc<Ctx>) {
    let user = fresh_user("expiry");
    let now = unix_now();
    let short = jwt::sign(
        &Claims {
            sub: user.clone(),
            exp: now + 3,
            nbf: None,
            iat: Some(now),
            role: None,
        },
        TEST_JWT_SECRET.as_bytes(),
    );
    let mut tab = c.hub.tab(&short).await;
    let _ = tab.until(Duration::from_secs(10), |_| false).await;
    assert_eq!(
        tab.ended,
        Some(Ended::Closed {
            code: CLOSE_AUTH_EXPIRED,
            reason: "the sign-in expired".into()
        })
    );
}

pub async fn twenty_five_questions_across_three_tabs_and_http_admit_exactly_twenty(c: Arc<Ctx>) {
    let user = fresh_user("limit");
    let token = token_for(&user);
    let mut t = tabs(&c, &token, 3).await;
    for i in 0..24 {
        let session = format!("{user}-{i}");
        t[i % 3]
            .ask(&format!("r-{i}"), &format!("Hi {user}"), &session)
            .await;
    }
    let mut limited = 0;
    let mut started = 0;
    for tab in t.iter_mut() {
        for f in tab.until(Duration::from_secs(3), |_| false).await {
            match f {
                Incoming::Hub(HubFrame::StreamStarted { .. }) => started += 1,
                Incoming::Hub(HubFrame::Error(e)) if e.code == ErrorCode::RateLimited => {
                    assert!(e.retry_after_secs.is_some_and(|s| s > 0), "says when to retry");
                    limited += 1;
                }
                _ => {}
            }
        }
    }
    // Every tab hears every start, but only the asking tab hears its refusal.
    assert_eq!((started / 3, limited), (20, 4));
    let (status, headers, _) = c
        .hub
        .post(
            "/api/v1/chat",
            Some(&token),
            &chat_body("Hi", &format!("{user}-x")),
        )
        .await;
    assert_eq!(status, 429, "the 25th, over HTTP, counts against the same limit");
    assert!(headers.get("retry-after").is_some());
}

pub async fn another_users_socket_never_sees_the_first_users_events_nor_reaches_their_answers(c: Arc<Ctx>) {
    let (alice, bob) = (fresh_user("alice"), fresh_user("bob"));
    let (alice_token, bob_token) = (token_for(&alice), token_for(&bob));
    let mut a = c.hub.tab(&alice_token).await;
    let mut b = c.hub.tab(&bob_token).await;
    a.ask("r-1", &format!("Long answer please [mock:paced] {alice}"), &alice)
        .await;
    let stream_id = a.started(WAIT).await.expect("started");
    b.send(json!({"type": "stop", "data": {"stream_id": stream_id}}))
        .await;
    b.send(json!({"type": "resume", "data": {"stream_id": stream_id, "after_seq": 0}}))
        .await;
    b.ask("r-2", &format!("Hi {bob}"), &alice).await;
    let events = a.answer(&stream_id, WAIT).await;
    assert!(
        matches!(events.last().map(|e| &e.event), Some(StreamEvent::Complete(_))),
        "Bob's stop did nothing"
    );
    let codes = refusals_without_events(&mut b, &stream_id, "Bob never sees Alice's answer").await;
    assert_eq!(
        codes,
        [ErrorCode::NotFound; 3],
        "stop, resume and a question into her conversation: not found"
    );
}

pub async fn sse_answers_go_through_the_hub_to_the_users_tabs(c: Arc<Ctx>) {
    let user = fresh_user("sse-hub");
    let token = token_for(&user);
    let mut tab = c.hub.tab(&token).await;
    let sse = c
        .hub
        .stream(
            &token,
            &chat_body(&format!("How many rows? {user}"), &user),
            |_| false,
        )
        .await;
    let stream_id = tab
        .started(WAIT)
        .await
        .expect("the tab hears an SSE question start");
    let seen = tab.answer(&stream_id, WAIT).await;
    let sse_seqs: Vec<(String, u64)> = sse.iter().map(|t| (t.stream_id.clone(), t.seq)).collect();
    let tab_seqs: Vec<(String, u64)> = seen.iter().map(|e| (e.stream_id.clone(), e.seq)).collect();
    assert_eq!(
        sse_seqs, tab_seqs,
        "one stream, the same numbered events on both transports"
    );
}

pub async fn frames_the_hub_cannot_read_get_an_error_with_a_code(c: Arc<Ctx>) {
    let user = fresh_user("frames");
    let mut tab = c.hub.tab(&token_for(&user)).await;
    for bad in [
        "not json",
        r#"{"type":"shout","data":{}}"#,
        r#"{"type":"chat","data":{"message":"x"}}"#,
    ] {
        tab.send_text(bad).await;
        let frames = tab.until(WAIT, |f| error_code(f).is_some()).await;
        assert_eq!(
            frames.last().and_then(error_code),
            Some(ErrorCode::BadRequest),
            "{bad}"
        );
    }
    tab.ask("r-1", "   ", &user).await;
    let frames = tab.until(WAIT, |f| error_code(f).is_some()).await;
    assert_eq!(
        frames.last().and_then(error_code),
        Some(ErrorCode::BadRequest),
        "an empty question"
    );
    tab.ping().await;
    assert!(tab.ended.is_none(), "the socket stays open after a refused frame");
}

pub async fn an_answer_cut_off_by_a_hub_restart_ends_with_an_error_not_a_spinner(c: Arc<Ctx>) {
    let vars: Vec<(&str, String)> = vec![
        ("JWT_SECRET", TEST_JWT_SECRET.into()),
        ("DEV_AUTH", "false".into()),
        ("PROVIDER_ORDER", "openai".into()),
        ("OPENROUTER_API_KEY", String::new()),
        ("ANTHROPIC_API_KEY", String::new()),
        ("OPENAI_API_KEY", crate::MOCK_KEY.into()),
        ("OPENAI_BASE_URL", c.mock.openai_base_url()),
    ];
    let instance = tokio::task::spawn_blocking(move || {
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        WorkerInstance::start("hub-restart", &refs)
    })
    .await
    .expect("join")
    .expect("instance");
    let user = fresh_user("hub-restart");
    let token = token_for(&user);
    let mut tab = Api::new(&instance.base_url).tab(&token).await;
    tab.ask("r-1", &format!("Long answer please [mock:paced] {user}"), &user)
        .await;
    let stream_id = tab.started(WAIT).await.expect("started");
    let had = events_of(
        &tab.until(WAIT, |f| matches!(f, Incoming::Stream(s) if s.seq >= 5))
            .await,
        &stream_id,
    )
    .last()
    .map_or(0, |e| e.seq);
    let instance = tokio::task::spawn_blocking(move || instance.restart())
        .await
        .expect("join")
        .expect("restarted");
    let _ = tab.until(Duration::from_secs(2), |_| false).await;
    assert!(tab.ended.is_some(), "the restart ended the socket");
    let mut again = Api::new(&instance.base_url).tab(&token).await;
    again
        .send(json!({"type": "resume", "data": {"stream_id": stream_id, "after_seq": had}}))
        .await;
    let events = again.answer(&stream_id, WAIT).await;
    let last = events.last().expect("the resume ends the stream");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let first = seqs.first().copied().unwrap_or(0);
    assert_eq!(
        seqs,
        (first..first + seqs.len() as u64).collect::<Vec<_>>(),
        "in order, no gap"
    );
    match &last.event {
        StreamEvent::Error(e) => {
            assert_eq!(e.code, ErrorCode::Internal);
            assert!(e.message.contains("interrupted"), "{}", e.message);
        }
        other => panic!("the stream ended with {other:?}"),
    }
    assert!(
        events.iter().all(|e| e.seq > had),
        "numbered after what the tab had"
    );
}
