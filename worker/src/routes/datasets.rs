//! `/api/v1/datasets`: upload a CSV, list, inspect, page through and delete the caller's datasets.
//! Another user's dataset answers 404 everywhere.

use datasage_shared::api::{DatasetList, DatasetUpdate, ErrorCode};
use datasage_shared::csv::Limits;
use serde::Deserialize;
use worker::{console_error, Env, Request, Response};

use crate::auth::authenticate;
use crate::datasets::{self, NewDataset};
use crate::error::{Failure, Result};
use crate::util::random_uuid;

/// Rows a preview page may hold.
const MAX_PAGE: u64 = 500;

#[derive(Deserialize)]
struct UploadQuery {
    name: Option<String>,
    privacy: Option<bool>,
}

/// `POST /api/v1/datasets?name=…[&privacy=true]` with the CSV as the raw body.
pub async fn upload(mut req: Request, env: &Env) -> Result<Response> {
    let user_id = authenticate(&req, env)?;
    let query: UploadQuery = req
        .query()
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "bad query string"))?;
    let name = query
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && n.chars().count() <= 200);
    let name =
        name.ok_or_else(|| Failure::api(ErrorCode::BadRequest, "`name` (1-200 characters) is required"))?;
    let body = req
        .stream()
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "the upload has no body"))?;
    let db = env.d1("DB")?;
    let new = NewDataset {
        owner: &user_id,
        id: random_uuid()?,
        name: &name,
        privacy: query.privacy.unwrap_or(false),
        limits: limits(env),
    };
    let detail = datasets::upload(&db, new, body).await?;
    if let Err(e) = datasets::sweep_staging(&db).await {
        console_error!("could not sweep leftover staging tables: {e}");
    }
    Ok(Response::from_json(&detail)?.with_status(201))
}

/// Upload limits from `wrangler.toml` vars, falling back to the defaults.
fn limits(env: &Env) -> Limits {
    let d = Limits::default();
    let var = |name: &str| env.var(name).ok().and_then(|v| v.to_string().parse::<u64>().ok());
    Limits {
        max_bytes: var("UPLOAD_MAX_BYTES").unwrap_or(d.max_bytes),
        max_rows: var("UPLOAD_MAX_ROWS").map_or(d.max_rows, |v| v as usize),
        max_columns: var("UPLOAD_MAX_COLUMNS").map_or(d.max_columns, |v| v as usize),
        max_field_bytes: var("UPLOAD_MAX_FIELD_BYTES").map_or(d.max_field_bytes, |v| v as usize),
    }
}

pub async fn list(req: &Request, env: &Env) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    super::json(&DatasetList {
        datasets: datasets::list(&env.d1("DB")?, &user_id).await?,
    })
}

pub async fn get(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    super::json(&datasets::detail(&env.d1("DB")?, &user_id, id).await?)
}

#[derive(Deserialize)]
struct Page {
    offset: Option<u64>,
    limit: Option<u64>,
}

pub async fn rows(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    let page: Page = req
        .query()
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "`offset` and `limit` are numbers"))?;
    let limit = page.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    super::json(&datasets::rows(&env.d1("DB")?, &user_id, id, page.offset.unwrap_or(0), limit).await?)
}

/// `PATCH /api/v1/datasets/{id}` with `{"privacy": true|false}`.
pub async fn update(mut req: Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(&req, env)?;
    let body = req
        .bytes()
        .await
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "could not read the request body"))?;
    let update: DatasetUpdate = serde_json::from_slice(&body).map_err(|e| {
        Failure::api(
            ErrorCode::BadRequest,
            format!("expected {{\"privacy\": true|false}}: {e}"),
        )
    })?;
    super::json(&datasets::set_privacy(&env.d1("DB")?, &user_id, id, update.privacy).await?)
}

pub async fn delete(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let user_id = authenticate(req, env)?;
    datasets::delete(&env.d1("DB")?, &user_id, id).await?;
    Ok(Response::empty()?.with_status(204))
}
