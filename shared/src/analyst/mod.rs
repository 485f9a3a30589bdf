//! The built-in analyst: answers the question shapes it can compute exactly, with no LLM and no key.
//!
//! Flow: [`intent::parse`] maps the question onto a computable [`intent::Intent`] using the table's own
//! column names, [`answer::run`] computes it over the [`table::Table`], and the result is markdown text, an
//! optional chart whose data came from the computation, and the steps for the execution tree.

pub mod answer;
pub mod csv;
pub mod format;
pub mod intent;
pub mod stats;
pub mod table;

pub use answer::{run, Analysis};
pub use table::Table;

/// Splits text into word-sized pieces (whitespace kept with the word before it), the way an LLM streams.
pub fn stream_chunks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, ch) in text.char_indices() {
        let space = ch.is_whitespace();
        if in_space && !space {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = space;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_chunks_reassemble_to_the_exact_text() {
        let text = "The **sample** has\n\n| a | b |\n 3,000 rows — é";
        let chunks = stream_chunks(text);
        assert!(chunks.len() > 5);
        assert_eq!(chunks.concat(), text);
    }
}
