//! An in-memory typed table, with column types inferred from every value of the column.

use serde::{Deserialize, Serialize};

use crate::csv::{self, CsvError, Limits};

/// A column's inferred type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Float,
    Boolean,
    Date,
    Text,
}

impl ColumnType {
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Float)
    }
}

/// One cell. Dates are kept as ISO `YYYY-MM-DD` text, which sorts chronologically.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(String),
    Text(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as a grouping key (text form); `None` for NULL.
    pub fn key(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Date(s) | Value::Text(s) => Some(s.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

impl Table {
    /// Parses CSV text (comma-delimited, header row) into a typed table.
    pub fn from_csv(name: &str, text: &str) -> Result<Self, CsvError> {
        let (header, records) = csv::read_all(text.as_bytes(), Limits::default())?;
        let mut raw: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(records.len()); header.len()];
        for rec in records {
            for (col, field) in raw.iter_mut().zip(rec) {
                col.push(field);
            }
        }
        let columns = header
            .into_iter()
            .zip(raw)
            .map(|(name, cells)| {
                let ty = infer_type(&cells);
                let values = cells
                    .iter()
                    .map(|c| c.as_deref().map_or(Value::Null, |c| convert(c, ty)))
                    .collect();
                Column { name, ty, values }
            })
            .collect();
        Ok(Table {
            name: name.to_owned(),
            columns,
        })
    }

    pub fn row_count(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

fn is_null(s: &str) -> bool {
    s.trim().is_empty()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|&i| b[i].is_ascii_digit())
        && matches!(s.trim()[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s.trim()[8..10].parse::<u8>(), Ok(1..=31))
}

/// Narrows a column's type value by value, so the type can be inferred from a whole column even when it
/// streams by: the narrowest type every non-null value fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeNarrower {
    seen: bool,
    int: bool,
    float: bool,
    boolean: bool,
    date: bool,
}

impl Default for TypeNarrower {
    fn default() -> Self {
        Self {
            seen: false,
            int: true,
            float: true,
            boolean: true,
            date: true,
        }
    }
}

impl TypeNarrower {
    /// Takes one cell's text; blank cells are NULL and say nothing about the type.
    pub fn observe(&mut self, cell: &str) {
        let s = cell.trim();
        if is_null(s) {
            return;
        }
        self.seen = true;
        self.int &= s.parse::<i64>().is_ok();
        self.float &= s.parse::<f64>().is_ok_and(f64::is_finite);
        self.boolean &= parse_bool(s).is_some();
        self.date &= is_date(s);
    }

    pub fn result(&self) -> ColumnType {
        match *self {
            TypeNarrower { seen: false, .. } => ColumnType::Text,
            TypeNarrower { int: true, .. } => ColumnType::Integer,
            TypeNarrower { float: true, .. } => ColumnType::Float,
            TypeNarrower { boolean: true, .. } => ColumnType::Boolean,
            TypeNarrower { date: true, .. } => ColumnType::Date,
            _ => ColumnType::Text,
        }
    }
}

fn infer_type(cells: &[Option<String>]) -> ColumnType {
    let mut t = TypeNarrower::default();
    cells.iter().flatten().for_each(|c| t.observe(c));
    t.result()
}

fn convert(cell: &str, ty: ColumnType) -> Value {
    if is_null(cell) {
        return Value::Null;
    }
    let s = cell.trim();
    match ty {
        ColumnType::Integer => s.parse().map(Value::Int).unwrap_or(Value::Null),
        ColumnType::Float => s.parse().map(Value::Float).unwrap_or(Value::Null),
        ColumnType::Boolean => parse_bool(s).map(Value::Bool).unwrap_or(Value::Null),
        ColumnType::Date => Value::Date(s.to_owned()),
        ColumnType::Text => Value::Text(cell.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_inferred_from_the_whole_column() {
        let t = Table::from_csv(
            "t",
            "id,price,ok,day,label\n1,2,true,2024-01-02,a\n2,2.5,no,2024-12-31,\n3,,yes,,7\n",
        )
        .unwrap();
        let types: Vec<ColumnType> = t.columns.iter().map(|c| c.ty).collect();
        assert_eq!(
            types,
            vec![
                ColumnType::Integer,
                ColumnType::Float,
                ColumnType::Boolean,
                ColumnType::Date,
                ColumnType::Text
            ]
        );
        assert_eq!(t.row_count(), 3);
        assert_eq!(t.columns[1].values[2], Value::Null);
        assert_eq!(t.columns[4].values[1], Value::Null);
    }

    #[test]
    fn a_late_non_number_makes_the_column_text() {
        let mut csv = String::from("code\n");
        for i in 0..500 {
            csv.push_str(&format!("{i}\n"));
        }
        csv.push_str("A17\n");
        assert_eq!(
            Table::from_csv("t", &csv).unwrap().columns[0].ty,
            ColumnType::Text
        );
    }
}
