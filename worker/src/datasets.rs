//! The dataset registry in D1: who owns which dataset, its name, profile and privacy mode. The rows
//! themselves live in each dataset's own Durable Object ([`crate::store`]); a dataset becomes visible
//! only once its rows are loaded and its registry row is written, and deleting it deletes both.
//!
//! The bundled sample is registered by a migration (owned by [`SHARED_OWNER`], visible to everyone) and
//! loaded into its own object on first use.

use std::cell::RefCell;
use std::rc::Rc;

use datasage_shared::api::{DatasetDetail, DatasetRef, DatasetRows, DatasetSummary, ErrorCode};
use datasage_shared::csv::Limits;
use datasage_shared::profile::Profile;
use futures::Stream;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{console_error, D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::{Failure, Result};
use crate::store;
use crate::util::now_iso;

fn stmt(db: &D1Database, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
    db.prepare(sql).bind(args).map_err(Failure::from)
}

/// The owner of datasets every user can read (the sample).
pub const SHARED_OWNER: &str = "*";

/// A dataset a question is asked about.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub version: String,
    pub profile: Rc<Profile>,
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

/// Loads an upload into its own object, then registers it; returns the new dataset. If registering
/// fails the loaded rows are deleted again.
pub async fn upload<S>(env: &Env, db: &D1Database, new: NewDataset<'_>, body: S) -> Result<DatasetDetail>
where
    S: Stream<Item = Result<Vec<u8>>> + Unpin + 'static,
{
    let loaded = store::load(env, &new.id, new.limits, body).await?;
    let summary = DatasetSummary {
        id: new.id.clone(),
        name: new.name.to_owned(),
        version: loaded.version,
        row_count: loaded.profile.rows,
        column_count: loaded.header.len() as u64,
        size_bytes: loaded.size_bytes,
        created_at: now_iso(),
        privacy: new.privacy,
        builtin: false,
    };
    if let Err(e) = register(db, new.owner, &summary, &loaded.profile).await {
        if let Err(cleanup) = store::delete(env, &new.id).await {
            console_error!(
                "could not delete the rows of unregistered dataset {}: {cleanup}",
                new.id
            );
        }
        return Err(e);
    }
    Ok(DatasetDetail {
        summary,
        profile: loaded.profile,
    })
}

async fn register(db: &D1Database, owner: &str, summary: &DatasetSummary, profile: &Profile) -> Result<()> {
    let profile_json = serde_json::to_string(profile).map_err(|e| Failure::Internal(e.to_string()))?;
    stmt(
        db,
        "INSERT INTO datasets (id, user_id, name, table_name, version, row_count, column_count, size_bytes, profile, created_at, privacy) \
         VALUES (?1, ?2, ?3, ?1, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            summary.id.as_str().into(),
            owner.into(),
            summary.name.as_str().into(),
            summary.version.as_str().into(),
            JsValue::from_f64(summary.row_count as f64),
            JsValue::from_f64(summary.column_count as f64),
            JsValue::from_f64(summary.size_bytes as f64),
            profile_json.into(),
            summary.created_at.as_str().into(),
            JsValue::from_f64(f64::from(u8::from(summary.privacy))),
        ],
    )?
    .run()
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct Row {
    id: String,
    name: String,
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
    "id, name, version, row_count, column_count, size_bytes, profile, created_at, user_id, privacy";

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

/// The dataset a question is about, if the caller may read it — without its profile, which
/// [`question_dataset`] takes from the isolate's cache. A statement for one batch with the question's
/// other lookups.
pub fn lookup(db: &D1Database, user_id: &str, id: &str) -> Result<D1PreparedStatement> {
    stmt(
        db,
        "SELECT id, name, version, privacy FROM datasets WHERE id = ?1 AND (user_id = ?2 OR user_id = ?3)",
        &[id.into(), user_id.into(), SHARED_OWNER.into()],
    )
}

/// Profiles kept per isolate: a version is a hash of the rows, so a profile never changes under it.
const PROFILES_KEPT: usize = 32;

thread_local! {
    /// The latest profiles read, by dataset id and version, most recent last.
    static PROFILES: RefCell<Vec<(String, String, Rc<Profile>)>> = const { RefCell::new(Vec::new()) };
}

/// The dataset [`lookup`] found (404 if none), with its profile: from the cache, or read once.
pub async fn question_dataset(db: &D1Database, found: D1Result) -> Result<Dataset> {
    #[derive(Deserialize)]
    struct Meta {
        id: String,
        name: String,
        version: String,
        privacy: f64,
    }
    let meta = found
        .results::<Meta>()?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::api(ErrorCode::NotFound, "dataset not found"))?;
    let cached = PROFILES.with(|p| {
        let p = p.borrow();
        let hit = p
            .iter()
            .rev()
            .find(|(id, v, _)| *id == meta.id && *v == meta.version);
        hit.map(|(_, _, profile)| Rc::clone(profile))
    });
    let profile = match cached {
        Some(profile) => profile,
        None => Rc::new(read_profile(db, &meta.id).await?),
    };
    PROFILES.with(|p| {
        let mut p = p.borrow_mut();
        p.retain(|(id, _, _)| *id != meta.id);
        if p.len() == PROFILES_KEPT {
            p.remove(0);
        }
        p.push((meta.id.clone(), meta.version.clone(), Rc::clone(&profile)));
    });
    Ok(Dataset {
        profile,
        privacy: meta.privacy != 0.0,
        id: meta.id,
        name: meta.name,
        version: meta.version,
    })
}

async fn read_profile(db: &D1Database, id: &str) -> Result<Profile> {
    #[derive(Deserialize)]
    struct Stored {
        profile: String,
    }
    let stored: Stored = stmt(db, "SELECT profile FROM datasets WHERE id = ?1", &[id.into()])?
        .first(None)
        .await?
        .ok_or_else(|| Failure::api(ErrorCode::NotFound, "dataset not found"))?;
    serde_json::from_str(&stored.profile).map_err(|e| Failure::Internal(format!("stored profile: {e}")))
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

pub async fn rows(
    env: &Env,
    db: &D1Database,
    user_id: &str,
    id: &str,
    offset: u64,
    limit: u64,
) -> Result<DatasetRows> {
    let row = owned(db, user_id, id).await?;
    let page = store::rows(env, &row.id, offset, limit).await?;
    Ok(DatasetRows {
        columns: page.columns,
        offset,
        rows: page.rows,
    })
}

/// Deletes a dataset's rows, then its registry row (a failure in between leaves it listed and empty,
/// and deleting it again finishes the job).
pub async fn delete(env: &Env, db: &D1Database, user_id: &str, id: &str) -> Result<()> {
    let row = owned(db, user_id, id).await?;
    if row.user_id == SHARED_OWNER {
        return Err(Failure::api(
            ErrorCode::Forbidden,
            "the built-in sample dataset cannot be deleted",
        ));
    }
    store::delete(env, &row.id).await?;
    stmt(
        db,
        "DELETE FROM datasets WHERE id = ?1",
        &[row.id.as_str().into()],
    )?
    .run()
    .await?;
    Ok(())
}
