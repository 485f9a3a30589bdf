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

/// Longest text cell a query result keeps, and the most bytes of cells one result carries: a query can
/// build huge strings (`group_concat` over a million rows) or select many long cells, and every result
/// travels from the dataset's object to the worker, into the prompt and into the answer's chart.
pub const MAX_CELL_CHARS: usize = 2_000;
pub const MAX_RESULT_BYTES: usize = 512 * 1024;

/// Rows collected within [`MAX_CELL_CHARS`], [`MAX_RESULT_BYTES`] and a row limit, and what was cut, in
/// words for the execution tree and the model.
pub fn collect_bounded<E>(
    columns: Vec<String>,
    rows: impl Iterator<Item = Result<Vec<Json>, E>>,
    max_rows: usize,
) -> Result<(QueryResult, Option<String>), E> {
    let mut out = QueryResult {
        columns,
        rows: Vec::new(),
    };
    let (mut bytes, mut long_cells) = (0, 0);
    for row in rows.take(max_rows) {
        let mut row = row?;
        for v in &mut row {
            if let Json::String(s) = v {
                if s.len() > MAX_CELL_CHARS && s.chars().nth(MAX_CELL_CHARS).is_some() {
                    *s = excerpt(s, MAX_CELL_CHARS);
                    long_cells += 1;
                }
            }
            bytes += match v {
                Json::String(s) => s.len() + 2,
                _ => 8,
            };
        }
        if bytes > MAX_RESULT_BYTES {
            let cut = format!(
                "only the first {} rows are kept: the result is over {} KB",
                out.rows.len(),
                MAX_RESULT_BYTES / 1024
            );
            return Ok((out, Some(cut)));
        }
        out.rows.push(row);
    }
    let cut = (long_cells > 0)
        .then(|| format!("{long_cells} text value(s) longer than {MAX_CELL_CHARS} characters were cut"));
    Ok((out, cut))
}

/// About the most of one result a prompt shows (a row more may pass it).
pub const PROMPT_RESULT_BYTES: usize = 16 * 1024;

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

    /// The result as a markdown table for a model to read: at most `max_rows` rows and
    /// [`PROMPT_RESULT_BYTES`], long cells cut, and a note when rows were left out. Numbers are written in
    /// full precision, so the model quotes them exactly.
    pub fn to_prompt(&self, max_rows: usize) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| cell(&excerpt(c, 120))).collect();
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.columns.len()));
        let mut shown = 0;
        for row in self.rows.iter().take(max_rows) {
            if out.len() > PROMPT_RESULT_BYTES {
                break;
            }
            shown += 1;
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
        if self.rows.len() > shown {
            let _ = writeln!(out, "({} more rows not shown)", self.rows.len() - shown);
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
    fn a_result_of_huge_cells_reaches_the_model_as_a_bounded_excerpt() {
        let wide = QueryResult {
            columns: vec!["note".into()],
            rows: vec![vec![json!("x".repeat(100_000))]; 200],
        };
        let prompt = wide.to_prompt(200);
        assert!(prompt.len() < PROMPT_RESULT_BYTES + 1_000, "{}", prompt.len());
        assert!(
            prompt.ends_with("more rows not shown)"),
            "{}",
            &prompt[prompt.len() - 60..]
        );
    }

    #[test]
    fn results_keep_whole_cells_and_rows_until_a_bound_says_what_was_cut() {
        fn rows(cell: &str, n: usize) -> impl Iterator<Item = Result<Vec<Json>, ()>> + '_ {
            (0..n).map(move |_| Ok(vec![json!(cell), json!(1)]))
        }
        let (small, cut) = collect_bounded(vec!["a".into(), "b".into()], rows("x", 10), 1_000).unwrap();
        assert_eq!((small.rows.len(), cut), (10, None));

        let long = "é".repeat(MAX_CELL_CHARS + 1);
        let (r, cut) = collect_bounded(vec!["a".into(), "b".into()], rows(&long, 3), 1_000).unwrap();
        assert_eq!(r.rows.len(), 3);
        assert!(r
            .rows
            .iter()
            .all(|row| row[0].as_str().unwrap().chars().count() == MAX_CELL_CHARS));
        assert!(cut.unwrap().contains("3 text value(s)"));

        let (r, cut) = collect_bounded(
            vec!["a".into(), "b".into()],
            rows(&"y".repeat(1_500), 1_000),
            1_000,
        )
        .unwrap();
        let bytes: usize = r.rows.iter().map(|row| row[0].as_str().unwrap().len()).sum();
        assert!(
            bytes <= MAX_RESULT_BYTES && r.rows.len() > 300,
            "{} rows, {bytes} bytes",
            r.rows.len()
        );
        assert!(cut
            .unwrap()
            .starts_with(&format!("only the first {} rows", r.rows.len())));
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
