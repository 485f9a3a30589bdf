//! What the built-in analyst made of the whole question: the computation ([`Intent`]), the rows it is
//! restricted to ([`Filter`]s: a category value, a comparison, a time range), and every part of the
//! question it could not honour, in words. A wrong number is worse than "I can't": a part left out is said in the
//! answer, and the answer's confidence drops.

pub use super::filters::{Condition, Filter};
use super::intent::{self, grain, has, mentions, phrase, tokens, unclaimed, Intent};
use crate::profile::ColumnProfile;

/// The question as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub intent: Intent,
    pub filters: Vec<Filter>,
    /// The parts not honoured, e.g. `a comparison ("over 100")`.
    pub left_out: Vec<String>,
}

const COMPARISONS: &[&str] = &[
    "over",
    "above",
    "under",
    "below",
    "exceeding",
    "exceeds",
    "between",
    "greater",
    "less",
    "fewer",
    "more",
    "than",
    "least",
    "most",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];
const RELATIVE_TIME: &[&str] = &[
    "last", "past", "previous", "since", "before", "after", "recent", "ago",
];
const GROWTH: &[&str] = &[
    "grew",
    "grow",
    "grows",
    "growth",
    "growing",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "declined",
    "decline",
    "change",
    "changed",
    "changes",
];
const SHARE: &[&str] = &[
    "share",
    "percentage",
    "percent",
    "proportion",
    "fraction",
    "ratio",
];
const STATISTICS: &[&str] = &[
    "median",
    "mode",
    "variance",
    "deviation",
    "stddev",
    "correlation",
    "correlate",
    "correlated",
    "percentile",
    "quartile",
    "compound",
    "cagr",
];
/// Words before a value that restrict the rows: "in CA", "for Electronics", "where weather is rain".
const RESTRICTING: &[&str] = &["in", "for", "where", "from", "at", "with", "only"];

/// Reads `question` against the table's columns.
pub fn read(cols: &[ColumnProfile], question: &str) -> Reading {
    let all = tokens(question);
    let mut by_filters = Vec::new();
    let filters = super::filters::find(cols, &intent::words(question), &mut by_filters);
    let mut intent = intent::parse_unclaimed(cols, &unclaimed(&all, &by_filters));
    if matches!(intent, Intent::Share { group: None, .. }) && filters.is_empty() {
        // A share of what? Nothing picks out a part of the total.
        intent = Intent::Unknown;
    }
    let named = mentions(cols, &unclaimed(&all, &by_filters));
    let mut claimed = by_filters;
    claimed.extend(named.iter().map(|m| (m.at, m.len)));
    let rest = unclaimed(&all, &claimed);
    let mut left_out = Vec::new();
    if !matches!(intent, Intent::Unknown) {
        unhonoured_words(&rest, question, &intent, &mut left_out);
        unused_columns(cols, &all, &intent, &named, &filters, &mut left_out);
        let timed = matches!(
            intent,
            Intent::Trend { .. }
                | Intent::TopPeriod { .. }
                | Intent::Growth { .. }
                | Intent::DistinctPeriods { .. }
        );
        if grain(&rest).is_some() && !timed {
            left_out.push("a time grouping (no column here is read as dates)".into());
        }
    }
    Reading {
        intent,
        filters,
        left_out,
    }
}

/// Words asking for something the analyst does not compute yet.
fn unhonoured_words(rest: &[String], question: &str, intent: &Intent, left_out: &mut Vec<String>) {
    let number_at = |i: usize| {
        rest.get(i..i + 3)
            .unwrap_or(rest.get(i..).unwrap_or(&[]))
            .iter()
            .any(|t| t.parse::<f64>().is_ok())
    };
    if (0..rest.len()).any(|i| COMPARISONS.contains(&rest[i].as_str()) && number_at(i + 1)) {
        left_out.push("a comparison on a number (\"over 100\")".into());
    }
    let year = rest
        .iter()
        .any(|t| t.len() == 4 && t.parse::<u32>().is_ok_and(|y| (1800..=2200).contains(&y)));
    if year || intent::has(rest, MONTHS) || has(rest, RELATIVE_TIME) {
        left_out.push("a time range (\"in 2010\", \"last 6 months\")".into());
    }
    let over_time = matches!(intent, Intent::Growth { .. } | Intent::Trend { .. });
    if has(rest, GROWTH) && !over_time {
        left_out.push("a change between periods".into());
    }
    let share = matches!(intent, Intent::Share { .. });
    if (has(rest, SHARE) || question.contains('%')) && !share {
        left_out.push("a share of the total".into());
    }
    if let Some(word) = rest.iter().find(|t| derived_measure(t)) {
        left_out.push(format!(
            "\"{word}\" (only counts, sums, averages, extremes, shares and changes are computed)"
        ));
    }
    if has(rest, STATISTICS) {
        left_out.push("that statistic".into());
    }
    if rest
        .iter()
        .any(|t| t.len() > 4 && t.ends_with("most") && t != "almost")
    {
        left_out.push("the row with the extreme value (\"northernmost\")".into());
    }
    if let Some(value) = restricting_value(rest, question) {
        left_out.push(format!("a filter on \"{value}\""));
    }
}

/// A word naming a measure derived from the data ("elasticity", "volatility", "retention", "churn
/// rate"), which the analyst does not compute: read by its ending, so words nobody listed count too.
fn derived_measure(t: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "ity", "ness", "ance", "ence", "tion", "sion", "ment", "rate", "rates", "index",
    ];
    const PLAIN: &[&str] = &[
        "quantity",
        "city",
        "description",
        "information",
        "question",
        "mention",
        "transaction",
    ];
    t.len() >= 4 && ENDINGS.iter().any(|e| t.ends_with(e)) && !PLAIN.contains(&t)
}

/// A word after "in", "for", "where"… that reads like a value (capitalised, or any word after "where"),
/// which no column and no filter claimed.
fn restricting_value(rest: &[String], question: &str) -> Option<String> {
    let original = intent::words(question);
    if original.len() != rest.len() {
        return None;
    }
    (1..rest.len()).find_map(|i| {
        let word = original[i];
        let after = rest[i - 1].as_str();
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        let live = !rest[i].is_empty() && RESTRICTING.contains(&after);
        (live
            && (capitalised || after == "where")
            && word.parse::<f64>().is_err()
            && !phrase(rest, "in total"))
        .then(|| word.to_owned())
    })
}

/// Columns the question names that the computation does not use (nor a filter).
fn unused_columns(
    cols: &[ColumnProfile],
    toks: &[String],
    intent: &Intent,
    named: &[intent::Mention],
    filters: &[Filter],
    left_out: &mut Vec<String>,
) {
    let used = used_columns(intent);
    for m in named {
        // "the most airports", "number of airports": the column names what the rows are.
        if !m.names_rows(toks) && !used.contains(&m.column) && !filters.iter().any(|f| f.column == m.column) {
            left_out.push(format!("the column `{}`", cols[m.column].name));
        }
    }
}

fn used_columns(intent: &Intent) -> Vec<usize> {
    match *intent {
        Intent::Distinct { column } => vec![column],
        Intent::DistinctPeriods { date, .. } => vec![date],
        Intent::Aggregate { metric, group, .. } => metric.into_iter().chain(group).collect(),
        Intent::Trend { series, split } => series
            .metric
            .into_iter()
            .chain([series.date])
            .chain(split)
            .collect(),
        Intent::TopPeriod { series, .. } => series.metric.into_iter().chain([series.date]).collect(),
        Intent::Growth { series, group, .. } => {
            series.metric.into_iter().chain([series.date, group]).collect()
        }
        Intent::Share { metric, group, .. } => metric.into_iter().chain(group).collect(),
        Intent::ExtremeRow { metric, .. } => vec![metric],
        Intent::TopN { metric, group, .. } => metric.into_iter().chain([group]).collect(),
        Intent::RowCount | Intent::ColumnCount | Intent::Describe | Intent::Unknown => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyst::intent::Agg;

    fn airports() -> Vec<ColumnProfile> {
        let mut csv = String::from("iata,airport,city,state,country,latitude,longitude\n");
        for (i, (city, state)) in [
            ("Greenville", "SC"),
            ("Greenville", "NC"),
            ("Fresno", "CA"),
            ("Austin", "TX"),
        ]
        .iter()
        .cycle()
        .take(40)
        .enumerate()
        {
            csv.push_str(&format!(
                "A{i},Field {i},{city},{state},USA,{}.5,-{}.25\n",
                30 + i % 9,
                80 + i % 7
            ));
        }
        crate::test_support::profile_of(&csv).columns
    }

    fn col(t: &[ColumnProfile], name: &str) -> usize {
        t.iter().position(|c| c.name == name).unwrap()
    }

    #[test]
    fn how_many_airports_are_in_ca_counts_the_airports_where_state_is_ca() {
        let t = airports();
        let r = read(&t, "How many airports are in CA?");
        assert_eq!(
            r.intent,
            Intent::Distinct {
                column: col(&t, "airport")
            }
        );
        assert_eq!(
            r.filters,
            [Filter {
                column: col(&t, "state"),
                condition: Condition::Equals("CA".into()),
                at: 5
            }]
        );
        assert!(r.left_out.is_empty(), "{:?}", r.left_out);
    }

    #[test]
    fn a_value_the_analyst_does_not_know_is_named_as_left_out() {
        let r = read(&airports(), "How many airports are in NY?");
        assert_eq!(r.left_out, ["a filter on \"NY\""]);
    }

    #[test]
    fn which_city_has_the_most_airports_counts_airports_not_a_coordinate() {
        let t = airports();
        let r = read(&t, "Which city has the most airports?");
        assert_eq!(
            r.intent,
            Intent::TopN {
                n: 1,
                ascending: false,
                agg: Agg::Count,
                metric: None,
                group: col(&t, "city")
            }
        );
        assert!(r.left_out.is_empty(), "{:?}", r.left_out);
    }

    /// The safety property: a question with a part the analyst cannot compute is either refused
    /// (`Unknown`) or answered with that part named.
    #[test]
    fn comparisons_time_ranges_growth_and_shares_are_never_dropped_silently() {
        let t = airports();
        for (q, part) in [
            ("Average latitude of airports over 35", "comparison"),
            ("How many airports opened in 2010?", "time range"),
            ("How many airports in the last 6 months?", "time range"),
            ("Which state grew the most?", "change between periods"),
            ("What share of airports are in Texas?", "share"),
            ("Which is the northernmost airport?", "extreme value"),
            ("Median latitude by state", "statistic"),
            ("Airports per state where country is Canada", "filter"),
        ] {
            let r = read(&t, q);
            assert!(
                r.intent == Intent::Unknown || r.left_out.iter().any(|l| l.contains(part)),
                "{q}: {r:?}"
            );
        }
    }
}
