//! The bundled sample dataset is what a fresh `make dev` answers from: its answers must match figures
//! computed independently, straight from the CSV text.

use datasage_shared::analyst::{self, table::ColumnType, Table};

const SAMPLE: &str = include_str!("../../data/sample_sales.csv");

fn table() -> Table {
    Table::from_csv("sample_sales", SAMPLE).unwrap()
}

/// Revenue per region computed with nothing but string splitting (the sample has no quoted fields).
fn revenue_by_region() -> Vec<(String, f64)> {
    let mut sums: std::collections::BTreeMap<String, f64> = Default::default();
    for line in SAMPLE.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *sums.entry(f[2].to_owned()).or_default() += f[10].parse::<f64>().unwrap();
    }
    let mut v: Vec<_> = sums.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

#[test]
fn the_sample_has_three_thousand_typed_rows() {
    let t = table();
    assert_eq!(t.row_count(), 3000);
    let ty = |n: &str| t.column(n).unwrap().ty;
    assert_eq!(ty("order_date"), ColumnType::Date);
    assert_eq!(ty("region"), ColumnType::Text);
    assert_eq!(ty("quantity"), ColumnType::Integer);
    assert_eq!(ty("revenue"), ColumnType::Float);
    assert_eq!(ty("returned"), ColumnType::Boolean);
}

#[test]
fn how_many_rows_is_answered_exactly() {
    let a = analyst::run(&table(), "How many rows are there?");
    assert_eq!(
        a.text,
        "The **sample_sales** dataset has **3,000 rows** and 12 columns."
    );
}

#[test]
fn the_leading_region_matches_an_independent_computation() {
    let expected = revenue_by_region();
    let a = analyst::run(&table(), "Which region has the highest revenue?");
    let (region, sum) = &expected[0];
    let formatted = analyst::format::number(*sum);
    assert!(
        a.text.starts_with(&format!(
            "**{region}** leads with a total revenue of **{formatted}**"
        )),
        "{}",
        a.text
    );
    let chart_rows = analyst::run(&table(), "revenue by region").chart.unwrap().data;
    assert_eq!(chart_rows.len(), expected.len());
    for (row, (region, sum)) in chart_rows.iter().zip(&expected) {
        assert_eq!(row["region"], *region);
        assert!((row["total revenue"].as_f64().unwrap() - sum).abs() < 0.01);
    }
}
