//! Server-sent events framing, both ways.
//!
//! [`SseParser`] follows the WHATWG event-stream rules: lines end in LF, CRLF or CR; `:` starts a comment;
//! `data:` lines of one event are joined with `\n`; a blank line dispatches. It buffers bytes, so chunk
//! boundaries can fall anywhere — between CR and LF, or inside a multi-byte UTF-8 character.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic names its events; OpenAI does not).
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// Frames one payload as a single `data:` event. JSON payloads never contain raw newlines, but any that
/// sneak in are split across `data:` lines so the frame stays well formed.
pub fn encode_data(payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + 8);
    for line in payload.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Incremental event-stream parser.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// A CR ended the last chunk: a LF starting the next one belongs to it.
    skip_lf: bool,
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and returns the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut bytes = bytes;
        if self.skip_lf {
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
            if !bytes.is_empty() {
                self.skip_lf = false;
            }
        }
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        let mut i = 0;
        while i < self.buf.len() {
            match self.buf[i] {
                b'\n' => {
                    self.line_at(start, i, &mut out);
                    i += 1;
                    start = i;
                }
                b'\r' => {
                    self.line_at(start, i, &mut out);
                    i += 1;
                    if i == self.buf.len() {
                        self.skip_lf = true;
                    } else if self.buf[i] == b'\n' {
                        i += 1;
                    }
                    start = i;
                }
                _ => i += 1,
            }
        }
        self.buf.drain(..start);
        out
    }

    /// Ends the stream: an event not followed by a blank line is dispatched anyway, since servers often
    /// close right after their last `data:` line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.field(&String::from_utf8_lossy(&line));
        }
        self.dispatch()
    }

    fn line_at(&mut self, start: usize, end: usize, out: &mut Vec<SseEvent>) {
        if start == end {
            out.extend(self.dispatch());
            return;
        }
        let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
        self.field(&line);
    }

    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return; // comment, e.g. `: OPENROUTER PROCESSING`
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match name {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            "id" => self.id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields are ignored
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let id = self.id.take();
        self.data.take().map(|data| SseEvent { event, data, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| p.push(c)).collect();
        out.extend(p.finish());
        out
    }

    fn data(d: &str) -> SseEvent {
        SseEvent {
            data: d.into(),
            ..Default::default()
        }
    }

    #[test]
    fn events_split_on_blank_lines_with_any_line_ending() {
        let evs = parse_all(&[b"data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\n"]);
        assert_eq!(evs, vec![data("a"), data("b"), data("c"), data("d")]);
    }

    #[test]
    fn comments_are_ignored_and_multiline_data_joined() {
        let evs = parse_all(&[b": OPENROUTER PROCESSING\n\nevent: ping\ndata: x\ndata:y\n\n"]);
        assert_eq!(
            evs,
            vec![SseEvent {
                event: Some("ping".into()),
                data: "x\ny".into(),
                id: None
            }]
        );
    }

    #[test]
    fn a_crlf_split_across_chunks_is_one_line_ending() {
        let evs = parse_all(&[b"data: a\r", b"\n\r", b"\ndata: b\n\n"]);
        assert_eq!(evs, vec![data("a"), data("b")]);
    }

    #[test]
    fn a_trailing_event_without_blank_line_is_still_delivered() {
        assert_eq!(parse_all(&[b"data: [DONE]"]), vec![data("[DONE]")]);
    }

    #[test]
    fn encoded_events_parse_back() {
        let frame = encode_data("{\"a\":\"é\"}");
        assert_eq!(frame, "data: {\"a\":\"é\"}\n\n");
        assert_eq!(parse_all(&[frame.as_bytes()]), vec![data("{\"a\":\"é\"}")]);
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_events(
            payloads in proptest::collection::vec("[a-zé€😀 {}\":,]{0,40}", 1..8),
            cuts in proptest::collection::vec(0usize..400, 0..20),
        ) {
            let stream: String = payloads.iter().map(|p| encode_data(p)).collect();
            let chunks = crate::test_support::split_bytes(stream.as_bytes(), &cuts);
            let expected: Vec<SseEvent> = payloads.iter().map(|p| data(p)).collect();
            prop_assert_eq!(parse_all(&chunks), expected);
        }
    }
}
