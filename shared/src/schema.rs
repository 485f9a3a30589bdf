//! Column types, inferred from every value of a column as it streams by.

use serde::{Deserialize, Serialize};

/// A column's inferred type. Dates and datetimes are stored as ISO text, which sorts chronologically and
/// which SQLite's date functions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Float,
    Boolean,
    Date,
    Datetime,
    Text,
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
    date: bool,
    datetime: bool,
}

impl Default for TypeNarrower {
    fn default() -> Self {
        Self {
            seen: false,
            int: true,
            float: true,
            boolean: true,
            date: true,
            datetime: true,
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
        let date = is_date(s);
        self.date &= date;
        // A column mixing dates and datetimes is a datetime column: a date is its midnight.
        self.datetime &= date || is_datetime(s);
    }

    pub fn result(&self) -> ColumnType {
        match *self {
            TypeNarrower { seen: false, .. } => ColumnType::Text,
            TypeNarrower { int: true, .. } => ColumnType::Integer,
            TypeNarrower { float: true, .. } => ColumnType::Float,
            TypeNarrower { boolean: true, .. } => ColumnType::Boolean,
            TypeNarrower { date: true, .. } => ColumnType::Date,
            TypeNarrower { datetime: true, .. } => ColumnType::Datetime,
            _ => ColumnType::Text,
        }
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
