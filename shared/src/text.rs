//! Small text helpers: streaming chunks, bounded excerpts and fault-injection markers.

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

/// The longest start of `text` within `max_bytes` that ends on a character boundary.
pub fn prefix_within(text: &str, max_bytes: usize) -> &str {
    let room = max_bytes.min(text.len());
    let end = (0..=room).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    &text[..end]
}

/// The first `max_chars` characters of `s`, ending in `…` when cut: for log excerpts.
pub fn excerpt(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((i, _)) if s[i..].chars().nth(1).is_some() => format!("{}…", &s[..i]),
        _ => s.to_owned(),
    }
}

/// The value of the first `[fault:key=value]` marker in `text` (`""` for a bare `[fault:key]`): how tests
/// inject a fault into one request through the real runtime. The worker reads markers only where the
/// `FAULT_INJECTION` var is `"true"`, which no deployed configuration sets.
pub fn fault_marker<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = text;
    while let Some(i) = rest.find("[fault:") {
        rest = &rest[i + "[fault:".len()..];
        let body = &rest[..rest.find(']')?];
        let (k, v) = body.split_once('=').unwrap_or((body, ""));
        if k == key {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_markers_are_read_by_key() {
        let q = "Sum? [fault:store-fail=2] [fault:panic]";
        assert_eq!(fault_marker(q, "store-fail"), Some("2"));
        assert_eq!(fault_marker(q, "panic"), Some(""));
        assert_eq!(fault_marker(q, "other"), None);
        assert_eq!(fault_marker("[fault:open", "open"), None);
    }

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
