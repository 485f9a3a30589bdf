//! Runs one query over a dataset: the SQL validator first (whoever wrote the query — the built-in analyst
//! or a model), then D1, bounded in rows and in time.

use std::time::Duration;

use datasage_shared::query::QueryResult;
use datasage_shared::sql::{bind_table, validate, TABLE_ALIAS};
use futures::future::{select, Either};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{D1Database, Delay};

use crate::datasets::Dataset;
use crate::util::now_ms;

/// Most rows a query returns.
pub const MAX_ROWS: u64 = 1_000;
/// How long the answer waits for a query.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// What running a query came to.
pub struct Executed {
    /// The SQL as it ran: re-printed from its syntax tree, with the row limit (or as written, if refused).
    pub sql: String,
    /// The rows, or why the query was refused or failed, worded for a person and a model alike.
    pub result: Result<QueryResult, String>,
    pub duration_ms: u64,
}

pub async fn run(db: &D1Database, dataset: &Dataset, sql: &str) -> Executed {
    let started = now_ms();
    let validated = match validate(sql, TABLE_ALIAS, MAX_ROWS) {
        Ok(v) => v,
        Err(rejection) => {
            return Executed {
                sql: sql.trim().to_owned(),
                result: Err(rejection.to_string()),
                duration_ms: 0,
            }
        }
    };
    let statement = bind_table(&validated, &dataset.table_name);
    let result = match select(
        Box::pin(raw_with_columns(db, &statement)),
        Delay::from(TIME_LIMIT),
    )
    .await
    {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!(
            "the query took longer than {} s; simplify it or aggregate more",
            TIME_LIMIT.as_secs()
        )),
    };
    Executed {
        sql: validated,
        result,
        duration_ms: now_ms().saturating_sub(started),
    }
}

/// D1's `raw({ columnNames: true })`: the first row holds the column names, so duplicate or computed
/// names survive (objects would merge them).
async fn raw_with_columns(db: &D1Database, statement: &str) -> Result<QueryResult, String> {
    let prepared = db.prepare(statement);
    let inner: &JsValue = prepared.inner().as_ref();
    let raw: Function = Reflect::get(inner, &"raw".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("D1 has no raw()")?;
    let options = Object::new();
    Reflect::set(&options, &"columnNames".into(), &JsValue::TRUE).map_err(js_message)?;
    let promise: Promise = raw
        .call1(inner, &options)
        .map_err(js_message)?
        .dyn_into()
        .map_err(js_message)?;
    let rows: Array = JsFuture::from(promise)
        .await
        .map_err(js_message)?
        .dyn_into()
        .map_err(js_message)?;
    let mut iter = rows.iter();
    let columns: Vec<String> = iter
        .next()
        .map(|names| serde_wasm_bindgen::from_value(names).map_err(|e| e.to_string()))
        .transpose()?
        .unwrap_or_default();
    let rows = iter
        .map(|row| serde_wasm_bindgen::from_value(row).map_err(|e| e.to_string()))
        .collect::<Result<Vec<Vec<serde_json::Value>>, String>>()?;
    Ok(QueryResult { columns, rows })
}

/// The message of a JS error (D1's errors read like `D1_ERROR: no such column: x: SQLITE_ERROR`).
fn js_message(v: JsValue) -> String {
    let message = Reflect::get(&v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| v.as_string())
        .unwrap_or_else(|| "the query failed".into());
    // Keep the SQLite cause, drop D1's prefix and suffix, so the model reads the actual problem.
    message
        .trim_start_matches("D1_ERROR: ")
        .trim_end_matches(": SQLITE_ERROR")
        .to_owned()
}
