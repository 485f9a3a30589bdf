//! Running a question's SQL inside a dataset object: validated again here (whoever sent it). A query
//! that names the table once reads each row once and runs at once; any other is first run over the
//! probe tables — the dataset's first 4, 8, … 256 rows — and only then over the whole
//! table, if the way its reads grow says the whole run stays within [`MAX_ROWS_READ`]. SQLite in a
//! Durable Object runs synchronously and cannot be interrupted, so a query's cost is bounded before it
//! runs, not while it runs; what it returns is bounded by its `LIMIT`, by [`MAX_ROWS`] and in bytes
//! (`collect_bounded`).

use datasage_shared::query::collect_bounded;
use datasage_shared::sql::{on_table, probe_sizes, projected_rows_read, validate, Probe};
use serde_json::Value as Json;
use worker::{SqlStorage, SqlStorageValue};

use super::load::probe_table;
use super::protocol::{QueryOutcome, QueryRequest, Ran};

/// Most rows a query returns.
pub const MAX_ROWS: u64 = 1_000;
/// Most rows a query may read, as projected from its probes: about 0.5 s of SQLite in the local runtime
/// on this machine (a self-join read 80 M rows in 2.1 s), twenty full scans of a million-row upload.
pub const MAX_ROWS_READ: f64 = 20_000_000.0;

pub fn query(sql: &SqlStorage, request: &QueryRequest) -> QueryOutcome {
    match validate(&request.sql, MAX_ROWS) {
        Ok(validated) => QueryOutcome {
            result: if validated.single_scan {
                run(sql, &validated.sql)
            } else {
                bounded(sql, &validated.sql, request.rows)
            },
            sql: validated.sql,
        },
        Err(rejection) => QueryOutcome {
            sql: request.sql.trim().to_owned(),
            result: Err(rejection.to_string()),
        },
    }
}

fn bounded(sql: &SqlStorage, validated: &str, rows: u64) -> Result<Ran, String> {
    let mut probes_read = 0;
    let mut previous: Option<Probe> = None;
    for n in probe_sizes(rows) {
        let probe = Probe {
            rows: n,
            rows_read: run(sql, &on_table(validated, &probe_table(n)))?.rows_read,
        };
        probes_read += probe.rows_read;
        if let Some(smaller) = previous {
            let projected = projected_rows_read(smaller, probe, rows);
            if projected > MAX_ROWS_READ {
                return Err(too_costly(projected, rows));
            }
        }
        previous = Some(probe);
    }
    let mut ran = run(sql, validated)?;
    ran.rows_read += probes_read;
    Ok(ran)
}

fn too_costly(projected: f64, rows: u64) -> String {
    format!(
        "query rejected: it would read about {} rows of this {rows}-row table (at most {} may be read); \
         its reads grow faster than the table — avoid joining the table to itself and sub-queries that \
         run once per row",
        datasage_shared::analyst::format::number(projected.round()),
        datasage_shared::analyst::format::number(MAX_ROWS_READ),
    )
}

fn run(sql: &SqlStorage, statement: &str) -> Result<Ran, String> {
    let cursor = sql.exec(statement, None).map_err(message)?;
    let rows = cursor
        .raw()
        .map(|row| row.map(|values| values.into_iter().map(json_of).collect()));
    let (rows, cut) = collect_bounded(cursor.column_names(), rows, MAX_ROWS as usize).map_err(message)?;
    Ok(Ran {
        rows,
        rows_read: cursor.rows_read() as u64,
        cut,
    })
}

pub fn json_of(value: SqlStorageValue) -> Json {
    match value {
        SqlStorageValue::Null | SqlStorageValue::Blob(_) => Json::Null,
        SqlStorageValue::Boolean(b) => b.into(),
        SqlStorageValue::Integer(i) => i.into(),
        SqlStorageValue::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        SqlStorageValue::String(s) => s.into(),
    }
}

/// SQLite's own words (`no such column: x`), without the runtime's prefix and suffix, so a model reads
/// the actual problem.
fn message(e: worker::Error) -> String {
    let text = e.to_string();
    let text = text.trim_start_matches("Error: ");
    text.trim_end_matches(": SQLITE_ERROR").to_owned()
}
