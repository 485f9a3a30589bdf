//! Markdown to HTML that is safe to insert into the page: model output can never inject markup.
//!
//! Raw HTML in the source is rendered as visible text; links keep only `http`, `https`, `mailto` and
//! relative targets (so no `javascript:` or `data:` URLs); images become plain links, so no request is
//! made to an address chosen by the model. Code blocks get a copy button (the page handles its clicks).
//!
//! While an answer streams, [`settled_end`] splits it into blocks that can no longer change and the block
//! still growing, so each token re-renders only the last block.

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Renders GitHub-flavoured markdown (tables, strikethrough, task lists) to sanitized HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|ev| match ev {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            dest_url, title, id, ..
        }) => Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    // Our own markup, never the model's: the model's HTML became text above.
    let events = events.flat_map(|ev| {
        let button = matches!(ev, Event::Start(Tag::CodeBlock(_))).then(|| Event::Html(COPY_BUTTON.into()));
        button.into_iter().chain(std::iter::once(ev))
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

const COPY_BUTTON: &str =
    "<button type=\"button\" class=\"copy-code\" aria-label=\"Copy the code\">Copy</button>";

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

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        // A scheme is ASCII letters only; anything else makes the URL relative, which is safe.
        .to_ascii_lowercase();
    let scheme = lower
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.contains('/') && !s.contains('?') && !s.contains('#'));
    match scheme {
        None | Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_emphasis_render() {
        let html = to_safe_html("**West** leads\n\n| a | b |\n|---|--:|\n| x | 1 |\n");
        assert!(html.contains("<strong>West</strong>"));
        assert!(
            html.contains("<table>") && html.contains("<td style=\"text-align: right\">1</td>"),
            "{html}"
        );
    }

    #[test]
    fn xss_payloads_render_as_inert_text() {
        let corpus = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)><circle/></svg>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click]( java\tscript:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD4=)",
            "![x](javascript:alert(1))",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div style=\"background:url(javascript:alert(1))\">",
        ];
        for payload in corpus {
            let html = to_safe_html(payload);
            let lower = html.to_lowercase();
            assert!(!lower.contains("<script"), "{payload} → {html}");
            assert!(!lower.contains("<img"), "{payload} → {html}");
            assert!(!lower.contains("<svg"), "{payload} → {html}");
            assert!(!lower.contains("<iframe"), "{payload} → {html}");
            assert!(!lower.contains("<div"), "{payload} → {html}");
            for href in lower.split("<a href=\"").skip(1) {
                assert!(
                    href.starts_with('#') || href.starts_with("http"),
                    "{payload} → {html}"
                );
            }
        }
    }

    #[test]
    fn code_blocks_get_a_copy_button_and_model_buttons_stay_text() {
        let html = to_safe_html("```sql\nSELECT 1\n```\n\n<button onclick=x>Copy</button>");
        assert_eq!(html.matches("<button").count(), 1, "{html}");
        assert!(
            html.contains("class=\"copy-code\"") && html.contains("&lt;button onclick=x&gt;"),
            "{html}"
        );
    }

    /// Rendering the settled blocks one by one, then the rest, gives the page what rendering the whole
    /// answer at once gives.
    #[test]
    fn a_streamed_answer_renders_block_by_block_like_the_whole() {
        let answer = "## Revenue\n\n**West** leads with 1,250.\n\n| region | revenue |\n|---|--:|\n| West | 1,250 |\n\n\
                      ```sql\nSELECT region\n\nFROM data\n```\n\n- one\n- two\n\nDone.";
        let mut blocks = String::new();
        let mut start = 0;
        for end in 1..=answer.len() {
            if !answer.is_char_boundary(end) {
                continue;
            }
            let settled = settled_end(&answer[..end]);
            assert!(settled >= start, "a settled block became unsettled at {end}");
            if settled > start {
                blocks.push_str(&to_safe_html(&answer[start..settled]));
                start = settled;
            }
        }
        blocks.push_str(&to_safe_html(&answer[start..]));
        assert_eq!(blocks, to_safe_html(answer));
    }

    #[test]
    fn blank_lines_inside_a_code_fence_or_a_list_item_settle_nothing() {
        assert_eq!(settled_end("```\na\n\nb"), 0);
        assert_eq!(settled_end("- a\n\n  more of a"), 0);
        assert_eq!(settled_end("para\n\nnext"), 6);
        assert_eq!(settled_end("para\n\n"), 0, "nothing follows the blank line yet");
        assert_eq!(settled_end("~~~\nx\n~~~\n\nafter"), 11);
    }

    #[test]
    fn safe_links_survive() {
        assert!(
            to_safe_html("[docs](https://example.com/a?b=1)").contains("href=\"https://example.com/a?b=1\"")
        );
        assert!(to_safe_html("[rel](/datasets/1)").contains("href=\"/datasets/1\""));
    }
}
