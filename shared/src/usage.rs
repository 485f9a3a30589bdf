//! Usage and cost over the call log: what a report asks for (a range of days, a grouping), the month a
//! budget counts in and its projection, the cursor that pages through calls, and the CSV export's rows.
//! Pure; the worker runs the queries (`worker/src/usage.rs`).
//!
//! Every bad parameter is a 400 `BAD_REQUEST` whose `reason` is one stable `USAGE_*` code.

use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ChartConfig, ChartType, ErrorCode, RequestBody};
use crate::calendar::Date;
use crate::words::wire_words;

wire_words! {
    /// What a usage report's rows are keyed by.
    pub enum GroupBy {
        /// The UTC day of the call.
        Day = "day",
        /// The conversation (its id; the title while it exists).
        Session = "session",
        Provider = "provider",
        Model = "model",
        /// The caller; admin reports only.
        User = "user",
    }
}

impl GroupBy {
    /// The groupings a person may ask of their own usage.
    pub const OWN: &'static [GroupBy] = &[GroupBy::Day, GroupBy::Session, GroupBy::Provider, GroupBy::Model];
    /// The groupings of the admin's report over every user.
    pub const ADMIN: &'static [GroupBy] = &[GroupBy::User, GroupBy::Day, GroupBy::Provider, GroupBy::Model];

    /// `word` if it is one of `allowed`; `default` when absent.
    pub fn parse(word: Option<&str>, allowed: &[GroupBy], default: GroupBy) -> Result<Self, ApiError> {
        let Some(word) = word else { return Ok(default) };
        GroupBy::from_word(word)
            .filter(|g| allowed.contains(g))
            .ok_or_else(|| {
                let words: Vec<_> = allowed.iter().map(|g| g.as_str()).collect();
                bad(
                    "USAGE_BAD_GROUP_BY",
                    format!("group_by must be one of {}", words.join(", ")),
                )
            })
    }
}

/// The longest range one report covers, in days.
pub const MAX_RANGE_DAYS: i64 = 366;

/// Days `from` to `to`, both included, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Date,
    pub to: Date,
}

impl Range {
    /// `from` and `to` as `YYYY-MM-DD`; by default the month of `today` up to today.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, ApiError> {
        let date = |name: &str, value: Option<&str>, default: Date| match value {
            None => Ok(default),
            Some(v) => Date::parse(v).ok_or_else(|| {
                bad(
                    "USAGE_BAD_DATE",
                    format!(
                        "{name} must be a date as YYYY-MM-DD (got {:?})",
                        crate::text::excerpt(v, 40)
                    ),
                )
            }),
        };
        let range = Range {
            from: date("from", from, today.month_start())?,
            to: date("to", to, today)?,
        };
        if range.from > range.to {
            return Err(bad("USAGE_BAD_RANGE", "from is after to"));
        }
        if range.to.days() - range.from.days() >= MAX_RANGE_DAYS {
            return Err(bad(
                "USAGE_BAD_RANGE",
                format!("a report covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(range)
    }

    /// `[lower, upper)` bounds for ISO timestamps (`created_at`): `from`, and the day after `to`.
    pub fn bounds(&self) -> (String, String) {
        (self.from.to_string(), self.to.plus_days(1).to_string())
    }
}

/// The UTC calendar month a budget counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub start: Date,
    pub next: Date,
}

/// A projection never extrapolates from less than this much of a month.
const MIN_ELAPSED_MS: f64 = 86_400_000.0;

impl Month {
    /// The month `now_ms` falls in.
    pub fn of(now_ms: u64) -> Self {
        let start = Date::from_unix_ms(now_ms).month_start();
        Month {
            start,
            next: start.next_month_start(),
        }
    }

    /// When the month's budget starts over: `YYYY-MM-01T00:00:00Z` of the next month.
    pub fn reset_at(&self) -> String {
        format!("{}T00:00:00Z", self.next)
    }

    /// What the month will have cost at this pace: `spent` over the elapsed part (at least a day, so the
    /// first minutes of a month do not multiply one call by thousands).
    pub fn projected(&self, spent_usd: f64, now_ms: u64) -> f64 {
        let (start, next) = (self.start.unix_ms() as f64, self.next.unix_ms() as f64);
        let elapsed = (now_ms as f64 - start).clamp(MIN_ELAPSED_MS, next - start);
        spent_usd * (next - start) / elapsed
    }
}

/// `GET /api/v1/usage/summary`: the caller's month to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    /// `YYYY-MM`, UTC.
    pub month: String,
    pub spent_usd: f64,
    pub budget_usd: Option<f64>,
    /// `spent / budget × 100`; `None` without a budget.
    pub percent_used: Option<f64>,
    pub projected_usd: f64,
    pub reset_at: String,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Calls to a model with no price: each is counted in `spent_usd` at the most expensive known price.
    pub unpriced_calls: u64,
}

/// `spent / budget` in percent, `None` without a budget (a zero budget is spent at once).
pub fn percent_used(spent_usd: f64, budget_usd: Option<f64>) -> Option<f64> {
    budget_usd.map(|b| if b > 0.0 { spent_usd / b * 100.0 } else { 100.0 })
}

/// One row of a usage report (and its total row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    pub key: String,
    /// A readable name for the key where there is one (a conversation's title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub p50_latency_ms: u64,
    pub failed_calls: u64,
    pub fallback_calls: u64,
    /// Calls whose tokens were estimated (the provider reported none).
    pub estimated_calls: u64,
    /// Calls to a model with no price (counted at the most expensive known price).
    pub unpriced_calls: u64,
}

/// `GET /api/v1/usage`: rows by `group_by` over `from..=to`, and their total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    pub group_by: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<UsageRow>,
    pub total: UsageRow,
}

/// One logged call, as listed and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRow {
    pub id: String,
    pub created_at: String,
    pub session_id: String,
    pub provider: String,
    pub model: String,
    pub call_type: String,
    pub status: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` only for a row that records no call (an answer that died with the worker).
    pub cost_usd: Option<f64>,
    pub latency_ms: u64,
    /// `reported` by the provider or `estimated` from the text.
    pub usage_source: String,
    /// Made after an earlier provider of the same step failed.
    pub fallback: bool,
    /// The model had no price: `cost_usd` is at the most expensive known price.
    pub unpriced: bool,
}

/// `GET /api/v1/usage/calls`: a page of calls, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallPage {
    pub calls: Vec<CallRow>,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// `PUT /api/v1/admin/users/{id}/budget`: `{"budget_usd": 5.0}`, or `{"budget_usd": null}` for no budget.
/// The field must be there: a misspelt body is refused rather than read as "no budget".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetUpdate {
    #[serde(deserialize_with = "present")]
    pub budget_usd: Option<f64>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(d)
}

/// The largest budget one user may have, in dollars.
pub const MAX_BUDGET_USD: f64 = 1_000_000.0;

impl RequestBody for BudgetUpdate {
    const EXPECTED: &'static str = "expected {\"budget_usd\": dollars or null}";

    fn check(&self) -> Result<(), ApiError> {
        match self.budget_usd {
            Some(b) if !(0.0..=MAX_BUDGET_USD).contains(&b) => Err(bad(
                "USAGE_BAD_BUDGET",
                format!("budget_usd must be 0 to {MAX_BUDGET_USD} dollars, or null"),
            )),
            _ => Ok(()),
        }
    }
}

/// `GET /api/v1/usage/estimate?dataset_id=`: what a question about a dataset may cost, before it is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// The first provider that would answer (`builtin`, at no cost, when there is none).
    pub provider: String,
    pub model: String,
    /// Dollars per million tokens (an unpriced model's are the most expensive known).
    pub input_per_m: f64,
    pub output_per_m: f64,
    pub unpriced: bool,
    /// The prompt before the question: instructions and the dataset's profile (history left out).
    pub prompt_tokens: u64,
    /// The most output tokens one call may produce.
    pub max_output_tokens: u64,
}

impl CostEstimate {
    /// The likely cost of asking `question`, low to high: at least one call with a short reply; at most a
    /// call that plans queries and one that answers from their results, each writing a whole answer.
    pub fn range(&self, question: &str) -> (f64, f64) {
        // A question is small beside the prompt: four characters a token is near enough, and keeps the
        // full estimator (`tokens::estimate`) out of the app.
        let input = (self.prompt_tokens + crate::prompt::estimate_tokens(question) as u64) as f64;
        let dollars = |input: f64, output: f64| (input * self.input_per_m + output * self.output_per_m) / 1e6;
        let low = dollars(input, SHORT_REPLY_TOKENS);
        let high = 2.0 * dollars(input * 1.15, self.max_output_tokens as f64);
        (low, high)
    }
}

/// A short reply's output tokens: the smallest answer worth the name.
const SHORT_REPLY_TOKENS: f64 = 60.0;

/// The Usage page's charts from a report by day over `range`: cost by day, and input and output tokens by
/// day as a line each. Every day of the range is there, a day without calls at zero.
pub fn daily_charts(report: &UsageReport, range: Range) -> (ChartConfig, ChartConfig) {
    let mut cost = Vec::new();
    let mut tokens = Vec::new();
    for n in 0..=(range.to.days() - range.from.days()) {
        let day = range.from.plus_days(n).to_string();
        let row = report.rows.iter().find(|r| r.key == day);
        let label = day.get(5..).unwrap_or(&day).to_owned();
        let point = |pairs: &[(&str, serde_json::Value)]| {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
        };
        cost.push(point(&[
            ("day", label.clone().into()),
            ("cost_usd", row.map_or(0.0, |r| r.cost_usd).into()),
        ]));
        for (kind, count) in [
            ("input", row.map_or(0, |r| r.input_tokens)),
            ("output", row.map_or(0, |r| r.output_tokens)),
        ] {
            tokens.push(point(&[
                ("day", label.clone().into()),
                ("kind", kind.into()),
                ("tokens", count.into()),
            ]));
        }
    }
    let chart = |chart_type, y: &str, series: Option<&str>, title: &str, data| ChartConfig {
        chart_type,
        x: "day".into(),
        y: y.into(),
        series: series.map(str::to_owned),
        title: title.into(),
        data,
    };
    (
        chart(ChartType::Bar, "cost_usd", None, "Cost by day (USD)", cost),
        chart(ChartType::Line, "tokens", Some("kind"), "Tokens by day", tokens),
    )
}

/// Calls per page unless `limit` says otherwise, and the most one page holds.
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 1000;

/// `limit`: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
pub fn page_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad("USAGE_BAD_LIMIT", format!("limit must be 1 to {MAX_PAGE}"))),
    }
}

/// Where a page of calls starts: just after the call `(created_at, id)` in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: String,
    pub id: String,
}

impl Cursor {
    /// The cursor after `call`.
    pub fn after(call: &CallRow) -> Self {
        Cursor {
            created_at: call.created_at.clone(),
            id: call.id.clone(),
        }
    }

    /// As clients see it: opaque (hex of `created_at` and `id`).
    pub fn encode(&self) -> String {
        format!("{}.{}", hex(&self.created_at), hex(&self.id))
    }

    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let refused = || bad("USAGE_BAD_CURSOR", "cursor is not one this API gave out");
        let (at, id) = s.split_once('.').ok_or_else(refused)?;
        let (created_at, id) = (unhex(at).ok_or_else(refused)?, unhex(id).ok_or_else(refused)?);
        let timestamp = Date::of_iso_prefix(&created_at).is_some()
            && created_at.len() <= 40
            && created_at
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":.-+".contains(&b));
        if !timestamp || !crate::api::is_valid_id(&id) {
            return Err(refused());
        }
        Ok(Cursor { created_at, id })
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The export's header line.
pub const CSV_HEADER: &str =
    "id,created_at,session_id,provider,model,call_type,status,input_tokens,output_tokens,\
                              cost_usd,latency_ms,usage_source,fallback,unpriced\r\n";

/// One call as a CSV line (RFC 4180, CRLF). Text that a spreadsheet would run as a formula is prefixed with
/// `'`: a model name comes from configuration, but nothing in an export should be able to run.
pub fn csv_line(c: &CallRow) -> String {
    let cost = c.cost_usd.map(|v| v.to_string()).unwrap_or_default();
    let fields = [
        cell(&c.id),
        cell(&c.created_at),
        cell(&c.session_id),
        cell(&c.provider),
        cell(&c.model),
        cell(&c.call_type),
        cell(&c.status),
        c.input_tokens.to_string(),
        c.output_tokens.to_string(),
        cost,
        c.latency_ms.to_string(),
        cell(&c.usage_source),
        c.fallback.to_string(),
        c.unpriced.to_string(),
    ];
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

fn cell(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn bad(reason: &str, message: impl Into<String>) -> ApiError {
    let mut err = ApiError::new(ErrorCode::BadRequest, message);
    err.error.reason = Some(reason.to_owned());
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::parse("2026-12-07").unwrap()
    }

    fn reason(e: ApiError) -> String {
        assert_eq!(e.error.code, ErrorCode::BadRequest);
        e.error.reason.unwrap_or_default()
    }

    #[test]
    fn a_report_covers_the_month_to_date_unless_told_otherwise() {
        let r = Range::parse(None, None, today()).unwrap();
        assert_eq!(r.bounds(), ("2026-12-01".into(), "2026-12-08".into()));
        let r = Range::parse(Some("2026-02-28"), Some("2026-03-01"), today()).unwrap();
        assert_eq!(r.bounds(), ("2026-02-28".into(), "2026-03-02".into()));
        // The upper bound is past every timestamp of the last day.
        assert!("2026-03-01T23:59:59.999Z" < r.bounds().1.as_str());
    }

    #[test]
    fn bad_dates_and_ranges_are_refused_with_a_stable_reason() {
        let cases = [
            (Some("2026-02-30"), None, "USAGE_BAD_DATE"),
            (Some("yesterday"), None, "USAGE_BAD_DATE"),
            (None, Some("2026-12-07T00:00"), "USAGE_BAD_DATE"),
            (Some("2026-12-07"), Some("2026-12-01"), "USAGE_BAD_RANGE"),
            (Some("2024-01-01"), Some("2026-01-01"), "USAGE_BAD_RANGE"),
        ];
        for (from, to, expected) in cases {
            let got = Range::parse(from, to, today()).unwrap_err();
            assert_eq!(reason(got), expected, "{from:?}..{to:?}");
        }
        assert!(Range::parse(Some("2025-12-08"), Some("2026-12-07"), today()).is_ok());
    }

    #[test]
    fn each_report_offers_its_own_groupings_only() {
        assert_eq!(
            GroupBy::parse(None, GroupBy::OWN, GroupBy::Day).unwrap(),
            GroupBy::Day
        );
        for g in GroupBy::OWN {
            assert_eq!(
                GroupBy::parse(Some(g.as_str()), GroupBy::OWN, GroupBy::Day).unwrap(),
                *g
            );
        }
        let user = GroupBy::parse(Some("user"), GroupBy::OWN, GroupBy::Day).unwrap_err();
        assert_eq!(reason(user), "USAGE_BAD_GROUP_BY");
        assert!(GroupBy::parse(Some("user"), GroupBy::ADMIN, GroupBy::User).is_ok());
        assert!(GroupBy::parse(Some("session"), GroupBy::ADMIN, GroupBy::User).is_err());
        assert!(GroupBy::parse(Some("DAY"), GroupBy::OWN, GroupBy::Day).is_err());
    }

    #[test]
    fn the_budget_month_resets_at_the_next_utc_month_and_projects_its_pace() {
        let now = Date::parse("2026-12-16").unwrap().unix_ms() as u64; // 15 of 31 days gone
        let month = Month::of(now);
        assert_eq!(month.reset_at(), "2027-01-01T00:00:00Z");
        assert!((month.projected(1.5, now) - 3.1).abs() < 1e-9);
        // An hour into a month, one cent is not projected to hundreds of dollars.
        let early = Date::parse("2026-12-01").unwrap().unix_ms() as u64 + 3_600_000;
        assert!((Month::of(early).projected(0.01, early) - 0.31).abs() < 1e-9);
        assert_eq!(percent_used(2.0, Some(8.0)), Some(25.0));
        assert_eq!(percent_used(0.0, Some(0.0)), Some(100.0));
        assert_eq!(percent_used(2.0, None), None);
    }

    fn call(id: &str, model: &str) -> CallRow {
        CallRow {
            id: id.into(),
            created_at: "2026-12-07T16:22:37.123Z".into(),
            session_id: "s-1".into(),
            provider: "openai".into(),
            model: model.into(),
            call_type: "plan".into(),
            status: "ok".into(),
            input_tokens: 1200,
            output_tokens: 80,
            cost_usd: Some(0.000228),
            latency_ms: 912,
            usage_source: "reported".into(),
            fallback: false,
            unpriced: false,
        }
    }

    #[test]
    fn a_cursor_round_trips_and_a_forged_one_is_refused() {
        let c = Cursor::after(&call("c-1", "gpt-4o-mini")).encode();
        assert!(
            c.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.'),
            "safe in a URL as it is"
        );
        assert_eq!(
            Cursor::parse(&c).unwrap(),
            Cursor {
                created_at: "2026-12-07T16:22:37.123Z".into(),
                id: "c-1".into()
            }
        );
        let forged = format!("{}.{}", hex("2026-12-07' OR 1=1 --"), hex("c-1"));
        for bad_cursor in [
            forged.as_str(),
            "zz.zz",
            "abc",
            "",
            "6.6",
            &format!("{}.{}", hex("2026"), hex("c")),
        ] {
            assert_eq!(
                reason(Cursor::parse(bad_cursor).unwrap_err()),
                "USAGE_BAD_CURSOR",
                "{bad_cursor}"
            );
        }
    }

    #[test]
    fn a_budget_is_dollars_or_null_and_a_misspelt_body_is_refused() {
        assert_eq!(
            BudgetUpdate::parse(br#"{"budget_usd": 5.5}"#).unwrap().budget_usd,
            Some(5.5)
        );
        assert_eq!(
            BudgetUpdate::parse(br#"{"budget_usd": null}"#)
                .unwrap()
                .budget_usd,
            None
        );
        for body in [
            &br#"{}"#[..],
            br#"{"budget": 5}"#,
            br#"{"budget_usd": -1}"#,
            br#"{"budget_usd": 1e9}"#,
            br#"{"budget_usd": "5"}"#,
        ] {
            let err = BudgetUpdate::parse(body).unwrap_err();
            assert_eq!(
                err.error.code,
                ErrorCode::BadRequest,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_questions_cost_range_grows_with_it_and_is_free_from_the_analyst() {
        let estimate = CostEstimate {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            input_per_m: 0.15,
            output_per_m: 0.60,
            unpriced: false,
            prompt_tokens: 1_600,
            max_output_tokens: 1_500,
        };
        let (low, high) = estimate.range("How many rows?");
        assert!(low > 1_600.0 * 0.15 / 1e6 && low < high, "{low} {high}");
        assert!(high < 0.01, "{high}");
        let (longer, _) = estimate.range(&"How many rows? ".repeat(100));
        assert!(longer > low);
        let free = CostEstimate {
            input_per_m: 0.0,
            output_per_m: 0.0,
            ..estimate
        };
        assert_eq!(free.range("How many rows?"), (0.0, 0.0));
    }

    #[test]
    fn the_daily_charts_have_every_day_of_the_range_with_quiet_days_at_zero() {
        let range = Range::parse(Some("2026-12-01"), Some("2026-12-07"), today()).unwrap();
        let day = |key: &str, cost: f64| UsageRow {
            key: key.into(),
            label: None,
            calls: 1,
            input_tokens: 100,
            output_tokens: 10,
            cost_usd: cost,
            p50_latency_ms: 1,
            failed_calls: 0,
            fallback_calls: 0,
            estimated_calls: 0,
            unpriced_calls: 0,
        };
        let report = UsageReport {
            group_by: "day".into(),
            from: "2026-12-01".into(),
            to: "2026-12-07".into(),
            rows: vec![day("2026-12-02", 0.5), day("2026-12-07", 0.25)],
            total: day("total", 0.75),
        };
        let (cost, tokens) = daily_charts(&report, range);
        assert_eq!(cost.data.len(), 7);
        let costs: Vec<f64> = cost.data.iter().filter_map(|p| p["cost_usd"].as_f64()).collect();
        assert_eq!(costs, [0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.25]);
        assert_eq!(cost.data[0]["day"], "12-01");
        assert_eq!(tokens.data.len(), 14, "input and output each day");
        assert_eq!(
            (tokens.chart_type, tokens.series.as_deref()),
            (ChartType::Line, Some("kind"))
        );
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(page_limit(Some("1000")).unwrap(), 1000);
        for bad_limit in ["0", "1001", "-1", "ten", ""] {
            assert_eq!(
                reason(page_limit(Some(bad_limit)).unwrap_err()),
                "USAGE_BAD_LIMIT"
            );
        }
    }

    #[test]
    fn the_export_quotes_what_needs_it_and_never_hands_a_spreadsheet_a_formula() {
        let line = csv_line(&call("c-1", "=HYPERLINK(\"http://x\",\"a,b\")"));
        assert_eq!(
            line,
            "c-1,2026-12-07T16:22:37.123Z,s-1,openai,\"'=HYPERLINK(\"\"http://x\"\",\"\"a,b\"\")\",plan,ok,\
             1200,80,0.000228,912,reported,false,false\r\n"
        );
        let unpriced = CallRow {
            cost_usd: None,
            ..call("c-2", "llama\nnext")
        };
        assert!(csv_line(&unpriced).contains(",\"llama\nnext\",plan,ok,1200,80,,912,"));
        assert_eq!(
            CSV_HEADER.trim_end().split(',').count(),
            csv_line(&call("c", "m")).split(',').count()
        );
    }
}
