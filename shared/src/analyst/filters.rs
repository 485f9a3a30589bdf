//! The rows a question restricts itself to: a category value it names ("in CA"), a comparison on a number
//! ("quantity over 3", "at least 3", "between 10 and 20") or a time range ("in 2010", "in March 2024",
//! "last 6 months", counted back from the data's latest date). Each filter claims the question's words
//! it was read from, so nothing else reads them again; its SQL condition and its words for people are
//! written here.

use super::format::label;
use super::intent::{mentions, plural, tokens, year_column};
use crate::calendar::Date;
use crate::profile::ColumnProfile;
use crate::schema::ColumnType;
use crate::sql::quote_ident;

/// How a filter restricts its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A text column equals one of its values.
    Equals(String),
    /// A number compared: `op` is `>`, `>=`, `<` or `<=`.
    Compare { op: &'static str, value: f64 },
    /// A number between two values, both included.
    Between(f64, f64),
    /// A date from `from` up to (not including) `to`, ISO dates; `words` is how the question put it.
    Within { from: String, to: String, words: String },
    /// A column of years from `from` to `to`, both included; `words` is how the question put it.
    Years { from: i32, to: i32, words: String },
    /// A yes/no column is yes (or no).
    Is(bool),
}

/// Rows where one column meets a condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub column: usize,
    pub condition: Condition,
    /// Where in the question it was read (its first token).
    pub at: usize,
}

impl Filter {
    /// The SQL condition, e.g. `"state" = 'CA'`.
    pub fn sql(&self, cols: &[ColumnProfile]) -> String {
        let c = quote_ident(&cols[self.column].name);
        match &self.condition {
            Condition::Equals(v) => format!("{c} = '{}'", v.replace('\'', "''")),
            Condition::Compare { op, value } => format!("{c} {op} {value}"),
            Condition::Between(lo, hi) => format!("{c} BETWEEN {lo} AND {hi}"),
            Condition::Within { from, to, .. } => format!("{c} >= '{from}' AND {c} < '{to}'"),
            Condition::Years { from, to, .. } => format!("{c} BETWEEN {from} AND {to}"),
            Condition::Is(yes) => format!("{c} = {}", u8::from(*yes)),
        }
    }

    /// The condition for people, e.g. `**state** is **CA**`; `name` shapes the column's label.
    pub fn describe(&self, cols: &[ColumnProfile], name: impl Fn(&str) -> String) -> String {
        let column = name(&label(&cols[self.column].name));
        let n = super::format::number;
        match &self.condition {
            Condition::Equals(v) => format!("**{column}** is **{v}**"),
            Condition::Compare { op, value } => {
                let words = match *op {
                    ">" => "over",
                    ">=" => "at least",
                    "<" => "under",
                    _ => "at most",
                };
                format!("**{column}** is {words} **{}**", n(*value))
            }
            Condition::Between(lo, hi) => {
                format!("**{column}** is between **{}** and **{}**", n(*lo), n(*hi))
            }
            Condition::Within { from, to, words } => {
                format!("**{column}** is in **{words}** ({from} to {})", day_before(to))
            }
            Condition::Years { from, to, words } if from == to => format!("**{column}** is **{words}**"),
            Condition::Years { from, to, words } => {
                format!("**{column}** is in **{words}** ({from} to {to})")
            }
            Condition::Is(yes) => format!("**{column}** is **{}**", if *yes { "yes" } else { "no" }),
        }
    }
}

/// Every filter the question (its `words` as written) names; the tokens each was read from are added to
/// `claimed`.
pub fn find(cols: &[ColumnProfile], words: &[&str], claimed: &mut Vec<(usize, usize)>) -> Vec<Filter> {
    let toks: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let mut out = Vec::new();
    comparisons(cols, &toks, claimed, &mut out);
    time_ranges(cols, &toks, claimed, &mut out);
    equalities(cols, words, &toks, claimed, &mut out);
    yes_no(cols, &toks, claimed, &mut out);
    out.sort_by_key(|f| f.at);
    out
}

/// A yes/no column named as a state ("orders that were returned", "not returned"), not as a grouping
/// ("by returned").
fn yes_no(cols: &[ColumnProfile], toks: &[String], claimed: &mut Vec<(usize, usize)>, out: &mut Vec<Filter>) {
    for m in mentions(cols, toks) {
        let before = m.at.checked_sub(1).map(|i| toks[i].as_str());
        let grouping = matches!(before, Some("by" | "per" | "each" | "every"));
        if cols[m.column].ty != ColumnType::Boolean || grouping || !free(claimed, m.at, m.len) {
            continue;
        }
        let no = matches!(before, Some("not" | "never" | "non" | "un"));
        claimed.push((m.at, m.len));
        out.push(Filter {
            column: m.column,
            condition: Condition::Is(!no),
            at: m.at,
        });
    }
}

fn free(claimed: &[(usize, usize)], at: usize, len: usize) -> bool {
    !claimed.iter().any(|&(a, l)| at < a + l && a < at + len)
}

/// A whole number at `i` that is not part of a longer one (`10.5` and `1,000` are split by the
/// tokenizer: such a number is left to the caveats rather than misread).
fn number(toks: &[String], i: usize) -> Option<f64> {
    let t = toks.get(i)?;
    let next_is_digits = toks
        .get(i + 1)
        .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
    (t.chars().all(|c| c.is_ascii_digit()) && !next_is_digits).then(|| t.parse().ok())?
}

/// Comparison phrases: the words, the operator, and how many tokens they take before the number.
const COMPARE: &[(&[&str], &str)] = &[
    (&["over"], ">"),
    (&["above"], ">"),
    (&["exceeding"], ">"),
    (&["more", "than"], ">"),
    (&["greater", "than"], ">"),
    (&["higher", "than"], ">"),
    (&["at", "least"], ">="),
    (&["under"], "<"),
    (&["below"], "<"),
    (&["less", "than"], "<"),
    (&["fewer", "than"], "<"),
    (&["lower", "than"], "<"),
    (&["at", "most"], "<="),
];

fn comparisons(
    cols: &[ColumnProfile],
    toks: &[String],
    claimed: &mut Vec<(usize, usize)>,
    out: &mut Vec<Filter>,
) {
    let numeric: Vec<_> = mentions(cols, toks)
        .into_iter()
        .filter(|m| cols[m.column].ty.is_numeric())
        .collect();
    for i in 0..toks.len() {
        let (condition, len) = if toks[i] == "between" {
            match (
                number(toks, i + 1),
                toks.get(i + 2).map(String::as_str),
                number(toks, i + 3),
            ) {
                (Some(lo), Some("and"), Some(hi)) => (Condition::Between(lo.min(hi), lo.max(hi)), 4),
                _ => continue,
            }
        } else {
            let Some((words, op)) = COMPARE.iter().find(|(w, _)| {
                w.iter()
                    .enumerate()
                    .all(|(k, w)| toks.get(i + k).is_some_and(|t| t == w))
            }) else {
                continue;
            };
            match number(toks, i + words.len()) {
                Some(value) => (Condition::Compare { op, value }, words.len() + 1),
                None => continue,
            }
        };
        // The numeric column named last before the comparison ("quantity over 3"), else the first after.
        let column = numeric
            .iter()
            .rev()
            .find(|m| m.at < i)
            .or_else(|| numeric.iter().find(|m| m.at >= i + len));
        if let Some(m) = column.filter(|_| free(claimed, i, len)) {
            claimed.push((i, len));
            claimed.push((m.at, m.len));
            out.push(Filter {
                column: m.column,
                condition,
                at: i,
            });
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month(t: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| t == *m || (t.len() >= 3 && t != "may" && m.starts_with(t) && t.len() <= m.len()))
        .or_else(|| (t == "may").then_some(4))
        .map(|i| i as u32 + 1)
}

fn year(t: &str) -> Option<i32> {
    (t.len() == 4)
        .then(|| t.parse().ok())
        .flatten()
        .filter(|y| (1800..=2200).contains(y))
}

fn time_ranges(
    cols: &[ColumnProfile],
    toks: &[String],
    claimed: &mut Vec<(usize, usize)>,
    out: &mut Vec<Filter>,
) {
    let named = mentions(cols, toks);
    let temporal = |c: &usize| cols[*c].ty.is_temporal();
    let dated = named
        .iter()
        .map(|m| m.column)
        .find(temporal)
        .or_else(|| (0..cols.len()).find(temporal));
    let found: Vec<(usize, Condition, usize, usize)> = match dated {
        Some(column) => date_ranges(&cols[column], toks)
            .into_iter()
            .map(|(at, len, c)| (column, c, at, len))
            .collect(),
        None => match (0..cols.len()).find(|&c| year_column(&cols[c])) {
            Some(column) => year_ranges(&cols[column], toks)
                .into_iter()
                .map(|(at, len, c)| (column, c, at, len))
                .collect(),
            None => Vec::new(),
        },
    };
    for (column, condition, at, len) in found {
        if free(claimed, at, len) {
            claimed.push((at, len));
            out.push(Filter {
                column,
                condition,
                at,
            });
        }
    }
}

/// The ranges of a date column the question names: (first token, token count, condition).
fn date_ranges(col: &ColumnProfile, toks: &[String]) -> Vec<(usize, usize, Condition)> {
    let latest = col
        .date_range
        .as_ref()
        .map(|(_, to)| to[..to.len().min(10)].to_owned());
    let after_latest = latest
        .as_deref()
        .and_then(parse_date)
        .map(|(y, m, d)| iso(civil_from_days(days_from_civil(y, m, d) + 1)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let bound = matches!(toks[i].as_str(), "since" | "after" | "before" | "until");
        let found = if let (true, Some(y)) = (bound, toks.get(i + 1).and_then(|t| year(t))) {
            // "since 2015" (from its first day), "before 2015" (up to it), "after 2015" (from the next).
            let (from, to, words) = match toks[i].as_str() {
                "since" => (iso((y, 1, 1)), after_latest.clone(), format!("{y} or later")),
                "after" => (iso((y + 1, 1, 1)), after_latest.clone(), format!("after {y}")),
                _ => (
                    col.date_range
                        .as_ref()
                        .map(|r| r.0[..10.min(r.0.len())].to_owned())
                        .unwrap_or_default(),
                    Some(iso((y, 1, 1))),
                    format!("before {y}"),
                ),
            };
            to.map(|to| ((from, to), words, 2))
        } else if let (Some(m), Some(y)) = (month(&toks[i]), toks.get(i + 1).and_then(|t| year(t))) {
            // "March 2024"; "may" alone is a verb, so a month needs its year.
            Some((range_months(y, m, 1), format!("{} {y}", capital(&toks[i])), 2))
        } else if let Some(y) = year(&toks[i]) {
            match toks
                .get(i + 1)
                .and_then(|t| t.parse::<u32>().ok())
                .filter(|m| (1..=12).contains(m))
            {
                // "2024-03", which the tokenizer splits.
                Some(m) if toks[i + 1].len() == 2 => Some((range_months(y, m, 1), format!("{y}-{m:02}"), 2)),
                _ => Some((range_months(y, 1, 12), y.to_string(), 1)),
            }
        } else if matches!(toks[i].as_str(), "last" | "past") {
            latest.as_deref().and_then(|l| relative(l, toks, i))
        } else {
            None
        };
        match found {
            Some(((from, to), words, len)) => {
                out.push((i, len, Condition::Within { from, to, words }));
                i += len;
            }
            None => i += 1,
        }
    }
    out
}

/// The ranges of a column of years the question names: "in 2010", "since 2015", "before 2010", "from
/// 2005 to 2010".
fn year_ranges(col: &ColumnProfile, toks: &[String]) -> Vec<(usize, usize, Condition)> {
    let (lo, hi) = col
        .numeric
        .as_ref()
        .map_or((1800, 2200), |n| (n.min as i32, n.max as i32));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let Some(y) = year(&toks[i]) else {
            i += 1;
            continue;
        };
        let before = i.checked_sub(1).map(|p| toks[p].as_str());
        let to_year = toks
            .get(i + 2)
            .and_then(|t| year(t))
            .filter(|_| matches!(toks.get(i + 1).map(String::as_str), Some("to" | "and" | "until")));
        let (start, len, from, to, words) = match (before, to_year) {
            (_, Some(end)) => (
                i,
                3,
                y.min(end),
                y.max(end),
                format!("{} to {}", y.min(end), y.max(end)),
            ),
            (Some("since" | "from"), None) => (i - 1, 2, y, hi, format!("{y} or later")),
            (Some("after"), None) => (i - 1, 2, y + 1, hi, format!("after {y}")),
            (Some("before"), None) => (i - 1, 2, lo, y - 1, format!("before {y}")),
            _ => (i, 1, y, y, y.to_string()),
        };
        out.push((start, len, Condition::Years { from, to, words }));
        i = start + len;
    }
    out
}

fn capital(t: &str) -> String {
    let mut c = t.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// "last 6 months" (or "past year"): the last N calendar units of the data, up to its latest day.
fn relative(latest: &str, toks: &[String], i: usize) -> Option<((String, String), String, usize)> {
    let (n, unit_at) = match number(toks, i + 1) {
        Some(n) if (1.0..=1_000.0).contains(&n) => (n as i64, i + 2),
        _ => (1, i + 1),
    };
    let unit = toks.get(unit_at)?.trim_end_matches('s');
    let (y, m, d) = parse_date(latest)?;
    let end = civil_from_days(days_from_civil(y, m, d) + 1);
    let from = match unit {
        "day" => civil_from_days(days_from_civil(y, m, d) - (n - 1)),
        "week" => civil_from_days(days_from_civil(y, m, d) - (7 * n - 1)),
        "month" => {
            let months = i64::from(y) * 12 + i64::from(m) - 1 - (n - 1);
            (months.div_euclid(12) as i32, months.rem_euclid(12) as u32 + 1, 1)
        }
        "year" => (y - (n as i32 - 1), 1, 1),
        _ => return None,
    };
    let words = format!("the last {n} {unit}{}", if n == 1 { "" } else { "s" });
    Some(((iso(from), iso(end)), words, unit_at + 1 - i))
}

/// From the first day of month `m` of year `y`, `count` months on.
fn range_months(y: i32, m: u32, count: u32) -> (String, String) {
    let end = i64::from(y) * 12 + i64::from(m) - 1 + i64::from(count);
    (
        iso((y, m, 1)),
        iso((end.div_euclid(12) as i32, end.rem_euclid(12) as u32 + 1, 1)),
    )
}

fn iso((y, m, d): (i32, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut parts = s.get(..10)?.split('-');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    ))
}

fn day_before(iso_date: &str) -> String {
    parse_date(iso_date).map_or_else(
        || iso_date.to_owned(),
        |(y, m, d)| iso(civil_from_days(days_from_civil(y, m, d) - 1)),
    )
}

fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    Date { year, month, day }.days()
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let d = Date::from_days(days);
    (d.year, d.month, d.day)
}

/// Category values the question names ("in CA", "for Electronics", "rainy days", "purchases"): a value of
/// a text column, its last word also in the plural or as an adjective. A short capitalised code (`IN`,
/// `US`) must be written as in the data, so the word "in" is not India.
fn equalities(
    cols: &[ColumnProfile],
    words: &[&str],
    toks: &[String],
    claimed: &mut Vec<(usize, usize)>,
    out: &mut Vec<Filter>,
) {
    for (column, c) in cols.iter().enumerate() {
        if c.ty != ColumnType::Text {
            continue;
        }
        let listed: Vec<&String> = if c.values.is_empty() {
            c.top_values.iter().map(|(v, _)| v).collect()
        } else {
            c.values.iter().collect()
        };
        for value in listed {
            let parts = tokens(value);
            if parts.is_empty() || parts.concat().len() < 2 {
                continue;
            }
            let code = value.len() <= 3 && value.chars().all(|ch| !ch.is_lowercase());
            let at = (0..toks.len()).find(|&i| {
                names_value(&toks[i..], &parts)
                    && (!code || words[i] == value)
                    && free(claimed, i, parts.len())
            });
            if let Some(at) = at {
                claimed.push((at, parts.len()));
                out.push(Filter {
                    column,
                    condition: Condition::Equals(value.clone()),
                    at,
                });
            }
        }
    }
}

/// Whether `toks` start with the value's words, the last one as written, plural (`purchases`) or an
/// adjective (`rainy`, `sunny`).
fn names_value(toks: &[String], parts: &[String]) -> bool {
    let Some((last, init)) = parts.split_last() else {
        return false;
    };
    let Some(word) = toks.get(init.len()) else {
        return false;
    };
    let inflected = last.len() >= 3 && last.chars().all(char::is_alphabetic) && {
        let doubled = last.chars().last().map(|c| format!("{last}{c}y"));
        [plural(last), format!("{last}s"), format!("{last}y")].contains(word)
            || doubled.as_ref() == Some(word)
    };
    toks.starts_with(init) && (word == last || inflected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_before_a_month_start_is_the_previous_months_last() {
        assert_eq!(day_before("2024-03-01"), "2024-02-29");
    }

    #[test]
    fn relative_ranges_count_back_from_the_latest_day() {
        let toks = |q: &str| tokens(q);
        let range = |q: &str| relative("2025-06-30", &toks(q), 0).map(|(r, w, _)| (r, w));
        assert_eq!(
            range("last 6 months"),
            Some((
                ("2025-01-01".into(), "2025-07-01".into()),
                "the last 6 months".into()
            ))
        );
        assert_eq!(
            range("past week"),
            Some((
                ("2025-06-24".into(), "2025-07-01".into()),
                "the last 1 week".into()
            ))
        );
        assert_eq!(range("last 2 years").map(|r| r.0 .0), Some("2024-01-01".into()));
        assert_eq!(range("last time"), None);
    }
}
