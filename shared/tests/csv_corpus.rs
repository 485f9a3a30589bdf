//! The awkward-CSV corpus (`tests/fixtures/csv/`): every file is read — whole, a byte at a time and in
//! odd-sized chunks — into the rows, types and NULLs `expected.json` names, or refused with its code and
//! line, however the bytes arrive.

use std::path::{Path, PathBuf};

use datasage_shared::csv::{CsvError, CsvReader, Limits, Record};
use datasage_shared::profile::{Profile, Profiler};
use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/csv")
}

fn read(bytes: &[u8], chunk: usize) -> Result<(Vec<String>, Vec<Record>, Profile), CsvError> {
    let mut reader = CsvReader::new(Limits::default());
    let mut records = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        records.extend(reader.push(piece)?);
    }
    records.extend(reader.finish()?);
    let header = reader.header().map(<[String]>::to_vec).unwrap_or_default();
    let mut profiler = Profiler::new(&header);
    records.iter().for_each(|r| profiler.observe(r));
    Ok((header, records, profiler.finish()))
}

#[test]
fn every_awkward_csv_is_read_or_refused_as_expected_however_it_arrives() {
    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 20);
    for case in &expected {
        let file = case["file"].as_str().unwrap();
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        for chunk in [bytes.len(), 1, 7, 4096] {
            let outcome = read(&bytes, chunk);
            let at = format!("{file} in chunks of {chunk}");
            if let Some(code) = case["error"].as_str() {
                let err = outcome.err().unwrap_or_else(|| panic!("{at}: accepted"));
                assert_eq!(err.code(), code, "{at}: {err}");
                assert_eq!(err.line().map(|l| l as u64), case["line"].as_u64(), "{at}: {err}");
                continue;
            }
            let (header, records, profile) = outcome.unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(records.len() as u64, case["rows"].as_u64().unwrap(), "{at}");
            for (name, ty) in case["types"].as_object().unwrap() {
                let col = profile.columns.iter().find(|c| &c.name == name);
                let col = col.unwrap_or_else(|| panic!("{at}: no column {name} in {header:?}"));
                assert_eq!(serde_json::to_value(col.ty).unwrap(), *ty, "{at}: {name}");
            }
            if let Some(nulls) = case["nulls"].as_object() {
                for (name, n) in nulls {
                    let col = profile.columns.iter().find(|c| &c.name == name).unwrap();
                    assert_eq!(Some(col.nulls), n.as_u64(), "{at}: nulls of {name}");
                }
            }
            if let Some(cell) = case["cell"].as_array() {
                let (row, name, value) = (cell[0].as_u64().unwrap() as usize, &cell[1], &cell[2]);
                let col = header.iter().position(|h| h == name).unwrap();
                assert_eq!(
                    records[row][col].as_deref(),
                    value.as_str(),
                    "{at}: {name} of row {row}"
                );
            }
        }
    }
}
