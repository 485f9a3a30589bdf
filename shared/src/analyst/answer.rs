//! Writes the built-in analyst's answer from what was computed: the result of the [`plan`] query (or the
//! profile, for questions about the columns) becomes markdown text and, where it helps, a chart whose
//! data is the query's rows.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use super::format::{cell, label, number};
use super::intent::{self, Agg, Intent};
use super::plan::{measure_label, COUNTED, DISTINCT, GRAND_TOTAL, GROUPS, ROW_COUNT, VALUE};
use super::reading::Reading;
use super::{over_time, parts};
use crate::api::{ChartConfig, ChartType, Confidence};
use crate::profile::{ColumnProfile, Profile};
use crate::query::{display, QueryResult};
use crate::schema::{ColumnType, DateFormat};

/// The analyst's answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub text: String,
    pub chart: Option<ChartConfig>,
    pub confidence: Confidence,
}

impl Analysis {
    pub(super) fn high(text: String) -> Self {
        Self {
            text,
            chart: None,
            confidence: Confidence::High,
        }
    }
}

/// Answers a reading for the dataset `name` from `result`, the rows its plan's query returned. The rows a
/// filter kept are named, and any part of the question left out is said first, at low confidence.
pub fn write(reading: &Reading, name: &str, profile: &Profile, result: Option<&QueryResult>) -> Analysis {
    let mut analysis = compute(reading, name, profile, result);
    if reading.intent == Intent::Unknown {
        return analysis;
    }
    if !super::plan::restricting(reading).is_empty() {
        analysis.text = scoped(reading, name, profile, result, analysis.text);
    }
    if !reading.left_out.is_empty() {
        analysis.text = format!(
            "I can't take {} into account yet, so this answer leaves {} out:\n\n{}",
            reading.left_out.join(", "),
            if reading.left_out.len() == 1 { "it" } else { "them" },
            analysis.text
        );
        analysis.confidence = Confidence::Low;
    }
    analysis
}

/// The answer's text over filtered rows: a row count says its conditions, anything else is prefixed.
fn scoped(
    reading: &Reading,
    name: &str,
    profile: &Profile,
    result: Option<&QueryResult>,
    text: String,
) -> String {
    let conditions = |first: fn(&str) -> String| {
        let each: Vec<String> = super::plan::restricting(reading)
            .iter()
            .enumerate()
            .map(|(i, f)| f.describe(&profile.columns, if i == 0 { first } else { str::to_owned }))
            .collect();
        each.join(" and ")
    };
    match (&reading.intent, result) {
        (Intent::DistinctPeriods { grain, .. }, Some(r)) => {
            let n = r.column(DISTINCT).and_then(|c| r.number(0, c)).unwrap_or(0.0);
            format!("{} on **{}**.", conditions(capitalize), periods(n, *grain))
        }
        (Intent::RowCount, Some(r)) => {
            let n = r.column(ROW_COUNT).and_then(|c| r.number(0, c)).unwrap_or(0.0);
            format!(
                "{} in **{} rows** of **{name}**.",
                conditions(capitalize),
                number(n)
            )
        }
        _ => format!("Over the rows where {}:\n\n{text}", conditions(str::to_owned)),
    }
}

fn compute(reading: &Reading, name: &str, profile: &Profile, result: Option<&QueryResult>) -> Analysis {
    let cols = &profile.columns;
    let intent = &reading.intent;
    let empty = QueryResult::default();
    let r = result.unwrap_or(&empty);
    let num = |row: usize, col: &str| r.column(col).and_then(|c| r.number(row, c));
    match *intent {
        Intent::RowCount => {
            let rows = num(0, ROW_COUNT).unwrap_or(0.0);
            Analysis::high(format!(
                "The **{name}** dataset has **{} rows** and {} columns.",
                number(rows),
                cols.len()
            ))
        }
        Intent::ColumnCount => {
            let names: Vec<String> = cols.iter().map(|c| format!("`{}`", c.name)).collect();
            Analysis::high(format!(
                "The **{name}** dataset has **{} columns**: {}.",
                cols.len(),
                names.join(", ")
            ))
        }
        Intent::Describe => Analysis::high(describe(name, profile, false)),
        Intent::Unknown => unknown(name, cols),
        Intent::DistinctPeriods { grain, .. } => {
            let n = num(0, DISTINCT).unwrap_or(0.0);
            Analysis::high(format!("The rows fall on **{}**.", periods(n, grain)))
        }
        Intent::Distinct { column } => {
            let distinct = num(0, DISTINCT).unwrap_or(0.0);
            let shown: Vec<String> = (0..r.rows.len()).filter_map(|i| r.text(i, 0)).collect();
            let more = if (shown.len() as f64) < distinct {
                ", …"
            } else {
                ""
            };
            Analysis::high(format!(
                "There are **{} different {}** values: {}{more}.",
                number(distinct),
                label(&cols[column].name),
                shown.join(", ")
            ))
        }
        Intent::Aggregate {
            agg,
            metric,
            group: None,
        } => {
            let what = measure_label(agg, metric.map(|m| cols[m].name.as_str()));
            let rows = num(0, ROW_COUNT).unwrap_or(0.0);
            let ignored = rows - num(0, COUNTED).unwrap_or(rows);
            let note = if ignored > 0.0 {
                format!(" ({} empty values ignored)", number(ignored))
            } else {
                String::new()
            };
            Analysis::high(match num(0, VALUE) {
                Some(v) => format!(
                    "The **{what}** is **{}** across {} rows{note}.",
                    number(v),
                    number(rows)
                ),
                None => format!("There are no values to compute the {what} from."),
            })
        }
        Intent::Aggregate { group: Some(_), .. } => grouped(r, None),
        Intent::TopN { ascending, agg, .. } => grouped(r, Some((ascending, agg))),
        Intent::Trend { split: None, .. } => trend(r),
        Intent::Trend { split: Some(_), .. } => over_time::split_trend(r),
        Intent::TopPeriod { ascending, .. } => over_time::top_periods(r, ascending),
        Intent::Growth { ascending, .. } => over_time::growth(r, ascending),
        Intent::Share { group: Some(_), .. } => parts::shares(r),
        Intent::Share { agg, metric, .. } => {
            let condition = reading
                .filters
                .last()
                .map(|f| f.describe(cols, str::to_owned))
                .unwrap_or_default();
            let what = measure_label(agg, metric.map(|m| cols[m].name.as_str()));
            parts::share(r, &what, &condition)
        }
        Intent::ExtremeRow { metric, ascending } => parts::extreme_row(r, &cols[metric].name, ascending),
    }
}

/// `12 months`, `1 day`.
fn periods(n: f64, grain: intent::Grain) -> String {
    format!(
        "{} {}{}",
        number(n),
        grain.word(),
        if n == 1.0 { "" } else { "s" }
    )
}

/// Groups and their values, ranked; `top` says whether (and which way) a ranking was asked for.
fn grouped(r: &QueryResult, top: Option<(bool, Agg)>) -> Analysis {
    let (Some(group), Some(what)) = (r.columns.first(), r.columns.get(1)) else {
        return Analysis::high("There are no rows to group.".into());
    };
    if r.rows.is_empty() {
        return Analysis::high(format!("There are no values to compute the {what} from."));
    }
    let mut text = format!("| {} | {} |\n|---|---:|\n", cell(&label(group)), cell(what));
    for i in 0..r.rows.len() {
        let key = r.text(i, 0).unwrap_or_default();
        let _ = writeln!(text, "| {} | {} |", cell(&key), display(&r.rows[i][1]));
    }
    let groups = r.column(GROUPS).and_then(|c| r.number(0, c)).unwrap_or(0.0);
    if groups > r.rows.len() as f64 {
        let _ = write!(text, "\nShowing {} of {} groups.", r.rows.len(), number(groups));
    }
    if let (Some((ascending, agg)), Some(first), Some(v)) = (top, r.text(0, 0), r.number(0, 1)) {
        let share = match r.column(GRAND_TOTAL).and_then(|c| r.number(0, c)) {
            Some(total) if total > 0.0 && matches!(agg, Agg::Sum | Agg::Count) => {
                format!(" ({:.1}% of the total)", v / total * 100.0)
            }
            _ => String::new(),
        };
        let verb = if ascending { "is lowest" } else { "leads" };
        text = format!(
            "**{}** {verb} with a {what} of **{}**{share}.\n\n{text}",
            cell(&first),
            number(v)
        );
    }
    Analysis {
        text: text.trim_end().to_owned(),
        chart: chart(
            r,
            ChartType::Bar,
            format!("{} by {}", capitalize(what), label(group)),
        ),
        confidence: Confidence::High,
    }
}

/// A value per period, in time order, drawn as a line.
fn trend(r: &QueryResult) -> Analysis {
    let (Some(period), Some(what)) = (r.columns.first(), r.columns.get(1)) else {
        return Analysis::high("There are no dated rows.".into());
    };
    let points: Vec<(String, f64)> = (0..r.rows.len())
        .filter_map(|i| Some((r.text(i, 0)?, r.number(i, 1)?)))
        .collect();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Analysis::high(format!("There are no dated values to compute the {what} from."));
    };
    let peak = points
        .iter()
        .fold(first, |best, p| if p.1 > best.1 { p } else { best });
    let low = points
        .iter()
        .fold(first, |best, p| if p.1 < best.1 { p } else { best });
    let change = if first.1 != 0.0 {
        format!(" ({:+.1}%)", (last.1 - first.1) / first.1.abs() * 100.0)
    } else {
        String::new()
    };
    let mut text = format!(
        "Over {} {period}s, the {what} went from **{}** ({}) to **{}** ({}){change}. \
         The highest was **{}** in {}, the lowest **{}** in {}.\n\n",
        points.len(),
        number(first.1),
        first.0,
        number(last.1),
        last.0,
        number(peak.1),
        peak.0,
        number(low.1),
        low.0
    );
    // A long series reads better as a chart: the table keeps the most recent periods.
    let skip = points.len().saturating_sub(over_time::SHOWN_PERIODS);
    let _ = writeln!(text, "| {period} | {} |\n|---|---:|", cell(what));
    for (p, v) in &points[skip..] {
        let _ = writeln!(text, "| {p} | {} |", number(*v));
    }
    if skip > 0 {
        let _ = write!(
            text,
            "\nThe table shows the last {} of {} {period}s; the chart shows all.",
            over_time::SHOWN_PERIODS,
            points.len()
        );
    }
    Analysis {
        text: text.trim_end().to_owned(),
        chart: chart(r, ChartType::Line, format!("{} by {period}", capitalize(what))),
        confidence: Confidence::High,
    }
}

/// A chart of the result's first two columns, when there is more than one point to compare.
pub(super) fn chart(r: &QueryResult, chart_type: ChartType, title: String) -> Option<ChartConfig> {
    let (x, y) = (r.columns.first()?, r.columns.get(1)?);
    let (data, _) = super::chart::bounded_points(r.rows.iter().map(|row| {
        let mut m = Map::new();
        m.insert(x.clone(), row.first().cloned().unwrap_or(Json::Null));
        m.insert(y.clone(), row.get(1).map_or(Json::Null, round2));
        m
    }));
    (data.len() > 1).then(|| ChartConfig {
        chart_type,
        x: x.clone(),
        y: y.clone(),
        series: None,
        title,
        data,
    })
}

pub(super) fn round2(v: &Json) -> Json {
    match v.as_f64() {
        Some(x) if v.is_f64() => {
            serde_json::Number::from_f64((x * 100.0).round() / 100.0).map_or(Json::Null, Json::Number)
        }
        _ => v.clone(),
    }
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// One line about a column: its statistics, or its most common values (withheld in privacy mode).
pub fn column_summary(col: &ColumnProfile, rows: u64, privacy: bool) -> String {
    let mut summary = if let Some(n) = &col.numeric {
        format!(
            "min {}, max {}, mean {}, std dev {}, median {}",
            number(n.min),
            number(n.max),
            number(n.mean),
            number(n.std_dev),
            number(n.median)
        )
    } else if let Some((lo, hi)) = &col.date_range {
        format!("from {lo} to {hi}")
    } else {
        let approx = if col.distinct_exact { "" } else { "about " };
        let distinct = format!("{approx}{} distinct", number(col.distinct as f64));
        if privacy {
            format!("{distinct}; values withheld (privacy mode)")
        } else if col.distinct > 1 && col.distinct + col.nulls == rows && col.distinct_exact {
            let examples: Vec<String> = col.top_values.iter().map(|(v, _)| cell(v)).collect();
            format!(
                "every value distinct (an identifier), e.g. {}",
                examples.join(", ")
            )
        } else {
            let tops: Vec<String> = col
                .top_values
                .iter()
                .map(|(v, n)| format!("{} ({})", cell(v), number(*n as f64)))
                .collect();
            format!("{distinct}; most common: {}", tops.join(", "))
        }
    };
    if let Some(format) = col.date_format {
        let written = match format {
            DateFormat::Iso => "2024-01-31",
            DateFormat::YearSlash => "2024/01/31",
            DateFormat::DayDot => "31.01.2024",
            DateFormat::MonthSlash => "01/31/2024",
            DateFormat::DaySlash => "31/01/2024",
            DateFormat::YearMonth => "2024-01",
            DateFormat::MonthName => "Jan 2024",
        };
        let _ = write!(summary, " (written like {written})");
    }
    if let Some(note) = &col.note {
        let _ = write!(summary, "; {note}");
    }
    if col.nulls > 0 {
        let _ = write!(summary, "; {} empty", number(col.nulls as f64));
    }
    summary
}

/// Every column with its type and statistics, as a markdown table.
fn describe(name: &str, profile: &Profile, privacy: bool) -> String {
    let mut text = format!(
        "The **{name}** dataset has **{} rows** and **{} columns**:\n\n| column | type | summary |\n|---|---|---|\n",
        number(profile.rows as f64),
        profile.columns.len()
    );
    for col in &profile.columns {
        let _ = writeln!(
            text,
            "| `{}` | {} | {} |",
            cell(&col.name),
            col.ty.word(),
            column_summary(col, profile.rows, privacy)
        );
    }
    text.trim_end().to_owned()
}

/// The dataset context given to LLM providers: the profile and, unless the dataset is in privacy mode, a
/// few sample rows. In privacy mode only the schema and aggregate statistics leave the worker.
pub fn profile_markdown(name: &str, profile: &Profile, privacy: bool) -> String {
    let mut text = describe(name, profile, privacy);
    if !privacy && !profile.sample_rows.is_empty() {
        let header: Vec<String> = profile.columns.iter().map(|c| cell(&c.name)).collect();
        let _ = write!(
            text,
            "\n\nSample rows:\n\n| {} |\n|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        );
        for row in &profile.sample_rows {
            let cells: Vec<String> = row
                .iter()
                .map(|v| {
                    v.as_deref()
                        .map_or(String::new(), |s| cell(&crate::text::excerpt(s, 60)))
                })
                .collect();
            let _ = writeln!(text, "| {} |", cells.join(" | "));
        }
    }
    text.trim_end().to_owned()
}

fn unknown(name: &str, cols: &[ColumnProfile]) -> Analysis {
    let metric = intent::default_metric(cols)
        .or_else(|| cols.iter().position(|c| c.ty.is_numeric()))
        .map_or("a numeric column".to_owned(), |i| label(&cols[i].name));
    let group = cols
        .iter()
        .find(|c| c.ty == ColumnType::Text && c.distinct <= 50)
        .map_or("a category".to_owned(), |c| label(&c.name));
    let trend = if cols.iter().any(|c| c.ty.is_temporal()) {
        format!("- trends over time — e.g. *\"{metric} by month\"*\n")
    } else {
        String::new()
    };
    Analysis {
        text: format!(
            "I'm the built-in analyst, so I only answer questions I can compute exactly from **{name}**:\n\n\
- how many rows or columns it has\n\
- a description of its columns, with types and statistics\n\
- totals, averages, minimums and maximums — e.g. *\"total {metric} by {group}\"*\n\
- rankings — e.g. *\"top 5 {group} by {metric}\"*\n\
{trend}\n\
For open questions like this one, configure an LLM provider key (see the README), and DataSage will answer \
them with a model, grounded in the same data."
        ),
        chart: None,
        confidence: Confidence::Low,
    }
}

/// Reads, plans and (given the plan's result) answers in one go — what the worker does, minus D1.
#[cfg(test)]
pub fn run_with(profile: &Profile, question: &str, exec: impl Fn(&str) -> QueryResult) -> Analysis {
    let reading = super::reading::read(&profile.columns, question);
    let p = super::plan::plan(&reading, &profile.columns);
    let result = p.sql.as_deref().map(exec);
    write(&reading, "shop", profile, result.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::SqliteDataset;

    const SHOP: &str =
        "region,category,revenue,qty,day\nNorth,A,100,1,2024-01-03\nSouth,A,50.5,2,2024-01-20\nNorth,B,25,3,2024-02-01\nEast,B,,4,2024-02-11\nSouth,B,10,5,2024-03-05\n";

    fn ask(q: &str) -> Analysis {
        let ds = SqliteDataset::load(SHOP);
        run_with(&ds.profile, q, |sql| ds.query(sql))
    }

    #[test]
    fn row_count_answer_states_the_exact_number() {
        let a = ask("How many rows are there?");
        assert_eq!(a.text, "The **shop** dataset has **5 rows** and 5 columns.");
        assert_eq!(a.confidence, Confidence::High);
    }

    #[test]
    fn top_regions_by_revenue_rank_and_chart_the_computed_sums() {
        let a = ask("top 2 regions by revenue");
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
        assert!(ask("top 1 region by revenue")
            .text
            .ends_with("Showing 1 of 2 groups."));
    }

    #[test]
    fn overall_aggregates_mention_ignored_empty_values() {
        assert_eq!(
            ask("average revenue").text,
            "The **average revenue** is **46.38** across 5 rows (1 empty values ignored)."
        );
    }

    #[test]
    fn counting_per_group_and_distinct_values() {
        let a = ask("how many rows per region");
        assert!(
            a.text.contains("| North | 2 |\n| South | 2 |\n| East | 1 |"),
            "{}",
            a.text
        );
        assert_eq!(
            ask("how many regions are there").text,
            "There are **3 different region** values: North, South, East."
        );
    }

    #[test]
    fn monthly_trend_is_in_time_order_with_a_line_chart() {
        let a = ask("revenue by month");
        assert!(
            a.text.starts_with(
                "Over 3 months, the total revenue went from **150.50** (2024-01) to **10** (2024-03) (-93.4%)."
            ),
            "{}",
            a.text
        );
        assert!(a.text.contains("| 2024-02 | 25 |"), "{}", a.text);
        let chart = a.chart.unwrap();
        assert_eq!(chart.chart_type, ChartType::Line);
        assert_eq!(chart.x, "month");
        let weekly = ask("how many rows per week");
        assert!(weekly.text.contains("| 2024-01-01 | 1 |"), "{}", weekly.text);
        assert!(weekly.text.contains("| 2024-01-15 | 1 |"), "{}", weekly.text);
    }

    #[test]
    fn description_lists_every_column_with_type_and_statistics() {
        let a = ask("describe the data");
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
        assert!(a
            .text
            .contains("| `day` | date | from 2024-01-03 to 2024-03-05 |"));
    }

    #[test]
    fn privacy_mode_keeps_sample_rows_and_values_out_of_the_context() {
        let ds = SqliteDataset::load(SHOP);
        let open = profile_markdown("shop", &ds.profile, false);
        assert!(open.contains("Sample rows:") && open.contains("| North | A | 100 | 1 | 2024-01-03 |"));
        let private = profile_markdown("shop", &ds.profile, true);
        assert!(
            !private.contains("Sample rows") && !private.contains("North"),
            "{private}"
        );
        assert!(private.contains("3 distinct; values withheld (privacy mode)"));
        assert!(private.contains("min 10, max 100"), "aggregates stay: {private}");
    }

    #[test]
    fn open_questions_get_an_honest_reply_naming_what_works() {
        let a = ask("Why are customers unhappy?");
        assert_eq!(a.confidence, Confidence::Low);
        assert!(a.text.contains("provider key"));
        assert!(a.text.contains("top 5 region by revenue"));
        assert!(a.text.contains("revenue by month"));
    }
}
