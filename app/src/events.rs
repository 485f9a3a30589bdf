//! The answer stream read event by event. An event the app cannot decode — a field it does not know the
//! shape of, a failure class newer than this app — is reported and skipped, never silently dropped: it is
//! logged, and if the answer then never completes the person is told an event could not be read rather
//! than that the connection closed.

use datasage_shared::api::{StreamEvent, StreamFrame};
use datasage_shared::sse::SseParser;

use crate::json::decode;

/// The most characters of an undecodable event quoted in the console.
const QUOTED_CHARS: usize = 200;

#[derive(Default)]
pub struct EventReader {
    parser: SseParser,
    ended: bool,
    /// Why each undecodable event could not be read, in arrival order.
    undecodable: Vec<String>,
}

impl EventReader {
    /// Feeds the next bytes of the body, handing every decoded event to `on_event` with its stream id
    /// (which an event written before the answer started may lack).
    pub fn push(
        &mut self,
        bytes: &[u8],
        on_event: &mut impl FnMut(StreamEvent, Option<String>),
    ) -> Result<(), String> {
        let events = self
            .parser
            .push(bytes)
            .map_err(|e| format!("the answer could not be read: {e}"))?;
        for ev in events {
            let read = decode::<StreamFrame>(&ev.data)
                .map(|f| (f.event, Some(f.stream_id)))
                .or_else(|_| decode::<StreamEvent>(&ev.data).map(|e| (e, None)));
            match read {
                Ok((event, stream_id)) => {
                    self.ended |= event.is_terminal();
                    on_event(event, stream_id);
                }
                Err(e) => {
                    let quoted: String = ev.data.chars().take(QUOTED_CHARS).collect();
                    web_sys::console::warn_1(
                        &format!("skipped an answer event the app cannot read ({e}): {quoted}").into(),
                    );
                    self.undecodable.push(e.to_string());
                }
            }
        }
        Ok(())
    }

    /// The body ended: fine if the answer completed (or failed with its own error event).
    pub fn finish(self) -> Result<(), String> {
        match (self.ended, self.undecodable.first()) {
            (true, _) => Ok(()),
            (false, Some(first)) => Err(format!(
                "the answer could not be read: {} event(s) were not understood (the first: {first}); \
                 reloading the page may help",
                self.undecodable.len()
            )),
            (false, None) => Err("the connection closed before the answer was complete".into()),
        }
    }

    /// How many events could not be decoded so far.
    #[cfg(test)]
    pub fn undecodable(&self) -> usize {
        self.undecodable.len()
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::*;

    wasm_bindgen_test_configure!(run_in_browser);

    const STATUS: &str = r#"data: {"type":"status","data":{"status":"querying","message":"Running SQL…"},"stream_id":"s","seq":1}"#;
    const NEW_CLASS: &str =
        r#"data: {"type":"status","data":{"status":"dreaming","message":"?"},"stream_id":"s","seq":2}"#;
    const ERROR: &str =
        r#"data: {"type":"error","data":{"code":"CANCELLED","message":"stopped"},"stream_id":"s","seq":3}"#;

    fn read(lines: &[&str]) -> (Vec<StreamEvent>, EventReader) {
        let mut reader = EventReader::default();
        let mut seen = Vec::new();
        for line in lines {
            let body = format!("{line}\n\n");
            reader.push(body.as_bytes(), &mut |ev, _| seen.push(ev)).unwrap();
        }
        (seen, reader)
    }

    #[wasm_bindgen_test]
    fn an_event_the_app_cannot_read_is_skipped_and_the_events_after_it_still_arrive() {
        let (seen, reader) = read(&[STATUS, NEW_CLASS, ERROR]);
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].is_terminal());
        assert_eq!(reader.undecodable(), 1);
        assert_eq!(reader.finish(), Ok(()));
    }

    #[wasm_bindgen_test]
    fn an_answer_that_never_completes_after_an_unreadable_event_says_so_rather_than_connection_closed() {
        let (_, reader) = read(&[STATUS, NEW_CLASS]);
        let error = reader.finish().unwrap_err();
        assert!(
            error.contains("could not be read") && error.contains("data.status"),
            "{error}"
        );
        let (_, reader) = read(&[STATUS]);
        assert!(reader.finish().unwrap_err().contains("connection closed"));
    }
}
