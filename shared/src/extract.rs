//! Incremental extraction of `response_text` from a model's streamed JSON answer.
//!
//! Models are asked for `{"response_text": "...", "chart_config": ..., "confidence": ...}`. The text must
//! reach the user at the model's pace, so [`AnswerExtractor::push`] decodes the `response_text` string as
//! its characters arrive — JSON escapes, `\u` escapes and their surrogate pairs, escapes split across
//! chunks — while a small lexer tracks nesting, so only the top-level key counts. Prose or a code fence
//! before the JSON is skipped. The rest of the object is parsed once complete, by
//! [`AnswerExtractor::finish`].

use serde_json::Value;

use crate::api::Confidence;

/// The key whose string value is streamed to the user.
pub const TEXT_KEY: &str = "response_text";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before the first `{`.
    Prose,
    /// Inside the object, outside any string.
    Structure,
    /// Inside a string that is not the answer text.
    OtherString { escape: bool },
    /// Inside the answer text string.
    Text,
    /// The top-level object closed.
    Done,
}

/// How the model's JSON turned out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOutcome {
    /// A complete, valid object.
    Complete,
    /// An object started but did not parse; the message says why.
    Malformed(String),
    /// No object at all: the model answered in prose.
    Missing,
}

/// One query a model asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PlannedQuery {
    pub sql: String,
    #[serde(default)]
    pub purpose: String,
}

/// What a finished answer held.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The answer text; `None` when missing or blank.
    pub response_text: Option<String>,
    pub chart_config: Option<Value>,
    pub confidence: Option<Confidence>,
    /// Queries the model asked to run before answering (the plan's query reply).
    pub queries: Vec<PlannedQuery>,
    pub json: JsonOutcome,
    /// Everything the model sent.
    pub raw: String,
}

impl Extracted {
    /// The model's text without the JSON or code fences, for when it answered in prose.
    pub fn prose(&self) -> Option<String> {
        let t = self.raw.trim();
        let t = t
            .strip_prefix("```json")
            .or_else(|| t.strip_prefix("```"))
            .unwrap_or(t);
        let t = t.strip_suffix("```").unwrap_or(t).trim();
        (!t.is_empty() && !t.starts_with('{')).then(|| t.to_owned())
    }
}

/// Streaming extractor; feed it the model's text deltas.
#[derive(Debug)]
pub struct AnswerExtractor {
    raw: String,
    mode: Mode,
    depth: u32,
    object_start: Option<usize>,
    object_end: Option<usize>,
    /// At depth 1, the next string is a key.
    expect_key: bool,
    /// The key being read, when the current string is a top-level key.
    key: Option<String>,
    /// The last complete top-level key.
    last_key: Option<String>,
    /// The key whose value comes next (after `:`).
    value_for: Option<String>,
    text_seen: bool,
    text: String,
    /// An escape inside the answer text not yet complete (`\`, `\u12`…).
    pending: String,
    high_surrogate: Option<u16>,
}

impl Default for AnswerExtractor {
    fn default() -> Self {
        Self {
            raw: String::new(),
            mode: Mode::Prose,
            depth: 0,
            object_start: None,
            object_end: None,
            expect_key: false,
            key: None,
            last_key: None,
            value_for: None,
            text_seen: false,
            text: String::new(),
            pending: String::new(),
            high_surrogate: None,
        }
    }
}

impl AnswerExtractor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer text decoded so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Feeds a delta; returns the newly decoded answer text (often empty).
    pub fn push(&mut self, delta: &str) -> String {
        let start = self.raw.len();
        self.raw.push_str(delta);
        let mut out = String::new();
        for (offset, c) in delta.char_indices() {
            let at = start + offset;
            match self.mode {
                Mode::Prose => {
                    if c == '{' {
                        self.object_start = Some(at);
                        self.depth = 1;
                        self.expect_key = true;
                        self.mode = Mode::Structure;
                    }
                }
                Mode::Structure => self.structure(c, at),
                Mode::OtherString { escape } => {
                    if escape {
                        self.mode = Mode::OtherString { escape: false };
                        if let Some(k) = &mut self.key {
                            k.push(c);
                        }
                    } else if c == '\\' {
                        self.mode = Mode::OtherString { escape: true };
                    } else if c == '"' {
                        self.mode = Mode::Structure;
                        if let Some(k) = self.key.take() {
                            self.last_key = Some(k);
                        }
                    } else if let Some(k) = &mut self.key {
                        k.push(c);
                    }
                }
                Mode::Text => self.text_char(c, &mut out),
                Mode::Done => {}
            }
        }
        self.text.push_str(&out);
        out
    }

    fn structure(&mut self, c: char, at: usize) {
        match c {
            '"' => {
                if self.depth == 1 && self.expect_key {
                    self.key = Some(String::new());
                    self.expect_key = false;
                    self.mode = Mode::OtherString { escape: false };
                } else if self.depth == 1 && self.value_for.as_deref() == Some(TEXT_KEY) && !self.text_seen {
                    self.value_for = None;
                    self.text_seen = true;
                    self.mode = Mode::Text;
                } else {
                    self.value_for = None;
                    self.mode = Mode::OtherString { escape: false };
                }
            }
            ':' if self.depth == 1 => self.value_for = self.last_key.take(),
            ',' if self.depth == 1 => {
                self.expect_key = true;
                self.value_for = None;
            }
            '{' | '[' => {
                self.depth += 1;
                self.value_for = None;
            }
            '}' | ']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.object_end = Some(at + 1);
                    self.mode = Mode::Done;
                }
            }
            c if c.is_whitespace() => {}
            _ => self.value_for = None, // a number, `null`, `true`…: not the text
        }
    }

    /// Decodes one character of the answer string, holding incomplete escapes.
    fn text_char(&mut self, c: char, out: &mut String) {
        if self.pending.is_empty() {
            match c {
                '\\' => self.pending.push(c),
                '"' => {
                    self.flush_surrogate(out);
                    self.mode = Mode::Structure;
                }
                _ => {
                    self.flush_surrogate(out);
                    out.push(c);
                }
            }
            return;
        }
        self.pending.push(c);
        if self.pending.len() == 2 {
            let simple = match c {
                'n' => Some('\n'),
                't' => Some('\t'),
                'r' => Some('\r'),
                'b' => Some('\u{8}'),
                'f' => Some('\u{c}'),
                '/' => Some('/'),
                '\\' => Some('\\'),
                '"' => Some('"'),
                'u' => None,
                other => Some(other), // invalid escape: keep the character
            };
            if let Some(ch) = simple {
                self.pending.clear();
                self.flush_surrogate(out);
                out.push(ch);
            }
            return;
        }
        if self.pending.len() < 6 {
            return;
        }
        let code = u16::from_str_radix(&self.pending[2..6], 16).unwrap_or(0xFFFD);
        self.pending.clear();
        match code {
            0xD800..=0xDBFF => {
                self.flush_surrogate(out);
                self.high_surrogate = Some(code);
            }
            0xDC00..=0xDFFF => match self.high_surrogate.take() {
                Some(high) => out.extend(char::decode_utf16([high, code]).map(|r| r.unwrap_or('\u{FFFD}'))),
                None => out.push('\u{FFFD}'),
            },
            _ => {
                self.flush_surrogate(out);
                out.push(char::from_u32(u32::from(code)).unwrap_or('\u{FFFD}'));
            }
        }
    }

    /// A high surrogate not followed by a low one is not a character.
    fn flush_surrogate(&mut self, out: &mut String) {
        if self.high_surrogate.take().is_some() {
            out.push('\u{FFFD}');
        }
    }

    /// Ends the answer and parses the complete object.
    pub fn finish(self) -> Extracted {
        let blank_to_none = |s: String| (!s.trim().is_empty()).then_some(s);
        let (Some(start), Some(end)) = (self.object_start, self.object_end) else {
            let json = if self.object_start.is_some() {
                JsonOutcome::Malformed("the JSON object never closed".into())
            } else {
                JsonOutcome::Missing
            };
            return Extracted {
                response_text: blank_to_none(self.text),
                chart_config: None,
                confidence: None,
                queries: Vec::new(),
                json,
                raw: self.raw,
            };
        };
        let parsed = serde_json::from_str::<Value>(&self.raw[start..end]).map_err(|e| e.to_string());
        match parsed {
            Ok(Value::Object(mut obj)) => {
                let text = match obj.remove(TEXT_KEY) {
                    Some(Value::String(s)) => blank_to_none(s),
                    _ => None,
                };
                Extracted {
                    response_text: text,
                    chart_config: obj.remove("chart_config").filter(|v| !v.is_null()),
                    confidence: obj
                        .remove("confidence")
                        .and_then(|v| serde_json::from_value(v).ok()),
                    queries: obj
                        .remove("queries")
                        .and_then(|v| serde_json::from_value::<Vec<PlannedQuery>>(v).ok())
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|q| !q.sql.trim().is_empty())
                        .collect(),
                    json: JsonOutcome::Complete,
                    raw: self.raw,
                }
            }
            // A span from `{` to its matching `}` that parses is always an object, so this is a parse error.
            other => Extracted {
                response_text: blank_to_none(self.text),
                chart_config: None,
                confidence: None,
                queries: Vec::new(),
                json: JsonOutcome::Malformed(other.err().unwrap_or_else(|| "not a JSON object".into())),
                raw: self.raw,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(chunks: &[&str]) -> (String, Extracted) {
        let mut x = AnswerExtractor::new();
        let streamed: String = chunks.iter().map(|c| x.push(c)).collect();
        (streamed, x.finish())
    }

    #[test]
    fn a_query_reply_streams_no_text_and_yields_its_queries() {
        let (streamed, e) = run(&[
            r#"{"queries": [{"sql": "SELECT COUNT(*) FROM data", "purpose": "rows"}, "#,
            r#"{"sql": "  "}, {"sql": "SELECT 1 FROM data"}]}"#,
        ]);
        assert_eq!(streamed, "");
        assert_eq!(e.response_text, None);
        assert_eq!(
            e.queries,
            vec![
                PlannedQuery {
                    sql: "SELECT COUNT(*) FROM data".into(),
                    purpose: "rows".into()
                },
                PlannedQuery {
                    sql: "SELECT 1 FROM data".into(),
                    purpose: String::new()
                }
            ]
        );
    }

    #[test]
    fn text_streams_before_the_object_closes() {
        let mut x = AnswerExtractor::new();
        assert_eq!(x.push(r#"{"response_text": "Reve"#), "Reve");
        assert_eq!(x.push(r#"nue is **up**", "confid"#), "nue is **up**");
        assert_eq!(x.push(r#"ence": "high", "chart_config": null}"#), "");
        let e = x.finish();
        assert_eq!(e.response_text.as_deref(), Some("Revenue is **up**"));
        assert_eq!(e.confidence, Some(Confidence::High));
        assert_eq!(e.json, JsonOutcome::Complete);
    }

    #[test]
    fn escapes_and_surrogate_pairs_decode_even_when_split() {
        let json = r#"{"response_text":"a \"q\"\n\\ \u00e9 \ud83d\ude00 \/ tab\t"}"#;
        let expected = "a \"q\"\n\\ é 😀 / tab\t";
        for split in 0..json.len() {
            if !json.is_char_boundary(split) {
                continue;
            }
            let (streamed, e) = run(&[&json[..split], &json[split..]]);
            assert_eq!(streamed, expected, "split at {split}");
            assert_eq!(e.response_text.as_deref(), Some(expected));
        }
    }

    #[test]
    fn prose_and_code_fences_around_the_json_are_skipped() {
        let (streamed, e) = run(&[
            "Sure! Here is the answer:\n```json\n{\"confidence\": \"low\", \"response_text\": \"42\"}\n```",
        ]);
        assert_eq!(streamed, "42");
        assert_eq!(e.confidence, Some(Confidence::Low));
    }

    #[test]
    fn only_the_top_level_key_counts() {
        let (streamed, e) = run(&[
            r#"{"chart_config": {"title": "response_text", "response_text": "nested"}, "response_text": "top"}"#,
        ]);
        assert_eq!(streamed, "top");
        assert_eq!(e.chart_config.unwrap()["title"], "response_text");
    }

    #[test]
    fn empty_or_missing_text_is_none() {
        assert_eq!(
            run(&[r#"{"response_text": "", "confidence": "high"}"#])
                .1
                .response_text,
            None
        );
        assert_eq!(run(&[r#"{"response_text": "   "}"#]).1.response_text, None);
        assert_eq!(run(&[r#"{"confidence": "high"}"#]).1.response_text, None);
        assert_eq!(run(&[r#"{"response_text": null}"#]).1.response_text, None);
    }

    #[test]
    fn malformed_json_keeps_the_streamed_text() {
        let (_, e) = run(&[r#"{"response_text": "half an answer", "confidence": hi"#]);
        assert!(matches!(e.json, JsonOutcome::Malformed(_)));
        assert_eq!(e.response_text.as_deref(), Some("half an answer"));
        let (_, e) = run(&[r#"{"response_text": "x", "confidence": oops}"#]);
        assert!(matches!(e.json, JsonOutcome::Malformed(_)));
    }

    #[test]
    fn a_prose_answer_is_recognised() {
        let (streamed, e) = run(&["The total is 12."]);
        assert_eq!(streamed, "");
        assert_eq!(e.json, JsonOutcome::Missing);
        assert_eq!(e.prose().as_deref(), Some("The total is 12."));
    }

    proptest! {
        #[test]
        fn any_chunking_of_any_text_round_trips(text in "\\PC{0,80}", cuts in proptest::collection::vec(0usize..200, 0..10)) {
            let json = serde_json::json!({"confidence": "medium", "response_text": text, "chart_config": null}).to_string();
            let chunks = crate::test_support::split_str(&json, &cuts);
            let (streamed, e) = run(&chunks);
            prop_assert_eq!(&streamed, &text);
            prop_assert_eq!(e.json, JsonOutcome::Complete);
        }
    }
}
