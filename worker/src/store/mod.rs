//! Where each dataset's rows live: a Durable Object of its own ([`DatasetStore`]), one SQLite database
//! holding that dataset's table and nothing else. A question's SQL runs inside it, so whatever the query
//! says — validated or not — it can read only that dataset: no other user's data, no app table and no
//! schema that lists either exists there. Which object a request reaches is decided by the registry in
//! D1 (owner checked first); the object's name is the dataset's random id.
//!
//! This module is the worker's typed client; `object.rs` is the object, `protocol.rs` what the two send
//! each other, `load.rs` the object's CSV loader and `run.rs` its bounded query runner.

mod load;
mod object;
mod protocol;
mod run;

use datasage_shared::csv::Limits;
use datasage_shared::query::QueryResult;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Method};

use crate::error::{Failure, Result};
use crate::objects::Object;
pub use object::DatasetStore;
pub use protocol::{Loaded, QueryOutcome, QueryRequest};

const BINDING: &str = "DATASETS";

/// The id of the bundled sample dataset (see `migrations/0005_sample_dataset.sql`).
pub const SAMPLE_ID: &str = "sample";

/// One request to dataset `id`'s object. The sample's object is told to load the bundled sample first
/// if it has not yet.
async fn call<T: DeserializeOwned>(
    env: &Env,
    id: &str,
    method: Method,
    path: &str,
    body: Option<JsValue>,
) -> Result<T> {
    let seed = if id != SAMPLE_ID {
        ""
    } else if path.contains('?') {
        "&seed=sample"
    } else {
        "?seed=sample"
    };
    Object::new(env, BINDING, id)?
        .call(method, &format!("{path}{seed}"), body)
        .await
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
