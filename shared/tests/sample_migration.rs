//! The migration that ships the sample dataset is generated from `data/sample_sales.csv`: it must match
//! what the generator writes today, so the sample in D1 never drifts from the CSV.

use std::path::Path;

use datasage_shared::seed::{sample_migration, SAMPLE_MIGRATION};

#[test]
fn the_sample_migration_is_generated_from_the_current_csv() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let csv = std::fs::read(root.join("data/sample_sales.csv")).unwrap();
    let expected = sample_migration(&csv).unwrap();
    let actual = std::fs::read_to_string(root.join(SAMPLE_MIGRATION)).unwrap_or_default();
    assert!(
        actual == expected,
        "{SAMPLE_MIGRATION} is stale: run `cargo run -p datasage-shared --example gen_sample_migration`"
    );
}
