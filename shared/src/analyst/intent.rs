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

/// A measure per period of a time column (a date column, or a column of years).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series {
    pub agg: Agg,
    /// `None` only for `Count`.
    pub metric: Option<usize>,
    pub date: usize,
    pub grain: Grain,
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
    /// A series in time order, one line per value of `split` when there is one.
    Trend {
        series: Series,
        split: Option<usize>,
    },
    /// The `n` periods with the largest (or smallest) value: "which year had the most rain".
    TopPeriod {
        series: Series,
        n: usize,
        ascending: bool,
    },
    /// Per group, the change from the data's first period to its last: "which source grew the most".
    Growth {
        series: Series,
        group: usize,
        n: usize,
        ascending: bool,
    },
    /// The part of a total the last filter picks out, or each group's part of it.
    Share {
        agg: Agg,
        metric: Option<usize>,
        group: Option<usize>,
    },
    /// The row with the largest (or smallest) value of a column: "which order has the highest revenue".
    ExtremeRow {
        metric: usize,
        ascending: bool,
    },
    /// How many different periods (days, months…) the rows fall in: "how many days had rain".
    DistinctPeriods {
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
    "events",
    "visits",
    "sessions",
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
    "revenue", "sales", "amount", "total", "units", "sold", "quantity", "volume", "profit", "cost", "value",
    "price",
];

/// The question's words as written.
pub fn words(q: &str) -> Vec<&str> {
    q.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|t| t.trim_matches('\''))
        .filter(|t| !t.is_empty())
        .collect()
}

/// The question's words, lower-cased.
pub fn tokens(q: &str) -> Vec<String> {
    words(q).into_iter().map(str::to_lowercase).collect()
}

pub(crate) fn plural(word: &str) -> String {
    if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else if word.ends_with('s') || word.ends_with('x') || word.ends_with("ch") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// Where the column is first mentioned in the token list: its first token and how many tokens it spans.
/// A name ending in a unit or an identifier suffix (`user_id`, `duration_ms`, `units_sold`) is also
/// mentioned without it ("users", "duration", "units") — unless what is left names the rows themselves
/// (`order_id` is not "orders").
fn mention(name: &str, toks: &[String]) -> Option<(usize, usize)> {
    let words: Vec<String> = tokens(&name.replace('_', " "));
    find_words(&words, toks).or_else(|| {
        let (suffix, stem) = words.split_last()?;
        let bare = !stem.is_empty() && !stem.iter().any(|w| ROW_NOUNS.contains(&plural(w).as_str()));
        (bare && NAME_SUFFIXES.contains(&suffix.as_str()))
            .then(|| find_words(stem, toks))
            .flatten()
    })
}

/// Trailing words of a column name that say its unit or that it identifies, not what it is.
const NAME_SUFFIXES: &[&str] = &[
    "id", "ms", "sec", "secs", "seconds", "sold", "code", "name", "usd", "eur", "kg", "km", "pct",
];

fn find_words(words: &[String], toks: &[String]) -> Option<(usize, usize)> {
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

/// Words before a column's name that make it the name of the rows counted ("the most airports").
const ROW_NOUN_BEFORE: &[&str] = &["most", "many", "fewest", "least", "of", "all", "more", "fewer"];

impl Mention {
    /// Whether the mention names what the rows are ("how many airports", "the most events") rather than
    /// a grouping or a measure.
    pub fn names_rows(&self, toks: &[String]) -> bool {
        self.at > 0 && ROW_NOUN_BEFORE.contains(&toks[self.at - 1].as_str())
    }

    /// Whether its last word is a word for rows (`events` for a column `event`).
    fn is_row_noun(&self, toks: &[String]) -> bool {
        ROW_NOUNS.contains(&toks[self.at + self.len - 1].as_str())
    }
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

/// The one numeric column that is not a column of years, if there is exactly one: what a series of a
/// table like `year,source,net_generation` measures.
fn sole_measure(cols: &[ColumnProfile]) -> Option<usize> {
    let mut measures = (0..cols.len()).filter(|&i| cols[i].ty.is_numeric() && !year_column(&cols[i]));
    let first = measures.next()?;
    measures.next().is_none().then_some(first)
}

/// The period a question asks to bucket by, if it asks about change over time.
pub(crate) fn grain(toks: &[String]) -> Option<Grain> {
    period_word(toks).or_else(|| over_time(toks).then_some(Grain::Month))
}

/// The period a question names in words ("monthly", "by year"): one after "per", "by", "each" first.
fn period_word(toks: &[String]) -> Option<Grain> {
    // "How many days…", "number of rainy years": the period is what is counted, not a grouping.
    let counted = |i: usize| {
        toks[..i]
            .iter()
            .rev()
            .find(|t| !t.is_empty())
            .is_some_and(|t| matches!(t.as_str(), "many" | "of"))
    };
    let per = |i: &usize| *i > 0 && matches!(toks[*i - 1].as_str(), "per" | "by" | "each" | "every" | "a");
    let grain_at = |i: usize| match toks[i].as_str() {
        "daily" | "day" | "days" => Some(Grain::Day),
        "weekly" | "week" | "weeks" => Some(Grain::Week),
        "monthly" | "month" | "months" => Some(Grain::Month),
        "yearly" | "annual" | "annually" | "year" | "years" => Some(Grain::Year),
        _ => None,
    };
    (0..toks.len())
        .filter(per)
        .find_map(grain_at)
        .or_else(|| (0..toks.len()).filter(|&i| !counted(i)).find_map(grain_at))
}

/// "trend", "over time": change over time asked for, in no particular period.
fn over_time(toks: &[String]) -> bool {
    has(toks, &["trend", "trends", "trending", "evolve", "evolution"]) || phrase(toks, "over time")
}

/// The period a trend over `col` uses: the one named, or — for "over time", or when `forced` — the
/// data's own: years when it spans more than three, else months. A column of years is always yearly.
fn grain_of(col: &ColumnProfile, toks: &[String], forced: bool) -> Option<Grain> {
    if col.ty == ColumnType::Integer {
        return (forced || grain(toks).is_some()).then_some(Grain::Year);
    }
    if let Some(named) = period_word(toks) {
        return Some(named);
    }
    (forced || over_time(toks)).then_some(())?;
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
pub(crate) fn year_column(col: &ColumnProfile) -> bool {
    col.ty == ColumnType::Integer
        && col.name.to_lowercase().contains("year")
        && col
            .numeric
            .as_ref()
            .is_some_and(|n| n.min >= 1800.0 && n.max <= 2200.0)
}

/// The category column to group by: the first one named that does not name the rows ("airports per
/// state" groups by state); a column named like the rows ("events") only when asked for each of them.
fn group_of(cols: &[ColumnProfile], named: &[Mention], all: &[String], toks: &[String]) -> Option<usize> {
    let text: Vec<&Mention> = named
        .iter()
        .filter(|m| matches!(cols[m.column].ty, ColumnType::Text | ColumnType::Boolean))
        .collect();
    let each = has(toks, &["per", "by", "each", "every"]);
    text.iter()
        .find(|m| !m.names_rows(all))
        .or_else(|| text.iter().find(|m| each || !m.is_row_noun(all)))
        .map(|m| m.column)
}

/// Reads the question against the table's columns.
pub fn parse(cols: &[ColumnProfile], question: &str) -> Intent {
    parse_unclaimed(cols, &tokens(question))
}

/// Words asking how something changed between periods; the ones for a fall rank the other way.
pub(crate) const GROWTH: &[&str] = &[
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
    "declining",
    "change",
    "changed",
    "changes",
    "fell",
    "shrank",
];
const DECLINE: &[&str] = &[
    "decrease",
    "decreased",
    "declined",
    "decline",
    "declining",
    "fell",
    "shrank",
];
/// Words asking for a part of a total.
pub(crate) const SHARE: &[&str] = &["share", "percentage", "percent", "proportion", "fraction"];
/// Words asking for a reason, a prediction or advice: nothing a query over the rows computes.
const BEYOND_THE_DATA: &[&str] = &[
    "why",
    "forecast",
    "predict",
    "predicted",
    "prediction",
    "will",
    "should",
    "recommend",
];
/// Most values a trend is split by (a line each).
pub const MAX_SPLIT: u64 = 12;

/// The question as the parser sees it: its tokens, the columns it names, and the cues in its words.
struct Question<'a> {
    cols: &'a [ColumnProfile],
    /// Every token (blank where a filter claimed it).
    all: &'a [String],
    /// The tokens with the column names blanked too.
    toks: Vec<String>,
    named: Vec<Mention>,
    metric: Option<usize>,
    group: Option<usize>,
    counting: bool,
    row_noun: bool,
    high: bool,
    low: bool,
    agg: Option<Agg>,
}

/// Reads question tokens against the table's columns; blank tokens (claimed by a filter) are not read.
pub fn parse_unclaimed(cols: &[ColumnProfile], all: &[String]) -> Intent {
    let q = Question::new(cols, all);
    if has(&q.toks, BEYOND_THE_DATA) {
        return Intent::Unknown;
    }
    if q.counting && has(&q.toks, &["columns", "column", "fields"]) {
        return Intent::ColumnCount;
    }
    if has(&q.toks, DESCRIBE_WORDS) || phrase(&q.toks, "what data") || phrase(&q.toks, "tell me about") {
        return Intent::Describe;
    }
    q.growth()
        .or_else(|| q.share())
        .or_else(|| q.over_time())
        .or_else(|| q.counted())
        .or_else(|| q.extreme_row())
        .or_else(|| q.ranked())
        .or_else(|| q.aggregate())
        .unwrap_or(Intent::Unknown)
}

impl<'a> Question<'a> {
    fn new(cols: &'a [ColumnProfile], all: &'a [String]) -> Self {
        let named = mentions(cols, all);
        let spans: Vec<(usize, usize)> = named.iter().map(|m| (m.at, m.len)).collect();
        let toks = unclaimed(all, &spans);
        let agg = explicit_agg(&toks);
        let numeric: Vec<usize> = named
            .iter()
            .map(|m| m.column)
            .filter(|&c| cols[c].ty.is_numeric())
            .collect();
        // A column of years is time, not a measure — unless an aggregate is asked of it alone.
        let metric = numeric
            .iter()
            .copied()
            .find(|&c| !year_column(&cols[c]))
            .or_else(|| numeric.first().copied().filter(|_| agg.is_some()));
        Self {
            cols,
            all,
            group: group_of(cols, &named, all, &toks),
            counting: phrase(&toks, "how many") || phrase(&toks, "number of") || has(&toks, &["count"]),
            row_noun: has(&toks, ROW_NOUNS) || named.iter().any(|m| m.is_row_noun(all)),
            high: has(&toks, HIGH_WORDS),
            low: has(&toks, LOW_WORDS),
            named,
            metric,
            toks,
            agg,
        }
    }

    /// A category column named as such: not as what the rows are ("of airports", "events").
    fn category(&self) -> Option<usize> {
        self.named
            .iter()
            .find(|m| {
                self.cols[m.column].ty == ColumnType::Text
                    && !m.names_rows(self.all)
                    && !m.is_row_noun(self.all)
            })
            .map(|m| m.column)
    }

    /// The time column: the one named, else the first date column, else the first column of years.
    fn time_column(&self) -> Option<usize> {
        let cols = self.cols;
        let time = |c: &usize| cols[*c].ty.is_temporal() || year_column(&cols[*c]);
        self.named
            .iter()
            .map(|m| m.column)
            .find(time)
            .or_else(|| (0..cols.len()).find(|&c| cols[c].ty.is_temporal()))
            .or_else(|| (0..cols.len()).find(time))
    }

    /// The time column and period a question about change over time asks for, if it asks.
    fn timed(&self) -> Option<(usize, Grain)> {
        let date = self.time_column()?;
        if year_column(&self.cols[date]) {
            let by_year = self.named.iter().any(|m| {
                m.column == date
                    && m.at > 0
                    && matches!(
                        self.all[m.at - 1].as_str(),
                        "by" | "per" | "each" | "every" | "over"
                    )
            });
            let asked = by_year || grain(&self.toks).is_some() || self.asks_which_period(date);
            return asked.then_some((date, Grain::Year));
        }
        grain_of(&self.cols[date], &self.toks, false).map(|g| (date, g))
    }

    /// The measure per period: the one named, a count when rows are counted, else the obvious one.
    fn series(&self, date: usize, grain: Grain) -> Option<Series> {
        let cols = self.cols;
        let (agg, metric) = match self.metric {
            Some(m) => (self.agg.unwrap_or(default_agg(&cols[m])), Some(m)),
            None if self.counting || self.row_noun => (Agg::Count, None),
            None => {
                let m = default_metric(cols).or_else(|| sole_measure(cols))?;
                (self.agg.unwrap_or(default_agg(&cols[m])), Some(m))
            }
        };
        Some(Series {
            agg: if metric.is_none() { Agg::Count } else { agg },
            metric,
            date,
            grain,
        })
    }

    /// "Which source grew the most": the change per group between the data's first and last period; a
    /// change asked of no group is the trend, which states its first and last value.
    fn growth(&self) -> Option<Intent> {
        if !has(&self.toks, GROWTH) {
            return None;
        }
        let date = self.time_column()?;
        let grain = if year_column(&self.cols[date]) {
            Grain::Year
        } else {
            grain_of(&self.cols[date], &self.toks, true)?
        };
        let series = self.series(date, grain)?;
        Some(match self.group.filter(|&g| g != date) {
            Some(group) => Intent::Growth {
                series,
                group,
                n: requested_n(&self.toks).unwrap_or(1),
                ascending: has(&self.toks, DECLINE),
            },
            None => Intent::Trend { series, split: None },
        })
    }

    /// "What share of revenue comes from Electronics": a count or a sum (a share of an average means
    /// nothing); its part is picked out by the filters or is each group named.
    fn share(&self) -> Option<Intent> {
        if !has(&self.toks, SHARE) {
            return None;
        }
        let agg = match self.metric {
            Some(m) if default_agg(&self.cols[m]) == Agg::Sum || self.agg == Some(Agg::Sum) => Agg::Sum,
            Some(_) => return None,
            None => Agg::Count,
        };
        let group = self.category();
        Some(Intent::Share {
            agg,
            metric: self.metric.filter(|_| agg == Agg::Sum),
            group,
        })
    }

    /// A series over time, split by a category named with it; or the periods ranked ("which year had
    /// the most rain").
    fn over_time(&self) -> Option<Intent> {
        let (date, grain) = self.timed()?;
        let series = self.series(date, grain)?;
        if self.asks_which_period(date) && (self.high || self.low) {
            return Some(Intent::TopPeriod {
                series,
                n: requested_n(&self.toks).unwrap_or(1),
                ascending: self.low && !self.high,
            });
        }
        let split = self
            .category()
            .filter(|&g| g != date && self.cols[g].distinct <= MAX_SPLIT);
        Some(Intent::Trend { series, split })
    }

    /// "Which year", "what month", "which day": the answer is a period.
    fn asks_which_period(&self, date: usize) -> bool {
        let periods = ["day", "week", "month", "year", "date", "days", "months", "years"];
        (1..self.all.len()).any(|i| {
            matches!(self.all[i - 1].as_str(), "which" | "what")
                && (periods.contains(&self.all[i].as_str())
                    || self.named.iter().any(|m| m.at == i && m.column == date))
        })
    }

    /// Rows counted: overall, per group, the groups ranked by count, or the different values of a column.
    fn counted(&self) -> Option<Intent> {
        if !self.counting || self.metric.is_some() {
            return None;
        }
        if let Some(periods) = self.counted_periods() {
            return Some(periods);
        }
        let ranking = has(&self.toks, &["top", "bottom", "rank", "ranking", "which", "who"]);
        Some(match self.group {
            Some(g) if self.row_noun || has(&self.toks, &["per", "by", "each", "every"]) => {
                if ranking && (self.high || self.low) {
                    Intent::TopN {
                        n: requested_n(&self.toks).unwrap_or(1),
                        ascending: self.low && !self.high,
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
        })
    }

    /// "How many days had rain", "number of months with…": the periods counted are the different ones.
    fn counted_periods(&self) -> Option<Intent> {
        let at = (1..self.all.len()).find(|&i| matches!(self.all[i - 1].as_str(), "many" | "of"))?;
        let word = self.all[at..].iter().find(|t| !t.is_empty())?;
        let grain = match word.as_str() {
            "days" => Grain::Day,
            "weeks" => Grain::Week,
            "months" => Grain::Month,
            "years" => Grain::Year,
            _ => return None,
        };
        let date = self.time_column()?;
        let grain = if year_column(&self.cols[date]) {
            (grain == Grain::Year).then_some(grain)?
        } else {
            grain
        };
        Some(Intent::DistinctPeriods { date, grain })
    }

    /// "Which order has the highest revenue": the one row, when no category is named to rank.
    fn extreme_row(&self) -> Option<Intent> {
        let asks = has(&self.toks, &["which", "who"]) && self.row_noun && self.group.is_none();
        let metric = self.metric.filter(|_| asks && (self.high || self.low))?;
        Some(Intent::ExtremeRow {
            metric,
            ascending: self.low && !self.high,
        })
    }

    /// Groups ranked by an aggregate: "top 3 products by revenue", "which city has the most airports".
    fn ranked(&self) -> Option<Intent> {
        let g = self.group?;
        let ranking = has(&self.toks, &["top", "bottom", "rank", "ranking", "which", "who"]);
        if !((self.high || self.low) && (ranking || self.agg.is_some())) {
            return None;
        }
        let default_n = if has(&self.toks, &["top", "bottom"]) { 5 } else { 1 };
        // "Which city has the most airports?" counts rows; only "highest", "top"… take the obvious measure.
        let quantity = has(&self.toks, &["most", "fewest", "least"]) && self.agg.is_none();
        let fallback = if quantity { None } else { default_metric(self.cols) };
        let (agg, metric) = match self.metric.or(fallback) {
            Some(m) if !(self.row_noun && self.metric.is_none()) => {
                (self.agg.unwrap_or(default_agg(&self.cols[m])), Some(m))
            }
            _ => (Agg::Count, None),
        };
        Some(Intent::TopN {
            n: requested_n(&self.toks).unwrap_or(default_n),
            ascending: self.low && !self.high,
            agg,
            metric,
            group: g,
        })
    }

    /// One aggregate, per group or overall; "highest" alone is the maximum.
    fn aggregate(&self) -> Option<Intent> {
        let agg = self.agg.or(if self.high {
            Some(Agg::Max)
        } else if self.low {
            Some(Agg::Min)
        } else {
            None
        });
        let metric = self
            .metric
            .or_else(|| agg.and_then(|_| default_metric(self.cols)))?;
        Some(Intent::Aggregate {
            agg: agg.unwrap_or(default_agg(&self.cols[metric])),
            metric: Some(metric),
            group: self.group,
        })
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
            series: Series {
                agg,
                metric,
                date,
                grain,
            },
            split: None,
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
    fn a_column_named_with_an_aggregate_or_a_time_word_is_read_as_that_column() {
        let t = crate::test_support::profile_of(
            "city,min_price,count_visits,year_built\nOslo,10.5,3,1950\nRiga,12.5,4,2001\nOslo,9,2,1987\n",
        )
        .columns;
        let (city, price, visits, built) = (
            col(&t, "city"),
            col(&t, "min_price"),
            col(&t, "count_visits"),
            col(&t, "year_built"),
        );
        assert_eq!(
            parse(&t, "average min_price"),
            Intent::Aggregate {
                agg: Agg::Avg,
                metric: Some(price),
                group: None
            }
        );
        assert_eq!(
            parse(&t, "total count_visits by city"),
            Intent::Aggregate {
                agg: Agg::Sum,
                metric: Some(visits),
                group: Some(city)
            }
        );
        assert_eq!(
            parse(&t, "min_price by year_built"),
            Intent::Trend {
                series: Series {
                    agg: Agg::Avg,
                    metric: Some(price),
                    date: built,
                    grain: Grain::Year
                },
                split: None
            }
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
