//! The answers the hub is running or ran lately, and every event each one sent, in the hub's SQLite: a tab
//! that reconnects mid-answer asks for what it missed (`resume`), and a hub that restarted mid-answer ends
//! the answer with an error the tabs see instead of leaving them waiting.
//!
//! Events are written in batches ([`Journal`]): a Durable Object holds back what it sends until its writes
//! are durable, so a write per event would hold back every event; a batch is written at most every
//! [`WRITE_EVERY_MS`] or [`BATCH`] events, at the last event, and before any replay. A batch is one row per
//! stream — its consecutive events, one per line (JSON has no raw line breaks) — not a row per event. A stream's events stay
//! for a grace period after its last event ([`purge`]), long enough for the answer to be stored.

use std::cell::RefCell;
use std::rc::Rc;

use datasage_shared::api::{ApiError, ErrorCode, StreamEvent, StreamFrame};
use datasage_shared::hub::HubFrame;
use serde::Deserialize;
use worker::{Result, SqlStorage};

pub const TABLES: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS streams (stream_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, \
     request_id TEXT NOT NULL, question TEXT NOT NULL, running INTEGER NOT NULL, \
     interrupted INTEGER NOT NULL DEFAULT 0, ended_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS stream_batches (stream_id TEXT NOT NULL, first_seq INTEGER NOT NULL, \
     frames TEXT NOT NULL, PRIMARY KEY (stream_id, first_seq))",
    // A row per event, before batches were rows; a stream outlives its grace period by minutes at most.
    "DROP TABLE IF EXISTS stream_events",
];

/// Most events held before a write.
const BATCH: usize = 32;
/// Longest an event waits to be written.
const WRITE_EVERY_MS: u64 = 200;

/// One answer's stream, as `stream_started` announces it.
#[derive(Debug, Clone, Deserialize)]
pub struct Started {
    pub stream_id: String,
    pub session_id: String,
    pub request_id: String,
    pub question: String,
}

impl Started {
    pub fn frame(&self) -> HubFrame {
        HubFrame::StreamStarted {
            stream_id: self.stream_id.clone(),
            session_id: self.session_id.clone(),
            request_id: self.request_id.clone(),
            question: self.question.clone(),
        }
    }
}

pub fn open(sql: &SqlStorage, s: &Started) -> Result<()> {
    sql.exec(
        "INSERT INTO streams (stream_id, session_id, request_id, question, running) VALUES (?, ?, ?, ?, 1)",
        vec![
            s.stream_id.as_str().into(),
            s.session_id.as_str().into(),
            s.request_id.as_str().into(),
            s.question.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Events on their way to SQLite, shared by every answer of the hub and its replays.
#[derive(Clone)]
pub struct Journal {
    sql: SqlStorage,
    state: Rc<RefCell<Pending>>,
}

#[derive(Default)]
struct Pending {
    events: Vec<(String, i64, String)>,
    written_ms: u64,
}

impl Journal {
    pub fn new(sql: SqlStorage) -> Self {
        Self {
            sql,
            state: Rc::default(),
        }
    }

    /// Keeps one event (its JSON as it went out), writing the batch when it is due.
    pub fn record(&self, frame: &StreamFrame, json: &str, now_ms: u64) -> Result<()> {
        let due = {
            let mut p = self.state.borrow_mut();
            p.events
                .push((frame.stream_id.clone(), frame.seq as i64, json.to_owned()));
            frame.event.is_terminal()
                || p.events.len() >= BATCH
                || now_ms.saturating_sub(p.written_ms) >= WRITE_EVERY_MS
        };
        if due {
            self.write(now_ms)?;
        }
        Ok(())
    }

    /// Writes every event not written yet: a row per stream, its events in order.
    pub fn write(&self, now_ms: u64) -> Result<()> {
        let events = {
            let mut p = self.state.borrow_mut();
            p.written_ms = now_ms;
            std::mem::take(&mut p.events)
        };
        let mut rest = events.as_slice();
        while let Some((stream_id, first_seq, _)) = rest.first() {
            let same = rest.iter().take_while(|(id, _, _)| id == stream_id).count();
            let frames: Vec<&str> = rest[..same].iter().map(|(_, _, json)| json.as_str()).collect();
            self.sql.exec(
                "INSERT OR REPLACE INTO stream_batches (stream_id, first_seq, frames) VALUES (?, ?, ?)",
                vec![
                    stream_id.as_str().into(),
                    (*first_seq).into(),
                    frames.join("\n").into(),
                ],
            )?;
            rest = &rest[same..];
        }
        Ok(())
    }
}

/// The stream's last event went out: it is over, its events kept for the grace period.
pub fn end(sql: &SqlStorage, stream_id: &str, now_ms: u64) -> Result<()> {
    sql.exec(
        "UPDATE streams SET running = 0, ended_ms = ? WHERE stream_id = ?",
        vec![(now_ms as i64).into(), stream_id.into()],
    )?;
    Ok(())
}

#[derive(Deserialize)]
struct Batch {
    first_seq: i64,
    frames: String,
}

#[derive(Deserialize)]
struct Kept {
    session_id: String,
    interrupted: i64,
}

/// Every kept event of a stream after `after_seq`, in order — and, for a stream a restart cut off, a final
/// `error` numbered after everything the tab has. `None` for a stream the hub does not have (never this
/// user's, or purged: the tab shows the stored conversation instead).
pub fn after(journal: &Journal, stream_id: &str, after_seq: u64, now_ms: u64) -> Result<Option<Vec<String>>> {
    journal.write(now_ms)?;
    let sql = &journal.sql;
    let kept: Vec<Kept> = sql
        .exec(
            "SELECT session_id, interrupted FROM streams WHERE stream_id = ?",
            vec![stream_id.into()],
        )?
        .to_array()?;
    let Some(kept) = kept.first() else {
        return Ok(None);
    };
    let batches: Vec<Batch> = sql
        .exec(
            "SELECT first_seq, frames FROM stream_batches WHERE stream_id = ? ORDER BY first_seq",
            vec![stream_id.into()],
        )?
        .to_array()?;
    let mut frames: Vec<String> = batches
        .iter()
        .flat_map(|b| (b.first_seq.max(0) as u64..).zip(b.frames.split('\n')))
        .filter(|(seq, _)| *seq > after_seq)
        .map(|(_, frame)| frame.to_owned())
        .collect();
    if kept.interrupted == 1 {
        let seq = after_seq + frames.len() as u64 + 1;
        frames.push(interrupted(stream_id, &kept.session_id, seq));
    }
    Ok(Some(frames))
}

fn interrupted(stream_id: &str, session_id: &str, seq: u64) -> String {
    let frame = StreamFrame {
        session_id: session_id.to_owned(),
        stream_id: stream_id.to_owned(),
        seq,
        event: StreamEvent::Error(
            ApiError::new(
                ErrorCode::Internal,
                "the answer was interrupted (the service restarted); please ask again",
            )
            .error,
        ),
    };
    serde_json::to_string(&frame).unwrap_or_default()
}

/// The answers running now, for a tab that just connected.
pub fn running(sql: &SqlStorage) -> Result<Vec<Started>> {
    sql.exec(
        "SELECT stream_id, session_id, request_id, question FROM streams WHERE running = 1 ORDER BY rowid",
        None,
    )?
    .to_array()
}

/// Marks every stream a previous instance of the hub left running as cut off (it restarted mid-answer:
/// the answer is lost); a tab that resumes one gets a final `error` saying so instead of waiting.
pub fn end_orphans(sql: &SqlStorage, now_ms: u64) -> Result<()> {
    sql.exec(
        "UPDATE streams SET running = 0, interrupted = 1, ended_ms = ? WHERE running = 1",
        vec![(now_ms as i64).into()],
    )?;
    Ok(())
}

/// Forgets streams that ended more than `grace_ms` ago.
pub fn purge(sql: &SqlStorage, now_ms: u64, grace_ms: u64) -> Result<()> {
    let before = now_ms.saturating_sub(grace_ms) as i64;
    sql.exec(
        "DELETE FROM stream_batches WHERE stream_id IN (SELECT stream_id FROM streams WHERE running = 0 AND ended_ms < ?)",
        vec![before.into()],
    )?;
    sql.exec(
        "DELETE FROM streams WHERE running = 0 AND ended_ms < ?",
        vec![before.into()],
    )?;
    Ok(())
}
