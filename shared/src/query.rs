//! The result of one query over a dataset, as the worker reads it from D1 and as answers, charts and
//! prompts use it.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::analyst::format::{cell, number};
use crate::text::excerpt;

/// Column names and rows of values (numbers, strings or nulls), in the order the query returned them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Json>>,
}

/// A cell as text for people: numbers formatted, NULL as an em dash.
pub fn display(v: &Json) -> String {
    match v {
        Json::Null => "—".to_owned(),
        Json::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl QueryResult {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .or_else(|| self.columns.iter().position(|c| c.eq_ignore_ascii_case(name)))
    }

    /// The value at (`row`, `col`) as a number, if it is one.
    pub fn number(&self, row: usize, col: usize) -> Option<f64> {
        self.rows.get(row)?.get(col)?.as_f64()
    }

    /// The value at (`row`, `col`) as text: strings as they are, numbers unformatted.
    pub fn text(&self, row: usize, col: usize) -> Option<String> {
        match self.rows.get(row)?.get(col)? {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The result as a markdown table for a model to read: at most `max_rows` rows, long cells cut, and a
    /// note when rows were left out. Numbers are written in full precision, so the model quotes them
    /// exactly.
    pub fn to_prompt(&self, max_rows: usize) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.columns.len()));
        for row in self.rows.iter().take(max_rows) {
            let cells: Vec<String> = row
                .iter()
                .map(|v| match v {
                    Json::Null => "NULL".to_owned(),
                    Json::String(s) => cell(&excerpt(s, 120)),
                    other => other.to_string(),
                })
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        if self.rows.len() > max_rows {
            let _ = writeln!(out, "({} more rows not shown)", self.rows.len() - max_rows);
        }
        if self.rows.is_empty() {
            out.push_str("(no rows)\n");
        }
        out.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result() -> QueryResult {
        QueryResult {
            columns: vec!["region".into(), "total".into()],
            rows: vec![
                vec![json!("West"), json!(392335.4321)],
                vec![json!("a|b"), Json::Null],
                vec![json!("East"), json!(3)],
            ],
        }
    }

    #[test]
    fn models_see_exact_numbers_and_a_note_for_rows_left_out() {
        assert_eq!(
            result().to_prompt(2),
            "| region | total |\n|---|---|\n| West | 392335.4321 |\n| a\\|b | NULL |\n(1 more rows not shown)"
        );
        let empty = QueryResult {
            columns: vec!["n".into()],
            rows: vec![],
        };
        assert!(empty.to_prompt(5).ends_with("(no rows)"));
    }

    #[test]
    fn people_see_formatted_numbers() {
        assert_eq!(display(&json!(392335.4321)), "392,335.43");
        assert_eq!(display(&Json::Null), "—");
        assert_eq!(result().column("TOTAL"), Some(1));
        assert_eq!(result().number(0, 1), Some(392335.4321));
        assert_eq!(result().text(2, 1).as_deref(), Some("3"));
    }
}
