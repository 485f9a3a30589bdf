//! One message: the user's question (which can be edited and asked again), or the answer growing as it
//! streams, rendered as sanitized markdown, with its confidence, cost facts, actions and execution tree.

use datasage_shared::markdown::{settled_end, to_safe_html};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlElement, KeyboardEvent};

use super::chart::ChartView;
use super::execution_tree::TreeView;
use crate::chat_stream::{Author, ChatStream, Message};

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
    let folded = RwSignal::new(Vec::new());
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
            <Show when=move || message.tree.with(Option::is_some)>
                <details class="tree-panel" open=move || message.streaming.get()>
                    <summary>"Execution tree"</summary>
                    {move || message.tree.get().map(|t| view! { <TreeView node=t.root folded=folded/> })}
                </details>
            </Show>
        </article>
    }
}

/// The answer's markdown. Finished blocks are parsed again only when another block finishes; each token
/// re-parses just the block still growing.
#[component]
fn AnswerText(message: Message) -> impl IntoView {
    let settled = Memo::new(move |_| message.content.with(|c| settled_end(c)));
    let finished = Memo::new(move |_| {
        let end = settled.get();
        message
            .content
            .with_untracked(|c| c.get(..end).map(to_safe_html).unwrap_or_default())
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
            <div class="blocks" inner_html=move || finished.get()></div>
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
            let confidence = format!("{:?}", a.confidence).to_lowercase();
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
