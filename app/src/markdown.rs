//! An answer's markdown as HTML that is safe to insert into the page: rendered by marked and sanitized by
//! DOMPurify, in `js/markdown.js` (raw HTML as text, only safe link targets, images as links, a copy
//! button on code blocks).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(module = "/js/bundle/markdown.js")]
extern "C" {
    #[wasm_bindgen(js_name = renderMarkdown, catch)]
    fn render_markdown(markdown: &str) -> Result<String, JsValue>;
}

/// Renders GitHub-flavoured markdown (tables, strikethrough, task lists) to sanitized HTML; should the
/// renderer ever fail, the text shows as it is.
pub fn to_safe_html(markdown: &str) -> String {
    render_markdown(markdown).unwrap_or_else(|_| {
        let text = markdown
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!("<pre>{text}</pre>")
    })
}

#[cfg(test)]
mod tests {
    use datasage_shared::markdown::settled_end;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::to_safe_html;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn tables_emphasis_and_task_lists_render() {
        let html = to_safe_html("**West** leads\n\n| a | b |\n|---|--:|\n| x | 1 |\n\n- [x] done\n- ~~old~~");
        assert!(html.contains("<strong>West</strong>"), "{html}");
        assert!(
            html.contains("<table>") && html.contains("<td align=\"right\">1</td>"),
            "{html}"
        );
        assert!(
            html.contains("checked=\"\" disabled=\"\" type=\"checkbox\"> done"),
            "{html}"
        );
        assert!(html.contains("<del>old</del>"), "{html}");
    }

    #[wasm_bindgen_test]
    fn code_blocks_get_a_copy_button_and_model_buttons_stay_text() {
        let html = to_safe_html("```sql\nSELECT 1 < 2\n```\n\n<button onclick=x>Copy</button>");
        assert_eq!(html.matches("<button").count(), 1, "{html}");
        assert!(html.contains("class=\"copy-code\""), "{html}");
        assert!(html.contains("SELECT 1 &lt; 2"), "{html}");
        assert!(html.contains("&lt;button onclick=x&gt;"), "{html}");
    }

    /// Every link of rendered `markdown` as the browser reads it: its resolved protocol, and its raw href.
    fn links(markdown: &str) -> Vec<(String, String)> {
        use wasm_bindgen::JsCast;
        let host = leptos::prelude::document().create_element("div").unwrap();
        host.set_inner_html(&to_safe_html(markdown));
        let anchors = host.query_selector_all("a, [href], [src]").unwrap();
        (0..anchors.length())
            .filter_map(|i| anchors.item(i)?.dyn_into::<web_sys::Element>().ok())
            .map(|el| {
                let protocol = el
                    .clone()
                    .dyn_into::<web_sys::HtmlAnchorElement>()
                    .map(|a| {
                        if a.has_attribute("href") {
                            a.protocol()
                        } else {
                            String::new()
                        }
                    })
                    .unwrap_or_else(|_| "not-a-link:".into());
                (protocol, el.get_attribute("href").unwrap_or_default())
            })
            .collect()
    }

    #[wasm_bindgen_test]
    fn safe_links_survive() {
        let found = links("[docs](https://example.com/a?b=1) [rel](/datasets/1) <mailto:a@b.co> [frag](#x)");
        let hrefs: Vec<&str> = found.iter().map(|(_, h)| h.as_str()).collect();
        assert_eq!(
            hrefs,
            ["https://example.com/a?b=1", "/datasets/1", "mailto:a@b.co", "#x"]
        );
    }

    /// The XSS corpus: each way of spelling a script URL that a browser still reads as one, in links,
    /// reference definitions, autolinks and images. No link may keep it.
    #[wasm_bindgen_test]
    fn no_spelling_of_a_script_url_survives_as_a_link() {
        let corpus = [
            "<javascript:alert(1)>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](vbscript:msgbox)",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](\u{1}javascript:alert(1))",
            "[x](&#106;avascript:alert(1))",
            "[x](&#x6A;avascript:alert(1))",
            "[x](&#0000106;&#0000097;vascript:alert(1))",
            "[x](javascript&colon;alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](java&#09;script:alert(1))",
            "[x](java&#10;script:alert(1))",
            "[x](java&Tab;script:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](< javascript:alert(1)>)",
            "[r][1]\n\n[1]: javascript:alert(1)",
            "[r][1]\n\n[1]: &#106;avascript:alert(1)",
            "[r][1]\n\n[1]: <javascript&colon;alert(1)> \"t\"",
            "![img](javascript:alert(1))",
            "![img](&#106;avascript:alert(1))",
            "[x](javascript:alert(1) \"title\" onclick=\"alert(1)\")",
            "[x](https://ok.example/\" onmouseover=\"alert(1))",
            "<a href=\"javascript:alert(1)\">raw</a>",
            "<img src=x onerror=alert(1)>",
            "<svg><a xlink:href=\"javascript:alert(1)\">s</a></svg>",
        ];
        for markdown in corpus {
            let html = to_safe_html(markdown);
            for (protocol, href) in links(markdown) {
                assert!(
                    ["http:", "https:", "mailto:", ""].contains(&protocol.as_str()),
                    "{markdown:?} gave a {protocol} link {href:?}: {html}"
                );
            }
            let host = leptos::prelude::document().create_element("div").unwrap();
            host.set_inner_html(&html);
            let all = host.query_selector_all("*").unwrap();
            for i in 0..all.length() {
                let el: web_sys::Element = wasm_bindgen::JsCast::dyn_into(all.item(i).unwrap()).unwrap();
                let tag = el.tag_name().to_ascii_lowercase();
                assert!(
                    !["img", "svg", "script", "iframe", "object", "embed", "form"].contains(&tag.as_str()),
                    "{markdown:?} made a <{tag}>: {html}"
                );
                let names = el.get_attribute_names();
                for n in 0..names.length() {
                    let name = names.get(n).as_string().unwrap_or_default();
                    assert!(!name.starts_with("on"), "{markdown:?} kept {name}: {html}");
                }
            }
        }
    }

    /// Rendering the settled blocks one by one, then the rest, gives the page what rendering the whole
    /// answer at once gives.
    #[wasm_bindgen_test]
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
}
