//! Small text helpers: streaming chunks and bounded excerpts.

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

/// The first `max_chars` characters of `s`, ending in `…` when cut: for log excerpts.
pub fn excerpt(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((i, _)) if s[i..].chars().nth(1).is_some() => format!("{}…", &s[..i]),
        _ => s.to_owned(),
    }
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

    #[test]
    fn excerpts_stay_within_their_character_budget() {
        assert_eq!(excerpt("héllo", 10), "héllo");
        assert_eq!(excerpt("héllo", 5), "héllo");
        assert_eq!(excerpt("héllo wörld", 5), "héll…");
        assert_eq!(excerpt(&"€".repeat(5000), 1000).chars().count(), 1000);
    }
}
