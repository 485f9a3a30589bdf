//! Where each dataset's rows live: a Durable Object of its own ([`DatasetStore`]), one SQLite database
//! holding that dataset's table and nothing else. A question's SQL runs inside it, so whatever the query
//! says — validated or not — it can read only that dataset: no other user's data, no app table and no
//! schema that lists either exists there. Which object a request reaches is decided by the registry in
//! D1 (owner checked first); the object's name is the dataset's random id.
//!
//! This module is the worker's typed client; `object.rs` is the object, `load.rs` its CSV loader and
//! `run.rs` its bounded query runner.

mod load;
mod object;
mod run;

use datasage_shared::api::{ApiError, ErrorCode};
use datasage_shared::csv::Limits;
use datasage_shared::profile::Profile;
use datasage_shared::query::QueryResult;
use futures::{Stream, StreamExt};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response, Stub};

use crate::datasets::SAMPLE_ID;
use crate::error::{Failure, Result};
pub use object::DatasetStore;

const BINDING: &str = "DATASETS";

/// What a finished load reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Loaded {
    pub header: Vec<String>,
    pub profile: Profile,
    /// SHA-256 of the bytes read.
    pub version: String,
    pub size_bytes: u64,
}

/// A query as the worker sends it: the SQL as the model or the analyst wrote it (the object validates
/// it), and the dataset's row count, which the cost bound projects to.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueryRequest {
    pub sql: String,
    pub rows: u64,
}

/// What running a query came to inside the object.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueryOutcome {
    /// The statement as it ran (re-printed, limited), or the SQL as written if it was refused.
    pub sql: String,
    pub result: std::result::Result<Ran, String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Ran {
    pub rows: QueryResult,
    /// Rows SQLite read to compute it, probes included.
    pub rows_read: u64,
    /// What the result bounds cut, if anything.
    #[serde(default)]
    pub cut: Option<String>,
}

/// The object holding dataset `id` (the sample's is named like any other).
fn stub(env: &Env, id: &str) -> Result<Stub> {
    Ok(env.durable_object(BINDING)?.get_by_name(id)?)
}

/// One request to dataset `id`'s object. The sample's object is told to load the bundled sample first
/// if it has not yet.
async fn call<T: DeserializeOwned>(
    env: &Env,
    id: &str,
    method: Method,
    path: &str,
    body: Option<JsValue>,
) -> Result<T> {
    let mut init = RequestInit::new();
    init.with_method(method).with_body(body);
    let mut url = worker::Url::parse(&format!("https://dataset{path}"))
        .map_err(|e| Failure::Internal(format!("dataset store url: {e}")))?;
    if id == SAMPLE_ID {
        url.query_pairs_mut().append_pair("seed", "sample");
    }
    let req = Request::new_with_init(url.as_str(), &init)?;
    let mut resp = stub(env, id)?.fetch_with_request(req).await?;
    read(&mut resp).await
}

/// A 2xx body as `T`; an error body back into the [`Failure`] the object answered with.
async fn read<T: DeserializeOwned>(resp: &mut Response) -> Result<T> {
    if (200..300).contains(&resp.status_code()) {
        return Ok(resp.json().await?);
    }
    match resp.json::<ApiError>().await {
        Ok(e) if e.error.code != ErrorCode::Internal => Err(Failure::Api(e)),
        Ok(e) => Err(Failure::Internal(format!("dataset store: {}", e.error.message))),
        Err(e) => Err(Failure::Internal(format!(
            "dataset store answered {}: {e}",
            resp.status_code()
        ))),
    }
}

/// Streams a CSV into the new dataset `id`'s object. On any failure the object keeps nothing.
pub async fn load<S>(env: &Env, id: &str, limits: Limits, body: S) -> Result<Loaded>
where
    S: Stream<Item = Result<Vec<u8>>> + Unpin + 'static,
{
    // An error on our side of the stream (a broken form) is the one to report, not the object's
    // "the upload was interrupted".
    let ours = std::rc::Rc::new(std::cell::RefCell::new(None));
    let seen = ours.clone();
    let chunks = body.map(move |chunk| match chunk {
        Ok(bytes) => Ok(JsValue::from(js_sys::Uint8Array::from(bytes.as_slice()))),
        Err(e) => {
            let message = e.to_string();
            *seen.borrow_mut() = Some(e);
            Err(JsValue::from_str(&message))
        }
    });
    let stream = wasm_streams::ReadableStream::from_stream(chunks).into_raw();
    let path = format!(
        "/load?max_bytes={}&max_rows={}&max_columns={}&max_field_bytes={}",
        limits.max_bytes, limits.max_rows, limits.max_columns, limits.max_field_bytes
    );
    let loaded = call(env, id, Method::Post, &path, Some(stream.into())).await;
    let failed_on_our_side = ours.borrow_mut().take();
    match (loaded, failed_on_our_side) {
        (Err(_), Some(ours)) => Err(ours),
        (result, _) => result,
    }
}

/// Runs a question's SQL over dataset `id` (validated, cost-bounded and limited inside the object).
pub async fn query(env: &Env, id: &str, request: &QueryRequest) -> Result<QueryOutcome> {
    let body = serde_json::to_string(request).map_err(|e| Failure::Internal(e.to_string()))?;
    call(env, id, Method::Post, "/query", Some(body.into())).await
}

/// One page of the dataset's rows, in upload order.
pub async fn rows(env: &Env, id: &str, offset: u64, limit: u64) -> Result<QueryResult> {
    call(
        env,
        id,
        Method::Get,
        &format!("/rows?offset={offset}&limit={limit}"),
        None,
    )
    .await
}

/// Deletes every row and table of dataset `id`.
pub async fn delete(env: &Env, id: &str) -> Result<()> {
    call::<serde_json::Value>(env, id, Method::Delete, "/", None).await?;
    Ok(())
}
