//! One message: the user's question, or the answer growing as it streams, rendered as sanitized markdown,
//! with its confidence, cost facts and execution tree.

use datasage_shared::markdown::to_safe_html;
use leptos::prelude::*;

use super::chart::ChartView;
use super::execution_tree::TreeView;
use crate::chat_stream::{Author, Message};

#[component]
pub fn MessageView(message: Message) -> impl IntoView {
    match message.author {
        Author::User => view! {
            <article class="message user" aria-label="Question">
                <div class="bubble">{move || message.content.get()}</div>
            </article>
        }
        .into_any(),
        Author::Assistant => {
            let html = Memo::new(move |_| message.content.with(|c| to_safe_html(c)));
            view! {
                <article class="message assistant" aria-label="Answer" aria-busy=move || message.streaming.get().to_string()>
                    <div class="bubble">
                        <div class="markdown" inner_html=move || html.get()></div>
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
                    </div>
                    <Show when=move || message.tree.with(Option::is_some)>
                        <details class="tree-panel" open=move || message.streaming.get()>
                            <summary>"Execution tree"</summary>
                            {move || message.tree.get().map(|t| view! { <TreeView node=t.root/> })}
                        </details>
                    </Show>
                </article>
            }
            .into_any()
        }
    }
}

#[component]
fn AnswerFacts(message: Message) -> impl IntoView {
    move || {
        message.answer.get().map(|a| {
            let confidence = format!("{:?}", a.confidence).to_lowercase();
            let usage = a.metadata.usage;
            let tokens = if usage.total_tokens > 0 { format!(" · {} tokens", usage.total_tokens) } else { String::new() };
            let cost = match a.metadata.cost_usd {
                Some(c) if c >= 0.01 => format!(" · ${c:.2}"),
                Some(c) if c > 0.0 => format!(" · ${c:.5}"),
                _ => String::new(),
            };
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
