//! A small RFC 4180 CSV reader: quoted fields with embedded delimiters, quotes and newlines; LF or CRLF;
//! an optional UTF-8 BOM. Errors carry the line where the input went wrong.

/// Why the input is not valid CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: unterminated quoted field")]
    UnterminatedQuote { line: usize },
    #[error("line {line}: expected {expected} fields, found {found}")]
    Ragged {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("the file is empty")]
    Empty,
}

/// Parses the whole text into records; the first record is the header. Every record must have as many
/// fields as the header.
pub fn parse(text: &str, delimiter: char) -> Result<Vec<Vec<String>>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut record_line = 1;
    let mut in_quotes = false;
    let mut quote_line = 0;
    let mut field_started = false;

    let finish_record = |record: &mut Vec<String>, records: &mut Vec<Vec<String>>, at: usize| {
        let rec = std::mem::take(record);
        if let Some(header) = records.first() {
            if rec.len() != header.len() {
                return Err(CsvError::Ragged {
                    line: at,
                    expected: header.len(),
                    found: rec.len(),
                });
            }
        }
        records.push(rec);
        Ok(())
    };

    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                quote_line = line;
                field_started = true;
            }
            c if c == delimiter => {
                record.push(std::mem::take(&mut field));
                field_started = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if field_started || !field.is_empty() || !record.is_empty() {
                    record.push(std::mem::take(&mut field));
                    finish_record(&mut record, &mut records, record_line)?;
                }
                field_started = false;
                line += 1;
                record_line = line;
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if in_quotes {
        return Err(CsvError::UnterminatedQuote { line: quote_line });
    }
    if field_started || !field.is_empty() || !record.is_empty() {
        record.push(field);
        finish_record(&mut record, &mut records, record_line)?;
    }
    if records.is_empty() {
        return Err(CsvError::Empty);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_newlines() {
        let recs = parse("\u{feff}a,b\r\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\n", ',').unwrap();
        assert_eq!(recs, vec![vec!["a", "b"], vec!["x, y", "say \"hi\"\nthere"]]);
    }

    #[test]
    fn empty_fields_and_blank_lines() {
        let recs = parse("a,b\n,1\n\n2,\n", ',').unwrap();
        assert_eq!(recs, vec![vec!["a", "b"], vec!["", "1"], vec!["2", ""]]);
    }

    #[test]
    fn ragged_rows_report_their_line() {
        assert_eq!(
            parse("a,b\n1,2\n3\n", ',').unwrap_err(),
            CsvError::Ragged {
                line: 3,
                expected: 2,
                found: 1
            }
        );
        assert_eq!(
            parse("a\n\"oops\n", ',').unwrap_err(),
            CsvError::UnterminatedQuote { line: 2 }
        );
        assert_eq!(parse("", ',').unwrap_err(), CsvError::Empty);
    }
}
