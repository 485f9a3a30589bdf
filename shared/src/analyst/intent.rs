//! Maps a plain-language question onto a computation the analyst can do exactly.
//!
//! Columns are recognised by their own names (`unit_price` as "unit price", plurals too), so the same
//! rules work for any table, not only the sample.

use serde::{Deserialize, Serialize};

use crate::profile::ColumnProfile;
use crate::schema::ColumnType;

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

    /// The SQL aggregate over `expr`.
    pub fn sql(self, expr: &str) -> String {
        match self {
            Agg::Count => "COUNT(*)".to_owned(),
            Agg::Sum => format!("SUM({expr})"),
            Agg::Avg => format!("AVG({expr})"),
            Agg::Min => format!("MIN({expr})"),
            Agg::Max => format!("MAX({expr})"),
        }
    }
}

/// The period a trend is bucketed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Week,
    Month,
    Year,
}

impl Grain {
    pub fn word(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Year => "year",
        }
    }
}

/// A computable reading of the question. Column fields are indexes into the table's columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    RowCount,
    ColumnCount,
    Describe,
    /// How many different values a column has.
    Distinct {
        column: usize,
    },
    /// One aggregate overall, or one per group. `metric` is `None` only for `Count`.
    Aggregate {
        agg: Agg,
        metric: Option<usize>,
        group: Option<usize>,
    },
    /// An aggregate per period of a date column, in time order.
    Trend {
        agg: Agg,
        metric: Option<usize>,
        date: usize,
        grain: Grain,
    },
    /// The `n` groups with the largest (or smallest) aggregate.
    TopN {
        n: usize,
        ascending: bool,
        agg: Agg,
        metric: Option<usize>,
        group: usize,
    },
    Unknown,
}

const ROW_NOUNS: &[&str] = &[
    "row",
    "rows",
    "record",
    "records",
    "entries",
    "entry",
    "order",
    "orders",
    "transactions",
    "transaction",
    "lines",
    "observations",
];
const DESCRIBE_WORDS: &[&str] = &[
    "describe",
    "schema",
    "summarize",
    "summarise",
    "overview",
    "summary",
    "columns",
];
const HIGH_WORDS: &[&str] = &[
    "highest", "largest", "biggest", "most", "max", "maximum", "best", "top", "greatest",
];
const LOW_WORDS: &[&str] = &[
    "lowest", "smallest", "least", "fewest", "min", "minimum", "worst", "bottom",
];
const NUMBER_WORDS: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
];
/// Column-name fragments that mark a column as the natural default measure.
const MEASURE_HINTS: &[&str] = &[
    "revenue", "sales", "amount", "total", "price", "value", "cost", "profit",
];

/// The question's words, lower-cased.
pub fn tokens(q: &str) -> Vec<String> {
    q.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|t| !t.is_empty())
        .map(|t| t.trim_matches('\'').to_owned())
        .collect()
}

fn plural(word: &str) -> String {
    if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else if word.ends_with('s') || word.ends_with('x') || word.ends_with("ch") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// Where the column is first mentioned in the token list: its first token and how many tokens it spans.
fn mention(name: &str, toks: &[String]) -> Option<(usize, usize)> {
    let words: Vec<String> = tokens(&name.replace('_', " "));
    let (last, init) = words.split_last()?;
    let forms = [last.clone(), plural(last)];
    (0..toks.len())
        .find(|&i| {
            i + words.len() <= toks.len()
                && init.iter().zip(&toks[i..]).all(|(w, t)| w == t)
                && forms.contains(&toks[i + init.len()])
        })
        .map(|i| (i, words.len()))
}

/// A column the question names: where (first token, token count) and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    pub at: usize,
    pub len: usize,
    pub column: usize,
}

/// Every column the question names, in question order; a name inside a longer one (`max` in `temp_max`)
/// does not count separately.
pub fn mentions(cols: &[ColumnProfile], toks: &[String]) -> Vec<Mention> {
    let mut found: Vec<Mention> = cols
        .iter()
        .enumerate()
        .filter_map(|(column, c)| mention(&c.name, toks).map(|(at, len)| Mention { at, len, column }))
        .collect();
    // Longest first, so a longer name claims its tokens before a name inside it.
    found.sort_by_key(|m| std::cmp::Reverse(m.len));
    let mut kept: Vec<Mention> = Vec::new();
    for m in found {
        if !kept.iter().any(|k| m.at < k.at + k.len && k.at < m.at + m.len) {
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| m.at);
    kept
}

/// The tokens with the ones naming columns blanked: column names are names, so `max` in `temp_max` or
/// `year` in `year_built` is not read as an aggregate or a period.
pub fn unclaimed(toks: &[String], claimed: &[(usize, usize)]) -> Vec<String> {
    toks.iter()
        .enumerate()
        .map(|(i, t)| {
            if claimed.iter().any(|&(at, len)| (at..at + len).contains(&i)) {
                String::new()
            } else {
                t.clone()
            }
        })
        .collect()
}

pub(crate) fn has(toks: &[String], words: &[&str]) -> bool {
    toks.iter().any(|t| words.contains(&t.as_str()))
}

pub(crate) fn phrase(toks: &[String], p: &str) -> bool {
    let words: Vec<&str> = p.split(' ').collect();
    toks.windows(words.len())
        .any(|w| w.iter().zip(&words).all(|(a, b)| a == b))
}

/// The requested count of groups: "top 3", "five best", else `None`.
fn requested_n(toks: &[String]) -> Option<usize> {
    toks.iter().find_map(|t| {
        t.parse::<usize>()
            .ok()
            .or_else(|| NUMBER_WORDS.iter().position(|w| w == t))
            .filter(|n| (1..=50).contains(n))
    })
}

fn explicit_agg(toks: &[String]) -> Option<Agg> {
    if has(toks, &["average", "avg", "mean"]) {
        Some(Agg::Avg)
    } else if has(toks, &["total", "sum", "overall"]) {
        Some(Agg::Sum)
    } else {
        None
    }
}

/// Column-name fragments of measures that add up (amounts, counts, volumes); any other measure (a
/// temperature, a price, a score) is averaged when the question names no aggregate.
const ADDITIVE_HINTS: &[&str] = &[
    "revenue",
    "sales",
    "amount",
    "total",
    "cost",
    "profit",
    "quantity",
    "qty",
    "count",
    "units",
    "volume",
    "precipitation",
    "rain",
    "generation",
    "deaths",
    "cases",
    "visits",
    "spend",
    "income",
];

/// The aggregate of a named measure when the question names none: a sum for what adds up, else a mean.
pub fn default_agg(col: &ColumnProfile) -> Agg {
    let name = col.name.to_lowercase();
    if ADDITIVE_HINTS.iter().any(|h| name.contains(h)) {
        Agg::Sum
    } else {
        Agg::Avg
    }
}

/// The measure to use when the question names none: only an obvious one, a numeric column named like an
/// amount (`revenue`, `sales`…). Any other number (a latitude, a temperature) is summed only when named.
pub fn default_metric(cols: &[ColumnProfile]) -> Option<usize> {
    let numeric = |i: &usize| cols[*i].ty.is_numeric();
    MEASURE_HINTS.iter().find_map(|h| {
        (0..cols.len())
            .filter(numeric)
            .find(|&i| cols[i].name.to_lowercase().contains(h))
    })
}

/// The period a question asks to bucket by, if it asks about change over time.
pub(crate) fn grain(toks: &[String]) -> Option<Grain> {
    period_word(toks).or_else(|| over_time(toks).then_some(Grain::Month))
}

/// The period a question names in words ("monthly", "by year").
fn period_word(toks: &[String]) -> Option<Grain> {
    // "How many days…", "number of years": the period is what is counted, not a grouping.
    let counted = |i: usize| i > 0 && matches!(toks[i - 1].as_str(), "many" | "of");
    let any = |ws: &[&str]| (0..toks.len()).any(|i| ws.contains(&toks[i].as_str()) && !counted(i));
    if any(&["daily", "day", "days"]) {
        Some(Grain::Day)
    } else if any(&["weekly", "week", "weeks"]) {
        Some(Grain::Week)
    } else if any(&["monthly", "month", "months"]) {
        Some(Grain::Month)
    } else if any(&["yearly", "annual", "annually", "year", "years"]) {
        Some(Grain::Year)
    } else {
        None
    }
}

/// "trend", "over time": change over time asked for, in no particular period.
fn over_time(toks: &[String]) -> bool {
    has(toks, &["trend", "trends", "trending", "evolve", "evolution"]) || phrase(toks, "over time")
}

/// The period a trend over `col` uses: the one named, or — for "over time" — the data's own: years when
/// it spans more than three, else months. A column of years is always yearly.
fn grain_of(col: &ColumnProfile, toks: &[String]) -> Option<Grain> {
    if col.ty == ColumnType::Integer {
        return grain(toks).map(|_| Grain::Year);
    }
    if let Some(named) = period_word(toks) {
        return Some(named);
    }
    over_time(toks).then_some(())?;
    let year = |d: &str| d.get(..4).and_then(|y| y.parse::<i32>().ok());
    let span = col
        .date_range
        .as_ref()
        .and_then(|(lo, hi)| Some(year(hi)? - year(lo)?));
    Some(if span.is_some_and(|s| s > 3) {
        Grain::Year
    } else {
        Grain::Month
    })
}

/// A column of years (`year`, `year_built`: whole numbers from 1800 to 2200), usable as time.
fn year_column(col: &ColumnProfile) -> bool {
    col.ty == ColumnType::Integer
        && col.name.to_lowercase().contains("year")
        && col
            .numeric
            .as_ref()
            .is_some_and(|n| n.min >= 1800.0 && n.max <= 2200.0)
}

fn trend(
    cols: &[ColumnProfile],
    toks: &[String],
    mentioned: &[(usize, usize)],
    metric: Option<usize>,
    counting: bool,
) -> Option<Intent> {
    grain(toks)?;
    let time = |i: &usize| cols[*i].ty.is_temporal() || year_column(&cols[*i]);
    let date = mentioned
        .iter()
        .map(|&(_, i)| i)
        .find(time)
        .or_else(|| (0..cols.len()).find(time))?;
    let grain = grain_of(&cols[date], toks)?;
    let (agg, metric) = match metric {
        Some(m) => (explicit_agg(toks).unwrap_or(default_agg(&cols[m])), Some(m)),
        None if counting || has(toks, ROW_NOUNS) => (Agg::Count, None),
        None => {
            let m = default_metric(cols)?;
            (explicit_agg(toks).unwrap_or(default_agg(&cols[m])), Some(m))
        }
    };
    Some(Intent::Trend {
        agg: if metric.is_none() { Agg::Count } else { agg },
        metric,
        date,
        grain,
    })
}

/// Reads the question against the table's columns.
pub fn parse(cols: &[ColumnProfile], question: &str) -> Intent {
    parse_unclaimed(cols, &tokens(question))
}

/// Reads question tokens against the table's columns; blank tokens (claimed by a filter) are not read.
pub fn parse_unclaimed(cols: &[ColumnProfile], all: &[String]) -> Intent {
    let named = mentions(cols, all);
    let spans: Vec<(usize, usize)> = named.iter().map(|m| (m.at, m.len)).collect();
    let toks = unclaimed(all, &spans);
    let counting = phrase(&toks, "how many") || phrase(&toks, "number of") || has(&toks, &["count"]);
    let row_noun = has(&toks, ROW_NOUNS);

    if counting && has(&toks, &["columns", "column", "fields"]) {
        return Intent::ColumnCount;
    }
    if has(&toks, DESCRIBE_WORDS) || phrase(&toks, "what data") || phrase(&toks, "tell me about") {
        return Intent::Describe;
    }

    // Mentioned columns, in the order they appear in the question.
    let mentioned: Vec<(usize, usize)> = named.iter().map(|m| (m.at, m.column)).collect();
    let metric = mentioned
        .iter()
        .map(|&(_, i)| i)
        .find(|&i| cols[i].ty.is_numeric());
    let group = mentioned
        .iter()
        .map(|&(_, i)| i)
        .find(|&i| matches!(cols[i].ty, ColumnType::Text | ColumnType::Boolean));

    if let Some(trend) = trend(cols, &toks, &mentioned, metric, counting) {
        return trend;
    }

    let high = has(&toks, HIGH_WORDS);
    let low = has(&toks, LOW_WORDS);
    let ranking = has(&toks, &["top", "bottom", "rank", "ranking", "which", "who"]);

    if counting && metric.is_none() {
        return match group {
            Some(g) if row_noun || has(&toks, &["per", "by", "each", "every"]) => {
                if ranking && (high || low) {
                    Intent::TopN {
                        n: requested_n(&toks).unwrap_or(1),
                        ascending: low && !high,
                        agg: Agg::Count,
                        metric: None,
                        group: g,
                    }
                } else {
                    Intent::Aggregate {
                        agg: Agg::Count,
                        metric: None,
                        group: Some(g),
                    }
                }
            }
            Some(g) => Intent::Distinct { column: g },
            None => Intent::RowCount,
        };
    }

    let agg = explicit_agg(&toks);
    if let Some(g) = group {
        if (high || low) && (ranking || agg.is_some()) {
            let default_n = if has(&toks, &["top", "bottom"]) { 5 } else { 1 };
            // "Which city has the most airports?" counts rows; only "highest", "top"… take the obvious measure.
            let quantity = has(&toks, &["most", "fewest", "least"]) && agg.is_none();
            let fallback = if quantity { None } else { default_metric(cols) };
            let (agg, metric) = match metric.or(fallback) {
                Some(m) if !(row_noun && metric.is_none()) => (agg.unwrap_or(default_agg(&cols[m])), Some(m)),
                _ => (Agg::Count, None),
            };
            return Intent::TopN {
                n: requested_n(&toks).unwrap_or(default_n),
                ascending: low && !high,
                agg,
                metric,
                group: g,
            };
        }
        let grouped_agg = agg.or(if high {
            Some(Agg::Max)
        } else if low {
            Some(Agg::Min)
        } else {
            None
        });
        if let Some(m) = metric.or_else(|| grouped_agg.and_then(|_| default_metric(cols))) {
            return Intent::Aggregate {
                agg: grouped_agg.unwrap_or(default_agg(&cols[m])),
                metric: Some(m),
                group: Some(g),
            };
        }
    }

    let overall = agg.or(if high {
        Some(Agg::Max)
    } else if low {
        Some(Agg::Min)
    } else {
        None
    });
    match (
        overall,
        metric.or_else(|| overall.and_then(|_| default_metric(cols))),
    ) {
        (Some(a), Some(m)) => Intent::Aggregate {
            agg: a,
            metric: Some(m),
            group: None,
        },
        _ => Intent::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ColumnProfile> {
        crate::test_support::profile_of(
            "order_id,order_date,region,category,quantity,unit_price,revenue,returned\n\
             SO-1,2024-01-01,North,Furniture,2,10.5,21,false\n",
        )
        .columns
    }

    fn col(t: &[ColumnProfile], name: &str) -> usize {
        t.iter().position(|c| c.name == name).unwrap()
    }

    #[test]
    fn trends_over_time_by_day_week_month_or_year() {
        let t = sample();
        let (date, revenue) = (col(&t, "order_date"), col(&t, "revenue"));
        let trend = |agg, metric, grain| Intent::Trend {
            agg,
            metric,
            date,
            grain,
        };
        assert_eq!(
            parse(&t, "revenue by month"),
            trend(Agg::Sum, Some(revenue), Grain::Month)
        );
        assert_eq!(
            parse(&t, "What is the revenue trend?"),
            trend(Agg::Sum, Some(revenue), Grain::Month)
        );
        assert_eq!(
            parse(&t, "weekly average quantity"),
            trend(Agg::Avg, Some(col(&t, "quantity")), Grain::Week)
        );
        assert_eq!(
            parse(&t, "how many orders per day"),
            trend(Agg::Count, None, Grain::Day)
        );
        assert_eq!(
            parse(&t, "sales per year"),
            trend(Agg::Sum, Some(revenue), Grain::Year)
        );
    }

    #[test]
    fn counting_rows_in_many_phrasings() {
        let t = sample();
        for q in [
            "How many rows are there?",
            "how many records?",
            "Number of orders",
            "count the rows",
        ] {
            assert_eq!(parse(&t, q), Intent::RowCount, "{q}");
        }
        assert_eq!(parse(&t, "How many columns does it have?"), Intent::ColumnCount);
    }

    #[test]
    fn describing_the_data() {
        let t = sample();
        for q in [
            "Describe the columns",
            "What data is in here?",
            "give me an overview",
        ] {
            assert_eq!(parse(&t, q), Intent::Describe, "{q}");
        }
    }

    #[test]
    fn top_n_by_category() {
        let t = sample();
        let (region, category, revenue) = (col(&t, "region"), col(&t, "category"), col(&t, "revenue"));
        assert_eq!(
            parse(&t, "Top 3 categories by revenue"),
            Intent::TopN {
                n: 3,
                ascending: false,
                agg: Agg::Sum,
                metric: Some(revenue),
                group: category
            }
        );
        assert_eq!(
            parse(&t, "Which region has the highest revenue?"),
            Intent::TopN {
                n: 1,
                ascending: false,
                agg: Agg::Sum,
                metric: Some(revenue),
                group: region
            }
        );
        assert_eq!(
            parse(&t, "which region has the lowest average unit price"),
            Intent::TopN {
                n: 1,
                ascending: true,
                agg: Agg::Avg,
                metric: Some(col(&t, "unit_price")),
                group: region
            }
        );
        assert_eq!(
            parse(&t, "Which region has the most orders?"),
            Intent::TopN {
                n: 1,
                ascending: false,
                agg: Agg::Count,
                metric: None,
                group: region
            }
        );
    }

    #[test]
    fn aggregates_overall_and_grouped() {
        let t = sample();
        let (region, revenue, qty) = (col(&t, "region"), col(&t, "revenue"), col(&t, "quantity"));
        assert_eq!(
            parse(&t, "What is the total revenue?"),
            Intent::Aggregate {
                agg: Agg::Sum,
                metric: Some(revenue),
                group: None
            }
        );
        assert_eq!(
            parse(&t, "average quantity"),
            Intent::Aggregate {
                agg: Agg::Avg,
                metric: Some(qty),
                group: None
            }
        );
        assert_eq!(
            parse(&t, "max quantity"),
            Intent::Aggregate {
                agg: Agg::Max,
                metric: Some(qty),
                group: None
            }
        );
        assert_eq!(
            parse(&t, "total sales"),
            Intent::Aggregate {
                agg: Agg::Sum,
                metric: Some(revenue),
                group: None
            }
        );
        assert_eq!(
            parse(&t, "average revenue by region"),
            Intent::Aggregate {
                agg: Agg::Avg,
                metric: Some(revenue),
                group: Some(region)
            }
        );
        assert_eq!(
            parse(&t, "revenue per region"),
            Intent::Aggregate {
                agg: Agg::Sum,
                metric: Some(revenue),
                group: Some(region)
            }
        );
        assert_eq!(
            parse(&t, "how many orders per region"),
            Intent::Aggregate {
                agg: Agg::Count,
                metric: None,
                group: Some(region)
            }
        );
        assert_eq!(
            parse(&t, "how many regions are there"),
            Intent::Distinct { column: region }
        );
    }

    #[test]
    fn open_questions_are_not_forced_into_a_computation() {
        let t = sample();
        for q in [
            "Why did customers churn?",
            "Write me a poem",
            "What's the weather?",
        ] {
            assert_eq!(parse(&t, q), Intent::Unknown, "{q}");
        }
    }
}
