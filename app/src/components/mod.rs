//! The page, one component per concern.

mod composer;
mod error_banner;
mod execution_tree;
mod message;

use leptos::html::Main;
use leptos::prelude::*;

use crate::chat_stream::use_chat_stream;
use composer::Composer;
use error_banner::ErrorBanner;
use message::MessageView;

#[component]
pub fn App() -> impl IntoView {
    let chat = use_chat_stream();
    let conversation: NodeRef<Main> = NodeRef::new();
    // Follow the answer as it grows, unless the person scrolled up to read something.
    let pinned = StoredValue::new(true);
    let on_scroll = move |_| {
        if let Some(el) = conversation.get_untracked() {
            pinned.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 80);
        }
    };
    Effect::new(move |_| {
        if let Some(last) = chat.messages.with(|ms| ms.last().copied()) {
            last.content.track();
            last.answer.track();
            last.failed.track();
        }
        if let Some(el) = conversation.get_untracked() {
            if pinned.get_value() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    let examples = [
        "How many rows are there?",
        "Top 5 categories by revenue",
        "Describe the columns",
    ];
    view! {
        <div class="app">
            <header class="topbar">
                <span class="logo" aria-hidden="true">"◆"</span>
                <h1>"DataSage"</h1>
                <span class="dataset-chip" title="The dataset answers come from">"Dataset: sample_sales"</span>
            </header>
            <main class="conversation" aria-label="Conversation" node_ref=conversation on:scroll=on_scroll>
                <Show when=move || chat.messages.with(Vec::is_empty)>
                    <section class="welcome">
                        <h2>"Ask your data anything"</h2>
                        <p>"Answers are computed from the data itself — every number is real."</p>
                        <div class="examples">
                            {examples
                                .into_iter()
                                .map(|q| view! {
                                    <button class="example" on:click=move |_| chat.send(q.to_owned())>{q}</button>
                                })
                                .collect_view()}
                        </div>
                    </section>
                </Show>
                <For each=move || chat.messages.get() key=|m| m.id let:m>
                    <MessageView message=m/>
                </For>
            </main>
            <footer class="dock">
                <div class="status-line" role="status" aria-live="polite">
                    <Show when=move || chat.status.with(Option::is_some)>
                        <span class="spinner" aria-hidden="true"></span>
                        <span>{move || chat.status.get().unwrap_or_default()}</span>
                    </Show>
                </div>
                <ErrorBanner error=chat.error/>
                <Composer chat=chat/>
            </footer>
        </div>
    }
}
