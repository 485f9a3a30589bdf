//! Loading a CSV into a dataset object: the bytes stream into a text staging table as they arrive;
//! once the whole file has been read, one synchronous step (no `await`, so nothing interleaves and
//! nothing is seen half-done) types the table, drops the staging table and keeps the probe tables the
//! cost bound runs queries on first. If anything fails the staging table is dropped.

use datasage_shared::api::ApiError;
use datasage_shared::csv::{CsvError, CsvReader, Limits, Record};
use datasage_shared::profile::Profiler;
use datasage_shared::sql::{probe_sizes, quote_ident, typed_column, TABLE_ALIAS};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use worker::{SqlStorage, SqlStorageValue};

use super::protocol::Loaded;
use crate::error::{Failure, Result};
use crate::objects::has_table;

/// Durable Object SQLite binds at most 100 parameters per statement.
const MAX_PARAMS: usize = 100;
/// Durable Object SQLite tables have at most 100 columns: this is the upload limit too.
pub const MAX_COLUMNS: usize = 100;
/// Rows buffered before they are inserted.
const ROWS_PER_FLUSH: usize = 2_000;
const STAGING: &str = "staging";

/// The name of the probe table holding a dataset's first `rows` rows.
pub fn probe_table(rows: u64) -> String {
    format!("probe_{rows}")
}

fn csv_error(e: CsvError) -> Failure {
    Failure::Api(ApiError::from(e))
}

/// Reads `body` into `sql`'s `data` table. Fails without leaving anything behind.
pub async fn load<S>(sql: &SqlStorage, limits: Limits, body: S) -> Result<Loaded>
where
    S: Stream<Item = Result<Vec<u8>>> + Unpin,
{
    let staged = stage(sql, limits, body).await;
    let result = staged.and_then(|staged| finish(sql, staged));
    if result.is_err() {
        // The object is this upload's own: dropping everything loses nothing stored before.
        clear(sql);
    }
    result
}

/// Drops every table a load creates.
pub fn clear(sql: &SqlStorage) {
    let probes = probe_sizes(u64::MAX).into_iter().map(probe_table);
    for table in [STAGING.to_owned(), TABLE_ALIAS.to_owned()]
        .into_iter()
        .chain(probes)
    {
        let _ = sql.exec(&format!("DROP TABLE IF EXISTS {}", quote_ident(&table)), None);
    }
}

/// Streams the body into the staging table; returns the header, profile, content hash and size.
async fn stage<S>(sql: &SqlStorage, limits: Limits, mut body: S) -> Result<Loaded>
where
    S: Stream<Item = Result<Vec<u8>>> + Unpin,
{
    let mut reader = CsvReader::new(limits);
    let mut hasher = Sha256::new();
    let mut size_bytes = 0u64;
    let mut profiler: Option<Profiler> = None;
    let mut pending: Vec<Record> = Vec::new();
    loop {
        let chunk = body.next().await.transpose()?;
        let records = match &chunk {
            Some(bytes) => {
                hasher.update(bytes);
                size_bytes += bytes.len() as u64;
                reader.push(bytes)
            }
            None => reader.finish(),
        }
        .map_err(csv_error)?;
        if profiler.is_none() {
            if let Some(header) = reader.header() {
                create_staging(sql, header)?;
                profiler = Some(Profiler::new(header));
            }
        }
        if let Some(p) = profiler.as_mut() {
            records.iter().for_each(|r| p.observe(r));
        }
        pending.extend(records);
        if pending.len() >= ROWS_PER_FLUSH || chunk.is_none() {
            insert(sql, std::mem::take(&mut pending))?;
        }
        if chunk.is_none() {
            break;
        }
    }
    let header = reader.header().map(<[String]>::to_vec).unwrap_or_default();
    let profile = profiler
        .map(Profiler::finish)
        .ok_or_else(|| csv_error(CsvError::Empty))?;
    Ok(Loaded {
        header,
        profile,
        version: format!("{:x}", hasher.finalize()),
        size_bytes,
    })
}

fn create_staging(sql: &SqlStorage, header: &[String]) -> Result<()> {
    if header.len() > MAX_COLUMNS {
        return Err(csv_error(CsvError::TooManyColumns {
            found: header.len(),
            limit: MAX_COLUMNS,
        }));
    }
    let cols: Vec<String> = header
        .iter()
        .map(|h| format!("{} TEXT", quote_ident(h)))
        .collect();
    sql.exec(&format!("DROP TABLE IF EXISTS {STAGING}"), None)?;
    sql.exec(&format!("CREATE TABLE {STAGING} ({})", cols.join(", ")), None)?;
    Ok(())
}

/// Inserts rows with as many rows per statement as the parameter limit allows.
fn insert(sql: &SqlStorage, rows: Vec<Record>) -> Result<()> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let per_statement = (MAX_PARAMS / width.max(1)).max(1);
    let row_sql = format!("({})", vec!["?"; width].join(", "));
    for group in rows.chunks(per_statement) {
        let values = vec![row_sql.as_str(); group.len()].join(", ");
        let args: Vec<SqlStorageValue> = group
            .iter()
            .flatten()
            .map(|v| v.clone().map_or(SqlStorageValue::Null, SqlStorageValue::String))
            .collect();
        sql.exec(&format!("INSERT INTO {STAGING} VALUES {values}"), args)?;
    }
    Ok(())
}

/// Types the table and keeps the probe tables, in one synchronous step.
fn finish(sql: &SqlStorage, loaded: Loaded) -> Result<Loaded> {
    let columns: Vec<String> = loaded
        .header
        .iter()
        .zip(&loaded.profile.columns)
        .map(|(name, col)| typed_column(name, col.ty, col.date_format))
        .collect();
    sql.exec(
        &format!(
            "CREATE TABLE {TABLE_ALIAS} AS SELECT {} FROM {STAGING}",
            columns.join(", ")
        ),
        None,
    )?;
    sql.exec(&format!("DROP TABLE {STAGING}"), None)?;
    for n in probe_sizes(loaded.profile.rows) {
        sql.exec(
            &format!(
                "CREATE TABLE {} AS SELECT * FROM {TABLE_ALIAS} ORDER BY rowid LIMIT {n}",
                quote_ident(&probe_table(n))
            ),
            None,
        )?;
    }
    Ok(loaded)
}

/// Whether the object holds a dataset.
pub fn is_loaded(sql: &SqlStorage) -> Result<bool> {
    Ok(has_table(sql, TABLE_ALIAS)?)
}
