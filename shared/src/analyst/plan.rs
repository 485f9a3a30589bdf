//! Maps an [`Intent`] onto the SQL that computes it over the dataset's table ([`TABLE_ALIAS`]). The
//! built-in analyst runs these through the same validator and engine as model-proposed queries, so its
//! answers are grounded the same way and its SQL shows in the execution tree.

use super::format::label;
use super::intent::{Agg, Grain, Intent};
use super::reading::{Filter, Reading};
use crate::profile::ColumnProfile;
use crate::sql::{quote_ident, TABLE_ALIAS};

/// Most groups a grouped answer computes (a chart and a table beyond that stop being readable).
pub const MAX_GROUPS: usize = 50;
/// Most periods a trend computes.
pub const MAX_PERIODS: usize = 1_000;

/// Output column names the answers read back.
pub const ROW_COUNT: &str = "row_count";
pub const VALUE: &str = "value";
pub const COUNTED: &str = "counted";
pub const GROUPS: &str = "groups";
pub const GRAND_TOTAL: &str = "all_groups";
pub const DISTINCT: &str = "distinct_values";

/// How the question was read, and the query that answers it (`None` when the profile already does).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// e.g. `top 5 product by total revenue`.
    pub reading: String,
    pub sql: Option<String>,
}

/// The label of the aggregated measure, e.g. `total revenue` or `number of rows`.
pub fn measure_label(agg: Agg, metric: Option<&str>) -> String {
    match (agg, metric) {
        (Agg::Count, _) | (_, None) => "number of rows".into(),
        (agg, Some(m)) => format!("{} {}", agg.label(), label(m)),
    }
}

/// The SQL expression bucketing a date or datetime column by `grain`.
pub fn bucket(column: &str, grain: Grain) -> String {
    let c = quote_ident(column);
    match grain {
        Grain::Day => format!("date({c})"),
        // The Monday on or before the day.
        Grain::Week => format!("date({c}, '-6 days', 'weekday 1')"),
        Grain::Month => format!("strftime('%Y-%m', {c})"),
        Grain::Year => format!("strftime('%Y', {c})"),
    }
}

/// The filters as a SQL `WHERE` clause (empty without filters): ` WHERE "state" = 'CA' AND …`.
fn where_clause(filters: &[Filter], cols: &[ColumnProfile]) -> String {
    let conditions: Vec<String> = filters.iter().map(|f| f.sql(cols)).collect();
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// How the filters read: ` where state = CA`.
fn scope(filters: &[Filter], cols: &[ColumnProfile]) -> String {
    filters
        .iter()
        .map(|f| format!(" where {}", f.describe(cols, str::to_owned).replace("**", "")))
        .collect()
}

fn grouped(
    group: &str,
    agg: Agg,
    metric: Option<&str>,
    order: (&str, usize),
    with_total: bool,
    rows: &str,
) -> String {
    let what = measure_label(agg, metric);
    let g = quote_ident(group);
    let value = agg.sql(&metric.map(quote_ident).unwrap_or_default());
    let (order, limit) = order;
    let mut filter = format!("{g} IS NOT NULL");
    if let (Some(m), false) = (metric, agg == Agg::Count) {
        filter.push_str(&format!(" AND {} IS NOT NULL", quote_ident(m)));
    }
    let total = if with_total {
        format!(", SUM({value}) OVER () AS {GRAND_TOTAL}")
    } else {
        String::new()
    };
    format!(
        "SELECT {g}, {value} AS {}, COUNT(*) OVER () AS {GROUPS}{total} FROM {TABLE_ALIAS} WHERE {filter}{rows} \
         GROUP BY {g} ORDER BY 2 {order}, 1 LIMIT {limit}",
        quote_ident(&what)
    )
}

/// The plan for a reading over the table with columns `cols`: its intent, over the rows its filters keep.
pub fn plan(reading: &Reading, cols: &[ColumnProfile]) -> Plan {
    let mut p = unfiltered(reading, cols);
    if !reading.filters.is_empty() && p.sql.is_some() {
        p.reading.push_str(&scope(&reading.filters, cols));
    }
    p
}

fn unfiltered(reading: &Reading, cols: &[ColumnProfile]) -> Plan {
    let name = |i: usize| cols[i].name.as_str();
    let filters = &reading.filters;
    // ` AND "state" = 'CA'…` after a query's own conditions, or ` WHERE …` alone.
    let and = where_clause(filters, cols).replacen(" WHERE ", " AND ", 1);
    match reading.intent {
        Intent::RowCount => Plan {
            reading: "row count".into(),
            sql: Some(format!(
                "SELECT COUNT(*) AS {ROW_COUNT} FROM {TABLE_ALIAS}{}",
                where_clause(filters, cols)
            )),
        },
        Intent::ColumnCount => Plan {
            reading: "column count".into(),
            sql: None,
        },
        Intent::Describe => Plan {
            reading: "describe columns".into(),
            sql: None,
        },
        Intent::Unknown => Plan {
            reading: "not a question the built-in analyst can compute".into(),
            sql: None,
        },
        Intent::Distinct { column } => {
            let c = quote_ident(name(column));
            Plan {
                reading: format!("distinct values of {}", name(column)),
                sql: Some(format!(
                    "SELECT {c}, COUNT(*) AS {ROW_COUNT}, COUNT(*) OVER () AS {DISTINCT} FROM {TABLE_ALIAS} \
                     WHERE {c} IS NOT NULL{and} GROUP BY {c} ORDER BY 2 DESC, 1 LIMIT 10"
                )),
            }
        }
        Intent::Aggregate {
            agg,
            metric,
            group: None,
        } => {
            let m = metric.map(name);
            let counted = m.map_or("COUNT(*)".to_owned(), |m| format!("COUNT({})", quote_ident(m)));
            Plan {
                reading: measure_label(agg, m),
                sql: Some(format!(
                    "SELECT {} AS {VALUE}, {counted} AS {COUNTED}, COUNT(*) AS {ROW_COUNT} FROM {TABLE_ALIAS}{}",
                    agg.sql(&m.map(quote_ident).unwrap_or_default()),
                    where_clause(filters, cols)
                )),
            }
        }
        Intent::Aggregate {
            agg,
            metric,
            group: Some(g),
        } => Plan {
            reading: format!("{} by {}", measure_label(agg, metric.map(name)), name(g)),
            sql: Some(grouped(
                name(g),
                agg,
                metric.map(name),
                ("DESC", MAX_GROUPS),
                false,
                &and,
            )),
        },
        Intent::TopN {
            n,
            ascending,
            agg,
            metric,
            group,
        } => Plan {
            reading: format!(
                "{} {n} {} by {}",
                if ascending { "bottom" } else { "top" },
                name(group),
                measure_label(agg, metric.map(name))
            ),
            sql: Some(grouped(
                name(group),
                agg,
                metric.map(name),
                (if ascending { "ASC" } else { "DESC" }, n),
                matches!(agg, Agg::Sum | Agg::Count),
                &and,
            )),
        },
        Intent::Trend {
            agg,
            metric,
            date,
            grain,
        } => {
            let what = measure_label(agg, metric.map(name));
            // A column of years is its own period.
            let period = if cols[date].ty.is_temporal() {
                bucket(name(date), grain)
            } else {
                quote_ident(name(date))
            };
            let mut filter = format!("{period} IS NOT NULL");
            if let (Some(m), false) = (metric, agg == Agg::Count) {
                filter.push_str(&format!(" AND {} IS NOT NULL", quote_ident(name(m))));
            }
            filter.push_str(&and);
            Plan {
                reading: format!("{what} per {} of {}", grain.word(), name(date)),
                sql: Some(format!(
                    "SELECT {period} AS {}, {} AS {} FROM {TABLE_ALIAS} WHERE {filter} GROUP BY 1 ORDER BY 1 \
                     LIMIT {MAX_PERIODS}",
                    quote_ident(grain.word()),
                    agg.sql(&metric.map(|m| quote_ident(name(m))).unwrap_or_default()),
                    quote_ident(&what)
                )),
            }
        }
    }
}
