//! The user's monthly budget as their hub keeps it: the ledger (`datasage_shared::budget`) in the hub's
//! SQLite, what calls in flight hold in memory — an answer runs in this instance, so a restart ends the
//! answer and its hold together. Every read-decide-write below is synchronous SQLite with nothing awaited,
//! and the hub handles one event at a time: two questions cannot both take the last of a budget.

use std::cell::Cell;
use std::rc::Rc;

use datasage_shared::budget::{Ledger, Standing};
use serde::Deserialize;
use worker::{Result, SqlStorage};

pub const TABLES: &str = "CREATE TABLE IF NOT EXISTS budget_ledger (id INTEGER PRIMARY KEY CHECK (id = 1), \
                          month TEXT NOT NULL, settled_usd REAL NOT NULL, warned INTEGER NOT NULL)";

/// The hub's budget ledger.
pub struct Budget {
    sql: SqlStorage,
    held: Cell<f64>,
}

#[derive(Deserialize)]
struct Row {
    month: String,
    settled_usd: f64,
    warned: i64,
}

impl Budget {
    pub fn new(sql: SqlStorage) -> Self {
        Budget {
            sql,
            held: Cell::new(0.0),
        }
    }

    /// The ledger of `month` (or of a later month already begun), settled at least `logged_usd`.
    fn load(&self, month: &str, logged_usd: f64) -> Result<Ledger> {
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT month, settled_usd, warned FROM budget_ledger WHERE id = 1",
                None,
            )?
            .to_array()?;
        let stored = rows.into_iter().next().map(|r| Ledger {
            month: r.month,
            settled_usd: r.settled_usd,
            held_usd: 0.0,
            warned: r.warned != 0,
        });
        // An answer begun in the last moments of a month settles into the month that began since.
        let month = stored
            .as_ref()
            .map_or(month, |s| s.month.as_str().max(month))
            .to_owned();
        Ok(Ledger::for_month(stored, &month, logged_usd, self.held.get()))
    }

    fn save(&self, ledger: &Ledger) -> Result<()> {
        self.held.set(ledger.held_usd);
        self.sql.exec(
            "INSERT INTO budget_ledger (id, month, settled_usd, warned) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET month = excluded.month, settled_usd = excluded.settled_usd, \
             warned = excluded.warned",
            vec![
                ledger.month.as_str().into(),
                ledger.settled_usd.into(),
                i64::from(ledger.warned).into(),
            ],
        )?;
        Ok(())
    }

    /// Where a new question stands against `limit_usd` in `month`, with the call log's sum for the month
    /// as a floor; and what was spent.
    pub fn standing(&self, month: &str, logged_usd: f64, limit_usd: f64) -> Result<(Standing, f64)> {
        let mut ledger = self.load(month, logged_usd)?;
        let standing = ledger.standing(limit_usd);
        self.save(&ledger)?;
        Ok((standing, ledger.settled_usd))
    }
}

/// One answer's share of the budget: each of its provider calls holds its most before it goes out and
/// settles to its cost after.
#[derive(Clone)]
pub struct Allowance {
    pub budget: Rc<Budget>,
    pub month: String,
    pub limit_usd: f64,
    /// When the month's budget starts over.
    pub reset_at: String,
}

/// What one call holds.
#[derive(Debug, Clone, Copy)]
pub struct Hold(f64);

impl Allowance {
    /// Holds `usd` if it fits; `None` if this call would take the month past its budget.
    pub fn hold(&self, usd: f64) -> Result<Option<Hold>> {
        let mut ledger = self.budget.load(&self.month, 0.0)?;
        if !ledger.hold(usd, self.limit_usd) {
            return Ok(None);
        }
        self.budget.save(&ledger)?;
        Ok(Some(Hold(usd)))
    }

    /// Settles a hold to what the call cost; the month's spending if this crossed 80 % of the budget for
    /// the first time this month.
    pub fn settle(&self, hold: Hold, usd: f64) -> Result<Option<f64>> {
        let mut ledger = self.budget.load(&self.month, 0.0)?;
        let crossed = ledger.settle(hold.0, usd, self.limit_usd);
        self.budget.save(&ledger)?;
        Ok(crossed.then_some(ledger.settled_usd))
    }
}
