//! Where a streaming markdown answer can be cut: [`settled_end`] splits it into blocks that can no longer
//! change and the block still growing, so the app re-renders only the last block on each token.

/// The byte offset up to which a growing markdown text is made of finished blocks: the end of the last
/// blank line (outside a code fence) that more text follows. Text before it renders the same whatever is
/// appended; only the text after it can still change.
pub fn settled_end(markdown: &str) -> usize {
    let mut fence: Option<(u8, usize)> = None;
    let mut settled = 0;
    let mut after_blank = None;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        offset += line.len();
        let body = line.trim_end();
        let trimmed = body.trim_start_matches(' ');
        let indent = body.len() - trimmed.len();
        if let Some((c, n)) = fence {
            let closes = indent < 4
                && fence_marker(trimmed).is_some_and(|(d, m)| d == c && m >= n)
                && trimmed.trim_start_matches(c as char).is_empty();
            if closes {
                fence = None;
            }
            continue;
        }
        if trimmed.is_empty() {
            if line.ends_with('\n') {
                after_blank = Some(offset);
            }
            continue;
        }
        // A line indented after a blank one may continue the list item above it.
        if let Some(end) = after_blank.take().filter(|_| indent == 0) {
            settled = end;
        }
        if indent < 4 {
            fence = fence_marker(trimmed);
        }
    }
    settled
}

/// A code fence's character and length (three or more backticks or tildes).
fn fence_marker(line: &str) -> Option<(u8, usize)> {
    let c = *line.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = line.bytes().take_while(|&b| b == c).count();
    (n >= 3).then_some((c, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_inside_a_code_fence_or_a_list_item_settle_nothing() {
        assert_eq!(settled_end("```\na\n\nb"), 0);
        assert_eq!(settled_end("- a\n\n  more of a"), 0);
        assert_eq!(settled_end("para\n\nnext"), 6);
        assert_eq!(settled_end("para\n\n"), 0, "nothing follows the blank line yet");
        assert_eq!(settled_end("~~~\nx\n~~~\n\nafter"), 11);
    }
}
