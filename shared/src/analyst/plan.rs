//! Maps an [`Intent`] onto the SQL that computes it over the dataset's table ([`TABLE_ALIAS`]). The
//! built-in analyst runs these through the same validator and engine as model-proposed queries, so its
//! answers are grounded the same way and its SQL shows in the execution tree.

use super::format::label;
use super::intent::{Agg, Grain, Intent, Series};
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

/// The filters that restrict the rows: all of them, except the part of a share they pick out.
pub fn restricting(reading: &Reading) -> &[Filter] {
    match (&reading.intent, reading.filters.split_last()) {
        (Intent::Share { group: None, .. }, Some((_, rest))) => rest,
        _ => &reading.filters,
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
    if p.sql.is_some() {
        p.reading.push_str(&scope(restricting(reading), cols));
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
        Intent::DistinctPeriods { date, grain } => {
            let series = Series {
                agg: Agg::Count,
                metric: None,
                date,
                grain,
            };
            let (period, _, present) = series_sql(&series, cols);
            Plan {
                reading: format!("number of different {}s of {}", grain.word(), name(date)),
                sql: Some(format!(
                    "SELECT COUNT(DISTINCT {period}) AS {DISTINCT} FROM {TABLE_ALIAS} WHERE {present}{and}"
                )),
            }
        }
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
        Intent::Trend { series, split } => trend(&series, split, cols, &and),
        Intent::TopPeriod { series, n, ascending } => top_periods(&series, (n, ascending), cols, &and),
        Intent::Growth {
            series,
            group,
            n,
            ascending,
        } => growth(&series, group, (n, ascending), cols, &and),
        Intent::Share { agg, metric, group } => share(agg, metric, group, filters, cols),
        Intent::ExtremeRow { metric, ascending } => {
            let m = quote_ident(name(metric));
            let (extreme, word) = if ascending {
                ("MIN", "lowest")
            } else {
                ("MAX", "highest")
            };
            // Every row that has it, up to one more than an answer shows, so a tie is said, not hidden.
            Plan {
                reading: format!("the rows with the {word} {}", name(metric)),
                sql: Some(format!(
                    "SELECT * FROM {TABLE_ALIAS} WHERE {m} = (SELECT {extreme}({m}) FROM {TABLE_ALIAS} WHERE {m} IS NOT \
                     NULL{and}){and} LIMIT {}",
                    super::parts::SHOWN_ROWS + 1
                )),
            }
        }
    }
}

/// The period expression of a series (a column of years is its own period) and its measure's SQL.
fn series_sql(series: &Series, cols: &[ColumnProfile]) -> (String, String, String) {
    let name = |i: usize| cols[i].name.as_str();
    let period = if cols[series.date].ty.is_temporal() {
        bucket(name(series.date), series.grain)
    } else {
        quote_ident(name(series.date))
    };
    let mut present = format!("{period} IS NOT NULL");
    if let (Some(m), false) = (series.metric, series.agg == Agg::Count) {
        present.push_str(&format!(" AND {} IS NOT NULL", quote_ident(name(m))));
    }
    let value = series
        .agg
        .sql(&series.metric.map(|m| quote_ident(name(m))).unwrap_or_default());
    (period, value, present)
}

fn series_label(series: &Series, cols: &[ColumnProfile]) -> String {
    measure_label(series.agg, series.metric.map(|m| cols[m].name.as_str()))
}

/// A value per period, in time order; with `split`, one per period and value of that column.
fn trend(series: &Series, split: Option<usize>, cols: &[ColumnProfile], and: &str) -> Plan {
    let what = series_label(series, cols);
    let (period, value, present) = series_sql(series, cols);
    let grain = series.grain.word();
    let date = &cols[series.date].name;
    match split {
        None => Plan {
            reading: format!("{what} per {grain} of {date}"),
            sql: Some(format!(
                "SELECT {period} AS {}, {value} AS {} FROM {TABLE_ALIAS} WHERE {present}{and} GROUP BY 1 \
                 ORDER BY 1 LIMIT {MAX_PERIODS}",
                quote_ident(grain),
                quote_ident(&what)
            )),
        },
        Some(g) => {
            let g = &cols[g].name;
            let q = quote_ident(g);
            Plan {
                reading: format!("{what} per {grain} of {date}, by {g}"),
                sql: Some(format!(
                    "SELECT {period} AS {}, {q}, {value} AS {} FROM {TABLE_ALIAS} WHERE {present} AND {q} IS NOT NULL\
                     {and} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT {}",
                    quote_ident(grain),
                    quote_ident(&what),
                    MAX_PERIODS * super::intent::MAX_SPLIT as usize
                )),
            }
        }
    }
}

/// The periods with the largest (or smallest) value.
fn top_periods(series: &Series, (n, ascending): (usize, bool), cols: &[ColumnProfile], and: &str) -> Plan {
    let what = series_label(series, cols);
    let (period, value, present) = series_sql(series, cols);
    let grain = series.grain.word();
    let (order, word) = if ascending {
        ("ASC", "bottom")
    } else {
        ("DESC", "top")
    };
    Plan {
        reading: format!("{word} {n} {grain} by {what}"),
        sql: Some(format!(
            "SELECT {period} AS {}, {value} AS {} FROM {TABLE_ALIAS} WHERE {present}{and} GROUP BY 1 \
             ORDER BY 2 {order}, 1 LIMIT {n}",
            quote_ident(grain),
            quote_ident(&what)
        )),
    }
}

/// Output columns of a growth query.
pub const FIRST_VALUE: &str = "first_value";
pub const LAST_VALUE: &str = "last_value";
pub const FIRST_PERIOD: &str = "first_period";
pub const LAST_PERIOD: &str = "last_period";

/// Per group, the value in the data's first period and in its last, and the change between them; a
/// group without a value in both is left out.
fn growth(
    series: &Series,
    group: usize,
    (n, ascending): (usize, bool),
    cols: &[ColumnProfile],
    and: &str,
) -> Plan {
    let what = series_label(series, cols);
    let (period, value, present) = series_sql(series, cols);
    let g = quote_ident(&cols[group].name);
    let change = quote_ident(&format!("change in {what}"));
    let per = format!(
        "SELECT {g}, {period} AS period, {value} AS v FROM {TABLE_ALIAS} WHERE {present} AND {g} IS NOT NULL{and} \
         GROUP BY 1, 2"
    );
    let spans = format!(
        "SELECT {g}, period, v, MIN(period) OVER () AS {FIRST_PERIOD}, MAX(period) OVER () AS {LAST_PERIOD} \
         FROM ({per}) AS per"
    );
    let ends = format!(
        "SELECT {g}, MAX(CASE WHEN period = {FIRST_PERIOD} THEN v END) AS {FIRST_VALUE}, \
         MAX(CASE WHEN period = {LAST_PERIOD} THEN v END) AS {LAST_VALUE}, MAX({FIRST_PERIOD}) AS {FIRST_PERIOD}, \
         MAX({LAST_PERIOD}) AS {LAST_PERIOD} FROM ({spans}) AS spans GROUP BY 1"
    );
    let (order, word) = if ascending {
        ("ASC", "fell")
    } else {
        ("DESC", "grew")
    };
    Plan {
        reading: format!(
            "which {} {word} most ({n}): {what} in the first and last {} of {}",
            cols[group].name,
            series.grain.word(),
            cols[series.date].name
        ),
        sql: Some(format!(
            "SELECT {g}, {LAST_VALUE} - {FIRST_VALUE} AS {change}, {FIRST_VALUE}, {LAST_VALUE}, {FIRST_PERIOD}, \
             {LAST_PERIOD}, COUNT(*) OVER () AS {GROUPS} FROM ({ends}) AS ends WHERE {FIRST_VALUE} IS NOT NULL \
             AND {LAST_VALUE} IS NOT NULL ORDER BY 2 {order}, 1 LIMIT {MAX_GROUPS}"
        )),
    }
}

/// Output columns of a share query.
pub const PART: &str = "part";
pub const WHOLE: &str = "whole";
pub const SHARE_PCT: &str = "share_pct";

/// The part of the total the last filter picks out (the others restrict the rows), or each group's part.
fn share(
    agg: Agg,
    metric: Option<usize>,
    group: Option<usize>,
    filters: &[Filter],
    cols: &[ColumnProfile],
) -> Plan {
    let m = metric.map(|m| quote_ident(&cols[m].name));
    let what = measure_label(agg, metric.map(|m| cols[m].name.as_str()));
    let whole = agg.sql(m.as_deref().unwrap_or_default());
    if let Some(g) = group {
        let g = &cols[g].name;
        let q = quote_ident(g);
        let and = where_clause(filters, cols).replacen(" WHERE ", " AND ", 1);
        return Plan {
            reading: format!("share of the {what} by {g}"),
            sql: Some(format!(
                "SELECT {q}, {whole} AS {}, {whole} * 100.0 / SUM({whole}) OVER () AS {SHARE_PCT}, \
                 COUNT(*) OVER () AS {GROUPS} FROM {TABLE_ALIAS} WHERE {q} IS NOT NULL{and} GROUP BY 1 \
                 ORDER BY 2 DESC, 1 LIMIT {MAX_GROUPS}",
                quote_ident(&what)
            )),
        };
    }
    let Some((part, restrict)) = filters.split_last() else {
        return Plan {
            reading: format!("a share of the {what}, of no part named"),
            sql: None,
        };
    };
    let cond = part.sql(cols);
    let picked = match &m {
        Some(m) => format!("SUM(CASE WHEN {cond} THEN {m} END)"),
        None => format!("COUNT(CASE WHEN {cond} THEN 1 END)"),
    };
    Plan {
        reading: format!(
            "share of the {what} where {}",
            part.describe(cols, str::to_owned).replace("**", "")
        ),
        sql: Some(format!(
            "SELECT {picked} AS {PART}, {whole} AS {WHOLE} FROM {TABLE_ALIAS}{}",
            where_clause(restrict, cols)
        )),
    }
}
