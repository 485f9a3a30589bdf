//! Answers about parts: the share of a total a filter picks out or each group has, and the one row with
//! the largest or smallest value of a column.

use std::fmt::Write as _;

use super::answer::{capitalize, chart, Analysis};
use super::format::{cell, label, number};
use super::plan::{GROUPS, PART, SHARE_PCT, WHOLE};
use crate::api::{ChartType, Confidence};
use crate::query::{display, QueryResult};

/// `23.4%`.
fn percent(part: f64, whole: f64) -> String {
    format!("{:.1}%", part / whole * 100.0)
}

/// The part of the `what` total where `condition` (in words) holds.
pub fn share(r: &QueryResult, what: &str, condition: &str) -> Analysis {
    let num = |name: &str| r.column(name).and_then(|c| r.number(0, c));
    let (part, whole) = (num(PART).unwrap_or(0.0), num(WHOLE).unwrap_or(0.0));
    if whole == 0.0 {
        return Analysis::high(format!("There are no values to compute the {what} from."));
    }
    Analysis::high(format!(
        "**{}** of the {what} is where {condition}: **{}** of **{}**.",
        percent(part, whole),
        number(part),
        number(whole)
    ))
}

/// Each group's part of the total, largest first.
pub fn shares(r: &QueryResult) -> Analysis {
    let (Some(group), Some(what), Some(pct)) = (r.columns.first(), r.columns.get(1), r.column(SHARE_PCT))
    else {
        return Analysis::high("There are no rows to group.".into());
    };
    let (Some(lead), Some(top)) = (r.text(0, 0), r.number(0, pct)) else {
        return Analysis::high(format!("There are no values to compute the {what} from."));
    };
    let mut text = format!(
        "**{}** has the largest share: **{:.1}%** of the {what}.\n\n| {} | {} | share |\n|---|---:|---:|\n",
        cell(&lead),
        top,
        cell(&label(group)),
        cell(what)
    );
    for i in 0..r.rows.len() {
        let share = r.number(i, pct).map_or("—".to_owned(), |p| format!("{p:.1}%"));
        let _ = writeln!(
            text,
            "| {} | {} | {share} |",
            cell(&r.text(i, 0).unwrap_or_default()),
            display(&r.rows[i][1])
        );
    }
    let groups = r.column(GROUPS).and_then(|c| r.number(0, c)).unwrap_or(0.0);
    if groups > r.rows.len() as f64 {
        let _ = write!(text, "\nShowing {} of {} groups.", r.rows.len(), number(groups));
    }
    Analysis {
        text: text.trim_end().to_owned(),
        chart: chart(r, ChartType::Pie, format!("Share of {what} by {}", label(group))),
        confidence: Confidence::High,
    }
}

/// Most rows an answer about the largest (or smallest) value lists.
pub const SHOWN_ROWS: usize = 5;

/// The row with the largest (or smallest) `metric`, every column shown; rows that share it are said and
/// listed (up to [`SHOWN_ROWS`]).
pub fn extreme_row(r: &QueryResult, metric: &str, ascending: bool) -> Analysis {
    let word = if ascending { "lowest" } else { "highest" };
    let Some(row) = r.rows.first() else {
        return Analysis::high(format!("There are no values of **{}**.", label(metric)));
    };
    let value = r.column(metric).map_or("—".to_owned(), |c| display(&row[c]));
    let what = format!("the {word} **{}** ({value})", label(metric));
    let text = match r.rows.len() {
        1 => {
            let mut t = format!("The row with {what}:\n\n| column | value |\n|---|---|\n");
            for (name, v) in r.columns.iter().zip(row) {
                let _ = writeln!(
                    t,
                    "| {} | {} |",
                    cell(&capitalize(&label(name))),
                    cell(&display(v))
                );
            }
            t
        }
        n => {
            let many = if n > SHOWN_ROWS {
                format!("More than {SHOWN_ROWS} rows share {what}; the first {SHOWN_ROWS}:")
            } else {
                format!("{n} rows share {what}:")
            };
            let header: Vec<String> = r.columns.iter().map(|c| cell(&capitalize(&label(c)))).collect();
            let mut t = format!(
                "{many}\n\n| {} |\n|{}\n",
                header.join(" | "),
                "---|".repeat(header.len())
            );
            for row in r.rows.iter().take(SHOWN_ROWS) {
                let cells: Vec<String> = row.iter().map(|v| cell(&display(v))).collect();
                let _ = writeln!(t, "| {} |", cells.join(" | "));
            }
            t
        }
    };
    Analysis::high(text.trim_end().to_owned())
}
