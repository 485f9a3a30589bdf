//! The page, one component per concern.

mod chart;
mod composer;
mod datasets;
mod error_banner;
mod execution_tree;
mod message;
mod sessions;
mod usage;

use leptos::html::Main;
use leptos::prelude::*;

use crate::chat_stream::use_chat_stream;
use crate::datasets::use_datasets;
use crate::live::Link;
use crate::usage::{use_estimate, use_usage};
use composer::Composer;
use datasets::DatasetPanel;
use error_banner::ErrorBanner;
use message::MessageView;
use sessions::SessionPanel;
use usage::UsagePage;

/// The address of the Usage page (`#usage`); the chat has none.
const USAGE_HASH: &str = "#usage";

fn on_usage_page() -> bool {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .is_some_and(|h| h == USAGE_HASH)
}

/// Shows the Usage page or the chat, with the address following so Back returns.
fn show_usage(show: bool) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(if show { USAGE_HASH } else { "" });
    }
}

#[component]
pub fn App() -> impl IntoView {
    let datasets = use_datasets();
    let chat = use_chat_stream(datasets.selected.into());
    let usage = use_usage();
    let estimate = use_estimate(datasets.selected.into());
    let usage_page = RwSignal::new(on_usage_page());
    let _ = window_event_listener(leptos::ev::hashchange, move |_| usage_page.set(on_usage_page()));
    // The datasets panel starts open where there is room beside the conversation; on a phone it covers
    // the conversation, so choosing a dataset closes it.
    let wide = || {
        web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w > 900.0)
    };
    let panel_open = RwSignal::new(wide());
    Effect::watch(
        move || datasets.selected.get(),
        move |_, _, _| {
            if !wide() {
                panel_open.set(false);
            }
        },
        false,
    );
    // Opening a conversation also chooses the dataset it is about.
    let open_session = Callback::new(move |s: datasage_shared::api::SessionSummary| {
        show_usage(false);
        let dataset = s.dataset_id.filter(|d| *d != datasets.selected.get_untracked());
        chat.open(s.id, dataset.clone());
        if let Some(d) = dataset {
            datasets.select(d);
        }
    });
    // A conversation opened from the Usage page: from the list the side panel holds, or by its id.
    let open_by_id = Callback::new(move |id: String| {
        let known = chat
            .sessions
            .with_untracked(|ss| ss.iter().find(|s| s.id == id).cloned());
        match known {
            Some(s) => open_session.run(s),
            None => {
                show_usage(false);
                chat.open(id, None);
            }
        }
    });
    let dataset_name = move || {
        datasets
            .current()
            .map_or_else(|| "sample_sales".to_owned(), |d| d.name)
    };
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
        "Revenue by month",
        "Describe the columns",
    ];
    view! {
        <div class="layout" class:panel-open=move || panel_open.get() data-link=move || chat.live.link.get().as_str()>
        <aside class="sidebar" id="datasets-panel">
            <button class="close-panel" on:click=move |_| panel_open.set(false) aria-label="Close the side panel">
                "✕"
            </button>
            <SessionPanel chat=chat on_open=open_session/>
            <DatasetPanel datasets=datasets/>
        </aside>
        <div class="app">
            <header class="topbar">
                <span class="logo" aria-hidden="true">"◆"</span>
                <h1>"DataSage"</h1>
                <button
                    class="dataset-chip"
                    title="The dataset answers come from — click to change it"
                    aria-controls="datasets-panel"
                    aria-expanded=move || panel_open.get().to_string()
                    on:click=move |_| panel_open.update(|o| *o = !*o)
                >
                    {move || format!("Dataset: {}", dataset_name())}
                </button>
                <SessionTotal chat=chat/>
                <button
                    class="page-switch"
                    aria-pressed=move || usage_page.get().to_string()
                    on:click=move |_| show_usage(!usage_page.get_untracked())
                >
                    {move || if usage_page.get() { "Back to chat" } else { "Usage" }}
                </button>
                <Show when=move || chat.live.link.get() == Link::Reconnecting>
                    <span class="link-state" role="status" title="Answers keep running; this tab catches up once it is back">
                        "Reconnecting…"
                    </span>
                </Show>
            </header>
            <Show when=move || usage_page.get()>
                <main class="usage-page">
                    <UsagePage usage=usage on_open=open_by_id/>
                </main>
            </Show>
            <main class="conversation" aria-label="Conversation" node_ref=conversation on:scroll=on_scroll
                hidden=move || usage_page.get()>
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
                    <MessageView message=m chat=chat/>
                </For>
            </main>
            <footer class="dock" hidden=move || usage_page.get()>
                <div class="status-line" role="status" aria-live="polite">
                    <Show when=move || chat.status.with(Option::is_some)>
                        <span class="spinner" aria-hidden="true"></span>
                        <span>{move || chat.status.get().unwrap_or_default()}</span>
                    </Show>
                </div>
                <BudgetBanner chat=chat/>
                <ErrorBanner chat=chat/>
                <Composer chat=chat estimate=estimate/>
            </footer>
        </div>
        </div>
    }
}

/// What an answer said about the monthly budget — 80 % used, or spent and the built-in analyst answering —
/// kept in view until dismissed.
#[component]
fn BudgetBanner(chat: crate::chat_stream::ChatStream) -> impl IntoView {
    let note = chat.budget_note;
    view! {
        <Show when=move || note.with(Option::is_some)>
            <div class="budget-banner" role="status">
                <span>{move || note.get().unwrap_or_default()}</span>
                <a href=USAGE_HASH>"See usage"</a>
                <button class="dismiss" aria-label="Dismiss the budget note" on:click=move |_| note.set(None)>"×"</button>
            </div>
        </Show>
    }
}

/// What the conversation on screen has cost so far, over all its answers.
#[component]
fn SessionTotal(chat: crate::chat_stream::ChatStream) -> impl IntoView {
    let total = move || {
        chat.messages.with(|ms| {
            ms.iter().fold((0u64, 0.0f64), |(tokens, cost), m| {
                m.answer.with(|a| match a {
                    Some(a) => (
                        tokens + a.metadata.usage.total_tokens,
                        cost + a.metadata.cost_usd.unwrap_or(0.0),
                    ),
                    None => (tokens, cost),
                })
            })
        })
    };
    move || {
        let (tokens, cost) = total();
        (tokens > 0).then(|| {
            let cost = if cost > 0.0 {
                format!(" · {}", message::dollars(cost))
            } else {
                String::new()
            };
            view! {
                <span class="session-total" title="Tokens and cost of this conversation's answers">
                    {format!("This conversation: {tokens} tokens{cost}")}
                </span>
            }
        })
    }
}
