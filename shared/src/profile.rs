//! A dataset's profile, computed in one streaming pass over its records (groundwork for uploads): per
//! column the type, NULLs, distinct values (exact up to a cap, then a HyperLogLog estimate), numeric
//! min / max / mean / standard deviation / quartiles (exact up to a reservoir's size, then sampled), top
//! values for categories, the range of dates, and a few sample rows. Memory stays bounded whatever the
//! number of rows.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::csv::Record;
use crate::schema::{ColumnType, DateFormat, TypeNarrower};

/// Rows kept as examples.
pub const SAMPLE_ROWS: usize = 5;
/// Distinct values counted exactly before switching to an estimate.
const EXACT_DISTINCT: usize = 10_000;
/// Numeric values kept for quartiles.
const RESERVOIR: usize = 4_096;
const TOP_VALUES: usize = 5;
/// A category column with at most this many distinct values keeps them all in its profile, so a question
/// can name any of them ("airports in NY", not only the most common states).
pub const MAX_LISTED_VALUES: usize = 100;
/// Longest value listed (a longer one is free text, not a category).
const MAX_LISTED_CHARS: usize = 100;
const HLL_BITS: u32 = 12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub std_dev: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    /// Whether the quartiles came from every value rather than a uniform sample.
    pub exact_quartiles: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub nulls: u64,
    pub distinct: u64,
    pub distinct_exact: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_values: Vec<(String, u64)>,
    /// Every value of a text column with few distinct ones (at most [`MAX_LISTED_VALUES`]), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<(String, String)>,
    /// How its dates are written, when not ISO (they are stored as ISO either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<DateFormat>,
    /// Why the column was not typed as it looks, e.g. dates that read both day-first and month-first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
    pub sample_rows: Vec<Record>,
}

/// Streaming profiler: `observe` every record, then `finish`.
#[derive(Debug)]
pub struct Profiler {
    rows: u64,
    columns: Vec<ColumnState>,
    samples: Vec<Record>,
}

#[derive(Debug)]
struct ColumnState {
    name: String,
    narrower: TypeNarrower,
    nulls: u64,
    counts: HashMap<String, u64>,
    counts_full: bool,
    hll: Vec<u8>,
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    reservoir: Vec<f64>,
    rng: u64,
    /// The earliest and latest value as ISO text, per way of writing dates the column may use.
    dates: [Option<(String, String)>; 7],
}

impl Profiler {
    pub fn new(header: &[String]) -> Self {
        let columns = header
            .iter()
            .enumerate()
            .map(|(i, name)| ColumnState {
                name: name.clone(),
                narrower: TypeNarrower::default(),
                nulls: 0,
                counts: HashMap::new(),
                counts_full: false,
                hll: vec![0; 1 << HLL_BITS],
                n: 0,
                mean: 0.0,
                m2: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                reservoir: Vec::new(),
                rng: 0x9E37_79B9_7F4A_7C15 ^ i as u64,
                dates: Default::default(),
            })
            .collect();
        Self {
            rows: 0,
            columns,
            samples: Vec::new(),
        }
    }

    pub fn observe(&mut self, record: &[Option<String>]) {
        self.rows += 1;
        if self.samples.len() < SAMPLE_ROWS {
            self.samples.push(record.to_vec());
        }
        for (col, cell) in self.columns.iter_mut().zip(record) {
            match cell.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                None => col.nulls += 1,
                Some(c) => col.observe(c),
            }
        }
    }

    pub fn finish(self) -> Profile {
        Profile {
            rows: self.rows,
            columns: self.columns.into_iter().map(ColumnState::finish).collect(),
            sample_rows: self.samples,
        }
    }
}

/// A well-mixed 64-bit hash (FNV-1a, then the SplitMix64 finalizer).
fn hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl ColumnState {
    fn observe(&mut self, cell: &str) {
        self.narrower.observe(cell);
        let h = hash(cell);
        let register = (h >> (64 - HLL_BITS)) as usize;
        let rank = ((h << HLL_BITS) | (1 << (HLL_BITS - 1))).leading_zeros() as u8 + 1;
        self.hll[register] = self.hll[register].max(rank);
        let room = self.counts.len() < EXACT_DISTINCT;
        match self.counts.get_mut(cell) {
            Some(n) => *n += 1,
            None if room => {
                self.counts.insert(cell.to_owned(), 1);
            }
            None => self.counts_full = true,
        }
        if let Ok(x) = cell.parse::<f64>() {
            if x.is_finite() {
                self.n += 1;
                let delta = x - self.mean;
                self.mean += delta / self.n as f64;
                self.m2 += delta * (x - self.mean);
                self.min = self.min.min(x);
                self.max = self.max.max(x);
                if self.reservoir.len() < RESERVOIR {
                    self.reservoir.push(x);
                } else {
                    // Reservoir sampling (Algorithm R) with a deterministic xorshift.
                    self.rng ^= self.rng << 13;
                    self.rng ^= self.rng >> 7;
                    self.rng ^= self.rng << 17;
                    let j = (self.rng % self.n) as usize;
                    if j < RESERVOIR {
                        self.reservoir[j] = x;
                    }
                }
            }
        }
        for (format, range) in DateFormat::ALL.iter().zip(&mut self.dates) {
            if let Some(d) = format.to_iso(cell) {
                *range = Some(match range.take() {
                    None => (d.clone(), d),
                    Some((lo, hi)) => (lo.min(d.clone()), hi.max(d)),
                });
            }
        }
    }

    fn distinct(&self) -> (u64, bool) {
        if !self.counts_full {
            return (self.counts.len() as u64, true);
        }
        let m = (1u64 << HLL_BITS) as f64;
        let sum: f64 = self.hll.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let estimate = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let zeros = self.hll.iter().filter(|&&r| r == 0).count();
        let estimate = if estimate < 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            estimate
        };
        (estimate.round() as u64, false)
    }

    fn finish(mut self) -> ColumnProfile {
        let ty = self.narrower.result();
        let format = self.narrower.date_format().filter(|_| ty.is_temporal());
        let (distinct, distinct_exact) = self.distinct();
        let numeric = (ty.is_numeric() && self.n > 0).then(|| {
            self.reservoir.sort_by(f64::total_cmp);
            let q = |p: f64| quantile(&self.reservoir, p);
            NumericProfile {
                min: self.min,
                max: self.max,
                mean: self.mean,
                std_dev: (self.m2 / self.n as f64).sqrt(),
                q1: q(0.25),
                median: q(0.5),
                q3: q(0.75),
                exact_quartiles: self.n as usize <= RESERVOIR,
            }
        });
        let listed = ty == ColumnType::Text
            && !self.counts_full
            && self.counts.len() <= MAX_LISTED_VALUES
            && self.counts.keys().all(|v| v.chars().count() <= MAX_LISTED_CHARS);
        let mut values: Vec<String> = if listed {
            self.counts.keys().cloned().collect()
        } else {
            Vec::new()
        };
        values.sort_unstable();
        let top_values = if matches!(ty, ColumnType::Text | ColumnType::Boolean) {
            let mut top: Vec<(String, u64)> = self.counts.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(TOP_VALUES);
            top
        } else {
            Vec::new()
        };
        ColumnProfile {
            name: self.name,
            ty,
            nulls: self.nulls,
            distinct,
            distinct_exact,
            numeric,
            top_values,
            values,
            date_range: format.and_then(|f| self.dates[f as usize].take()),
            date_format: format.filter(|&f| f != DateFormat::Iso),
            note: self.narrower.undecided().map(str::to_owned),
        }
    }
}

/// Linear-interpolated quantile of sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = p * (n - 1) as f64;
            let (lo, frac) = (pos.floor() as usize, pos.fract());
            sorted[lo] + (sorted[(lo + 1).min(n - 1)] - sorted[lo]) * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(header: &[&str], rows: &[&[Option<&str>]]) -> Profile {
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        let mut p = Profiler::new(&header);
        for r in rows {
            p.observe(&r.iter().map(|c| c.map(str::to_owned)).collect::<Vec<_>>());
        }
        p.finish()
    }

    #[test]
    fn small_columns_get_exact_statistics() {
        let p = profile(
            &["amount", "region", "day"],
            &[
                &[Some("1"), Some("N"), Some("2024-01-03")],
                &[Some("2"), Some("S"), None],
                &[Some("3"), Some("N"), Some("2024-01-01")],
                &[Some("4"), None, Some("2024-02-01")],
                &[None, Some("N"), Some(" ")],
            ],
        );
        assert_eq!(p.rows, 5);
        let amount = &p.columns[0];
        assert_eq!(
            (amount.ty, amount.nulls, amount.distinct, amount.distinct_exact),
            (ColumnType::Integer, 1, 4, true)
        );
        let n = amount.numeric.as_ref().unwrap();
        assert_eq!(
            (n.min, n.max, n.mean, n.q1, n.median, n.q3),
            (1.0, 4.0, 2.5, 1.75, 2.5, 3.25)
        );
        assert!((n.std_dev - 1.25f64.sqrt()).abs() < 1e-12);
        let region = &p.columns[1];
        assert_eq!(region.top_values, vec![("N".to_owned(), 3), ("S".to_owned(), 1)]);
        let day = &p.columns[2];
        assert_eq!(day.ty, ColumnType::Date);
        assert_eq!(day.nulls, 2);
        assert_eq!(
            day.date_range,
            Some(("2024-01-01".to_owned(), "2024-02-01".to_owned()))
        );
        assert_eq!(p.sample_rows.len(), 5);
    }

    #[test]
    fn large_columns_stay_bounded_and_estimate_well() {
        let header = vec!["id".to_owned(), "x".to_owned()];
        let mut p = Profiler::new(&header);
        let n = 200_000u64;
        for i in 0..n {
            p.observe(&[Some(format!("id-{i}")), Some(((i * 7919) % 1000).to_string())]);
        }
        let p = p.finish();
        let id = &p.columns[0];
        assert!(!id.distinct_exact);
        let err = (id.distinct as f64 - n as f64).abs() / n as f64;
        assert!(
            err < 0.05,
            "estimate {} for {n}: {:.1}% off",
            id.distinct,
            err * 100.0
        );
        let x = p.columns[1].numeric.as_ref().unwrap();
        assert!(!x.exact_quartiles);
        assert!((x.median - 499.5).abs() < 30.0, "sampled median {}", x.median);
        assert_eq!((x.min, x.max), (0.0, 999.0));
        assert!((x.mean - 499.5).abs() < 1e-9);
    }
}
