//! Column statistics and grouped aggregates, computed exactly over every row.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::table::{Column, ColumnType, Value};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl Agg {
    pub fn label(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Sum => "total",
            Agg::Avg => "average",
            Agg::Min => "minimum",
            Agg::Max => "maximum",
        }
    }
}

/// Summary of a numeric column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericSummary {
    pub count: usize,
    pub nulls: usize,
    pub sum: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub std_dev: f64,
}

/// Summary of any column, for descriptions.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSummary {
    Numeric(NumericSummary),
    Categorical {
        distinct: usize,
        nulls: usize,
        top: Vec<(String, usize)>,
    },
    Dates {
        min: String,
        max: String,
        nulls: usize,
    },
    Boolean {
        trues: usize,
        falses: usize,
        nulls: usize,
    },
}

pub fn numeric_summary(col: &Column) -> Option<NumericSummary> {
    let nums: Vec<f64> = col.values.iter().filter_map(Value::as_f64).collect();
    let nulls = col.values.len() - nums.len();
    if nums.is_empty() {
        return None;
    }
    let n = nums.len() as f64;
    let sum: f64 = nums.iter().sum();
    let mean = sum / n;
    let var = nums.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Some(NumericSummary {
        count: nums.len(),
        nulls,
        sum,
        mean,
        min: nums.iter().copied().fold(f64::INFINITY, f64::min),
        max: nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        std_dev: var.sqrt(),
    })
}

/// Value counts, most frequent first (ties alphabetical).
pub fn value_counts(col: &Column) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in col.values.iter().filter_map(Value::key) {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

pub fn summarize(col: &Column) -> ColumnSummary {
    let nulls = col.values.iter().filter(|v| **v == Value::Null).count();
    match col.ty {
        ColumnType::Integer | ColumnType::Float => match numeric_summary(col) {
            Some(s) => ColumnSummary::Numeric(s),
            None => ColumnSummary::Categorical {
                distinct: 0,
                nulls,
                top: Vec::new(),
            },
        },
        ColumnType::Date => {
            let mut dates = col.values.iter().filter_map(|v| match v {
                Value::Date(d) => Some(d.as_str()),
                _ => None,
            });
            let first = dates.next().unwrap_or_default();
            let (min, max) = dates.fold((first, first), |(lo, hi), d| (lo.min(d), hi.max(d)));
            ColumnSummary::Dates {
                min: min.to_owned(),
                max: max.to_owned(),
                nulls,
            }
        }
        ColumnType::Boolean => {
            let trues = col.values.iter().filter(|v| **v == Value::Bool(true)).count();
            ColumnSummary::Boolean {
                trues,
                falses: col.values.len() - trues - nulls,
                nulls,
            }
        }
        ColumnType::Text => {
            let counts = value_counts(col);
            ColumnSummary::Categorical {
                distinct: counts.len(),
                nulls,
                top: counts.into_iter().take(3).collect(),
            }
        }
    }
}

/// Applies `agg` to the numeric values of `metric` (or counts rows, for `Count` without a metric).
pub fn aggregate(values: impl Iterator<Item = Option<f64>>, agg: Agg) -> Option<f64> {
    let mut count = 0usize;
    let mut nums = 0usize;
    let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        count += 1;
        if let Some(x) = v {
            nums += 1;
            sum += x;
            min = min.min(x);
            max = max.max(x);
        }
    }
    match agg {
        Agg::Count => Some(count as f64),
        _ if nums == 0 => None,
        Agg::Sum => Some(sum),
        Agg::Avg => Some(sum / nums as f64),
        Agg::Min => Some(min),
        Agg::Max => Some(max),
    }
}

/// Groups rows by `group` and aggregates `metric` (or counts rows when `metric` is `None`) per group.
/// NULL group keys form no group. Result is sorted by value, largest first (ties by key).
pub fn group_by(group: &Column, metric: Option<&Column>, agg: Agg) -> Vec<(String, f64)> {
    let mut groups: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for (i, key) in group.values.iter().enumerate() {
        let Some(key) = key.key() else { continue };
        let v = metric.and_then(|m| m.values.get(i)).and_then(Value::as_f64);
        groups
            .entry(key)
            .or_default()
            .push(if metric.is_some() { v } else { Some(1.0) });
    }
    let mut out: Vec<(String, f64)> = groups
        .into_iter()
        .filter_map(|(k, vals)| aggregate(vals.into_iter(), agg).map(|v| (k, v)))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyst::Table;

    fn table() -> Table {
        Table::from_csv("t", "region,amount\nN,10\nS,5\nN,2.5\nS,\n,100\nE,1\n").unwrap()
    }

    #[test]
    fn numeric_summary_ignores_nulls() {
        let t = table();
        let s = numeric_summary(t.column("amount").unwrap()).unwrap();
        assert_eq!((s.count, s.nulls), (5, 1));
        assert_eq!(s.sum, 118.5);
        assert_eq!((s.min, s.max), (1.0, 100.0));
        assert!((s.mean - 23.7).abs() < 1e-9);
    }

    #[test]
    fn grouping_sums_per_group_and_sorts_descending() {
        let t = table();
        let g = group_by(t.column("region").unwrap(), t.column("amount"), Agg::Sum);
        assert_eq!(g, vec![("N".into(), 12.5), ("S".into(), 5.0), ("E".into(), 1.0)]);
        let counts = group_by(t.column("region").unwrap(), None, Agg::Count);
        assert_eq!(
            counts,
            vec![("N".into(), 2.0), ("S".into(), 2.0), ("E".into(), 1.0)]
        );
    }

    #[test]
    fn averages_skip_missing_values() {
        let t = table();
        let g = group_by(t.column("region").unwrap(), t.column("amount"), Agg::Avg);
        assert_eq!(g, vec![("N".into(), 6.25), ("S".into(), 5.0), ("E".into(), 1.0)]);
    }
}
