//! Server-sent events framing, both ways.
//!
//! [`SseParser`] follows the WHATWG event-stream rules: lines end in LF, CRLF or CR; `:` starts a comment;
//! `data:` lines of one event are joined with `\n`; a blank line dispatches. It buffers bytes, so chunk
//! boundaries can fall anywhere — between CR and LF, or inside a multi-byte UTF-8 character.
//!
//! Everything it reads comes from a provider, so it is bounded: each byte is scanned once however the bytes
//! are chunked, and a line or an event longer than [`MAX_EVENT_BYTES`] ends the stream as [`Overflow`].

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

/// The longest line, and the most `data` one event may carry. Provider events are a few hundred bytes;
/// a whole answer of `max_tokens` fits many times over.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// A line or an event went past [`MAX_EVENT_BYTES`]: the stream is not one a provider sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stream sent a line or event of over {MAX_EVENT_BYTES} bytes")]
pub struct Overflow;

/// Incremental event-stream parser.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// How much of `buf` is already known to hold no line ending.
    scanned: usize,
    overflowed: bool,
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

    /// Feeds bytes and returns the events they completed; after an [`Overflow`] every call returns it.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, Overflow> {
        if self.overflowed {
            return Err(Overflow);
        }
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
        let mut i = self.scanned;
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
        self.scanned = self.buf.len();
        let data = self.data.as_ref().map_or(0, String::len);
        if self.buf.len().max(data) > MAX_EVENT_BYTES {
            self.overflowed = true;
            self.buf = Vec::new();
            self.data = None;
            return Err(Overflow);
        }
        Ok(out)
    }

    /// Ends the stream: an event not followed by a blank line is dispatched anyway, since servers often
    /// close right after their last `data:` line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.overflowed {
            return None;
        }
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
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| p.push(c).unwrap()).collect();
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

    #[test]
    fn a_line_longer_than_the_bound_ends_the_stream_without_buffering_it() {
        let mut p = SseParser::new();
        let piece = vec![b'x'; 64 * 1024];
        let mut fed = 0;
        let err = loop {
            match p.push(&piece) {
                Ok(evs) => assert!(evs.is_empty()),
                Err(e) => break e,
            }
            fed += piece.len();
            assert!(fed <= MAX_EVENT_BYTES, "still buffering after {fed} bytes");
        };
        assert_eq!(err, Overflow);
        assert_eq!(
            p.push(b"\n\ndata: late\n\n"),
            Err(Overflow),
            "nothing after an overflow"
        );
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn an_event_of_many_data_lines_is_bounded_too() {
        let mut p = SseParser::new();
        let line = format!("data: {}\n", "y".repeat(1000));
        let result = (0..2000).try_for_each(|_| p.push(line.as_bytes()).map(drop));
        assert_eq!(result, Err(Overflow));
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
