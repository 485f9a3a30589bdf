//! Runs an [`Intent`] over a [`Table`] and writes the answer: markdown text, an optional chart filled from
//! the computed rows, and a description of what was computed for the execution tree.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use super::format::{cell, label, number};
use super::intent::{self, Intent};
use super::stats::{self, Agg, ColumnSummary};
use super::table::{ColumnType, Table};
use crate::api::{ChartConfig, ChartType, Confidence};

/// The analyst's answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// How the question was read, e.g. `top 5 region by total revenue`.
    pub reading: String,
    /// What was computed, e.g. `scanned 3,000 rows → 5 groups`.
    pub computation: String,
    pub text: String,
    pub chart: Option<ChartConfig>,
    pub confidence: Confidence,
}

/// Answers `question` from `table`.
pub fn run(table: &Table, question: &str) -> Analysis {
    let rows = table.row_count();
    let scanned = format!("scanned {} rows", number(rows as f64));
    match intent::parse(table, question) {
        Intent::RowCount => Analysis {
            reading: "row count".into(),
            computation: scanned,
            text: format!(
                "The **{}** dataset has **{} rows** and {} columns.",
                table.name,
                number(rows as f64),
                table.columns.len()
            ),
            chart: None,
            confidence: Confidence::High,
        },
        Intent::ColumnCount => {
            let names: Vec<String> = table.columns.iter().map(|c| format!("`{}`", c.name)).collect();
            Analysis {
                reading: "column count".into(),
                computation: format!("read the header of {} columns", table.columns.len()),
                text: format!(
                    "The **{}** dataset has **{} columns**: {}.",
                    table.name,
                    table.columns.len(),
                    names.join(", ")
                ),
                chart: None,
                confidence: Confidence::High,
            }
        }
        Intent::Describe => describe(table, scanned),
        Intent::Distinct { column } => {
            let col = &table.columns[column];
            let counts = stats::value_counts(col);
            let shown: Vec<String> = counts.iter().take(10).map(|(v, _)| v.clone()).collect();
            let more = if counts.len() > shown.len() { ", …" } else { "" };
            Analysis {
                reading: format!("distinct values of {}", col.name),
                computation: format!("{scanned} → {} distinct values", number(counts.len() as f64)),
                text: format!(
                    "There are **{} different {}** values: {}{more}.",
                    number(counts.len() as f64),
                    label(&col.name),
                    shown.join(", ")
                ),
                chart: None,
                confidence: Confidence::High,
            }
        }
        Intent::Aggregate {
            agg,
            metric,
            group: None,
        } => {
            let m = metric.map(|i| &table.columns[i]);
            let value = stats::aggregate(
                (0..rows).map(|r| match m {
                    Some(c) => c.values[r].as_f64(),
                    None => Some(1.0),
                }),
                agg,
            );
            let what = measure_label(agg, m.map(|c| c.name.as_str()));
            let nulls = m.map_or(0, |c| c.values.iter().filter(|v| v.as_f64().is_none()).count());
            let note = if nulls > 0 {
                format!(" ({} empty values ignored)", number(nulls as f64))
            } else {
                String::new()
            };
            let text = match value {
                Some(v) => format!(
                    "The **{what}** is **{}** across {} rows{note}.",
                    number(v),
                    number(rows as f64)
                ),
                None => format!("There are no values to compute the {what} from."),
            };
            Analysis {
                reading: what,
                computation: scanned,
                text,
                chart: None,
                confidence: Confidence::High,
            }
        }
        Intent::Aggregate {
            agg,
            metric,
            group: Some(g),
        } => {
            let group = &table.columns[g];
            let m = metric.map(|i| &table.columns[i]);
            let results = stats::group_by(group, m, agg);
            let what = measure_label(agg, m.map(|c| c.name.as_str()));
            grouped_answer(
                format!("{what} by {}", group.name),
                format!("{scanned} → {} groups", results.len()),
                &group.name,
                &what,
                &results,
                results.len(),
            )
        }
        Intent::TopN {
            n,
            ascending,
            agg,
            metric,
            group,
        } => {
            let g = &table.columns[group];
            let m = metric.map(|i| &table.columns[i]);
            let mut results = stats::group_by(g, m, agg);
            if ascending {
                results.reverse();
            }
            let what = measure_label(agg, m.map(|c| c.name.as_str()));
            let direction = if ascending { "bottom" } else { "top" };
            let mut a = grouped_answer(
                format!("{direction} {n} {} by {what}", g.name),
                format!("{scanned} → {} groups", results.len()),
                &g.name,
                &what,
                &results,
                n,
            );
            if let Some((first, v)) = results.first() {
                let total: f64 = results.iter().map(|(_, v)| v).sum();
                let share = if matches!(agg, Agg::Sum | Agg::Count) && total > 0.0 {
                    format!(" ({:.1}% of the total)", v / total * 100.0)
                } else {
                    String::new()
                };
                let verb = if ascending { "is lowest" } else { "leads" };
                a.text = format!(
                    "**{first}** {verb} with a {what} of **{}**{share}.\n\n{}",
                    number(*v),
                    a.text
                );
            }
            a
        }
        Intent::Unknown => unknown(table),
    }
}

fn measure_label(agg: Agg, metric: Option<&str>) -> String {
    match (agg, metric) {
        (Agg::Count, _) | (_, None) => "number of rows".into(),
        (agg, Some(m)) => format!("{} {}", agg.label(), label(m)),
    }
}

fn grouped_answer(
    reading: String,
    computation: String,
    group: &str,
    what: &str,
    results: &[(String, f64)],
    n: usize,
) -> Analysis {
    let shown = &results[..n.min(results.len())];
    let mut text = format!("| {} | {} |\n|---|---:|\n", label(group), what);
    for (k, v) in shown {
        let _ = writeln!(text, "| {} | {} |", cell(k), number(*v));
    }
    if results.len() > shown.len() {
        let _ = write!(text, "\nShowing {} of {} groups.", shown.len(), results.len());
    }
    let data = shown
        .iter()
        .map(|(k, v)| {
            let mut row = Map::new();
            row.insert(group.to_owned(), Json::String(k.clone()));
            row.insert(
                what.to_owned(),
                serde_json::Number::from_f64(round2(*v)).map_or(Json::Null, Json::Number),
            );
            row
        })
        .collect();
    let chart = (shown.len() > 1).then(|| ChartConfig {
        chart_type: ChartType::Bar,
        x: group.to_owned(),
        y: what.to_owned(),
        series: None,
        title: format!("{} by {}", capitalize(what), label(group)),
        data,
    });
    Analysis {
        reading,
        computation,
        text: text.trim_end().to_owned(),
        chart,
        confidence: Confidence::High,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// The dataset profile as markdown: every column with its type and statistics. Also the dataset context
/// given to LLM providers.
pub fn profile_markdown(table: &Table) -> String {
    describe(table, String::new()).text
}

fn describe(table: &Table, computation: String) -> Analysis {
    let mut text = format!(
        "The **{}** dataset has **{} rows** and **{} columns**:\n\n| column | type | summary |\n|---|---|---|\n",
        table.name,
        number(table.row_count() as f64),
        table.columns.len()
    );
    for col in &table.columns {
        let summary = match stats::summarize(col) {
            ColumnSummary::Numeric(s) => format!(
                "min {}, max {}, mean {}, std dev {}",
                number(s.min),
                number(s.max),
                number(s.mean),
                number(s.std_dev)
            ),
            ColumnSummary::Categorical { distinct, nulls, top }
                if distinct > 1 && distinct == col.values.len() - nulls =>
            {
                let examples: Vec<String> = top.iter().map(|(v, _)| cell(v)).collect();
                format!(
                    "every value distinct (an identifier), e.g. {}",
                    examples.join(", ")
                )
            }
            ColumnSummary::Categorical { distinct, top, .. } => {
                let tops: Vec<String> = top
                    .iter()
                    .map(|(v, n)| format!("{} ({})", cell(v), number(*n as f64)))
                    .collect();
                format!(
                    "{} distinct; most common: {}",
                    number(distinct as f64),
                    tops.join(", ")
                )
            }
            ColumnSummary::Dates { min, max, .. } => format!("from {min} to {max}"),
            ColumnSummary::Boolean { trues, falses, .. } => {
                format!("{} true, {} false", number(trues as f64), number(falses as f64))
            }
        };
        let nulls = col
            .values
            .iter()
            .filter(|v| **v == super::table::Value::Null)
            .count();
        let nulls = if nulls > 0 {
            format!("; {} empty", number(nulls as f64))
        } else {
            String::new()
        };
        let ty = match col.ty {
            ColumnType::Integer => "integer",
            ColumnType::Float => "decimal",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Text => "text",
        };
        let _ = writeln!(text, "| `{}` | {ty} | {summary}{nulls} |", col.name);
    }
    Analysis {
        reading: "describe columns".into(),
        computation,
        text: text.trim_end().to_owned(),
        chart: None,
        confidence: Confidence::High,
    }
}

fn unknown(table: &Table) -> Analysis {
    let metric = intent::default_metric(table)
        .map_or("a numeric column".to_owned(), |i| label(&table.columns[i].name));
    let group = table
        .columns
        .iter()
        .find(|c| c.ty == ColumnType::Text && stats::value_counts(c).len() <= 50)
        .map_or("a category".to_owned(), |c| label(&c.name));
    Analysis {
        reading: "not a question the built-in analyst can compute".into(),
        computation: "nothing computed".into(),
        text: format!(
            "I'm the built-in analyst, so I only answer questions I can compute exactly from **{}**:\n\n\
- how many rows or columns it has\n\
- a description of its columns, with types and statistics\n\
- totals, averages, minimums and maximums — e.g. *\"total {metric} by {group}\"*\n\
- rankings — e.g. *\"top 5 {group} by {metric}\"*\n\n\
For open questions like this one, configure an LLM provider key (see the README), and DataSage will answer \
them with a model, grounded in the same data.",
            table.name
        ),
        chart: None,
        confidence: Confidence::Low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Table {
        Table::from_csv(
            "shop",
            "region,category,revenue,qty\nNorth,A,100,1\nSouth,A,50.5,2\nNorth,B,25,3\nEast,B,,4\nSouth,B,10,5\n",
        )
        .unwrap()
    }

    #[test]
    fn row_count_answer_states_the_exact_number() {
        let a = run(&t(), "How many rows are there?");
        assert_eq!(a.text, "The **shop** dataset has **5 rows** and 4 columns.");
        assert_eq!(a.confidence, Confidence::High);
    }

    #[test]
    fn top_regions_by_revenue_rank_and_chart_the_computed_sums() {
        let a = run(&t(), "top 2 regions by revenue");
        assert!(
            a.text
                .starts_with("**North** leads with a total revenue of **125** (67.4% of the total)."),
            "{}",
            a.text
        );
        assert!(
            a.text.contains("| North | 125 |\n| South | 60.50 |"),
            "{}",
            a.text
        );
        let chart = a.chart.unwrap();
        assert_eq!(chart.chart_type, ChartType::Bar);
        assert_eq!(chart.data.len(), 2);
        assert_eq!(chart.data[1]["total revenue"], serde_json::json!(60.5));
        // East has no revenue values at all, so it forms no group.
        assert!(run(&t(), "top 1 region by revenue")
            .text
            .ends_with("Showing 1 of 2 groups."));
    }

    #[test]
    fn overall_aggregates_mention_ignored_empty_values() {
        let a = run(&t(), "average revenue");
        assert_eq!(
            a.text,
            "The **average revenue** is **46.38** across 5 rows (1 empty values ignored)."
        );
    }

    #[test]
    fn description_lists_every_column_with_type_and_statistics() {
        let a = run(&t(), "describe the data");
        assert!(
            a.text
                .contains("| `revenue` | decimal | min 10, max 100, mean 46.38"),
            "{}",
            a.text
        );
        assert!(a
            .text
            .contains("| `region` | text | 3 distinct; most common: North (2), South (2), East (1)"));
        assert!(a.text.contains("| `qty` | integer |"));
        let ids = Table::from_csv("t", "id\nA-1\nA-2\nA-3\n").unwrap();
        assert!(run(&ids, "describe")
            .text
            .contains("every value distinct (an identifier), e.g. A-1, A-2, A-3"));
    }

    #[test]
    fn open_questions_get_an_honest_reply_naming_what_works() {
        let a = run(&t(), "Why are customers unhappy?");
        assert_eq!(a.confidence, Confidence::Low);
        assert!(a.text.contains("provider key"));
        assert!(a.text.contains("top 5 region by revenue"));
    }
}
