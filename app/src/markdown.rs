//! An answer's markdown as HTML that is safe to insert into the page: rendered by marked, with the
//! sanitizing renderer of `js/markdown.js` (raw HTML as text, only safe link targets, images as links, a
//! copy button on code blocks).

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

    #[wasm_bindgen_test]
    fn safe_links_survive_and_unsafe_ones_point_nowhere() {
        let html = to_safe_html("[docs](https://example.com/a?b=1) [rel](/datasets/1) <mailto:a@b.co>");
        assert!(html.contains("href=\"https://example.com/a?b=1\""), "{html}");
        assert!(html.contains("href=\"/datasets/1\""), "{html}");
        assert!(html.contains("href=\"mailto:a@b.co\""), "{html}");
        for unsafe_link in [
            "<javascript:alert(1)>",
            "[r][1]\n\n[1]: javascript:alert(1)",
            "[x](vbscript:msgbox)",
            "[x](\u{1}javascript:alert(1))",
        ] {
            let html = to_safe_html(unsafe_link);
            let hrefs: Vec<&str> = html.split("href=\"").skip(1).collect();
            assert!(
                hrefs.iter().all(|h| h.starts_with("#\"")),
                "{unsafe_link} → {html}"
            );
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
