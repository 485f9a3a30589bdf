//! One question, whichever transport asked it: admitted (the rate limit, then the monthly budget — see
//! `crate::budget`), checked (the dataset and the session are the user's), answered by `chat::run` as a
//! task of the hub — so it outlives the tab that asked — and stored with its call log once. Storing
//! degrades rather than vanishes.

use std::rc::Rc;
use std::time::Duration;

use datasage_shared::api::{ApiError, ChatRequest, ErrorCode, StorageMetrics};
use datasage_shared::budget::{spent_note, warning, Standing};
use datasage_shared::calendar::Date;
use datasage_shared::prompt::Turn;
use datasage_shared::ratelimit::Decision;
use datasage_shared::usage::Month;
use serde::Deserialize;
use worker::{console_error, D1Database, D1PreparedStatement, D1Result, Delay, Env, SqlStorage};

use super::limit;
use crate::budget::{Allowance, Budget};
use crate::chat::Job;
use crate::config::Config;
use crate::datasets::{self, Dataset};
use crate::db::{self, AnswerLog, Shape};
use crate::error::{Failure, Result};
use crate::providers::Provider;
use crate::store::SAMPLE_ID;
use crate::util::now_ms;

/// Most earlier exchanges read for the prompt (the prompt's token budget then decides how many fit).
const HISTORY_TURNS: usize = 20;

/// The pause before storing an answer a second time.
const RETRY_PAUSE_MS: u64 = 300;

/// A question admitted and checked, ready to answer; `faults` is how many storing attempts are to fail.
pub struct Prepared {
    pub job: Job,
    pub faults: usize,
}

/// Where the hub keeps what the question needs besides its own SQLite.
pub struct Hub<'a> {
    pub env: &'a Env,
    pub sql: &'a SqlStorage,
    pub budget: &'a Rc<Budget>,
}

/// Admits the question (one more in the user's minute) and checks everything before any work starts.
pub async fn prepare(hub: Hub<'_>, config: &Config, user_id: &str, req: ChatRequest) -> Result<Prepared> {
    let decision = limit::admit(hub.sql, config.rate_limit_per_minute)?;
    if let (Decision::Limited { .. }, Some(secs)) = (&decision, decision.retry_after_secs()) {
        return Err(ApiError::rate_limited(secs).into());
    }
    let db = hub.env.d1("DB")?;
    let mut providers: Vec<_> = config.providers.iter().cloned().map(Provider::new).collect();
    // The built-in analyst reads no history.
    let history = (!providers.is_empty()).then_some(HISTORY_TURNS);
    let month = Month::of(clock(config, &req.message));
    let claimed = claim(&db, user_id, &req, history, Some(&month)).await?;
    let (allowance, budget_note) = match claimed
        .budget
        .map(|f| budget(hub.budget, config, &month, f, &mut providers))
    {
        Some(Ok(decided)) => decided,
        Some(Err(refused)) => {
            // The claim made the session in the same round trip; a refused first question leaves none.
            if let Err(e) = db::forget_if_empty(&db, &req.session_id, user_id).await {
                console_error!("hub: cannot drop the empty session of a refused question: {e}");
            }
            return Err(refused);
        }
        None => (None, None),
    };
    let faults = config
        .fault(&req.message, "store-fail")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let (dataset, history) = (claimed.dataset, claimed.turns);
    let job = Job {
        user_id: user_id.to_owned(),
        inject_panic: config.fault(&req.message, "panic").is_some(),
        session_id: req.session_id,
        question: req.message,
        rewind_to: req.rewind_to,
        dataset,
        providers,
        builtin_fallback: config.builtin_fallback,
        routing: config.routing,
        env: hub.env.clone(),
        history,
        prices: config.prices.clone(),
        builtin_chunk_delay_ms: config.builtin_chunk_delay_ms,
        max_stored_bytes: config.max_stored_bytes,
        allowance,
        budget_note,
    };
    Ok(Prepared { job, faults })
}

/// Now, or — with fault injection — the time a `[fault:now=YYYY-MM-DD]` marker names (tests of a new
/// budget month).
fn clock(config: &Config, question: &str) -> u64 {
    config
        .fault(question, "now")
        .and_then(Date::parse)
        .map_or_else(now_ms, |d| d.unix_ms().max(0) as u64)
}

/// The user's budget this month, if they have one: their own if an admin set one, else the default.
/// Spent, the providers are dropped (the built-in analyst answers, saying why) or, without the analyst,
/// the question is refused; past 80 % for the first time this month, the answer says so first.
fn budget(
    budget: &Rc<Budget>,
    config: &Config,
    month: &Month,
    facts: BudgetFacts,
    providers: &mut Vec<Provider>,
) -> Result<(Option<Allowance>, Option<String>)> {
    let Some(limit_usd) = facts.own.unwrap_or(config.monthly_budget_usd) else {
        return Ok((None, None));
    };
    let (label, reset_at) = (month.start.month_label(), month.reset_at());
    let (standing, spent) = budget.standing(&label, facts.logged_usd, limit_usd)?;
    let note = match standing {
        Standing::Spent if providers.is_empty() => None,
        Standing::Spent if config.builtin_fallback => {
            providers.clear();
            Some(spent_note(limit_usd, &reset_at))
        }
        Standing::Spent => return Err(ApiError::budget_exceeded(reset_at).into()),
        Standing::Warn => Some(warning(spent, limit_usd)),
        Standing::Open => None,
    };
    let allowance = Allowance {
        budget: Rc::clone(budget),
        month: label,
        limit_usd,
        reset_at,
    };
    Ok((Some(allowance), note))
}

/// What D1 says of the user's budget: their own (`Some(None)`: none at all), and what the call log
/// holds for the month.
pub struct BudgetFacts {
    own: Option<Option<f64>>,
    logged_usd: f64,
}

/// What a question's one D1 round trip found.
pub struct Claimed {
    pub dataset: Dataset,
    pub turns: Vec<Turn>,
    /// Read when asked with a month.
    pub budget: Option<BudgetFacts>,
}

#[derive(Deserialize)]
struct OwnBudget {
    budget_usd: Option<f64>,
}

#[derive(Deserialize)]
struct Logged {
    spent: f64,
}

fn budget_stmts(db: &D1Database, user_id: &str, month: &Month) -> Result<[D1PreparedStatement; 2]> {
    Ok([
        db::stmt(
            db,
            "SELECT budget_usd FROM user_budgets WHERE user_id = ?1",
            &[user_id.into()],
        )?,
        db::stmt(
            db,
            "SELECT TOTAL(cost_usd) AS spent FROM llm_calls WHERE user_id = ?1 AND created_at >= ?2 \
             AND created_at < ?3",
            &[
                user_id.into(),
                month.start.to_string().into(),
                month.next.to_string().into(),
            ],
        )?,
    ])
}

fn budget_facts(own: D1Result, logged: D1Result) -> Result<BudgetFacts> {
    Ok(BudgetFacts {
        own: own.results::<OwnBudget>()?.pop().map(|r| r.budget_usd),
        logged_usd: logged.results::<Logged>()?.pop().map_or(0.0, |l| l.spent),
    })
}

/// The question's dataset, its session claimed for the caller, with `history` that many of its latest
/// exchanges and with `month` the user's budget facts — in one D1 round trip (and one more the first time
/// this isolate sees the dataset's version, for its profile). Another user's dataset or session does not
/// exist for this one: 404, and a question refused for its dataset leaves no session behind.
pub async fn claim(
    db: &D1Database,
    user_id: &str,
    req: &ChatRequest,
    history: Option<usize>,
    month: Option<&Month>,
) -> Result<Claimed> {
    let dataset_id = req.dataset_id.as_deref().unwrap_or(SAMPLE_ID);
    let session = req.session_id.as_str();
    let mut batch = vec![
        datasets::lookup(db, user_id, dataset_id)?,
        db::claim_session(db, session, user_id, &req.message, dataset_id)?,
        db::owner(db, session)?,
    ];
    if let Some(month) = month {
        batch.extend(budget_stmts(db, user_id, month)?);
    }
    if let Some(turns) = history {
        batch.push(db::recent_turns(db, session, turns, req.rewind_to)?);
    }
    let mut results = db.batch(batch).await?.into_iter();
    let (Some(found), Some(_claimed), Some(owner)) = (results.next(), results.next(), results.next()) else {
        return Err(Failure::Internal(
            "D1 answered a batch with fewer results than statements".into(),
        ));
    };
    let dataset = datasets::question_dataset(db, found).await?;
    if !db::owned_by(owner, user_id)? {
        return Err(Failure::api(ErrorCode::NotFound, "session not found"));
    }
    let budget = match month {
        Some(_) => match (results.next(), results.next()) {
            (Some(own), Some(logged)) => Some(budget_facts(own, logged)?),
            _ => return Err(Failure::Internal("D1 left out the budget's results".into())),
        },
        None => None,
    };
    let turns = results.next().map(db::turns).transpose()?.unwrap_or_default();
    Ok(Claimed {
        dataset,
        turns,
        budget,
    })
}

/// Stores an answer: whole; whole again after a pause (D1 may be briefly unavailable); shortened; then
/// only the question and call log. Says how it went (one of `StorageMetrics::OUTCOMES`, or `failed`), to be
/// counted for `/api/v1/chat/metrics`. `faults` is how many attempts are made to fail (fault injection).
pub async fn store(env: &Env, log: AnswerLog, faults: usize) -> &'static str {
    let plan = [
        (Shape::Whole, 0),
        (Shape::Whole, RETRY_PAUSE_MS),
        (Shape::Shortened, 0),
        (Shape::NoAnswer, 0),
    ];
    let mut outcome = "failed";
    if let Ok(db) = env.d1("DB") {
        for (attempt, (shape, pause_ms)) in plan.into_iter().enumerate() {
            if pause_ms > 0 {
                Delay::from(Duration::from_millis(pause_ms)).await;
            }
            match db::store_answer(&db, &log, shape, attempt < faults).await {
                Ok(()) => {
                    outcome = StorageMetrics::OUTCOMES[attempt];
                    break;
                }
                Err(e) => console_error!(
                    "storing the answer of session {} ({shape:?}) failed: {e}",
                    log.session_id
                ),
            }
        }
    }
    outcome
}
