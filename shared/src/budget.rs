//! A user's monthly budget, enforced exactly however many questions run at once: before each provider
//! call the most it can cost is **held**; after it, the hold is **settled** to what it cost. A call whose
//! hold does not fit under the budget is never made. Holds and settlements happen in the user's own
//! Durable Object, one at a time with nothing awaited in between, so no two questions can both take the
//! last of a budget. This module is the arithmetic; the hub keeps the ledger (`worker/src/budget.rs`).

use crate::llm::Message;
use crate::tokens;

/// Spent past this share of the budget, the user is warned once a month.
pub const WARN_AT: f64 = 0.8;

/// Slack for sums of dollars in floating point.
const EPSILON: f64 = 1e-12;

/// One month of a user's spending.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// `YYYY-MM`, UTC.
    pub month: String,
    /// What calls of this month cost.
    pub settled_usd: f64,
    /// What calls in flight may still cost at most.
    pub held_usd: f64,
    /// The 80 % warning went out this month.
    pub warned: bool,
}

/// What a question finds when it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Under 80 %, or warned already.
    Open,
    /// Past 80 % for the first time this month: warn, then answer.
    Warn,
    /// Nothing left: no provider is called.
    Spent,
}

impl Ledger {
    /// The ledger of `month`: `stored` if it is that month's (a new month starts from nothing), with what
    /// was settled at least `logged_usd` — the call log's sum for the month, which also holds calls made
    /// before this ledger existed. `held_usd` is what this instance holds now.
    pub fn for_month(stored: Option<Ledger>, month: &str, logged_usd: f64, held_usd: f64) -> Ledger {
        let mut ledger = stored.filter(|l| l.month == month).unwrap_or(Ledger {
            month: month.to_owned(),
            settled_usd: 0.0,
            held_usd: 0.0,
            warned: false,
        });
        ledger.settled_usd = ledger.settled_usd.max(logged_usd);
        ledger.held_usd = held_usd;
        ledger
    }

    /// Where a new question stands against `budget`; a first `Warn` marks the month warned.
    pub fn standing(&mut self, budget: f64) -> Standing {
        if self.settled_usd + EPSILON >= budget {
            Standing::Spent
        } else if !self.warned && self.settled_usd + EPSILON >= budget * WARN_AT {
            self.warned = true;
            Standing::Warn
        } else {
            Standing::Open
        }
    }

    /// Holds `usd` if it fits under `budget` with everything settled and held; whether it did.
    pub fn hold(&mut self, usd: f64, budget: f64) -> bool {
        let fits = self.settled_usd + self.held_usd + usd <= budget + EPSILON;
        if fits {
            self.held_usd += usd;
        }
        fits
    }

    /// Turns a hold of `held` into a cost of `usd`. Whether this crossed 80 % of `budget` for the first
    /// time this month (then it marks the month warned).
    pub fn settle(&mut self, held: f64, usd: f64, budget: f64) -> bool {
        self.held_usd = (self.held_usd - held).max(0.0);
        self.settled_usd += usd;
        let crossed = !self.warned && self.settled_usd + EPSILON >= budget * WARN_AT;
        self.warned |= crossed;
        crossed
    }
}

/// The 80 % warning, in words.
pub fn warning(spent_usd: f64, limit_usd: f64) -> String {
    let percent = if limit_usd > 0.0 {
        spent_usd / limit_usd * 100.0
    } else {
        100.0
    };
    format!("You have used {percent:.0} % of this month's budget (${spent_usd:.2} of ${limit_usd:.2}).")
}

/// The note of a question answered by the built-in analyst because the budget is spent.
pub fn spent_note(limit_usd: f64, reset_at: &str) -> String {
    format!(
        "This month's budget (${limit_usd:.2}) is spent — the built-in analyst answers from the data, at no \
         cost, until it starts over on {}.",
        reset_at.get(..10).unwrap_or(reset_at)
    )
}

/// The note of a question answered by the built-in analyst because what is left of the budget would not
/// cover the most a model call can cost.
pub fn too_little_note(reset_at: &str) -> String {
    format!(
        "What is left of this month's budget would not cover a model call — the built-in analyst answers \
         from the data, at no cost, until it starts over on {}.",
        reset_at.get(..10).unwrap_or(reset_at)
    )
}

/// Prompt tokens to hold for `messages`: the estimate with room for its error (it is within 15 % of a
/// real tokenizer on every kind of text; half again more, and each message's framing, leaves a margin).
pub fn prompt_tokens_to_hold(messages: &[Message]) -> u64 {
    let estimate: u64 = messages
        .iter()
        .map(|m| tokens::estimate(&m.content) as u64 + 8)
        .sum();
    estimate + estimate / 2 + 64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;

    fn ledger(settled: f64) -> Ledger {
        Ledger::for_month(None, "2026-12", settled, 0.0)
    }

    #[test]
    fn concurrent_holds_never_add_up_past_the_budget() {
        let mut l = ledger(0.0);
        let granted = (0..10).filter(|_| l.hold(0.03, 0.10)).count();
        assert_eq!(
            granted, 3,
            "three holds of 3 cents fit in 10 cents, a fourth does not"
        );
        assert!(l.held_usd <= 0.10);
        l.settle(0.03, 0.01, 0.10);
        assert!(l.hold(0.03, 0.10), "settling below the hold frees the difference");
        assert!(!l.hold(0.03, 0.10));
    }

    #[test]
    fn the_warning_comes_once_a_month_at_80_percent() {
        let mut l = ledger(0.0);
        assert_eq!(l.standing(1.0), Standing::Open);
        assert!(l.hold(0.5, 1.0));
        assert!(!l.settle(0.5, 0.5, 1.0), "50 % is no warning");
        assert!(l.hold(0.4, 1.0));
        assert!(l.settle(0.4, 0.35, 1.0), "85 %: warned");
        assert!(l.hold(0.15, 1.0));
        assert!(!l.settle(0.15, 0.15, 1.0), "only once");
        assert_eq!(l.standing(1.0), Standing::Spent, "all of it");
        let mut late = ledger(0.9);
        assert_eq!(
            late.standing(1.0),
            Standing::Warn,
            "past 80 % already when the month's first question comes"
        );
        assert_eq!(late.standing(1.0), Standing::Open);
    }

    #[test]
    fn a_new_month_starts_from_nothing_and_the_log_is_a_floor() {
        let mut december = ledger(0.0);
        december.settle(0.0, 1.0, 1.0);
        assert_eq!(december.standing(1.0), Standing::Spent);
        let mut january = Ledger::for_month(Some(december.clone()), "2027-01", 0.0, 0.0);
        assert_eq!((january.settled_usd, january.warned), (0.0, false));
        assert_eq!(january.standing(1.0), Standing::Open);
        let same = Ledger::for_month(Some(december), "2026-12", 0.2, 0.0);
        assert_eq!(
            same.settled_usd, 1.0,
            "the ledger knows calls the log does not have yet"
        );
        let from_log = Ledger::for_month(None, "2026-12", 0.7, 0.0);
        assert_eq!(
            from_log.settled_usd, 0.7,
            "and the log knows calls made before the ledger"
        );
    }

    #[test]
    fn the_notes_say_how_much_and_until_when() {
        assert_eq!(
            warning(0.85, 1.0),
            "You have used 85 % of this month's budget ($0.85 of $1.00)."
        );
        assert!(spent_note(5.0, "2027-01-01T00:00:00Z").contains("($5.00) is spent"));
        assert!(spent_note(5.0, "2027-01-01T00:00:00Z").ends_with("starts over on 2027-01-01."));
    }

    #[test]
    fn a_zero_budget_admits_nothing() {
        let mut l = ledger(0.0);
        assert_eq!(l.standing(0.0), Standing::Spent);
        assert!(!l.hold(1e-6, 0.0));
    }

    #[test]
    fn the_prompt_hold_exceeds_the_estimate() {
        let messages = [Message {
            role: Role::User,
            content: "How many rows are there? ".repeat(40),
        }];
        let estimate = tokens::estimate(&messages[0].content) as u64;
        assert!(prompt_tokens_to_hold(&messages) >= estimate * 3 / 2);
    }
}
