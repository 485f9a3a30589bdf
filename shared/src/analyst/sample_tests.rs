//! The bundled sample dataset is what a fresh `make dev` answers from: the analyst's SQL, run on a real
//! SQLite loaded the way the worker loads D1, must give figures computed independently from the CSV text.

use std::collections::BTreeMap;

use super::answer::run_with;
use crate::schema::ColumnType;
use crate::test_support::SqliteDataset;

const SAMPLE: &str = include_str!("../../../data/sample_sales.csv");

/// Sums of column `value` per column `key`, with nothing but string splitting (the sample has no quoted
/// fields), largest first.
fn sums_by(key: impl Fn(&[&str]) -> String, value: usize) -> Vec<(String, f64)> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for line in SAMPLE.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *sums.entry(key(&f)).or_default() += f[value].parse::<f64>().unwrap();
    }
    let mut v: Vec<_> = sums.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

#[test]
fn the_sample_has_three_thousand_typed_rows() {
    let ds = SqliteDataset::load(SAMPLE);
    assert_eq!(ds.profile.rows, 3000);
    let ty = |n: &str| ds.profile.columns.iter().find(|c| c.name == n).unwrap().ty;
    assert_eq!(ty("order_date"), ColumnType::Date);
    assert_eq!(ty("region"), ColumnType::Text);
    assert_eq!(ty("quantity"), ColumnType::Integer);
    assert_eq!(ty("revenue"), ColumnType::Float);
    assert_eq!(ty("returned"), ColumnType::Boolean);
    let a = run_with(&ds.profile, "How many rows are there?", |sql| ds.query(sql));
    assert_eq!(a.text, "The **shop** dataset has **3,000 rows** and 12 columns.");
}

#[test]
fn the_top_products_and_regions_match_an_independent_computation() {
    let ds = SqliteDataset::load(SAMPLE);
    let ask = |q: &str| run_with(&ds.profile, q, |sql| ds.query(sql));
    let expected = sums_by(|f| f[2].to_owned(), 10);
    let a = ask("Which region has the highest revenue?");
    let (region, sum) = &expected[0];
    let formatted = super::format::number(*sum);
    assert!(
        a.text.starts_with(&format!(
            "**{region}** leads with a total revenue of **{formatted}**"
        )),
        "{}",
        a.text
    );
    let chart = ask("revenue by region").chart.unwrap().data;
    assert_eq!(chart.len(), expected.len());
    for (row, (region, sum)) in chart.iter().zip(&expected) {
        assert_eq!(row["region"], *region);
        assert!((row["total revenue"].as_f64().unwrap() - sum).abs() < 0.01);
    }

    let products = sums_by(|f| f[4].to_owned(), 10);
    let top5 = ask("What are the top 5 products by revenue?").chart.unwrap().data;
    assert_eq!(top5.len(), 5);
    for (row, (product, sum)) in top5.iter().zip(&products) {
        assert_eq!(row["product"], *product);
        assert!((row["total revenue"].as_f64().unwrap() - sum).abs() < 0.01);
    }
}

#[test]
fn the_monthly_trend_matches_an_independent_computation() {
    let ds = SqliteDataset::load(SAMPLE);
    let mut expected = sums_by(|f| f[1][..7].to_owned(), 10);
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let a = run_with(&ds.profile, "How did revenue evolve per month?", |sql| {
        ds.query(sql)
    });
    let chart = a.chart.unwrap().data;
    assert_eq!(chart.len(), expected.len());
    for (row, (month, sum)) in chart.iter().zip(&expected) {
        assert_eq!(row["month"], *month);
        assert!((row["total revenue"].as_f64().unwrap() - sum).abs() < 0.01);
    }
}
