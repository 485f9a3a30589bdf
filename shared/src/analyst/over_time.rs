//! Answers about time: a series split by a category, the periods ranked, and the change per group
//! between the data's first and last period. (A single series is [`super::answer`]'s trend.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use super::answer::{capitalize, chart, Analysis};
use super::format::{cell, label, number};
use super::plan::{FIRST_PERIOD, FIRST_VALUE, GROUPS, LAST_PERIOD, LAST_VALUE};
use crate::api::{ChartConfig, ChartType, Confidence};
use crate::query::QueryResult;

/// Most recent periods a table shows; the chart shows all.
pub const SHOWN_PERIODS: usize = 24;

/// `+12.5%` from `from` to `to`, or nothing when `from` is zero.
pub fn percent_change(from: f64, to: f64) -> String {
    if from == 0.0 {
        String::new()
    } else {
        format!("{:+.1}%", (to - from) / from.abs() * 100.0)
    }
}

/// `+1,234` or `-56`: a change with its sign.
fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", number(v))
    } else {
        number(v)
    }
}

/// Rows of (period, group, value): a line per group, a table with a column per group.
pub fn split_trend(r: &QueryResult) -> Analysis {
    let (Some(period), Some(group), Some(what)) = (r.columns.first(), r.columns.get(1), r.columns.get(2))
    else {
        return Analysis::high("There are no dated rows.".into());
    };
    let mut lines: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    let mut periods: Vec<String> = Vec::new();
    for i in 0..r.rows.len() {
        let (Some(p), Some(g), Some(v)) = (r.text(i, 0), r.text(i, 1), r.number(i, 2)) else {
            continue;
        };
        if periods.last() != Some(&p) {
            periods.push(p.clone());
        }
        lines.entry(g).or_default().push((p, v));
    }
    if lines.is_empty() {
        return Analysis::high(format!("There are no dated values to compute the {what} from."));
    }
    let mut text = format!(
        "Over {} {period}s, the {what} by {}:\n\n",
        periods.len(),
        label(group)
    );
    for (g, points) in &lines {
        let (first, last) = (&points[0], &points[points.len() - 1]);
        let change = percent_change(first.1, last.1);
        let _ = writeln!(
            text,
            "- **{}** went from **{}** ({}) to **{}** ({}){}",
            cell(g),
            number(first.1),
            first.0,
            number(last.1),
            last.0,
            if change.is_empty() {
                String::new()
            } else {
                format!(", {change}")
            }
        );
    }
    text.push('\n');
    pivot(&mut text, period, &periods, &lines);
    Analysis {
        text: text.trim_end().to_owned(),
        chart: series_chart(
            r,
            format!("{} by {period} and {}", capitalize(what), label(group)),
        ),
        confidence: Confidence::High,
    }
}

/// The most recent periods as a table: a row per period, a column per group.
fn pivot(text: &mut String, period: &str, periods: &[String], lines: &BTreeMap<String, Vec<(String, f64)>>) {
    let names: Vec<String> = lines.keys().map(|g| cell(g)).collect();
    let _ = writeln!(
        text,
        "| {period} | {} |\n|---|{}",
        names.join(" | "),
        "---:|".repeat(names.len())
    );
    let skip = periods.len().saturating_sub(SHOWN_PERIODS);
    for p in &periods[skip..] {
        let values: Vec<String> = lines
            .values()
            .map(|points| {
                points
                    .iter()
                    .find(|(q, _)| q == p)
                    .map_or("—".to_owned(), |(_, v)| number(*v))
            })
            .collect();
        let _ = writeln!(text, "| {p} | {} |", values.join(" | "));
    }
    if skip > 0 {
        let _ = write!(
            text,
            "\nThe table shows the last {SHOWN_PERIODS} of {} {period}s; the chart shows all.",
            periods.len()
        );
    }
}

/// A line per group: the points carry their group under the query's second column.
fn series_chart(r: &QueryResult, title: String) -> Option<ChartConfig> {
    let (x, series, y) = (r.columns.first()?, r.columns.get(1)?, r.columns.get(2)?);
    let (data, _) = super::chart::bounded_points(r.rows.iter().map(|row| {
        let mut m = Map::new();
        m.insert(x.clone(), row.first().cloned().unwrap_or(Json::Null));
        m.insert(series.clone(), row.get(1).cloned().unwrap_or(Json::Null));
        m.insert(y.clone(), row.get(2).map_or(Json::Null, super::answer::round2));
        m
    }));
    (data.len() > 1).then(|| ChartConfig {
        chart_type: ChartType::Line,
        x: x.clone(),
        y: y.clone(),
        series: Some(series.clone()),
        title,
        data,
    })
}

/// The periods with the largest (or smallest) value.
pub fn top_periods(r: &QueryResult, ascending: bool) -> Analysis {
    let (Some(period), Some(what)) = (r.columns.first(), r.columns.get(1)) else {
        return Analysis::high("There are no dated rows.".into());
    };
    let (Some(first), Some(v)) = (r.text(0, 0), r.number(0, 1)) else {
        return Analysis::high(format!("There are no dated values to compute the {what} from."));
    };
    let word = if ascending { "lowest" } else { "highest" };
    let mut text = format!("**{first}** had the {word} {what}: **{}**.", number(v));
    if r.rows.len() > 1 {
        let _ = write!(text, "\n\n| {period} | {} |\n|---|---:|\n", cell(what));
        for i in 0..r.rows.len() {
            if let (Some(p), Some(v)) = (r.text(i, 0), r.number(i, 1)) {
                let _ = writeln!(text, "| {p} | {} |", number(v));
            }
        }
    }
    Analysis {
        text: text.trim_end().to_owned(),
        chart: chart(r, ChartType::Bar, format!("{} by {period}", capitalize(what))),
        confidence: Confidence::High,
    }
}

/// The change per group between the data's first and last period, the one asked for first.
pub fn growth(r: &QueryResult, ascending: bool) -> Analysis {
    let (Some(group), Some(change)) = (r.columns.first(), r.columns.get(1)) else {
        return Analysis::high("There are no rows to compare.".into());
    };
    let col = |name: &str| r.column(name);
    let (Some(fv), Some(lv), Some(fp), Some(lp)) = (
        col(FIRST_VALUE),
        col(LAST_VALUE),
        col(FIRST_PERIOD),
        col(LAST_PERIOD),
    ) else {
        return Analysis::high("There are no rows to compare.".into());
    };
    let (Some(lead), Some(delta), Some(from), Some(to)) =
        (r.text(0, 0), r.number(0, 1), r.number(0, fv), r.number(0, lv))
    else {
        return Analysis::high(format!(
            "No {} has a value in both the first and the last period.",
            label(group)
        ));
    };
    let (first, last) = (
        r.text(0, fp).unwrap_or_default(),
        r.text(0, lp).unwrap_or_default(),
    );
    let what = change.trim_start_matches("change in ");
    let verb = match (ascending, delta) {
        (false, d) if d > 0.0 => "grew the most".to_owned(),
        (true, d) if d < 0.0 => "fell the most".to_owned(),
        (false, _) => format!("changed the most (no {} grew)", label(group)),
        (true, _) => format!("changed the least (no {} fell)", label(group)),
    };
    let pct = percent_change(from, to);
    let mut text = format!(
        "**{}** {verb}: its {what} went from **{}** in {first} to **{}** in {last} (**{}**{}).\n\n",
        cell(&lead),
        number(from),
        number(to),
        signed(delta),
        if pct.is_empty() {
            String::new()
        } else {
            format!(", {pct}")
        }
    );
    let _ = writeln!(
        text,
        "| {} | {} | {first} | {last} |\n|---|---:|---:|---:|",
        cell(&label(group)),
        cell(change)
    );
    for i in 0..r.rows.len() {
        let v = |c: usize| r.number(i, c).map_or("—".to_owned(), number);
        let d = r.number(i, 1).map_or("—".to_owned(), signed);
        let _ = writeln!(
            text,
            "| {} | {d} | {} | {} |",
            cell(&r.text(i, 0).unwrap_or_default()),
            v(fv),
            v(lv)
        );
    }
    let groups = r.column(GROUPS).and_then(|c| r.number(0, c)).unwrap_or(0.0);
    if groups > r.rows.len() as f64 {
        let _ = write!(text, "\nShowing {} of {} groups.", r.rows.len(), number(groups));
    }
    Analysis {
        text: text.trim_end().to_owned(),
        chart: chart(
            r,
            ChartType::Bar,
            format!("{} from {first} to {last}", capitalize(change)),
        ),
        confidence: Confidence::High,
    }
}
