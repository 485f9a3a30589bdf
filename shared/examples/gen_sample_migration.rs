//! Writes `migrations/0005_sample_dataset.sql`, which stores `data/sample_sales.csv` as the built-in
//! dataset every user has. `shared/tests/sample_migration.rs` checks the file is up to date.
//!
//! Run: `cargo run -p datasage-shared --example gen_sample_migration`

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let csv = std::fs::read(root.join("data/sample_sales.csv")).expect("data/sample_sales.csv");
    let sql = datasage_shared::seed::sample_migration(&csv).expect("the sample parses");
    std::fs::write(root.join(datasage_shared::seed::SAMPLE_MIGRATION), sql).expect("write the migration");
}
