//! A streaming CSV reader (RFC 4180 and the variations people actually upload).
//!
//! Bytes go in as they arrive; complete records come out, so memory stays bounded by one record whatever
//! the file's size. It detects the delimiter (`,` `;` tab `|`) from the header line, strips a UTF-8 BOM,
//! accepts LF, CRLF and CR line endings, quoted fields with embedded delimiters, quotes and newlines, and
//! reads empty unquoted fields as NULL. Chunk boundaries may fall anywhere, inside a quote pair or a UTF-8
//! character. Every error names the line where the input went wrong and has a stable code.
//!
//! Not `csv-core`: it reads a quote left open as a field holding the rest of the file, gives `""` and an
//! empty field the same bytes, and counts lines by LF only; the tests below hold all three (README,
//! *Hand-written, or a library*).

/// Upload limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_rows: usize,
    pub max_columns: usize,
    pub max_field_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 50 << 20,
            max_rows: 1_000_000,
            max_columns: 100,
            max_field_bytes: 64 << 10,
        }
    }
}

/// Why the input cannot be read as a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header but no rows")]
    NoRows,
    #[error("line {line}: a quoted field is never closed")]
    UnterminatedQuote { line: usize },
    #[error("line {line}: expected {expected} fields like the header, found {found}")]
    Ragged {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: the text is not valid UTF-8")]
    InvalidUtf8 { line: usize },
    #[error("line {line}: a field is longer than {limit} bytes")]
    FieldTooLong { line: usize, limit: usize },
    #[error("more than {limit} rows")]
    TooManyRows { limit: usize },
    #[error("{found} columns; at most {limit} are allowed")]
    TooManyColumns { found: usize, limit: usize },
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("line 1: {reason}")]
    BadHeader { reason: String },
}

impl CsvError {
    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            CsvError::Empty => "CSV_EMPTY",
            CsvError::NoRows => "CSV_NO_ROWS",
            CsvError::UnterminatedQuote { .. } => "CSV_UNTERMINATED_QUOTE",
            CsvError::Ragged { .. } => "CSV_RAGGED_ROW",
            CsvError::InvalidUtf8 { .. } => "CSV_INVALID_UTF8",
            CsvError::FieldTooLong { .. } => "CSV_FIELD_TOO_LONG",
            CsvError::TooManyRows { .. } => "CSV_TOO_MANY_ROWS",
            CsvError::TooManyColumns { .. } => "CSV_TOO_MANY_COLUMNS",
            CsvError::TooLarge { .. } => "CSV_TOO_LARGE",
            CsvError::BadHeader { .. } => "CSV_BAD_HEADER",
        }
    }

    /// The line the error is on, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            CsvError::UnterminatedQuote { line }
            | CsvError::Ragged { line, .. }
            | CsvError::InvalidUtf8 { line }
            | CsvError::FieldTooLong { line, .. } => Some(*line),
            CsvError::BadHeader { .. } => Some(1),
            _ => None,
        }
    }
}

/// One data row: `None` is NULL.
pub type Record = Vec<Option<String>>;

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Streaming reader; see the module docs.
#[derive(Debug)]
pub struct CsvReader {
    limits: Limits,
    delimiter: Option<u8>,
    /// Bytes held until the header line is complete and the delimiter known.
    head: Vec<u8>,
    bytes: u64,
    header: Option<Vec<String>>,
    rows: usize,
    field: Vec<u8>,
    record: Record,
    in_quotes: bool,
    quoted: bool,
    after_quote: bool,
    after_cr: bool,
    line: usize,
    record_line: usize,
    quote_line: usize,
}

impl CsvReader {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            delimiter: None,
            head: Vec::new(),
            bytes: 0,
            header: None,
            rows: 0,
            field: Vec::new(),
            record: Vec::new(),
            in_quotes: false,
            quoted: false,
            after_quote: false,
            after_cr: false,
            line: 1,
            record_line: 1,
            quote_line: 1,
        }
    }

    /// The header's column names, once read.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    /// The detected delimiter, once known.
    pub fn delimiter(&self) -> Option<u8> {
        self.delimiter
    }

    /// Feeds bytes; returns the data records they completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Record>, CsvError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.limits.max_bytes {
            return Err(CsvError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        let mut out = Vec::new();
        if self.delimiter.is_none() {
            self.head.extend_from_slice(chunk);
            match header_line_end(&self.head) {
                Some(end) => {
                    let head = std::mem::take(&mut self.head);
                    self.start(&head[..end]);
                    self.feed(&head, &mut out)?;
                }
                None => return Ok(out),
            }
        } else {
            self.feed(chunk, &mut out)?;
        }
        Ok(out)
    }

    /// Ends the input; returns the last records. Fails if the file had no header or no rows.
    pub fn finish(&mut self) -> Result<Vec<Record>, CsvError> {
        let mut out = Vec::new();
        if self.delimiter.is_none() {
            let head = std::mem::take(&mut self.head);
            self.start(&head);
            self.feed(&head, &mut out)?;
        }
        if self.in_quotes {
            return Err(CsvError::UnterminatedQuote {
                line: self.quote_line,
            });
        }
        if !self.field.is_empty() || !self.record.is_empty() || self.quoted {
            self.end_field()?;
            self.end_record(&mut out)?;
        }
        match (&self.header, self.rows) {
            (None, _) => Err(CsvError::Empty),
            (Some(_), 0) => Err(CsvError::NoRows),
            _ => Ok(out),
        }
    }

    /// Picks the delimiter from the header line: the candidate seen most often outside quotes.
    fn start(&mut self, header_line: &[u8]) {
        let mut counts = [0usize; 4];
        let mut quoted = false;
        for &b in header_line {
            if b == b'"' {
                quoted = !quoted;
            } else if !quoted {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
        }
        let best = (0..4)
            .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
            .unwrap_or(0);
        self.delimiter = Some(CANDIDATES[best]);
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Record>) -> Result<(), CsvError> {
        let delimiter = self.delimiter.unwrap_or(b',');
        let mut bytes = bytes;
        if self.line == 1 && self.record.is_empty() && self.field.is_empty() && !self.quoted {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        for &b in bytes {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue; // the LF of a CRLF: the record already ended at the CR
            }
            if self.in_quotes {
                match b {
                    b'"' => {
                        self.in_quotes = false;
                        self.after_quote = true;
                    }
                    b'\n' => {
                        self.line += 1;
                        self.push_byte(b)?;
                    }
                    _ => self.push_byte(b)?,
                }
                continue;
            }
            if std::mem::take(&mut self.after_quote) && b == b'"' {
                self.in_quotes = true; // `""` inside quotes: a literal quote
                self.push_byte(b'"')?;
                continue;
            }
            match b {
                b'"' if self.field.is_empty() && !self.quoted => {
                    self.in_quotes = true;
                    self.quoted = true;
                    self.quote_line = self.line;
                }
                b'\r' | b'\n' => {
                    self.after_cr = b == b'\r';
                    self.end_field()?;
                    self.end_record(out)?;
                    self.line += 1;
                    self.record_line = self.line;
                }
                b if b == delimiter => self.end_field()?,
                _ => self.push_byte(b)?,
            }
        }
        Ok(())
    }

    fn push_byte(&mut self, b: u8) -> Result<(), CsvError> {
        if self.field.len() >= self.limits.max_field_bytes {
            return Err(CsvError::FieldTooLong {
                line: self.line,
                limit: self.limits.max_field_bytes,
            });
        }
        self.field.push(b);
        Ok(())
    }

    fn end_field(&mut self) -> Result<(), CsvError> {
        let bytes = std::mem::take(&mut self.field);
        let quoted = std::mem::take(&mut self.quoted);
        let value = if bytes.is_empty() && !quoted {
            None
        } else {
            Some(String::from_utf8(bytes).map_err(|_| CsvError::InvalidUtf8 { line: self.line })?)
        };
        self.record.push(value);
        Ok(())
    }

    fn end_record(&mut self, out: &mut Vec<Record>) -> Result<(), CsvError> {
        let record = std::mem::take(&mut self.record);
        if record.len() == 1 && record[0].is_none() {
            return Ok(()); // a blank line
        }
        let Some(header) = &self.header else {
            self.header = Some(check_header(record, self.limits.max_columns)?);
            return Ok(());
        };
        if record.len() != header.len() {
            return Err(CsvError::Ragged {
                line: self.record_line,
                expected: header.len(),
                found: record.len(),
            });
        }
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(CsvError::TooManyRows {
                limit: self.limits.max_rows,
            });
        }
        out.push(record);
        Ok(())
    }
}

/// Where the first line ends (outside quotes), if it has ended.
fn header_line_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    bytes.iter().position(|&b| {
        if b == b'"' {
            quoted = !quoted;
        }
        !quoted && (b == b'\n' || b == b'\r')
    })
}

/// The longest column name: names go into SQL, prompts and the page, and a real header's are short.
pub const MAX_NAME_CHARS: usize = 256;

fn check_header(record: Record, max_columns: usize) -> Result<Vec<String>, CsvError> {
    if record.len() > max_columns {
        return Err(CsvError::TooManyColumns {
            found: record.len(),
            limit: max_columns,
        });
    }
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for (i, name) in record.into_iter().enumerate() {
        let name = name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| CsvError::BadHeader {
                reason: format!("column {} has no name", i + 1),
            })?;
        if name.chars().any(char::is_control) {
            return Err(CsvError::BadHeader {
                reason: format!(
                    "the name of column {} holds a control character (a line break, tab or NUL)",
                    i + 1
                ),
            });
        }
        if name.chars().nth(MAX_NAME_CHARS).is_some() {
            return Err(CsvError::BadHeader {
                reason: format!("the name of column {} is over {MAX_NAME_CHARS} characters", i + 1),
            });
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            return Err(CsvError::BadHeader {
                reason: format!("the column name `{name}` appears twice"),
            });
        }
        names.push(name);
    }
    Ok(names)
}

/// Reads a whole text at once: the header and every record.
pub fn read_all(text: &[u8], limits: Limits) -> Result<(Vec<String>, Vec<Record>), CsvError> {
    let mut reader = CsvReader::new(limits);
    let mut records = reader.push(text)?;
    records.extend(reader.finish()?);
    let header = reader.header.take().ok_or(CsvError::Empty)?;
    Ok((header, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(text: &[u8]) -> Result<(Vec<String>, Vec<Record>), CsvError> {
        read_all(text, Limits::default())
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_newlines() {
        let (h, rows) = read(b"\xEF\xBB\xBFa,b\r\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\n").unwrap();
        assert_eq!(h, vec!["a", "b"]);
        assert_eq!(rows, vec![vec![s("x, y"), s("say \"hi\"\nthere")]]);
    }

    #[test]
    fn empty_fields_are_null_and_blank_lines_skipped() {
        let (_, rows) = read(b"a,b\n,1\n\n2,\n\"\",3").unwrap();
        assert_eq!(
            rows,
            vec![vec![None, s("1")], vec![s("2"), None], vec![s(""), s("3")]]
        );
    }

    #[test]
    fn column_names_with_control_characters_or_of_64_kb_are_refused_with_the_reason() {
        for (header, why) in [
            (
                "a,\"b\nc\"\n1,2\n".to_owned(),
                "column 2 holds a control character",
            ),
            (
                "a,\"b\0c\"\n1,2\n".to_owned(),
                "column 2 holds a control character",
            ),
            ("a\tb,c\n1,2\n".to_owned(), "column 1 holds a control character"),
            (
                format!("a,{}\n1,2\n", "n".repeat(64 * 1024)),
                "column 2 is over 256 characters",
            ),
        ] {
            let err = read(header.as_bytes()).unwrap_err();
            assert_eq!(
                (err.code(), err.line()),
                ("CSV_BAD_HEADER", Some(1)),
                "{header:.40}"
            );
            assert!(err.to_string().contains(why), "{err}");
        }
        let ok = format!("{},b\n1,2\n", "n".repeat(MAX_NAME_CHARS));
        assert!(read(ok.as_bytes()).is_ok());
    }

    #[test]
    fn the_delimiter_is_detected_from_the_header() {
        for (text, d) in [
            (&b"a;b;c\n1;2,5;3\n"[..], b';'),
            (b"a\tb\n1\t2\n", b'\t'),
            (b"a|b\n1|2\n", b'|'),
            (b"\"x,y\";z\n1;2\n", b';'),
        ] {
            let mut r = CsvReader::new(Limits::default());
            r.push(text).unwrap();
            r.finish().unwrap();
            assert_eq!(r.delimiter(), Some(d), "{}", String::from_utf8_lossy(text));
        }
        assert_eq!(read(b"a;b\n1;2,5\n").unwrap().1, vec![vec![s("1"), s("2,5")]]);
    }

    #[test]
    fn bad_input_is_refused_with_its_line_and_code() {
        let cases: Vec<(&[u8], &str, Option<usize>)> = vec![
            (b"", "CSV_EMPTY", None),
            (b"a,b\n", "CSV_NO_ROWS", None),
            (b"a,b\n1,2\n3\n", "CSV_RAGGED_ROW", Some(3)),
            (b"a\n\"open\n", "CSV_UNTERMINATED_QUOTE", Some(2)),
            (b"a,b\n1,\xff\xfe\n", "CSV_INVALID_UTF8", Some(2)),
            (b"a,,c\n1,2,3\n", "CSV_BAD_HEADER", Some(1)),
            (b"a,A\n1,2\n", "CSV_BAD_HEADER", Some(1)),
            (b"a\r1\r\"x\"\"y\r", "CSV_UNTERMINATED_QUOTE", Some(3)),
        ];
        for (text, code, line) in cases {
            let err = read(text).unwrap_err();
            assert_eq!(
                (err.code(), err.line()),
                (code, line),
                "{} → {err}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_bytes: 1000,
            max_rows: 2,
            max_columns: 2,
            max_field_bytes: 5,
        };
        assert_eq!(
            read_all(b"a\n1\n2\n3\n", limits).unwrap_err().code(),
            "CSV_TOO_MANY_ROWS"
        );
        assert_eq!(
            read_all(b"a,b,c\n1,2,3\n", limits).unwrap_err().code(),
            "CSV_TOO_MANY_COLUMNS"
        );
        assert_eq!(
            read_all(b"a\n123456\n", limits).unwrap_err(),
            CsvError::FieldTooLong { line: 2, limit: 5 }
        );
        assert_eq!(
            read_all(&[b'a'; 1001], limits).unwrap_err().code(),
            "CSV_TOO_LARGE"
        );
    }

    proptest! {
        #[test]
        fn any_chunking_reads_the_same_records(
            rows in proptest::collection::vec(proptest::collection::vec("[a-zé😀 ,;\"\\n]{0,8}", 3), 1..6),
            cuts in proptest::collection::vec(0usize..400, 0..12),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let quote = |f: &String| format!("\"{}\"", f.replace('"', "\"\""));
            let mut text = format!("x,y,z{eol}");
            for r in &rows {
                text.push_str(&r.iter().map(quote).collect::<Vec<_>>().join(","));
                text.push_str(eol);
            }
            let mut reader = CsvReader::new(Limits::default());
            let mut got = Vec::new();
            for chunk in crate::test_support::split_bytes(text.as_bytes(), &cuts) {
                got.extend(reader.push(chunk).unwrap());
            }
            got.extend(reader.finish().unwrap());
            let want: Vec<Record> = rows.iter().map(|r| r.iter().map(|f| Some(f.clone())).collect()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
