//! Streaming `multipart/form-data` (RFC 7578): the file part's bytes come out as the body streams in, so an
//! upload sent from an HTML form is read with bounded memory like a raw one. Small text fields before the
//! file (`name`, `privacy`) are kept; the file is the part named `file`, or else the first part with a
//! filename.

/// Longest header block of one part.
const MAX_HEADERS: usize = 8 * 1024;
/// Longest text field.
const MAX_FIELD: usize = 4 * 1024;
/// Most parts before the file: a form has a handful (`name`, `privacy`).
pub const MAX_PARTS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the multipart content type has no boundary")]
    NoBoundary,
    #[error("a multipart part's headers are malformed or too long")]
    BadHeaders,
    #[error("the form field `{0}` is longer than 4 KB")]
    FieldTooLong(String),
    #[error("the form has no file part")]
    NoFile,
    #[error("the form ended before its closing boundary")]
    Truncated,
    #[error("the form has more than {MAX_PARTS} parts before its file")]
    TooManyParts,
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary(content_type: &str) -> Option<Result<String, MultipartError>> {
    let mut parts = content_type.split(';');
    let mime = parts.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let b = parts
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70);
    Some(b.ok_or(MultipartError::NoBoundary))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    File,
    Field(String),
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: `--` ends the form, CRLF starts a part.
    AfterDelimiter,
    Headers,
    Body(Part),
    End,
}

/// Push the body's chunks; each push returns the file bytes it completed.
#[derive(Debug)]
pub struct MultipartReader {
    /// `\r\n--boundary`; the body is read as if it started with `\r\n`, so every delimiter looks alike.
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    state: State,
    fields: Vec<(String, String)>,
    field: Vec<u8>,
    file_name: Option<String>,
    file_seen: bool,
    parts: usize,
}

impl MultipartReader {
    pub fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            buf: b"\r\n".to_vec(),
            state: State::Preamble,
            fields: Vec::new(),
            field: Vec::new(),
            file_name: None,
            file_seen: false,
            parts: 0,
        }
    }

    /// Whether the file part has begun (its name is known, and fields before it are read).
    pub fn in_file(&self) -> bool {
        self.file_seen
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The uploaded file's name, as the browser sent it.
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, MultipartError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            let progressed = match self.state.clone() {
                State::Preamble => match find(&self.buf, &self.delimiter) {
                    Some(i) => {
                        self.buf.drain(..i + self.delimiter.len());
                        self.state = State::AfterDelimiter;
                        true
                    }
                    None => {
                        // Keep only what could still be the start of the delimiter.
                        let keep = self.delimiter.len().saturating_sub(1).min(self.buf.len());
                        self.buf.drain(..self.buf.len() - keep);
                        false
                    }
                },
                State::AfterDelimiter if self.buf.len() >= 2 => {
                    self.state = match &self.buf[..2] {
                        b"--" => State::End,
                        b"\r\n" => State::Headers,
                        _ => return Err(MultipartError::BadHeaders),
                    };
                    self.buf.drain(..2);
                    true
                }
                State::AfterDelimiter => false,
                State::Headers => match find(&self.buf, b"\r\n\r\n") {
                    Some(i) if i > MAX_HEADERS => return Err(MultipartError::BadHeaders),
                    Some(i) => {
                        let headers = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                        self.buf.drain(..i + 4);
                        let part = self.part(&headers)?;
                        self.state = State::Body(part);
                        true
                    }
                    None if self.buf.len() > MAX_HEADERS => return Err(MultipartError::BadHeaders),
                    None => false,
                },
                State::Body(part) => {
                    let (data_end, found) = match find(&self.buf, &self.delimiter) {
                        Some(i) => (i, true),
                        None => (self.buf.len().saturating_sub(self.delimiter.len() - 1), false),
                    };
                    let data: Vec<u8> = self.buf.drain(..data_end).collect();
                    match &part {
                        Part::File => out.extend(data),
                        Part::Field(name) => {
                            self.field.extend(data);
                            if self.field.len() > MAX_FIELD {
                                return Err(MultipartError::FieldTooLong(name.clone()));
                            }
                        }
                        Part::Skip => {}
                    }
                    if found {
                        self.buf.drain(..self.delimiter.len());
                        if let Part::Field(name) = part {
                            let value =
                                String::from_utf8_lossy(&std::mem::take(&mut self.field)).into_owned();
                            self.fields.push((name, value));
                        }
                        self.state = State::AfterDelimiter;
                    }
                    found
                }
                State::End => {
                    self.buf.clear();
                    false
                }
            };
            if !progressed {
                return Ok(out);
            }
        }
    }

    /// Ends the body: the form must have closed, with a file in it.
    pub fn finish(&self) -> Result<(), MultipartError> {
        match (&self.state, self.file_seen) {
            (State::End, true) => Ok(()),
            (State::End, false) => Err(MultipartError::NoFile),
            _ => Err(MultipartError::Truncated),
        }
    }

    fn part(&mut self, headers: &str) -> Result<Part, MultipartError> {
        self.parts += 1;
        if self.parts > MAX_PARTS && !self.file_seen {
            return Err(MultipartError::TooManyParts);
        }
        let disposition = headers
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
            .map(|(_, v)| v.to_owned())
            .ok_or(MultipartError::BadHeaders)?;
        let param = |key: &str| {
            disposition
                .split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        };
        let name = param("name").unwrap_or_default();
        let filename = param("filename");
        Ok(if !self.file_seen && (name == "file" || filename.is_some()) {
            self.file_seen = true;
            self.file_name = filename.filter(|f| !f.is_empty());
            Part::File
        } else if filename.is_none() && !self.file_seen {
            Part::Field(name)
        } else {
            Part::Skip
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::split_bytes;
    use proptest::prelude::*;

    const FORM: &[u8] = b"preamble\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"name\"\r\n\r\n\
Q3 sales\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"privacy\"\r\n\r\n\
true\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"sales.csv\"\r\nContent-Type: text/csv\r\n\r\n\
a,b\r\n1,\"--XyZ lookalike\"\r\n\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--XyZ--\r\nepilogue";

    fn read(chunks: &[&[u8]]) -> (Vec<u8>, MultipartReader) {
        let mut r = MultipartReader::new("XyZ");
        let mut file = Vec::new();
        for c in chunks {
            file.extend(r.push(c).unwrap());
        }
        (file, r)
    }

    #[test]
    fn the_file_part_comes_out_exactly_with_the_fields_before_it() {
        let (file, r) = read(&[FORM]);
        assert_eq!(file, b"a,b\r\n1,\"--XyZ lookalike\"\r\n");
        assert_eq!(r.field("name"), Some("Q3 sales"));
        assert_eq!(r.field("privacy"), Some("true"));
        assert_eq!(r.file_name(), Some("sales.csv"));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn a_truncated_or_fileless_form_is_refused() {
        let (_, r) = read(&[&FORM[..FORM.len() - 30]]);
        assert_eq!(r.finish(), Err(MultipartError::Truncated));
        let (_, r) = read(&[b"--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--XyZ--\r\n"]);
        assert_eq!(r.finish(), Err(MultipartError::NoFile));
        let mut r = MultipartReader::new("XyZ");
        let long = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{}",
            "x".repeat(5000)
        );
        assert_eq!(
            r.push(long.as_bytes()),
            Err(MultipartError::FieldTooLong("name".into()))
        );
    }

    #[test]
    fn part_headers_over_8_kb_are_refused_even_in_one_chunk() {
        let form = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nX-Pad: {}\r\n\r\na,b\r\n--XyZ--\r\n",
            "p".repeat(MAX_HEADERS)
        );
        assert_eq!(
            MultipartReader::new("XyZ").push(form.as_bytes()),
            Err(MultipartError::BadHeaders)
        );
    }

    #[test]
    fn forty_thousand_fields_before_the_file_are_refused() {
        let field = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
        let form = field.repeat(40_000) + "--XyZ--\r\n";
        let mut r = MultipartReader::new("XyZ");
        assert_eq!(r.push(form.as_bytes()), Err(MultipartError::TooManyParts));
        let (_, r) = read(&[field.repeat(MAX_PARTS - 3).as_bytes(), FORM]); // FORM has 3 parts to its file
        assert_eq!(r.finish(), Ok(()), "a form of up to {MAX_PARTS} parts is read");
    }

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----WebKitFormBoundaryA1"),
            Some(Ok("----WebKitFormBoundaryA1".into()))
        );
        assert_eq!(
            boundary("Multipart/Form-Data; boundary=\"q r\""),
            Some(Ok("q r".into()))
        );
        assert_eq!(
            boundary("multipart/form-data"),
            Some(Err(MultipartError::NoBoundary))
        );
        assert_eq!(boundary("text/csv"), None);
    }

    proptest! {
        #[test]
        fn any_split_of_the_body_gives_the_same_file(cuts in proptest::collection::vec(0usize..2000, 0..12)) {
            let chunks = split_bytes(FORM, &cuts);
            let (file, r) = read(&chunks);
            prop_assert_eq!(file, b"a,b\r\n1,\"--XyZ lookalike\"\r\n".to_vec());
            prop_assert_eq!(r.field("name"), Some("Q3 sales"));
            prop_assert_eq!(r.finish(), Ok(()));
        }
    }
}
