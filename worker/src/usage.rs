//! Usage over the call log in D1: a person's month to date, reports grouped by day, conversation,
//! provider, model (or, for an admin, user), their calls page by page, and the budgets an admin sets.
//! What the parameters mean and how they are checked is `datasage_shared::usage`; every key and column
//! below is chosen from an enum, never spelled by the caller.

use datasage_shared::usage::{
    percent_used, CallRow, Cursor, GroupBy, Month, Range, UsageReport, UsageRow, UsageSummary,
};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1Database;

use crate::db::stmt;
use crate::error::{Failure, Result};
use crate::util::now_iso;

/// Whose calls a query reads.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    User(&'a str),
    /// Every user's (the admin's report).
    Everyone,
}

impl Scope<'_> {
    /// The WHERE clause over `[?2, ?3)` and `?1` the user, and the arguments to bind.
    fn filter(self, (from, to): &(String, String)) -> (&'static str, Vec<JsValue>) {
        match self {
            Scope::User(user) => (
                "user_id = ?1 AND created_at >= ?2 AND created_at < ?3",
                vec![user.into(), from.into(), to.into()],
            ),
            Scope::Everyone => (
                "created_at >= ?1 AND created_at < ?2",
                vec![from.into(), to.into()],
            ),
        }
    }
}

fn key_column(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::Day => "substr(created_at, 1, 10)",
        GroupBy::Session => "session_id",
        GroupBy::Provider => "provider",
        GroupBy::Model => "model",
        GroupBy::User => "user_id",
    }
}

/// The most rows one report lists (its total still covers every call in the range).
pub const MAX_REPORT_ROWS: usize = 1000;

/// The grouped rows: calls, tokens, cost, failures and fallbacks summed, and the median latency of each
/// group taken in the same pass (a window numbering each group's calls by latency).
fn grouped_sql(key: &str, filter: &str, order: &str) -> String {
    format!(
        "WITH c AS (SELECT {key} AS key, prompt_tokens, completion_tokens, cost_usd, latency_ms, status, \
         fallback, usage_source, unpriced FROM llm_calls WHERE {filter}), \
         r AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY key ORDER BY latency_ms) AS rn, \
         COUNT(*) OVER (PARTITION BY key) AS n FROM c) \
         SELECT key, COUNT(*) AS calls, TOTAL(prompt_tokens) AS input_tokens, \
         TOTAL(completion_tokens) AS output_tokens, TOTAL(cost_usd) AS cost_usd, \
         MAX(CASE WHEN rn = (n + 1) / 2 THEN latency_ms END) AS p50_latency_ms, \
         TOTAL(status = 'error') AS failed_calls, TOTAL(fallback) AS fallback_calls, \
         TOTAL(usage_source = 'estimated') AS estimated_calls, TOTAL(unpriced) AS unpriced_calls \
         FROM r GROUP BY key ORDER BY {order} LIMIT {MAX_REPORT_ROWS}"
    )
}

#[derive(Deserialize)]
struct GroupRow {
    key: Option<String>,
    #[serde(default)]
    label: Option<String>,
    calls: f64,
    input_tokens: f64,
    output_tokens: f64,
    cost_usd: f64,
    p50_latency_ms: Option<f64>,
    failed_calls: f64,
    fallback_calls: f64,
    estimated_calls: f64,
    unpriced_calls: f64,
}

impl From<GroupRow> for UsageRow {
    fn from(r: GroupRow) -> Self {
        UsageRow {
            key: r.key.unwrap_or_default(),
            label: r.label,
            calls: r.calls as u64,
            input_tokens: r.input_tokens as u64,
            output_tokens: r.output_tokens as u64,
            cost_usd: r.cost_usd,
            p50_latency_ms: r.p50_latency_ms.unwrap_or(0.0) as u64,
            failed_calls: r.failed_calls as u64,
            fallback_calls: r.fallback_calls as u64,
            estimated_calls: r.estimated_calls as u64,
            unpriced_calls: r.unpriced_calls as u64,
        }
    }
}

/// A report over `range`: one row per key and a total over every call, in one round trip.
pub async fn report(
    db: &D1Database,
    scope: Scope<'_>,
    group_by: GroupBy,
    range: Range,
) -> Result<UsageReport> {
    let (filter, args) = scope.filter(&range.bounds());
    let order = match group_by {
        GroupBy::Day => "key",
        _ => "cost_usd DESC, calls DESC, key",
    };
    let mut grouped = grouped_sql(key_column(group_by), filter, order);
    if let (GroupBy::Session, Scope::User(_)) = (group_by, scope) {
        // A conversation's title while it exists; a deleted one keeps its costs but has no title.
        grouped = format!(
            "SELECT g.*, s.title AS label FROM ({grouped}) g \
             LEFT JOIN sessions s ON s.id = g.key AND s.user_id = ?1 ORDER BY g.cost_usd DESC, g.calls DESC, g.key"
        );
    }
    let total = grouped_sql("'total'", filter, "key");
    let results = db
        .batch(vec![stmt(db, &grouped, &args)?, stmt(db, &total, &args)?])
        .await?;
    let [rows, total] = <[_; 2]>::try_from(results)
        .map_err(|_| Failure::Internal("D1 answered a batch of two with another count".into()))?;
    let rows: Vec<GroupRow> = rows.results()?;
    let total = total
        .results::<GroupRow>()?
        .pop()
        .map_or_else(empty_total, UsageRow::from);
    Ok(UsageReport {
        group_by: group_by.as_str().to_owned(),
        from: range.from.to_string(),
        to: range.to.to_string(),
        rows: rows.into_iter().map(UsageRow::from).collect(),
        total,
    })
}

fn empty_total() -> UsageRow {
    UsageRow {
        key: "total".into(),
        label: None,
        calls: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0.0,
        p50_latency_ms: 0,
        failed_calls: 0,
        fallback_calls: 0,
        estimated_calls: 0,
        unpriced_calls: 0,
    }
}

#[derive(Deserialize)]
struct MonthRow {
    calls: f64,
    input_tokens: f64,
    output_tokens: f64,
    spent_usd: f64,
    unpriced_calls: f64,
}

#[derive(Deserialize)]
struct BudgetRow {
    budget_usd: Option<f64>,
}

/// The user's month to date at `now_ms`, with their budget: their own if an admin set one, else
/// `default_budget`.
pub async fn summary(
    db: &D1Database,
    user_id: &str,
    now_ms: u64,
    default_budget: Option<f64>,
) -> Result<UsageSummary> {
    let month = Month::of(now_ms);
    let bounds = (month.start.to_string(), month.next.to_string());
    let (filter, args) = Scope::User(user_id).filter(&bounds);
    let totals = format!(
        "SELECT COUNT(*) AS calls, TOTAL(prompt_tokens) AS input_tokens, TOTAL(completion_tokens) AS output_tokens, \
         TOTAL(cost_usd) AS spent_usd, TOTAL(unpriced) AS unpriced_calls FROM llm_calls WHERE {filter}"
    );
    let own = "SELECT budget_usd FROM user_budgets WHERE user_id = ?1";
    let results = db
        .batch(vec![stmt(db, &totals, &args)?, stmt(db, own, &[user_id.into()])?])
        .await?;
    let [totals, own] = <[_; 2]>::try_from(results)
        .map_err(|_| Failure::Internal("D1 answered a batch of two with another count".into()))?;
    let t = totals
        .results::<MonthRow>()?
        .pop()
        .ok_or_else(|| Failure::Internal("an aggregate returned no row".into()))?;
    let budget = match own.results::<BudgetRow>()?.pop() {
        Some(row) => row.budget_usd,
        None => default_budget,
    };
    Ok(UsageSummary {
        month: month.start.month_label(),
        spent_usd: t.spent_usd,
        budget_usd: budget,
        percent_used: percent_used(t.spent_usd, budget),
        projected_usd: month.projected(t.spent_usd, now_ms),
        reset_at: month.reset_at(),
        calls: t.calls as u64,
        input_tokens: t.input_tokens as u64,
        output_tokens: t.output_tokens as u64,
        unpriced_calls: t.unpriced_calls as u64,
    })
}

#[derive(Deserialize)]
struct LoggedCall {
    id: String,
    created_at: String,
    session_id: String,
    provider: String,
    model: String,
    call_type: String,
    status: String,
    prompt_tokens: f64,
    completion_tokens: f64,
    cost_usd: Option<f64>,
    latency_ms: f64,
    usage_source: String,
    fallback: f64,
    unpriced: f64,
}

impl From<LoggedCall> for CallRow {
    fn from(r: LoggedCall) -> Self {
        CallRow {
            id: r.id,
            created_at: r.created_at,
            session_id: r.session_id,
            provider: r.provider,
            model: r.model,
            call_type: r.call_type,
            status: r.status,
            input_tokens: r.prompt_tokens as u64,
            output_tokens: r.completion_tokens as u64,
            cost_usd: r.cost_usd,
            latency_ms: r.latency_ms as u64,
            usage_source: r.usage_source,
            fallback: r.fallback != 0.0,
            unpriced: r.unpriced != 0.0,
        }
    }
}

/// Up to `limit` of the user's calls in `range`, newest first, after `cursor`; and the cursor after the
/// last of them if more follow.
pub async fn calls(
    db: &D1Database,
    user_id: &str,
    range: Range,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<(Vec<CallRow>, Option<Cursor>)> {
    let (filter, mut args) = Scope::User(user_id).filter(&range.bounds());
    let after = match cursor {
        Some(c) => {
            args.extend([c.created_at.as_str().into(), c.id.as_str().into()]);
            " AND (created_at < ?4 OR (created_at = ?4 AND id < ?5))"
        }
        None => "",
    };
    let sql = format!(
        "SELECT id, created_at, session_id, provider, model, call_type, status, prompt_tokens, completion_tokens, \
         cost_usd, latency_ms, usage_source, fallback, unpriced FROM llm_calls WHERE {filter}{after} \
         ORDER BY created_at DESC, id DESC LIMIT {}",
        limit + 1
    );
    let mut rows: Vec<CallRow> = stmt(db, &sql, &args)?
        .all()
        .await?
        .results::<LoggedCall>()?
        .into_iter()
        .map(CallRow::from)
        .collect();
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more.then(|| rows.last().map(Cursor::after)).flatten();
    Ok((rows, next))
}

/// Sets `user_id`'s own monthly budget (`None`: no budget at all, whatever `MONTHLY_BUDGET_USD` says).
pub async fn set_budget(db: &D1Database, user_id: &str, budget_usd: Option<f64>) -> Result<()> {
    stmt(
        db,
        "INSERT INTO user_budgets (user_id, budget_usd, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id) DO UPDATE SET budget_usd = excluded.budget_usd, updated_at = excluded.updated_at",
        &[
            user_id.into(),
            budget_usd.map_or(JsValue::NULL, JsValue::from_f64),
            now_iso().into(),
        ],
    )?
    .run()
    .await?;
    Ok(())
}
