//! Dataset storage in D1. An upload streams into its own staging table as text; once the whole file has
//! been read, one batch (a transaction) creates the typed table from it, drops the staging table and
//! registers the dataset. Until that batch commits nothing is visible; if anything fails the staging
//! table is dropped, and nothing already stored changes.
//!
//! The bundled sample is stored the same way by a generated migration (owned by [`SHARED_OWNER`], visible
//! to everyone), so every question — on the sample or an upload — is answered by SQL over D1.

use datasage_shared::api::{ApiError, DatasetDetail, DatasetRef, DatasetRows, DatasetSummary, ErrorCode};
use datasage_shared::csv::{CsvReader, Limits, Record};
use datasage_shared::profile::{Profile, Profiler};
use datasage_shared::sql::{quote_ident, typed_column};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::error::{Failure, Result};
use crate::util::{now_iso, now_ms, random_uuid};

/// D1 binds at most 100 parameters per statement.
const MAX_PARAMS: usize = 100;
/// Statements sent per D1 batch while loading.
const STATEMENTS_PER_BATCH: usize = 50;

fn stmt(db: &D1Database, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
    db.prepare(sql).bind(args).map_err(Failure::from)
}

/// The id of the bundled sample dataset (see `migrations/0005_sample_dataset.sql`).
pub const SAMPLE_ID: &str = "sample";
/// The owner of datasets every user can read (the sample).
const SHARED_OWNER: &str = "*";

/// Prefix of staging tables; one older than an upload can take is left over from a killed worker.
const STAGING_PREFIX: &str = "staging_";

/// A dataset a question is asked about.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub table_name: String,
    pub version: String,
    pub profile: Profile,
    pub privacy: bool,
}

impl Dataset {
    pub fn reference(&self) -> DatasetRef {
        DatasetRef {
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
        }
    }
}

/// What an upload is stored as.
pub struct NewDataset<'a> {
    pub owner: &'a str,
    pub id: String,
    pub name: &'a str,
    pub privacy: bool,
    pub limits: Limits,
}

/// Reads an upload, loads it and registers it; returns the new dataset.
pub async fn upload<S>(db: &D1Database, new: NewDataset<'_>, mut body: S) -> Result<DatasetDetail>
where
    S: Stream<Item = Result<Vec<u8>>> + Unpin,
{
    let NewDataset {
        owner: user_id,
        id,
        name,
        privacy,
        limits,
    } = new;
    let table = format!("ds_{}", id.replace('-', ""));
    let staging = format!("{STAGING_PREFIX}{}_{}", now_ms(), random_uuid()?.replace('-', ""));
    let loaded = load(db, &staging, &mut body, limits).await;
    let (header, profile, version, size) = match loaded {
        Ok(done) => done,
        Err(e) => {
            let _ = db
                .exec(&format!("DROP TABLE IF EXISTS {}", quote_ident(&staging)))
                .await;
            return Err(e);
        }
    };
    let columns: Vec<String> = header
        .iter()
        .zip(&profile.columns)
        .map(|(name, col)| typed_column(name, col.ty))
        .collect();
    let summary = DatasetSummary {
        id: id.clone(),
        name: name.to_owned(),
        version,
        row_count: profile.rows,
        column_count: header.len() as u64,
        size_bytes: size,
        created_at: now_iso(),
        privacy,
        builtin: user_id == SHARED_OWNER,
    };
    let profile_json = serde_json::to_string(&profile).map_err(|e| Failure::Internal(e.to_string()))?;
    let commit = db
        .batch(vec![
            stmt(
                db,
                &format!("CREATE TABLE {} AS SELECT {} FROM {}", quote_ident(&table), columns.join(", "), quote_ident(&staging)),
                &[],
            )?,
            stmt(db, &format!("DROP TABLE {}", quote_ident(&staging)), &[])?,
            stmt(
                db,
                "INSERT INTO datasets (id, user_id, name, table_name, version, row_count, column_count, size_bytes, profile, created_at, privacy) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                &[
                    id.as_str().into(),
                    user_id.into(),
                    name.into(),
                    table.as_str().into(),
                    summary.version.as_str().into(),
                    JsValue::from_f64(summary.row_count as f64),
                    JsValue::from_f64(summary.column_count as f64),
                    JsValue::from_f64(size as f64),
                    profile_json.into(),
                    summary.created_at.as_str().into(),
                    JsValue::from_f64(f64::from(u8::from(privacy))),
                ],
            )?,
        ])
        .await;
    if let Err(e) = commit {
        let _ = db
            .exec(&format!("DROP TABLE IF EXISTS {}", quote_ident(&staging)))
            .await;
        return Err(e.into());
    }
    Ok(DatasetDetail { summary, profile })
}

/// Streams the body into the staging table; returns the header, profile, content hash and size.
async fn load<S>(
    db: &D1Database,
    staging: &str,
    body: &mut S,
    limits: Limits,
) -> Result<(Vec<String>, Profile, String, u64)>
where
    S: Stream<Item = Result<Vec<u8>>> + Unpin,
{
    let mut reader = CsvReader::new(limits);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut profiler: Option<Profiler> = None;
    let mut pending: Vec<Record> = Vec::new();
    loop {
        let chunk = body.next().await;
        let records = match chunk {
            Some(Ok(ref bytes)) => {
                hasher.update(bytes);
                size += bytes.len() as u64;
                reader.push(bytes)
            }
            Some(Err(e)) => return Err(e),
            None => reader.finish(),
        }
        .map_err(|e| Failure::Api(ApiError::from(e)))?;
        if profiler.is_none() {
            if let Some(header) = reader.header() {
                let cols: Vec<String> = header
                    .iter()
                    .map(|h| format!("{} TEXT", quote_ident(h)))
                    .collect();
                db.exec(&format!(
                    "CREATE TABLE {} ({})",
                    quote_ident(staging),
                    cols.join(", ")
                ))
                .await?;
                profiler = Some(Profiler::new(header));
            }
        }
        if let Some(p) = profiler.as_mut() {
            records.iter().for_each(|r| p.observe(r));
        }
        pending.extend(records);
        let header_len = reader.header().map_or(1, <[String]>::len).max(1);
        let rows_per_statement = (MAX_PARAMS / header_len).max(1);
        let full = rows_per_statement * STATEMENTS_PER_BATCH;
        if pending.len() >= full || (chunk.is_none() && !pending.is_empty()) {
            insert(
                db,
                staging,
                header_len,
                rows_per_statement,
                std::mem::take(&mut pending),
            )
            .await?;
        }
        if chunk.is_none() {
            break;
        }
    }
    let header = reader.header().map(<[String]>::to_vec).unwrap_or_default();
    let profile = profiler
        .map(Profiler::finish)
        .ok_or_else(|| Failure::Api(ApiError::from(datasage_shared::csv::CsvError::Empty)))?;
    Ok((header, profile, format!("{:x}", hasher.finalize()), size))
}

async fn insert(
    db: &D1Database,
    staging: &str,
    ncols: usize,
    per_statement: usize,
    rows: Vec<Record>,
) -> Result<()> {
    let row_sql = format!("({})", vec!["?"; ncols].join(", "));
    for batch_rows in rows.chunks(per_statement * STATEMENTS_PER_BATCH) {
        let mut statements = Vec::new();
        for group in batch_rows.chunks(per_statement) {
            let values = vec![row_sql.as_str(); group.len()].join(", ");
            let args: Vec<JsValue> = group
                .iter()
                .flatten()
                .map(|v| v.as_deref().map_or(JsValue::NULL, JsValue::from_str))
                .collect();
            statements.push(stmt(
                db,
                &format!("INSERT INTO {} VALUES {values}", quote_ident(staging)),
                &args,
            )?);
        }
        db.batch(statements).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct Row {
    id: String,
    name: String,
    table_name: String,
    version: String,
    row_count: f64,
    column_count: f64,
    size_bytes: f64,
    profile: String,
    created_at: String,
    user_id: String,
    privacy: f64,
}

impl Row {
    fn summary(&self) -> DatasetSummary {
        DatasetSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            row_count: self.row_count as u64,
            column_count: self.column_count as u64,
            size_bytes: self.size_bytes as u64,
            created_at: self.created_at.clone(),
            privacy: self.privacy != 0.0,
            builtin: self.user_id == SHARED_OWNER,
        }
    }

    fn profile(&self) -> Result<Profile> {
        serde_json::from_str(&self.profile).map_err(|e| Failure::Internal(format!("stored profile: {e}")))
    }
}

const COLUMNS: &str =
    "id, name, table_name, version, row_count, column_count, size_bytes, profile, created_at, user_id, privacy";

/// Drops staging tables left behind by uploads that never finished (a worker killed mid-upload): any
/// older than an hour. Runs after each upload, so leftovers never pile up.
pub async fn sweep_staging(db: &D1Database) -> Result<()> {
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    let names: Vec<Name> = stmt(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?1",
        &[format!("{STAGING_PREFIX}%").into()],
    )?
    .all()
    .await?
    .results()?;
    let cutoff = now_ms().saturating_sub(60 * 60 * 1000);
    for n in names {
        let started = n
            .name
            .strip_prefix(STAGING_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|ms| ms.parse::<u64>().ok());
        if started.is_some_and(|ms| ms < cutoff) {
            db.exec(&format!("DROP TABLE IF EXISTS {}", quote_ident(&n.name)))
                .await?;
        }
    }
    Ok(())
}

pub async fn list(db: &D1Database, user_id: &str) -> Result<Vec<DatasetSummary>> {
    let rows: Vec<Row> = stmt(
        db,
        &format!(
            "SELECT {COLUMNS} FROM datasets WHERE user_id = ?1 OR user_id = ?2 \
             ORDER BY user_id = ?2, created_at DESC"
        ),
        &[user_id.into(), SHARED_OWNER.into()],
    )?
    .all()
    .await?
    .results()?;
    Ok(rows.iter().map(Row::summary).collect())
}

/// The caller's dataset (or the shared sample), or 404 — another user's dataset does not exist for them.
async fn owned(db: &D1Database, user_id: &str, id: &str) -> Result<Row> {
    stmt(
        db,
        &format!("SELECT {COLUMNS} FROM datasets WHERE id = ?1 AND (user_id = ?2 OR user_id = ?3)"),
        &[id.into(), user_id.into(), SHARED_OWNER.into()],
    )?
    .first::<Row>(None)
    .await?
    .ok_or_else(|| Failure::api(ErrorCode::NotFound, "dataset not found"))
}

pub async fn detail(db: &D1Database, user_id: &str, id: &str) -> Result<DatasetDetail> {
    let row = owned(db, user_id, id).await?;
    Ok(DatasetDetail {
        summary: row.summary(),
        profile: row.profile()?,
    })
}

/// The dataset a question is about, if the caller may read it.
pub async fn find(db: &D1Database, user_id: &str, id: &str) -> Result<Dataset> {
    let row = owned(db, user_id, id).await?;
    Ok(Dataset {
        profile: row.profile()?,
        privacy: row.privacy != 0.0,
        id: row.id,
        name: row.name,
        table_name: row.table_name,
        version: row.version,
    })
}

/// Switches a dataset's privacy mode.
pub async fn set_privacy(db: &D1Database, user_id: &str, id: &str, privacy: bool) -> Result<DatasetSummary> {
    let row = owned(db, user_id, id).await?;
    if row.user_id == SHARED_OWNER {
        return Err(Failure::api(
            ErrorCode::Forbidden,
            "the built-in sample dataset cannot be changed",
        ));
    }
    stmt(
        db,
        "UPDATE datasets SET privacy = ?1 WHERE id = ?2",
        &[
            JsValue::from_f64(f64::from(u8::from(privacy))),
            row.id.as_str().into(),
        ],
    )?
    .run()
    .await?;
    Ok(DatasetSummary {
        privacy,
        ..row.summary()
    })
}

pub async fn rows(db: &D1Database, user_id: &str, id: &str, offset: u64, limit: u64) -> Result<DatasetRows> {
    let row = owned(db, user_id, id).await?;
    let profile = row.profile()?;
    let columns: Vec<String> = profile.columns.iter().map(|c| c.name.clone()).collect();
    let select: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let values: Vec<Vec<serde_json::Value>> = stmt(
        db,
        &format!(
            "SELECT {} FROM {} ORDER BY rowid LIMIT ?1 OFFSET ?2",
            select.join(", "),
            quote_ident(&row.table_name)
        ),
        &[JsValue::from_f64(limit as f64), JsValue::from_f64(offset as f64)],
    )?
    .raw()
    .await?;
    Ok(DatasetRows {
        columns,
        offset,
        rows: values,
    })
}

pub async fn delete(db: &D1Database, user_id: &str, id: &str) -> Result<()> {
    let row = owned(db, user_id, id).await?;
    if row.user_id == SHARED_OWNER {
        return Err(Failure::api(
            ErrorCode::Forbidden,
            "the built-in sample dataset cannot be deleted",
        ));
    }
    db.batch(vec![
        stmt(
            db,
            "DELETE FROM datasets WHERE id = ?1",
            &[row.id.as_str().into()],
        )?,
        stmt(
            db,
            &format!("DROP TABLE IF EXISTS {}", quote_ident(&row.table_name)),
            &[],
        )?,
    ])
    .await?;
    Ok(())
}
