//! The question corpus (`tests/corpus/questions.txt`) over six files of different shapes: each question
//! answered by the analyst is judged against an answer computed without it — a hand-written query over
//! the file's rows as written — and counted right, honestly refused, or wrong. A wrong number is worse
//! than "I can't": the corpus passes only with none wrong, and at least 85 % right.

use rusqlite::types::{Value, ValueRef};

use super::answer::run_with;
use super::format::number;
use crate::api::Confidence;
use crate::test_support::SqliteDataset;

const QUESTIONS: &str = include_str!("../../../tests/corpus/questions.txt");

fn file(name: &str) -> &'static str {
    match name {
        "../../data/sample_sales.csv" => include_str!("../../../data/sample_sales.csv"),
        "weather.csv" => include_str!("../../../tests/corpus/weather.csv"),
        "airports.csv" => include_str!("../../../tests/corpus/airports.csv"),
        "generation.csv" => include_str!("../../../tests/corpus/generation.csv"),
        "events.csv" => include_str!("../../../tests/corpus/events.csv"),
        "monthly.csv" => include_str!("../../../tests/corpus/monthly.csv"),
        other => panic!("no corpus file {other}"),
    }
}

/// The file's rows as written, in a table `raw`: a cell that reads as a number is that number, any other
/// is its text (dates stay as the file writes them). Nothing of the analyst's typing is used.
fn raw(csv: &str) -> rusqlite::Connection {
    let (header, records) = crate::csv::read_all(csv.as_bytes(), crate::csv::Limits::default()).unwrap();
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let cols: Vec<String> = header.iter().map(|h| crate::sql::quote_ident(h)).collect();
    conn.execute_batch(&format!("CREATE TABLE raw ({})", cols.join(", ")))
        .unwrap();
    let marks = vec!["?"; header.len()].join(", ");
    let mut insert = conn
        .prepare(&format!("INSERT INTO raw VALUES ({marks})"))
        .unwrap();
    for r in &records {
        let values = r.iter().map(|cell| match cell.as_deref() {
            None => Value::Null,
            Some(c) => c.parse::<i64>().map(Value::Integer).unwrap_or_else(|_| {
                c.parse::<f64>()
                    .map_or_else(|_| Value::Text(c.to_owned()), Value::Real)
            }),
        });
        insert.execute(rusqlite::params_from_iter(values)).unwrap();
    }
    drop(insert);
    conn
}

/// What an answer must say: rows of labels and a value, or an honest refusal.
enum Expected {
    Refuse,
    Rows(Vec<Vec<String>>),
}

fn expected(conn: &rusqlite::Connection, oracle: &str) -> Expected {
    if oracle == "refuse" {
        return Expected::Refuse;
    }
    let mut stmt = conn.prepare(oracle).unwrap_or_else(|e| panic!("{oracle}: {e}"));
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |row| {
            (0..n)
                .map(|i| {
                    let last = i + 1 == n;
                    Ok(match row.get_ref(i)? {
                        ValueRef::Integer(v) if last => number(v as f64),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => number(v),
                        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        ValueRef::Null | ValueRef::Blob(_) => "—".to_owned(),
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    Expected::Rows(rows)
}

/// `needle` in `hay` as a whole value: `17` is not found in `2017` nor in `17.5`.
fn contains_value(hay: &str, needle: &str) -> bool {
    let joins = |c: char| c.is_alphanumeric() || c == '_';
    hay.match_indices(needle).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let mut after = hay[at + needle.len()..].chars();
        let next = after.next();
        let continues_number =
            matches!(next, Some('.' | ',')) && after.next().is_some_and(|c| c.is_ascii_digit());
        !before.is_some_and(|c| joins(c) || c == '.' || c == ',' && needle.starts_with(char::is_numeric))
            && !next.is_some_and(joins)
            && !continues_number
    })
}

/// Every expected row is in the text: its first label on a line with its value, any other label anywhere.
fn says(text: &str, rows: &[Vec<String>]) -> Result<(), String> {
    for row in rows {
        let (value, labels) = row.split_last().ok_or("an empty row")?;
        let Some(first) = labels.first() else {
            return contains_value(text, value)
                .then_some(())
                .ok_or(format!("no {value}"));
        };
        let on_a_line = text
            .lines()
            .any(|l| contains_value(l, first) && contains_value(l, value));
        if !on_a_line || !labels[1..].iter().all(|l| contains_value(text, l)) {
            return Err(format!("no line with {labels:?} and {value}"));
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Right,
    Refused,
    Wrong(String),
}

fn judge(analysis: &super::Analysis, expected: &Expected) -> Outcome {
    let refused = analysis.confidence == Confidence::Low;
    match (expected, refused) {
        (_, true) => Outcome::Refused,
        (Expected::Refuse, false) => Outcome::Wrong("answered what it should refuse".into()),
        (Expected::Rows(rows), false) => match says(&analysis.text, rows) {
            Ok(()) => Outcome::Right,
            Err(why) => Outcome::Wrong(why),
        },
    }
}

/// Each question of the corpus with its dataset's name and the outcome, in corpus order.
fn run_corpus() -> Vec<(String, String, Outcome, String)> {
    let mut outcomes = Vec::new();
    let mut current: Option<(String, SqliteDataset, rusqlite::Connection)> = None;
    for line in QUESTIONS.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix("## ") {
            let (name, path) = section.split_once(' ').unwrap();
            let csv = file(path);
            current = Some((name.to_owned(), SqliteDataset::load(csv), raw(csv)));
            continue;
        }
        let Some((question, oracle)) = line.split_once(" => ").filter(|_| !line.starts_with('#')) else {
            continue;
        };
        let (name, ds, conn) = current.as_ref().expect("a question before any dataset");
        let analysis = run_with(&ds.profile, question, |sql| ds.query(sql));
        let outcome = judge(&analysis, &expected(conn, oracle));
        outcomes.push((name.clone(), question.to_owned(), outcome, analysis.text));
    }
    outcomes
}

#[test]
fn the_corpus_gets_no_answer_wrong_and_at_least_85_percent_right() {
    let outcomes = run_corpus();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(&o.2)).count();
    let right = count(|o| *o == Outcome::Right);
    let refused = count(|o| *o == Outcome::Refused);
    let wrong = outcomes.len() - right - refused;
    for (name, question, outcome, text) in &outcomes {
        if *outcome != Outcome::Right {
            eprintln!(
                "{name}: {question} → {outcome:?}\n    {}",
                text.replace('\n', "\n    ")
            );
        }
    }
    eprintln!(
        "corpus: {} questions over 6 files: {right} right ({:.1} %), {refused} honestly refused, {wrong} wrong",
        outcomes.len(),
        100.0 * right as f64 / outcomes.len() as f64
    );
    assert!(outcomes.len() >= 150);
    assert_eq!(wrong, 0, "wrong answers (listed above)");
    assert!(
        right * 100 >= outcomes.len() * 85,
        "{right} right of {}",
        outcomes.len()
    );
}
