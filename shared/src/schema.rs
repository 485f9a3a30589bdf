//! Column types, inferred from every value of a column as it streams by.

use crate::words::wire_words;

wire_words! {
    /// A column's inferred type. Dates and datetimes are stored as ISO text, which sorts chronologically and
    /// which SQLite's date functions read.
    pub enum ColumnType {
        Integer = "integer",
        Float = "float",
        Boolean = "boolean",
        Date = "date",
        Datetime = "datetime",
        Text = "text",
    }
}

impl ColumnType {
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Float)
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, ColumnType::Date | ColumnType::Datetime)
    }

    /// The word used for the type in answers and prompts.
    pub fn word(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "decimal",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
            ColumnType::Text => "text",
        }
    }
}

wire_words! {
    /// How a date column's values are written. Each is stored as ISO text (`YYYY-MM-DD`, a time kept after
    /// it); the day-first and month-first slash forms are told apart from the whole column.
    pub enum DateFormat {
        /// `2024-01-31`.
        Iso = "iso",
        /// `2024/01/31`.
        YearSlash = "year_slash",
        /// `31.01.2024`.
        DayDot = "day_dot",
        /// `01/31/2024`.
        MonthSlash = "month_slash",
        /// `31/01/2024`.
        DaySlash = "day_slash",
        /// `2024-01`: a month, stored as its first day.
        YearMonth = "year_month",
        /// `Jan 2024` or `January 2024`: a month, stored as its first day.
        MonthName = "month_name",
    }
}

const MONTH_NAMES: [&str; 12] = [
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

/// Month names' first three letters, in order: `instr` of one, plus 2, divided by 3, is its number.
const MONTH_ABBREVIATIONS: &str = "janfebmaraprmayjunjulaugsepoctnovdec";

impl DateFormat {
    /// Where year, month and day sit in the first ten characters, and the separator there (a month
    /// written with its name or without a day has no such layout).
    fn layout(self) -> Option<([std::ops::Range<usize>; 3], u8)> {
        Some(match self {
            DateFormat::Iso => ([0..4, 5..7, 8..10], b'-'),
            DateFormat::YearSlash => ([0..4, 5..7, 8..10], b'/'),
            DateFormat::DayDot => ([6..10, 3..5, 0..2], b'.'),
            DateFormat::MonthSlash => ([6..10, 0..2, 3..5], b'/'),
            DateFormat::DaySlash => ([6..10, 3..5, 0..2], b'/'),
            DateFormat::YearMonth | DateFormat::MonthName => return None,
        })
    }

    /// The SQL turning a month written `2024-01` or `Jan 2024` (the trimmed text `t`) into its first day.
    fn month_sql(self, t: &str) -> String {
        match self {
            DateFormat::YearMonth => format!("{t} || '-01'"),
            _ => format!(
                "substr({t}, -4) || '-' || substr('0' || ((instr('{MONTH_ABBREVIATIONS}', lower(substr({t}, 1, 3))) + 2) \
                 / 3), -2) || '-01'"
            ),
        }
    }

    /// A month written `2024-01`, `Jan 2024` or `January 2024`, as the ISO date of its first day.
    fn month_to_iso(self, s: &str) -> Option<String> {
        let (year, month) = match self {
            DateFormat::YearMonth => {
                let (y, m) = s.split_once('-')?;
                (y, m.parse::<u32>().ok().filter(|_| m.len() == 2)?)
            }
            _ => {
                let (name, y) = s.split_once(' ')?;
                let name = name.to_ascii_lowercase();
                let at = MONTH_ABBREVIATIONS.find(name.get(..3)?)?;
                let full = MONTH_NAMES[at / 3];
                let named = at % 3 == 0 && (name.len() == 3 || name == full);
                (y, named.then_some(at as u32 / 3 + 1)?)
            }
        };
        let valid = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) && (1..=12).contains(&month);
        valid.then(|| format!("{year}-{month:02}-01"))
    }

    /// The value as ISO text, if it is written this way (zero-padded); a time after the date is kept.
    pub fn to_iso(self, s: &str) -> Option<String> {
        let s = s.trim();
        if matches!(self, DateFormat::YearMonth | DateFormat::MonthName) {
            return self.month_to_iso(s);
        }
        let head = s.get(..10)?.as_bytes();
        let ([y, m, d], sep) = self.layout()?;
        let seps = match self {
            DateFormat::Iso | DateFormat::YearSlash => [4, 7],
            _ => [2, 5],
        };
        if seps.iter().any(|&i| head[i] != sep) {
            return None;
        }
        let part = |r: std::ops::Range<usize>| std::str::from_utf8(&head[r]).ok();
        let iso = format!("{}-{}-{}{}", part(y)?, part(m)?, part(d)?, &s[10..]);
        (is_date(&iso) || is_datetime(&iso)).then_some(iso)
    }

    /// The SQL expression turning a staged text column `c` (quoted) written this way into ISO text.
    pub fn sql(self, c: &str) -> String {
        let t = format!("trim({c})");
        let Some(([y, m, d], _)) = self.layout() else {
            return self.month_sql(&t);
        };
        let sub = |r: std::ops::Range<usize>| format!("substr({t}, {}, {})", r.start + 1, r.len());
        match self {
            DateFormat::Iso => t,
            _ => format!(
                "{} || '-' || {} || '-' || {} || substr({t}, 11)",
                sub(y),
                sub(m),
                sub(d)
            ),
        }
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

fn in_range(b: &[u8], lo: u8, hi: u8) -> bool {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<u8>().ok())
        .is_some_and(|v| (lo..=hi).contains(&v))
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(&b[..4])
        && in_range(&b[5..7], 1, 12)
        && in_range(&b[8..10], 1, 31)
}

/// `YYYY-MM-DD HH:MM[:SS[.fff]]`, with `T` allowed for the space and an optional `Z` or `±HH:MM` offset.
pub fn is_datetime(s: &str) -> bool {
    if s.len() < 16 || !s.is_char_boundary(10) || !is_date(&s[..10]) {
        return false;
    }
    let b = s.as_bytes();
    if !matches!(b[10], b' ' | b'T') {
        return false;
    }
    let rest = &s[11..];
    let rest = rest
        .strip_suffix('Z')
        .or_else(|| {
            let n = rest.len();
            (n > 6 && matches!(rest.as_bytes()[n - 6], b'+' | b'-') && rest.as_bytes()[n - 3] == b':')
                .then(|| &rest[..n - 6])
        })
        .unwrap_or(rest);
    let t = rest.as_bytes();
    let hm = t.len() >= 5 && in_range(&t[..2], 0, 23) && t[2] == b':' && in_range(&t[3..5], 0, 59);
    let secs = match &t[5.min(t.len())..] {
        [] => true,
        [b':', s1, s2, frac @ ..] => {
            in_range(&[*s1, *s2], 0, 60)
                && match frac {
                    [] => true,
                    [b'.', ds @ ..] => !ds.is_empty() && digits(ds),
                    _ => false,
                }
        }
        _ => false,
    };
    hm && secs
}

/// Narrows a column's type value by value, so the type is inferred from the whole column even when it
/// streams by: the narrowest type every non-null value fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeNarrower {
    seen: bool,
    int: bool,
    float: bool,
    boolean: bool,
    /// Per [`DateFormat::ALL`]: every value is a date written that way; or a date or datetime.
    date: [bool; 7],
    datetime: [bool; 7],
}

impl Default for TypeNarrower {
    fn default() -> Self {
        Self {
            seen: false,
            int: true,
            float: true,
            boolean: true,
            date: [true; 7],
            datetime: [true; 7],
        }
    }
}

impl TypeNarrower {
    /// Takes one cell's text; blank cells are NULL and say nothing about the type.
    pub fn observe(&mut self, cell: &str) {
        let s = cell.trim();
        if s.is_empty() {
            return;
        }
        self.seen = true;
        self.int &= s.parse::<i64>().is_ok();
        self.float &= s.parse::<f64>().is_ok_and(f64::is_finite);
        self.boolean &= parse_bool(s).is_some();
        for (i, format) in DateFormat::ALL.iter().enumerate() {
            if !self.datetime[i] {
                continue;
            }
            let iso = format.to_iso(s);
            self.date[i] &= iso.as_deref().is_some_and(is_date);
            // A column mixing dates and datetimes is a datetime column: a date is its midnight.
            self.datetime[i] &= iso.is_some();
        }
    }

    pub fn result(&self) -> ColumnType {
        let format = self.date_format();
        match *self {
            TypeNarrower { seen: false, .. } => ColumnType::Text,
            TypeNarrower { int: true, .. } => ColumnType::Integer,
            TypeNarrower { float: true, .. } => ColumnType::Float,
            TypeNarrower { boolean: true, .. } => ColumnType::Boolean,
            _ => match format {
                Some(f) if self.date[f as usize] => ColumnType::Date,
                Some(_) => ColumnType::Datetime,
                None => ColumnType::Text,
            },
        }
    }

    /// How the column's dates are written, when every value is a date (or datetime) written one way. A
    /// column every value of which reads both day-first and month-first (`01/02/2024`) has none.
    pub fn date_format(&self) -> Option<DateFormat> {
        let fits: Vec<DateFormat> = DateFormat::ALL
            .iter()
            .copied()
            .filter(|&f| self.seen && self.datetime[f as usize])
            .collect();
        match fits.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Why a column of dates stays text, if that is the case: said in its profile.
    pub fn undecided(&self) -> Option<&'static str> {
        let both = [DateFormat::MonthSlash, DateFormat::DaySlash]
            .iter()
            .all(|&f| self.seen && self.datetime[f as usize]);
        both.then_some("its dates read both day-first and month-first (e.g. 01/02/2024), so they stay text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(cells: &[&str]) -> ColumnType {
        let mut t = TypeNarrower::default();
        cells.iter().for_each(|c| t.observe(c));
        t.result()
    }

    #[test]
    fn each_type_is_recognised_and_blanks_do_not_count() {
        assert_eq!(infer(&["1", "", "-3"]), ColumnType::Integer);
        assert_eq!(infer(&["1", "2.5", " "]), ColumnType::Float);
        assert_eq!(infer(&["true", "No", ""]), ColumnType::Boolean);
        assert_eq!(infer(&["2024-01-02", "2024-12-31"]), ColumnType::Date);
        assert_eq!(
            infer(&["2024-01-02 10:00", "2024-01-02T23:59:59.125Z", "2024-02-03"]),
            ColumnType::Datetime
        );
        assert_eq!(infer(&["2024-01-02 10:00:00+02:00"]), ColumnType::Datetime);
        assert_eq!(infer(&["", ""]), ColumnType::Text);
    }

    #[test]
    fn dates_are_read_as_people_write_them_and_decided_from_the_whole_column() {
        let format = |cells: &[&str]| {
            let mut t = TypeNarrower::default();
            cells.iter().for_each(|c| t.observe(c));
            (t.result(), t.date_format())
        };
        assert_eq!(
            format(&["2012/01/01", "2012/12/31"]),
            (ColumnType::Date, Some(DateFormat::YearSlash))
        );
        assert_eq!(
            format(&["31.01.2012", "01.02.2012"]),
            (ColumnType::Date, Some(DateFormat::DayDot))
        );
        assert_eq!(
            format(&["01/31/2012", "02/01/2012"]),
            (ColumnType::Date, Some(DateFormat::MonthSlash))
        );
        assert_eq!(
            format(&["31/01/2012", "01/02/2012"]),
            (ColumnType::Date, Some(DateFormat::DaySlash))
        );
        assert_eq!(
            format(&["2012/01/01 10:30", "2012/01/02"]),
            (ColumnType::Datetime, Some(DateFormat::YearSlash))
        );
        let mut ambiguous = TypeNarrower::default();
        ["01/02/2012", "03/04/2012"]
            .iter()
            .for_each(|c| ambiguous.observe(c));
        assert_eq!(
            (ambiguous.result(), ambiguous.date_format()),
            (ColumnType::Text, None)
        );
        assert!(ambiguous.undecided().is_some());
        assert_eq!(
            DateFormat::DaySlash.to_iso("31/01/2012").as_deref(),
            Some("2012-01-31")
        );
        assert_eq!(
            DateFormat::MonthSlash.to_iso("1/31/2012"),
            None,
            "only zero-padded forms are dates"
        );
    }

    #[test]
    fn one_misfit_anywhere_widens_the_type() {
        let mut cells: Vec<String> = (0..500).map(|i| i.to_string()).collect();
        cells.push("A17".into());
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        assert_eq!(infer(&refs), ColumnType::Text);
        assert_eq!(infer(&["2024-13-01"]), ColumnType::Text);
        assert_eq!(infer(&["2024-01-02 25:00"]), ColumnType::Text);
        assert_eq!(infer(&["2024-01-02 10:00:00.", "2024-01-02"]), ColumnType::Text);
        assert_eq!(infer(&["2024-01-02", "x"]), ColumnType::Text);
    }
}
