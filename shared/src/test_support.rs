//! Helpers for the crate's own tests.

/// Splits `bytes` at the given cut points (taken modulo the length, sorted), as a stream might arrive.
pub fn split_bytes<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        chunks.push(&bytes[prev..p]);
        prev = p;
    }
    chunks
}

/// Like [`split_bytes`], keeping only cuts on character boundaries, so every piece is text.
pub fn split_str<'a>(text: &'a str, cuts: &[usize]) -> Vec<&'a str> {
    let on_boundary: Vec<usize> = cuts
        .iter()
        .map(|c| c % (text.len() + 1))
        .filter(|c| text.is_char_boundary(*c))
        .collect();
    split_bytes(text.as_bytes(), &on_boundary)
        .into_iter()
        .map(|b| std::str::from_utf8(b).unwrap_or_default())
        .collect()
}

/// A CSV loaded into an in-memory SQLite database exactly as the worker loads an upload into D1 (a text
/// staging table, then one typed `CREATE TABLE … AS SELECT`), so SQL the analyst or a model writes is
/// tested against a real SQLite engine.
pub struct SqliteDataset {
    pub profile: crate::profile::Profile,
    conn: rusqlite::Connection,
}

impl SqliteDataset {
    pub fn load(csv: &str) -> Self {
        use crate::sql::{quote_ident, typed_column};
        let (header, records) = crate::csv::read_all(csv.as_bytes(), crate::csv::Limits::default()).unwrap();
        let profile = profile_of(csv);
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let cols: Vec<String> = header
            .iter()
            .map(|h| format!("{} TEXT", quote_ident(h)))
            .collect();
        conn.execute_batch(&format!("CREATE TABLE staging ({})", cols.join(", ")))
            .unwrap();
        let marks = vec!["?"; header.len()].join(", ");
        let mut insert = conn
            .prepare(&format!("INSERT INTO staging VALUES ({marks})"))
            .unwrap();
        for r in &records {
            insert.execute(rusqlite::params_from_iter(r.iter())).unwrap();
        }
        drop(insert);
        let typed: Vec<String> = header
            .iter()
            .zip(&profile.columns)
            .map(|(h, c)| typed_column(h, c.ty, c.date_format))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE {} AS SELECT {} FROM staging",
            crate::sql::TABLE_ALIAS,
            typed.join(", ")
        ))
        .unwrap();
        Self { profile, conn }
    }

    /// Validates `sql` as the worker does and runs it; panics on a rejected or failing query.
    pub fn query(&self, sql: &str) -> crate::query::QueryResult {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn try_query(&self, sql: &str) -> Result<crate::query::QueryResult, String> {
        use rusqlite::types::ValueRef;
        let validated = crate::sql::validate(sql, 1_000).map_err(|e| e.to_string())?.sql;
        let mut stmt = self.conn.prepare(&validated).map_err(|e| e.to_string())?;
        let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let n = columns.len();
        let rows = stmt
            .query_map([], |row| {
                (0..n)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => serde_json::Value::Null,
                            ValueRef::Integer(v) => v.into(),
                            ValueRef::Real(v) => v.into(),
                            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                            ValueRef::Blob(_) => serde_json::Value::Null,
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| e.to_string())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| e.to_string())?;
        Ok(crate::query::QueryResult { columns, rows })
    }
}

/// The profile of a CSV text.
pub fn profile_of(csv: &str) -> crate::profile::Profile {
    let (header, records) = crate::csv::read_all(csv.as_bytes(), crate::csv::Limits::default()).unwrap();
    let mut profiler = crate::profile::Profiler::new(&header);
    records.iter().for_each(|r| profiler.observe(r));
    profiler.finish()
}
