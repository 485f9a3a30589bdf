//! A CSV stored as a dataset by one SQL script: how the bundled sample ships, as a D1 migration. The
//! script does what an upload does — text staging table, one typed `CREATE TABLE … AS SELECT`, the
//! profile registered with the dataset — with the same reader, profiler and column types.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::csv::{read_all, CsvError, Limits};
use crate::profile::Profiler;
use crate::sql::{quote_ident, typed_column};

/// Rows per `INSERT` (D1 limits the size of one statement).
const ROWS_PER_INSERT: usize = 100;

/// Who owns the seeded dataset and what it is called.
pub struct SeedDataset<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    pub name: &'a str,
    pub table: &'a str,
    pub created_at: &'a str,
}

/// Where the sample's migration lives, from the repository root.
pub const SAMPLE_MIGRATION: &str = "migrations/0005_sample_dataset.sql";

/// The migration storing the bundled sample: id `sample`, owned by `*` (every user can read it).
pub fn sample_migration(csv: &[u8]) -> Result<String, CsvError> {
    let meta = SeedDataset {
        id: "sample",
        owner: "*",
        name: "sample_sales",
        table: "ds_sample",
        created_at: "2026-01-01T00:00:00.000Z",
    };
    Ok(format!(
        "-- The built-in sample dataset, stored like an upload. Generated from data/sample_sales.csv by\n\
         -- `cargo run -p datasage-shared --example gen_sample_migration`; do not edit by hand.\n{}",
        script(&meta, csv)?
    ))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL script that stores `csv` as the dataset `meta` describes.
pub fn script(meta: &SeedDataset<'_>, csv: &[u8]) -> Result<String, CsvError> {
    let (header, records) = read_all(csv, Limits::default())?;
    let mut profiler = Profiler::new(&header);
    records.iter().for_each(|r| profiler.observe(r));
    let profile = profiler.finish();
    let staging = format!("{}_seed", meta.table);
    let mut sql = String::new();
    let text_columns: Vec<String> = header
        .iter()
        .map(|h| format!("{} TEXT", quote_ident(h)))
        .collect();
    let _ = writeln!(
        sql,
        "CREATE TABLE {} ({});",
        quote_ident(&staging),
        text_columns.join(", ")
    );
    for chunk in records.chunks(ROWS_PER_INSERT) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|r| {
                let cells: Vec<String> = r
                    .iter()
                    .map(|c| c.as_deref().map_or_else(|| "NULL".to_owned(), literal))
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let _ = writeln!(
            sql,
            "INSERT INTO {} VALUES\n{};",
            quote_ident(&staging),
            rows.join(",\n")
        );
    }
    let typed: Vec<String> = header
        .iter()
        .zip(&profile.columns)
        .map(|(h, c)| typed_column(h, c.ty))
        .collect();
    let _ = writeln!(
        sql,
        "CREATE TABLE {} AS SELECT {} FROM {};",
        quote_ident(meta.table),
        typed.join(", "),
        quote_ident(&staging)
    );
    let _ = writeln!(sql, "DROP TABLE {};", quote_ident(&staging));
    let profile_json = serde_json::to_string(&profile).unwrap_or_default();
    let _ = writeln!(
        sql,
        "INSERT INTO datasets (id, user_id, name, table_name, version, row_count, column_count, size_bytes, profile, \
         created_at, privacy)\nVALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0);",
        literal(meta.id),
        literal(meta.owner),
        literal(meta.name),
        literal(meta.table),
        literal(&format!("{:x}", Sha256::digest(csv))),
        profile.rows,
        header.len(),
        csv.len(),
        literal(&profile_json),
        literal(meta.created_at)
    );
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_stores_typed_rows_and_registers_the_profile() {
        let meta = SeedDataset {
            id: "s",
            owner: "*",
            name: "tiny",
            table: "ds_s",
            created_at: "2026-01-01T00:00:00.000Z",
        };
        let sql = script(&meta, b"name,n\nO'Brien,1\n,2\n").unwrap();
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE datasets (id TEXT, user_id TEXT, name TEXT, table_name TEXT, version TEXT, row_count INTEGER, \
             column_count INTEGER, size_bytes INTEGER, profile TEXT, created_at TEXT, privacy INTEGER);",
        )
        .unwrap();
        conn.execute_batch(&sql).unwrap();
        let rows: Vec<(Option<String>, i64)> = conn
            .prepare("SELECT name, n FROM ds_s ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![(Some("O'Brien".to_owned()), 1), (None, 2)]);
        let (count, profile): (i64, String) = conn
            .query_row(
                "SELECT row_count, profile FROM datasets WHERE id = 's'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(count, 2);
        assert!(profile.contains("\"type\":\"integer\""), "{profile}");
        let leftover: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ds_s_seed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(leftover, 0, "the staging table is gone");
    }
}
