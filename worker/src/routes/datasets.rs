//! `/api/v1/datasets`: upload a CSV, list, inspect, page through and delete the caller's datasets.
//! Another user's dataset answers 404 everywhere.

use datasage_shared::api::{DatasetList, DatasetUpdate, ErrorCode};
use datasage_shared::multipart::{self, MultipartReader};
use futures::stream::{self, LocalBoxStream};
use futures::StreamExt;
use serde::Deserialize;
use worker::{ByteStream, Request, Response};

use super::context::{json, read_json, Ctx};
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
pub async fn upload(mut req: Request, cx: &Ctx) -> Result<Response> {
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
    let new = NewDataset {
        owner: &cx.user_id,
        id: random_uuid()?,
        name: &name,
        privacy: query.privacy.or(form.privacy).unwrap_or(false),
        limits: cx.config.upload_limits,
    };
    let detail = datasets::upload(&cx.env, &cx.db, new, body).await?;
    Ok(Response::from_json(&detail)?.with_status(201))
}

pub async fn list(cx: &Ctx) -> Result<Response> {
    json(&DatasetList {
        datasets: datasets::list(&cx.db, &cx.user_id).await?,
    })
}

pub async fn get(cx: &Ctx, id: &str) -> Result<Response> {
    json(&datasets::detail(&cx.db, &cx.user_id, id).await?)
}

#[derive(Deserialize)]
struct Page {
    offset: Option<u64>,
    limit: Option<u64>,
}

pub async fn rows(req: &Request, cx: &Ctx, id: &str) -> Result<Response> {
    let page: Page = req
        .query()
        .map_err(|_| Failure::api(ErrorCode::BadRequest, "`offset` and `limit` are numbers"))?;
    let limit = page.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let offset = page.offset.unwrap_or(0);
    json(&datasets::rows(&cx.env, &cx.db, &cx.user_id, id, offset, limit).await?)
}

/// `PATCH /api/v1/datasets/{id}` with `{"privacy": true|false}`.
pub async fn update(mut req: Request, cx: &Ctx, id: &str) -> Result<Response> {
    let update: DatasetUpdate = read_json(&mut req).await?;
    json(&datasets::set_privacy(&cx.db, &cx.user_id, id, update.privacy).await?)
}

pub async fn delete(cx: &Ctx, id: &str) -> Result<Response> {
    datasets::delete(&cx.env, &cx.db, &cx.user_id, id).await?;
    Ok(Response::empty()?.with_status(204))
}
