//! What the worker and a dataset's object send each other, as JSON.

use datasage_shared::profile::Profile;
use datasage_shared::query::QueryResult;
use serde::{Deserialize, Serialize};

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
