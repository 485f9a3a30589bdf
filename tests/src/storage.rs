//! Reads what a `wrangler dev` instance stored, straight from its SQLite files — the view of someone
//! with no validator in the way: a query run in one database can read nothing that is not in that file.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;

/// The SQLite files under `dir` (one per Durable Object, or the local D1 database).
pub fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
                // miniflare's own bookkeeping, not an object's or a database's storage
                .filter(|p| p.file_stem().is_some_and(|s| s != "metadata"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// One database's tables, each with every text cell it holds.
pub struct Contents {
    pub path: PathBuf,
    pub tables: Vec<(String, Vec<String>)>,
}

impl Contents {
    pub fn read(path: &Path) -> rusqlite::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut tables = Vec::new();
        for name in names {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{}\"", name.replace('"', "\"\"")))?;
            let width = stmt.column_count();
            let mut cells = Vec::new();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                for i in 0..width {
                    if let ValueRef::Text(t) | ValueRef::Blob(t) = row.get_ref(i)? {
                        cells.push(String::from_utf8_lossy(t).into_owned());
                    }
                }
            }
            tables.push((name, cells));
        }
        Ok(Self {
            path: path.to_owned(),
            tables,
        })
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.tables
            .iter()
            .any(|(_, cells)| cells.iter().any(|c| c.contains(needle)))
    }

    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|(n, _)| n.as_str())
    }
}
