//! The answers the hub is running, and every event each one sent, kept in the hub's memory: a tab that
//! reconnects mid-answer asks for what it missed (`resume`). An answer's events stay until the answer is
//! stored ([`Streams::forget`]); a later `resume` is told the stream is over, and the tab shows the stored
//! conversation.
//!
//! SQLite keeps only which answers are running, so a hub that restarted mid-answer (its memory gone, the
//! answer with it) ends each with an error the tabs see instead of leaving them waiting. The events
//! themselves are not written: a Durable Object holds back what it sends until its writes are durable, so
//! writing them held back the answer, and all they saved was the part of an answer a restart had lost anyway.

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
    // Events were written before they were kept in memory: first a row each, then a row per batch.
    "DROP TABLE IF EXISTS stream_events",
    "DROP TABLE IF EXISTS stream_batches",
];

/// How long a hub remembers the answers a restart cut off, for the tabs that come back to one.
const CUT_OFF_KEPT_MS: u64 = 24 * 3_600_000;

/// One answer's stream, as `stream_started` announces it.
#[derive(Debug, Clone)]
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

/// One answer's events so far (their JSON as it went out, in `seq` order), and whether it still runs.
struct Kept {
    started: Started,
    running: bool,
    frames: Vec<(u64, String)>,
}

/// The hub's answers: running, or over and not stored yet.
#[derive(Clone)]
pub struct Streams {
    sql: SqlStorage,
    kept: Rc<RefCell<Vec<Kept>>>,
}

impl Streams {
    pub fn new(sql: SqlStorage) -> Self {
        Self {
            sql,
            kept: Rc::default(),
        }
    }

    /// After a (re)start: any stream still marked running was cut off by it.
    pub fn cut_off_orphans(&self, now_ms: u64) -> Result<()> {
        // Ended streams of an older hub (which kept them), and cut-off ones remembered long enough.
        self.sql.exec(
            "DELETE FROM streams WHERE running = 0 AND (interrupted = 0 OR ended_ms < ?)",
            vec![(now_ms.saturating_sub(CUT_OFF_KEPT_MS) as i64).into()],
        )?;
        self.sql.exec(
            "UPDATE streams SET running = 0, interrupted = 1, ended_ms = ? WHERE running = 1",
            vec![(now_ms as i64).into()],
        )?;
        Ok(())
    }

    /// A new answer: marked running in SQLite (a restart from now on cuts it off) and kept in memory.
    pub fn open(&self, s: &Started) -> Result<()> {
        self.sql.exec(
            "INSERT INTO streams (stream_id, session_id, request_id, question, running) VALUES (?, ?, ?, ?, 1)",
            vec![
                s.stream_id.as_str().into(),
                s.session_id.as_str().into(),
                s.request_id.as_str().into(),
                s.question.as_str().into(),
            ],
        )?;
        self.kept.borrow_mut().push(Kept {
            started: s.clone(),
            running: true,
            frames: Vec::new(),
        });
        Ok(())
    }

    /// Keeps one event of a stream, its JSON as it went out.
    pub fn record(&self, frame: &StreamFrame, json: String) {
        self.find(&frame.stream_id, |k| k.frames.push((frame.seq, json)));
    }

    /// The stream's last event went out: a restart can no longer cut it off. Its events stay until
    /// [`Streams::forget`].
    pub fn end(&self, stream_id: &str) -> Result<()> {
        self.find(stream_id, |k| k.running = false);
        self.sql
            .exec("DELETE FROM streams WHERE stream_id = ?", vec![stream_id.into()])?;
        Ok(())
    }

    /// The answer is stored: a tab resuming it from now on shows the stored conversation.
    pub fn forget(&self, stream_id: &str) {
        self.kept
            .borrow_mut()
            .retain(|k| k.started.stream_id != stream_id);
    }

    /// The answers running now, for a tab that just connected.
    pub fn running(&self) -> Vec<Started> {
        let kept = self.kept.borrow();
        kept.iter()
            .filter(|k| k.running)
            .map(|k| k.started.clone())
            .collect()
    }

    /// Every kept event of a stream after `after_seq`, in order — or, for a stream a restart cut off, a
    /// final `error` numbered after everything the tab has. `None` for a stream the hub does not have
    /// (never this user's, or stored: the tab shows the stored conversation instead).
    pub fn after(&self, stream_id: &str, after_seq: u64) -> Result<Option<Vec<String>>> {
        let frames = self.find(stream_id, |k| {
            k.frames
                .iter()
                .filter(|(seq, _)| *seq > after_seq)
                .map(|(_, json)| json.clone())
                .collect()
        });
        if frames.is_some() {
            return Ok(frames);
        }
        let cut_off: Vec<CutOff> = self
            .sql
            .exec(
                "SELECT session_id FROM streams WHERE stream_id = ? AND interrupted = 1",
                vec![stream_id.into()],
            )?
            .to_array()?;
        Ok(cut_off
            .first()
            .map(|c| vec![interrupted(stream_id, &c.session_id, after_seq + 1)]))
    }

    fn find<T>(&self, stream_id: &str, f: impl FnOnce(&mut Kept) -> T) -> Option<T> {
        let mut kept = self.kept.borrow_mut();
        kept.iter_mut().find(|k| k.started.stream_id == stream_id).map(f)
    }
}

#[derive(Deserialize)]
struct CutOff {
    session_id: String,
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
