//! One message: the user's question (which can be edited and asked again), or the answer growing as it
//! streams, rendered as sanitized markdown, with its confidence, cost facts, actions and execution tree.

use std::sync::Arc;

use datasage_shared::markdown::settled_end;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlElement, KeyboardEvent};

use super::chart::ChartView;
use super::execution_tree::TreeView;
use crate::chat_stream::{Author, ChatStream, Message};
use crate::markdown::to_safe_html;

#[component]
pub fn MessageView(message: Message, chat: ChatStream) -> impl IntoView {
    match message.author {
        Author::User => view! { <Question message=message chat=chat/> }.into_any(),
        Author::Assistant => view! { <Answer message=message chat=chat/> }.into_any(),
    }
}

#[component]
fn Question(message: Message, chat: ChatStream) -> impl IntoView {
    let editing = RwSignal::new(false);
    let edited = RwSignal::new(String::new());
    let resend = move || {
        editing.set(false);
        if let Some(index) = chat.question_index(&message) {
            chat.resend(index, edited.get_untracked());
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            resend();
        } else if ev.key() == "Escape" {
            editing.set(false);
        }
    };
    view! {
        <article class="message user" aria-label="Question">
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <div class="bubble">{move || message.content.get()}</div>
                    <div class="actions">
                        <button
                            type="button"
                            class="action"
                            disabled=move || chat.is_streaming.get()
                            on:click=move |_| {
                                edited.set(message.content.get_untracked());
                                editing.set(true);
                            }
                        >
                            "Edit"
                        </button>
                    </div>
                }
            >
                <form class="edit" on:submit=move |ev| { ev.prevent_default(); resend(); }>
                    <textarea
                        aria-label="Edit your question"
                        prop:value=move || edited.get()
                        on:input=move |ev| edited.set(event_target_value(&ev))
                        on:keydown=on_keydown
                        autofocus
                    ></textarea>
                    <div class="actions">
                        <button type="button" class="action" on:click=move |_| editing.set(false)>"Cancel"</button>
                        <button type="submit" class="action primary" disabled=move || edited.with(|t| t.trim().is_empty())>
                            "Send"
                        </button>
                    </div>
                </form>
            </Show>
        </article>
    }
}

#[component]
fn Answer(message: Message, chat: ChatStream) -> impl IntoView {
    let is_last = move || {
        chat.messages
            .with(|ms| ms.last().map(|m| m.id) == Some(message.id))
    };
    let idle = move || !message.streaming.get() && !chat.is_streaming.get();
    view! {
        <article
            class="message assistant"
            aria-label="Answer"
            aria-live="polite"
            aria-busy=move || message.streaming.get().to_string()
        >
            <div class="bubble">
                <AnswerText message=message/>
                <Show when=move || message.streaming.get() && message.content.with(String::is_empty)>
                    <span class="typing" aria-hidden="true"><i></i><i></i><i></i></span>
                </Show>
                <Show when=move || message.failed.with(Option::is_some)>
                    <p class="failed">{move || message.failed.get().unwrap_or_default()}</p>
                </Show>
                {move || {
                    message
                        .answer
                        .with(|a| a.as_ref().and_then(|a| a.chart_config.clone()))
                        .map(|c| view! { <ChartView config=c/> })
                }}
                <AnswerFacts message=message/>
                <Show when=idle>
                    <div class="actions">
                        <CopyButton label="Copy" text=Signal::derive(move || message.content.get())/>
                        <Show when=is_last>
                            <button type="button" class="action" on:click=move |_| chat.regenerate()>
                                "Regenerate"
                            </button>
                        </Show>
                    </div>
                </Show>
            </div>
            <TreePanel message=message/>
        </article>
    }
}

/// The answer's execution tree: open while the answer streams, redrawn on every update.
#[component]
fn TreePanel(message: Message) -> impl IntoView {
    let folded = RwSignal::new(Vec::new());
    view! {
        <Show when=move || message.tree.with(Option::is_some)>
            <details class="tree-panel" open=move || message.streaming.get()>
                <summary>"Execution tree"</summary>
                {move || message.tree.get().map(|t| view! { <TreeView node=t.root folded=folded/> })}
            </details>
        </Show>
    }
}

/// A finished stretch of the answer, rendered once.
#[derive(Debug, PartialEq)]
struct Block {
    /// Unique among the answer's blocks, for keyed rendering.
    id: u64,
    start: usize,
    source: String,
    html: String,
}

/// The answer's markdown. Each finished block is parsed and put in the page once; a token re-parses only
/// the block still growing. Text that changes under finished blocks (a discarded attempt, a corrected final
/// text) drops just the blocks that no longer match.
#[component]
fn AnswerText(message: Message) -> impl IntoView {
    let settled = Memo::new(move |_| message.content.with(|c| settled_end(c)));
    let next_id = StoredValue::new(0u64);
    let finished = Memo::new(move |before: Option<&Vec<Arc<Block>>>| {
        let end = settled.get();
        message.content.with_untracked(|c| {
            let mut blocks = before.cloned().unwrap_or_default();
            let still = |b: &Arc<Block>| {
                let stop = b.start + b.source.len();
                stop <= end && c.get(b.start..stop) == Some(b.source.as_str())
            };
            let keep = blocks.iter().take_while(|b| still(b)).count();
            blocks.truncate(keep);
            let from = blocks.last().map_or(0, |b| b.start + b.source.len());
            if let Some(source) = c.get(from..end).filter(|s| !s.is_empty()) {
                let id = next_id.get_value();
                next_id.set_value(id + 1);
                blocks.push(Arc::new(Block {
                    id,
                    start: from,
                    source: source.to_owned(),
                    html: to_safe_html(source),
                }));
            }
            blocks
        })
    });
    let growing = Memo::new(move |_| {
        let end = settled.get();
        message
            .content
            .with(|c| c.get(end..).map(to_safe_html).unwrap_or_default())
    });
    // A code block's copy button is the renderer's markup; its click is handled here, for all of them.
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some(button) = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
            return;
        };
        if !button.class_list().contains("copy-code") {
            return;
        }
        let code = button
            .next_element_sibling()
            .and_then(|pre| pre.text_content())
            .unwrap_or_default();
        copy(code, button);
    };
    view! {
        <div class="markdown" on:click=on_click>
            <For each=move || finished.get() key=|b| b.id let:block>
                <div class="blocks" inner_html=block.html.clone()></div>
            </For>
            <div class="blocks" inner_html=move || growing.get()></div>
        </div>
    }
}

#[component]
fn CopyButton(label: &'static str, text: Signal<String>) -> impl IntoView {
    view! {
        <button
            type="button"
            class="action"
            on:click=move |ev| {
                if let Some(button) = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
                    copy(text.get_untracked(), button);
                }
            }
        >
            {label}
        </button>
    }
}

/// Puts `text` on the clipboard and lets `button` say so for a moment.
fn copy(text: String, button: HtmlElement) {
    let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) else {
        return;
    };
    let promise = clipboard.write_text(&text);
    leptos::task::spawn_local(async move {
        let before = button.text_content().unwrap_or_default();
        let said = if JsFuture::from(promise).await.is_ok() {
            "Copied"
        } else {
            "Copy failed"
        };
        button.set_text_content(Some(said));
        set_timeout(
            move || button.set_text_content(Some(&before)),
            std::time::Duration::from_millis(1500),
        );
    });
}

#[component]
fn AnswerFacts(message: Message) -> impl IntoView {
    move || {
        message.answer.get().map(|a| {
            let confidence = a.confidence.as_str();
            let usage = a.metadata.usage;
            let tokens = if usage.total_tokens > 0 { format!(" · {} tokens", usage.total_tokens) } else { String::new() };
            let cost = a.metadata.cost_usd.filter(|c| *c > 0.0).map(|c| format!(" · {}", dollars(c))).unwrap_or_default();
            view! {
                <footer class="facts">
                    <span class=format!("badge confidence-{confidence}")>{format!("{confidence} confidence")}</span>
                    <span class="meta">
                        {format!("{} · {} · {} ms{tokens}{cost}", a.metadata.provider, a.metadata.model, a.metadata.latency_ms)}
                    </span>
                </footer>
            }
        })
    }
}

/// A cost for people: cents when it is that much, otherwise enough digits to see it at all.
pub fn dollars(usd: f64) -> String {
    match usd {
        c if c >= 0.01 => format!("${c:.2}"),
        c => format!("${c:.5}"),
    }
}

#[cfg(test)]
mod tests {
    use datasage_shared::tree::{ExecutionTree, NodeKind, NodeStatus};
    use wasm_bindgen_test::*;

    use super::*;
    use crate::test_support::{mount, settle};

    wasm_bindgen_test_configure!(run_in_browser);

    fn answer() -> Message {
        Message::new(0, Author::Assistant, String::new())
    }

    #[wasm_bindgen_test]
    async fn the_tree_shows_nested_steps_live_and_keeps_what_was_folded() {
        let m = answer();
        m.streaming.set(true);
        let page = mount(move || view! { <TreePanel message=m/> });
        let mut tree = ExecutionTree::new("Answer question");
        let plan = tree.start(tree.root_id(), NodeKind::Step, "Plan queries", 0);
        m.tree.set(Some(tree.clone()));
        settle().await;
        assert!(
            page.has("details.tree-panel[open]"),
            "open while the answer streams"
        );
        assert_eq!(
            page.texts(".tree-node.running > .tree-row .tree-label"),
            ["Answer question", "Plan queries"]
        );

        let call = tree.start(plan, NodeKind::LlmCall, "OpenAI gpt-4o-mini", 3);
        tree.finish(call, NodeStatus::Failed, 40);
        let retry = tree.start(plan, NodeKind::LlmCall, "Anthropic claude (fallback)", 41);
        m.tree.set(Some(tree.clone()));
        settle().await;
        let nested = "details.tree-node > .tree-children > details.tree-node > .tree-children > .tree-node";
        assert_eq!(
            page.texts(&format!("{nested} .tree-label")),
            ["OpenAI gpt-4o-mini", "Anthropic claude (fallback)"]
        );
        assert!(page.has(&format!("{nested}.failed")) && page.has(&format!("{nested}.running")));
        assert_eq!(page.texts(&format!("{nested}.failed .tree-duration")), ["37 ms"]);

        // Folded by the person, the step stays folded through the next live update.
        page.click("details.tree-node > .tree-children > details.tree-node > summary");
        settle().await;
        tree.finish(retry, NodeStatus::Done, 90);
        tree.finish(plan, NodeStatus::Done, 91);
        m.tree.set(Some(tree.clone()));
        settle().await;
        assert!(page.has("details.tree-node > .tree-children > details.tree-node:not([open])"));
        assert_eq!(
            page.texts(&format!("{nested}.done .tree-label")),
            ["Anthropic claude (fallback)"]
        );
    }

    /// Payloads a model could write, in the answer text: none may become markup, a handler or a link
    /// that runs script — checked in the live DOM, where it matters.
    #[wasm_bindgen_test]
    async fn model_output_never_injects_markup_or_script() {
        let corpus = [
            "<script>window.__xss = 1</script>",
            "<img src=x onerror=\"window.__xss = 2\">",
            "<svg onload=\"window.__xss = 3\"><circle r=5 /></svg>",
            "<svg><script>window.__xss = 4</script></svg>",
            "<a href=\"javascript:window.__xss = 5\">click</a>",
            "[click](javascript:window.__xss=6)",
            "[click]( JaVa\tScRiPt:window.__xss=7)",
            "![x](javascript:window.__xss=8)",
            "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9OTwvc2NyaXB0Pg==)",
            "<iframe src=\"javascript:window.__xss=10\"></iframe>",
            "<details open ontoggle=\"window.__xss = 11\">x</details>",
            "```html\n<script>window.__xss = 12</script>\n```",
            "| a |\n|---|\n| <img src=x onerror=\"window.__xss = 13\"> |",
            "<math><mtext><style><img src=x onerror=\"window.__xss=14\"></style></mtext></math>",
            // After a raw `<pre>`, marked takes the text for already escaped; an unclosed tag must stay text.
            "a <pre> <img src=x onerror=\"window.__xss=15\"// b",
        ];
        let m = answer();
        let page = mount(move || view! { <AnswerText message=m/> });
        for payload in corpus {
            m.content.set(format!("Here it is:\n\n{payload}\n\nDone."));
            settle().await;
            let bad = "script, img, svg, iframe, math, style, details, [onerror], [onload], [ontoggle]";
            assert!(
                !page.has(&format!(".markdown :is({bad})")),
                "{payload} → {}",
                page.html()
            );
            for href in page.attrs(".markdown a", "href") {
                assert!(href == "#" || href.starts_with("http"), "{payload} → href {href}");
            }
            assert!(
                page.text().contains("Done."),
                "{payload}: the rest of the answer still shows"
            );
        }
        settle().await;
        let ran = js_sys::Reflect::get(&js_sys::global(), &"__xss".into()).unwrap_or_default();
        assert!(ran.is_undefined(), "a payload ran: {ran:?}");
    }

    #[wasm_bindgen_test]
    async fn a_streaming_answer_grows_without_redrawing_its_finished_blocks() {
        let m = answer();
        let page = mount(move || view! { <AnswerText message=m/> });
        m.content.set("## Revenue\n\nWest leads".into());
        settle().await;
        let heading = page.first(".markdown h2");
        m.content.update(|c| c.push_str(" with **1,250**.\n\n- one"));
        settle().await;
        m.content.update(|c| c.push_str("\n- two"));
        settle().await;
        assert!(
            heading.is_connected(),
            "the finished heading is the same element, not redrawn"
        );
        assert_eq!(page.texts(".markdown li"), ["one", "two"]);
        assert_eq!(page.texts(".markdown strong"), ["1,250"]);
    }
}
