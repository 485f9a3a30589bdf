//! The rate limit: a sliding-window log, exact (no burst at window edges, unlike fixed windows).
//!
//! Each admission is a row of the hub's SQLite, indexed by its time, so a question costs a delete of what
//! left the window, an indexed count and one insert. The log was one JSON list before, read and rewritten
//! whole on every question: its cost grew with the limit, and at a limit of 100,000 (one user asking ~800
//! times a minute) it was the top item of a CPU profile. The statements are here, beside the arithmetic,
//! so the tests run both against SQLite natively.

use serde::{Deserialize, Serialize};

/// The admissions of the last window, one row each.
pub const TABLES: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS rate_hits (at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rate_hits_at ON rate_hits (at)",
];

/// Forgets the admissions that left the window (`?1`: now − the window) and any "from the future"
/// (`?2`: now), so a clock that went back cannot lock the user out until it catches up.
pub const FORGET: &str = "DELETE FROM rate_hits WHERE at <= ?1 OR at > ?2";

/// What the window holds: a [`Window`].
pub const WINDOW: &str = "SELECT COUNT(*) AS admitted, MIN(at) AS oldest FROM rate_hits";

/// Records one admission at `?1`.
pub const ADMIT: &str = "INSERT INTO rate_hits (at) VALUES (?1)";

/// The table the log was kept in before, as one JSON list (`{"hits":[…]}`).
pub const OLD_TABLE: &str = "sliding_window";

/// Carries the old list's admissions over into rows, once, and drops it.
pub const CARRY_OVER: [&str; 2] = [
    "INSERT INTO rate_hits (at) SELECT value FROM sliding_window, json_each(sliding_window.hits, '$.hits')",
    "DROP TABLE sliding_window",
];

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allowed { remaining: u32 },
    Limited { retry_after_ms: u64 },
}

impl Decision {
    /// Whole seconds to wait, rounded up so a client that waits that long is admitted.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Decision::Allowed { .. } => None,
            Decision::Limited { retry_after_ms } => Some(retry_after_ms.div_ceil(1000).max(1)),
        }
    }
}

/// What the window holds once [`FORGET`] ran: how many admissions, and when the oldest was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Window {
    pub admitted: u64,
    pub oldest: Option<u64>,
}

impl Window {
    /// Admits one more request at `now_ms` while fewer than `limit` are in the window (the caller then
    /// records it with [`ADMIT`]).
    pub fn decide(&self, now_ms: u64, limit: u32, window_ms: u64) -> Decision {
        if self.admitted < u64::from(limit) {
            return Decision::Allowed {
                remaining: (u64::from(limit) - self.admitted - 1) as u32,
            };
        }
        // The oldest admission leaves the window at `oldest + window_ms`.
        let oldest = self.oldest.unwrap_or(now_ms);
        Decision::Limited {
            retry_after_ms: (oldest + window_ms).saturating_sub(now_ms).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    const MIN: u64 = 60_000;

    fn hub() -> Connection {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(&TABLES.join(";")).expect("tables");
        conn
    }

    /// One question at `now`, as the hub runs it: forget, count, decide, record.
    fn check(conn: &Connection, now: u64, limit: u32) -> Decision {
        let now_i = now as i64;
        conn.execute(FORGET, [now_i - MIN as i64, now_i]).expect("forget");
        let window = conn
            .query_row(WINDOW, [], |r| {
                Ok(Window {
                    admitted: r.get::<_, i64>(0)? as u64,
                    oldest: r.get::<_, Option<i64>>(1)?.map(|t| t as u64),
                })
            })
            .expect("window");
        let decision = window.decide(now, limit, MIN);
        if matches!(decision, Decision::Allowed { .. }) {
            conn.execute(ADMIT, [now_i]).expect("admit");
        }
        decision
    }

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn
            .prepare("SELECT at FROM rate_hits ORDER BY at")
            .expect("select");
        let rows = stmt.query_map([], |r| r.get(0)).expect("rows");
        rows.map(|r| r.expect("row")).collect()
    }

    #[test]
    fn admits_exactly_the_limit_then_refuses() {
        let conn = hub();
        for i in 0..20 {
            assert_eq!(
                check(&conn, 1_000 + i, 20),
                Decision::Allowed {
                    remaining: 19 - i as u32
                }
            );
        }
        let d = check(&conn, 1_020, 20);
        assert_eq!(
            d,
            Decision::Limited {
                retry_after_ms: 1_000 + MIN - 1_020
            }
        );
        assert_eq!(d.retry_after_secs(), Some(60));
    }

    #[test]
    fn waiting_the_retry_after_admits_again() {
        let conn = hub();
        for _ in 0..3 {
            check(&conn, MIN, 3);
        }
        let Decision::Limited { retry_after_ms } = check(&conn, MIN + 10_000, 3) else {
            panic!("should limit")
        };
        assert!(matches!(
            check(&conn, MIN + 10_000 + retry_after_ms - 1, 3),
            Decision::Limited { .. }
        ));
        assert!(matches!(
            check(&conn, MIN + 10_000 + retry_after_ms, 3),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn refused_requests_do_not_count() {
        let conn = hub();
        check(&conn, MIN, 1);
        for t in 1..100 {
            check(&conn, MIN + t, 1);
        }
        assert_eq!(rows(&conn), [MIN as i64]);
        assert!(matches!(check(&conn, 2 * MIN + 1, 1), Decision::Allowed { .. }));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_lock_users_out_forever() {
        let conn = hub();
        check(&conn, 1_000_000, 1);
        // Admissions "from the future" are forgotten rather than blocking until the clock catches up.
        assert!(matches!(check(&conn, 70_000, 1), Decision::Allowed { .. }));
    }

    #[test]
    fn only_the_last_minute_is_kept_however_many_questions_came() {
        let conn = hub();
        for t in 0..5_000 {
            check(&conn, MIN + t * 100, 100_000);
        }
        // 500 s of questions, one every 100 ms: the last minute's 600 remain.
        assert_eq!(rows(&conn).len(), 600);
    }

    #[test]
    fn a_hub_from_before_the_rows_keeps_its_last_minute() {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(
            "CREATE TABLE sliding_window (id INTEGER PRIMARY KEY CHECK (id = 1), hits TEXT NOT NULL);
             INSERT INTO sliding_window (id, hits) VALUES (1, '{\"hits\":[61000,62000]}');",
        )
        .expect("the old table");
        conn.execute_batch(&[&TABLES[..], &CARRY_OVER[..]].concat().join(";"))
            .expect("carried over");
        assert_eq!(rows(&conn), [61_000, 62_000]);
        assert!(matches!(
            check(&conn, 63_000, 3),
            Decision::Allowed { remaining: 0 }
        ));
        assert!(matches!(check(&conn, 64_000, 3), Decision::Limited { .. }));
        let old: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1",
                [OLD_TABLE],
                |r| r.get(0),
            )
            .expect("schema");
        assert_eq!(old, 0, "the old table is gone");
    }
}
