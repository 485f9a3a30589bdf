//! Markdown to HTML that is safe to insert into the page: model output can never inject markup.
//!
//! Raw HTML in the source is rendered as visible text; links keep only `http`, `https`, `mailto` and
//! relative targets (so no `javascript:` or `data:` URLs); images become plain links, so no request is
//! made to an address chosen by the model.

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
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_lowercase();
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
    fn safe_links_survive() {
        assert!(
            to_safe_html("[docs](https://example.com/a?b=1)").contains("href=\"https://example.com/a?b=1\"")
        );
        assert!(to_safe_html("[rel](/datasets/1)").contains("href=\"/datasets/1\""));
    }
}
