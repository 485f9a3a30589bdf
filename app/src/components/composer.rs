//! The question box: Enter sends, Shift+Enter makes a new line, Esc stops the answer; while an answer
//! streams, the Send button becomes Stop.

use leptos::html::Textarea;
use leptos::prelude::*;
use web_sys::KeyboardEvent;

use datasage_shared::usage::CostEstimate;

use super::message::dollars;
use crate::chat_stream::ChatStream;

/// What the question being typed may cost, in words.
fn cost_hint(estimate: &CostEstimate, question: &str) -> String {
    if estimate.input_per_m == 0.0 && estimate.output_per_m == 0.0 {
        return "The built-in analyst answers, at no cost".to_owned();
    }
    let (low, high) = estimate.range(question);
    let unpriced = if estimate.unpriced {
        ", no price known: counted at the highest"
    } else {
        ""
    };
    format!(
        "This question: about {}–{} ({}{unpriced})",
        dollars(low),
        dollars(high),
        estimate.model
    )
}

#[component]
pub fn Composer(chat: ChatStream, estimate: RwSignal<Option<CostEstimate>>) -> impl IntoView {
    let draft = chat.draft;
    let input: NodeRef<Textarea> = NodeRef::new();
    let submit = move || {
        if chat.is_streaming.get_untracked() || draft.with_untracked(|d| d.trim().is_empty()) {
            return;
        }
        chat.send(draft.get_untracked());
        draft.set(String::new());
        if let Some(el) = input.get_untracked() {
            el.set_value("");
            let _ = el.focus();
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        } else if ev.key() == "Escape" && chat.is_streaming.get_untracked() {
            ev.prevent_default();
            chat.stop();
        }
    };
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <label for="question" class="visually-hidden">"Your question"</label>
            <textarea
                id="question"
                node_ref=input
                rows="1"
                placeholder="Ask about your data…"
                title="Enter sends; Shift+Enter starts a new line"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
                autofocus
            ></textarea>
            <Show
                when=move || chat.is_streaming.get()
                fallback=move || view! {
                    <button
                        type="submit"
                        class="send"
                        disabled=move || draft.with(|d| d.trim().is_empty())
                        aria-label="Send"
                    >
                        "Send"
                    </button>
                }
            >
                <button type="button" class="send stop" on:click=move |_| chat.stop() aria-label="Stop" title="Stop (Esc)">
                    "Stop"
                </button>
            </Show>
        </form>
        <p class="cost-hint">
            {move || {
                let question = draft.get();
                estimate.with(|e| e.as_ref().filter(|_| !question.trim().is_empty()).map(|e| cost_hint(e, &question)))
            }}
        </p>
    }
}
