//! `/api/v1/datasets`: upload a CSV, list, inspect, page through and delete the caller's datasets.
//! Another user's dataset answers 404 everywhere.

use datasage_shared::api::{DatasetList, DatasetUpdate, ErrorCode};
use datasage_shared::csv::Limits;
use datasage_shared::multipart::{self, MultipartReader};
use futures::stream::{self, LocalBoxStream};
use futures::StreamExt;
use serde::Deserialize;
use worker::{ByteStream, Env, Request, Response};

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

fn interrupted() -> Failure {
    Failure::api(ErrorCode::BadRequest, "the upload was interrupted")
}

fn bad_form(e: multipart::MultipartError) -> Failure {
    Failure::api(ErrorCode::BadRequest, e.to_string())
}

/// What a form upload said besides the file.
struct Form {
    name: Option<String>,
    privacy: Option<bool>,
}

/// Reads the rest of a refused body and drops it: answering before the body is read makes the local
/// runtime's proxy drop the connection (the client then sees a 500 instead of the error). The body is
/// bounded by the platform's request size limit.
async fn drain(body: &mut ByteStream) {
    while let Some(Ok(_)) = body.next().await {}
}

/// A `multipart/form-data` body as the stream of its file part's bytes. The fields before the file (and
/// its filename) are read first, so the upload's name is known before any row is.
async fn form_file(
    mut body: ByteStream,
    boundary: &str,
) -> Result<(Form, LocalBoxStream<'static, Result<Vec<u8>>>)> {
    let mut parser = MultipartReader::new(boundary);
    let mut first = Vec::new();
    while !parser.in_file() {
        match body.next().await {
            Some(Ok(chunk)) => match parser.push(&chunk) {
                Ok(bytes) => first.extend(bytes),
                Err(e) => {
                    drain(&mut body).await;
                    return Err(bad_form(e));
                }
            },
            Some(Err(_)) => return Err(interrupted()),
            None => {
                parser.finish().map_err(bad_form)?;
                return Err(bad_form(multipart::MultipartError::NoFile));
            }
        }
    }
    let form = Form {
        name: parser.field("name").or(parser.file_name()).map(str::to_owned),
        privacy: parser.field("privacy").map(|p| p == "true" || p == "on"),
    };
    let rest = stream::unfold(Some((body, parser)), |state| async move {
        let (mut body, mut parser) = state?;
        match body.next().await {
            Some(Ok(chunk)) => match parser.push(&chunk) {
                Ok(bytes) => Some((Ok(bytes), Some((body, parser)))),
                Err(e) => Some((Err(bad_form(e)), None)),
            },
            Some(Err(_)) => Some((Err(interrupted()), None)),
            None => parser.finish().err().map(|e| (Err(bad_form(e)), None)),
        }
    });
    Ok((
        form,
        stream::once(async move { Ok(first) }).chain(rest).boxed_local(),
    ))
}

/// `POST /api/v1/datasets?name=…[&privacy=true]` with the CSV as the raw body, or a `multipart/form-data`
/// form whose `file` part is the CSV (its `name` and `privacy` fields, or the filename, stand in for the
/// query parameters).
pub async fn upload(mut req: Request, env: &Env) -> Result<Response> {
    let user_id = authenticate(&req, env)?;
    let query: UploadQuery = req
        .query()
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "bad query string"))?;
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    let body = req
        .stream()
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "the upload has no body"))?;
    let (form, body) = match multipart::boundary(&content_type) {
        None => (
            Form {
                name: None,
                privacy: None,
            },
            body.map(|c| c.map_err(|_| interrupted())).boxed_local(),
        ),
        Some(boundary) => form_file(body, &boundary.map_err(bad_form)?).await?,
    };
    let name = query
        .name
        .or(form.name)
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && n.chars().count() <= 200);
    let name =
        name.ok_or_else(|| Failure::api(ErrorCode::BadRequest, "`name` (1-200 characters) is required"))?;
    let db = env.d1("DB")?;
    let new = NewDataset {
        owner: &user_id,
        id: random_uuid()?,
        name: &name,
        privacy: query.privacy.or(form.privacy).unwrap_or(false),
        limits: limits(env),
    };
    let detail = datasets::upload(env, &db, new, body).await?;
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
    super::json(&datasets::rows(env, &env.d1("DB")?, &user_id, id, page.offset.unwrap_or(0), limit).await?)
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
    datasets::delete(env, &env.d1("DB")?, &user_id, id).await?;
    Ok(Response::empty()?.with_status(204))
}
