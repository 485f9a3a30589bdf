//! The conversations panel: start a new one, open, rename or delete a stored one.

use datasage_shared::api::SessionSummary;
use leptos::prelude::*;
use web_sys::KeyboardEvent;

use crate::chat_stream::ChatStream;

#[component]
pub fn SessionPanel(chat: ChatStream, on_open: Callback<SessionSummary>) -> impl IntoView {
    let editing = RwSignal::new(None::<String>);
    view! {
        <section class="sessions" aria-labelledby="sessions-title">
            <div class="panel-head">
                <h2 id="sessions-title">"Conversations"</h2>
                <button class="new-session" on:click=move |_| chat.start_over() disabled=move || chat.is_streaming.get()>
                    "+ New"
                </button>
            </div>
            <ul class="session-list" aria-label="Your conversations">
                <For each=move || chat.sessions.get() key=|s| (s.id.clone(), s.title.clone()) let:s>
                    {
                        let id = s.id.clone();
                        let current = Memo::new({
                            let id = id.clone();
                            move |_| chat.current.get() == id
                        });
                        // An answer runs in this conversation, asked in another tab (or before a reload).
                        let answering = Memo::new({
                            let id = id.clone();
                            move |_| !current.get() && chat.running.with(|r| r.iter().any(|x| x.session_id == id))
                        });
                        let is_editing = Memo::new({
                            let id = id.clone();
                            move |_| editing.get().as_deref() == Some(id.as_str())
                        });
                        let (rename_id, delete_id, edit_id) = (id.clone(), id.clone(), id.clone());
                        let title = s.title.clone();
                        let (rename_label, delete_label) = (format!("Rename {title}"), format!("Delete {title}"));
                        let initial = title.clone();
                        let summary = s.clone();
                        view! {
                            <li class="session" class:selected=move || current.get()>
                                <Show
                                    when=move || is_editing.get()
                                    fallback={
                                        let summary = summary.clone();
                                        let title = title.clone();
                                        move || view! {
                                            <button
                                                class="session-open"
                                                aria-current=move || if current.get() { "true" } else { "false" }
                                                on:click={
                                                    let summary = summary.clone();
                                                    move |_| on_open.run(summary.clone())
                                                }
                                            >
                                                {title.clone()}
                                                <Show when=move || answering.get()>
                                                    <span class="answering">"answering…"</span>
                                                </Show>
                                            </button>
                                        }
                                    }
                                >
                                    <input
                                        class="session-title"
                                        aria-label="Conversation title"
                                        prop:value=initial.clone()
                                        autofocus
                                        on:keydown={
                                            let id = rename_id.clone();
                                            move |ev: KeyboardEvent| match ev.key().as_str() {
                                                "Enter" => {
                                                    let value = event_target_value(&ev);
                                                    if !value.trim().is_empty() {
                                                        chat.rename(id.clone(), value.trim().to_owned());
                                                    }
                                                    editing.set(None);
                                                }
                                                "Escape" => editing.set(None),
                                                _ => {}
                                            }
                                        }
                                    />
                                </Show>
                                <button
                                    class="icon"
                                    aria-label=rename_label
                                    on:click=move |_| editing.set(Some(edit_id.clone()))
                                >
                                    "✎"
                                </button>
                                <button
                                    class="icon danger"
                                    aria-label=delete_label
                                    on:click=move |_| chat.delete(delete_id.clone())
                                >
                                    "✕"
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}
