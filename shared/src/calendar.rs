//! Calendar dates in the proleptic Gregorian calendar, UTC: what the analyst's relative ranges ("last 7
//! days") and the usage report's ranges and budget months count in. No clock here; callers pass the time.

use std::fmt;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

const MS_PER_DAY: u64 = 86_400_000;

impl Date {
    /// A valid date, or `None` (month 13, February 30th…).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Exactly `YYYY-MM-DD`, a date that exists.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return None;
        }
        Date::new(s[..4].parse().ok()?, s[5..7].parse().ok()?, s[8..].parse().ok()?)
    }

    /// The leading `YYYY-MM-DD` of an ISO timestamp or date, if it is one.
    pub fn of_iso_prefix(s: &str) -> Option<Self> {
        Date::parse(s.get(..10)?)
    }

    /// The UTC date of a Unix time in milliseconds.
    pub fn from_unix_ms(ms: u64) -> Self {
        Date::from_days((ms / MS_PER_DAY) as i64)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Date {
            year: (yoe + era * 400 + i64::from(month <= 2)) as i32,
            month,
            day,
        }
    }

    /// The date `n` days later (earlier for negative `n`).
    pub fn plus_days(self, n: i64) -> Self {
        Date::from_days(self.days() + n)
    }

    /// The first day of this date's month.
    pub fn month_start(self) -> Self {
        Date { day: 1, ..self }
    }

    /// The first day of the next month.
    pub fn next_month_start(self) -> Self {
        match self.month {
            12 => Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            },
            m => Date {
                month: m + 1,
                day: 1,
                ..self
            },
        }
    }

    /// Unix milliseconds at this date's midnight, UTC.
    pub fn unix_ms(self) -> i64 {
        self.days() * MS_PER_DAY as i64
    }

    /// `YYYY-MM`.
    pub fn month_label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in a month (1-12) of a year.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn day_numbers_round_trip_across_leap_years_and_eras() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "2025-03-01",
            "1600-02-29",
            "1969-12-31",
        ] {
            assert_eq!(Date::from_days(d(s).days()).to_string(), s);
        }
        assert_eq!(d("1970-01-02").days(), 1);
        assert_eq!(d("2024-03-01").plus_days(-1).to_string(), "2024-02-29");
    }

    #[test]
    fn only_real_dates_in_the_exact_shape_parse() {
        for bad in [
            "2026-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-4-01",
            "24-04-01",
            "2024-04-01T00",
            "2024/04/01",
            "+024-04-01",
            "2024-04-0a",
            "",
            "２０２４-04-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(Date::parse("2024-02-29"), Date::new(2024, 2, 29));
        assert_eq!(
            Date::of_iso_prefix("2026-12-07T16:22:37.123Z"),
            Date::new(2026, 12, 7)
        );
    }

    #[test]
    fn months_start_and_roll_over_at_the_year_end() {
        assert_eq!(d("2026-12-07").month_start().to_string(), "2026-12-01");
        assert_eq!(d("2026-12-31").next_month_start().to_string(), "2027-01-01");
        assert_eq!(d("2024-02-10").next_month_start().to_string(), "2024-03-01");
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(d("2026-12-07").month_label(), "2026-12");
    }

    #[test]
    fn a_unix_time_falls_on_its_utc_day() {
        let ms = d("2026-12-07").unix_ms() as u64;
        assert_eq!(Date::from_unix_ms(ms).to_string(), "2026-12-07");
        assert_eq!(Date::from_unix_ms(ms - 1).to_string(), "2026-12-06");
        assert_eq!(Date::from_unix_ms(ms + MS_PER_DAY - 1).to_string(), "2026-12-07");
    }
}
