//! `/api/v1/usage*`: the caller's own usage — the month to date against their budget, reports grouped by
//! day, conversation, provider or model, and their calls page by page or as a CSV export of any size —
//! and `/api/v1/admin/*`: every user's usage and one user's budget, for an admin token only.

use datasage_shared::api::{is_valid_id, ErrorCode};
use datasage_shared::calendar::Date;
use datasage_shared::usage::{self, BudgetUpdate, Cursor, GroupBy, Range, CSV_HEADER};
use futures::stream;
use serde::Serialize;
use worker::{D1Database, Headers, Request, Response, Url};

use super::context::{json, read_json, Ctx};
use crate::error::{Failure, Result};
use crate::store::SAMPLE_ID;
use crate::usage::{self as log, Scope};
use crate::util::now_ms;
use crate::{chat, datasets};

/// Calls fetched per round trip while exporting.
const EXPORT_PAGE: usize = 1000;

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn range(url: &Url) -> Result<Range> {
    let today = Date::from_unix_ms(now_ms());
    Ok(Range::parse(
        query(url, "from").as_deref(),
        query(url, "to").as_deref(),
        today,
    )?)
}

/// `GET /api/v1/usage/estimate?dataset_id=`: what a question about the dataset may cost.
pub async fn estimate(req: &Request, cx: &Ctx) -> Result<Response> {
    let id = query(&req.url()?, "dataset_id").unwrap_or_else(|| SAMPLE_ID.to_owned());
    let found = datasets::lookup(&cx.db, &cx.user_id, &id)?.all().await?;
    let dataset = datasets::question_dataset(&cx.db, found).await?;
    json(&chat::cost_estimate(&cx.config, &dataset))
}

/// `GET /api/v1/usage/summary`.
pub async fn summary(cx: &Ctx) -> Result<Response> {
    json(&log::summary(&cx.db, &cx.user_id, now_ms(), cx.config.monthly_budget_usd).await?)
}

/// `GET /api/v1/usage?from&to&group_by=day|session|provider|model`.
pub async fn report(req: &Request, cx: &Ctx) -> Result<Response> {
    let url = req.url()?;
    let group_by = GroupBy::parse(query(&url, "group_by").as_deref(), GroupBy::OWN, GroupBy::Day)?;
    json(&log::report(&cx.db, Scope::User(&cx.user_id), group_by, range(&url)?).await?)
}

/// `GET /api/v1/usage/calls?from&to&cursor&limit`, as JSON pages; with `Accept: text/csv` or `format=csv`,
/// every call of the range as one CSV download.
pub async fn calls(req: &Request, cx: &Ctx) -> Result<Response> {
    let url = req.url()?;
    let range = range(&url)?;
    let accept = req.headers().get("accept").ok().flatten().unwrap_or_default();
    if query(&url, "format").as_deref() == Some("csv") || accept.contains("text/csv") {
        return csv_export(cx.env.d1("DB")?, cx.user_id.clone(), range);
    }
    let cursor = query(&url, "cursor").map(|c| Cursor::parse(&c)).transpose()?;
    let limit = usage::page_limit(query(&url, "limit").as_deref())?;
    let (calls, next) = log::calls(&cx.db, &cx.user_id, range, cursor.as_ref(), limit).await?;
    json(&usage::CallPage {
        calls,
        next_cursor: next.as_ref().map(Cursor::encode),
    })
}

/// Where an export stands between pages.
struct Export {
    db: D1Database,
    user_id: String,
    range: Range,
    cursor: Option<Cursor>,
    started: bool,
}

/// The export streams page by page: memory holds one page, whatever the range's size. A failure after the
/// first page cuts the download short with an error (never a silently shorter file).
fn csv_export(db: D1Database, user_id: String, range: Range) -> Result<Response> {
    let first = Export {
        db,
        user_id,
        range,
        cursor: None,
        started: false,
    };
    let pages = stream::try_unfold(Some(first), |state| async move {
        let Some(mut e) = state else { return Ok(None) };
        let (rows, next) = log::calls(&e.db, &e.user_id, e.range, e.cursor.as_ref(), EXPORT_PAGE)
            .await
            .map_err(|f| worker::Error::RustError(f.to_string()))?;
        let mut chunk = if e.started {
            String::new()
        } else {
            CSV_HEADER.to_owned()
        };
        rows.iter().for_each(|r| chunk.push_str(&usage::csv_line(r)));
        e.started = true;
        e.cursor = next;
        let more = e.cursor.is_some();
        Ok::<_, worker::Error>(Some((chunk.into_bytes(), more.then_some(e))))
    });
    let headers = Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    headers.set(
        "content-disposition",
        &format!(
            "attachment; filename=\"datasage-usage-{}-to-{}.csv\"",
            range.from, range.to
        ),
    )?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::from_stream(pages)?.with_headers(headers))
}

fn admin_only(cx: &Ctx) -> Result<()> {
    if cx.admin {
        return Ok(());
    }
    Err(Failure::api(
        ErrorCode::Forbidden,
        "this route needs an admin token",
    ))
}

/// `GET /api/v1/admin/usage?from&to&group_by=user|day|provider|model`.
pub async fn admin_report(req: &Request, cx: &Ctx) -> Result<Response> {
    admin_only(cx)?;
    let url = req.url()?;
    let group_by = GroupBy::parse(query(&url, "group_by").as_deref(), GroupBy::ADMIN, GroupBy::User)?;
    json(&log::report(&cx.db, Scope::Everyone, group_by, range(&url)?).await?)
}

#[derive(Serialize)]
struct BudgetSet<'a> {
    user_id: &'a str,
    budget_usd: Option<f64>,
}

/// `PUT /api/v1/admin/users/{id}/budget` with `{"budget_usd": dollars | null}`.
pub async fn set_budget(mut req: Request, cx: &Ctx, user_id: &str) -> Result<Response> {
    admin_only(cx)?;
    if !is_valid_id(user_id) {
        return Err(Failure::api(ErrorCode::BadRequest, "not a user id"));
    }
    let update: BudgetUpdate = read_json(&mut req).await?;
    log::set_budget(&cx.db, user_id, update.budget_usd).await?;
    json(&BudgetSet {
        user_id,
        budget_usd: update.budget_usd,
    })
}
