//! The datasets panel: upload by drag-and-drop or file picker (with progress, and the reason and line
//! when a file is refused), the list to choose the conversation's dataset from, its profile and a
//! preview of its first rows.

use datasage_shared::analyst::answer::column_summary;
use datasage_shared::analyst::format::number;
use datasage_shared::query::display;
use leptos::html::Input;
use leptos::prelude::*;
use web_sys::DragEvent;

use crate::datasets::{Datasets, Upload};

#[component]
pub fn DatasetPanel(datasets: Datasets) -> impl IntoView {
    view! {
        <section class="datasets" aria-labelledby="datasets-title">
            <h2 id="datasets-title">"Datasets"</h2>
            <UploadZone datasets=datasets/>
            <ul class="dataset-list" aria-label="Your datasets">
                <For each=move || datasets.list.get() key=|d| (d.id.clone(), d.privacy) let:d>
                    {
                        let id = d.id.clone();
                        let (select_id, delete_id, privacy_id) = (id.clone(), id.clone(), id.clone());
                        let selected = Memo::new(move |_| datasets.selected.get() == id);
                        let facts = format!(
                            "{} rows · {} columns{}",
                            number(d.row_count as f64),
                            d.column_count,
                            if d.builtin { " · built-in" } else { "" }
                        );
                        let privacy = d.privacy;
                        view! {
                            <li class="dataset" class:selected=move || selected.get()>
                                <button
                                    class="dataset-pick"
                                    aria-pressed=move || selected.get().to_string()
                                    on:click=move |_| datasets.select(select_id.clone())
                                >
                                    <span class="dataset-name">{d.name.clone()}</span>
                                    <span class="dataset-facts">{facts}</span>
                                </button>
                                <Show when=move || !d.builtin>
                                    <label class="privacy" title="Only the schema and statistics go to AI providers">
                                        <input
                                            type="checkbox"
                                            prop:checked=privacy
                                            on:change={
                                                let id = privacy_id.clone();
                                                move |ev| datasets.set_privacy(id.clone(), event_target_checked(&ev))
                                            }
                                        />
                                        "Private"
                                    </label>
                                    <button
                                        class="dataset-delete"
                                        aria-label=format!("Delete {}", d.name)
                                        on:click={
                                            let id = delete_id.clone();
                                            move |_| datasets.delete(id.clone())
                                        }
                                    >
                                        "✕"
                                    </button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || datasets.error.with(Option::is_some)>
                <p class="panel-error" role="alert">
                    {move || datasets.error.get().map(|e| e.explain()).unwrap_or_default()}
                </p>
            </Show>
            <DatasetDetails datasets=datasets/>
        </section>
    }
}

#[component]
fn UploadZone(datasets: Datasets) -> impl IntoView {
    let input: NodeRef<Input> = NodeRef::new();
    let private = RwSignal::new(false);
    let dragging = RwSignal::new(false);
    let take = move |file: Option<web_sys::File>| {
        if let Some(f) = file {
            datasets.upload(f, private.get_untracked());
        }
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        take(
            ev.data_transfer()
                .and_then(|dt| dt.files())
                .and_then(|fs| fs.get(0)),
        );
    };
    let on_change = move |_| {
        if let Some(el) = input.get_untracked() {
            take(el.files().and_then(|fs| fs.get(0)));
            el.set_value(""); // the same file can be chosen again after a fix
        }
    };
    view! {
        <div
            class="dropzone"
            class:dragging=move || dragging.get()
            on:dragover=move |ev: DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <label class="dropzone-label">
                <input type="file" accept=".csv,.tsv,.txt,text/csv" node_ref=input on:change=on_change class="visually-hidden"/>
                <span class="dropzone-title">"Upload a CSV"</span>
                <span class="dropzone-hint">"Drop a file here or click to choose one"</span>
            </label>
            <label class="privacy">
                <input type="checkbox" prop:checked=move || private.get() on:change=move |ev| private.set(event_target_checked(&ev))/>
                "Privacy mode: send only the schema and statistics to AI providers"
            </label>
            {move || match datasets.upload.get() {
                Upload::Idle => ().into_any(),
                Upload::Sending { name, fraction } => view! {
                    <div class="upload-progress">
                        <span>{format!("Uploading {name}… {:.0}%", fraction * 100.0)}</span>
                        <progress max="1" value=fraction aria-label="Upload progress"></progress>
                    </div>
                }
                .into_any(),
                Upload::Processing { name } => view! {
                    <div class="upload-progress">
                        <span>{format!("Reading and profiling {name}…")}</span>
                        <progress aria-label="Processing the upload"></progress>
                    </div>
                }
                .into_any(),
                Upload::Failed { name, error } => view! {
                    <p class="upload-error" role="alert">
                        <strong>{format!("{name} was not uploaded. ")}</strong>
                        {error.explain()}
                    </p>
                }
                .into_any(),
            }}
        </div>
    }
}

#[component]
fn DatasetDetails(datasets: Datasets) -> impl IntoView {
    let profile = move || {
        datasets.detail.get().map(|d| {
            let rows = d.profile.rows;
            let privacy = d.summary.privacy;
            view! {
                <details class="profile" open>
                    <summary>{format!("Profile of {}", d.summary.name)}</summary>
                    <div class="table-scroll">
                        <table>
                            <thead><tr><th>"Column"</th><th>"Type"</th><th>"Summary"</th></tr></thead>
                            <tbody>
                                {d.profile
                                    .columns
                                    .iter()
                                    .map(|c| view! {
                                        <tr>
                                            <td><code>{c.name.clone()}</code></td>
                                            <td>{c.ty.word()}</td>
                                            <td>{column_summary(c, rows, privacy)}</td>
                                        </tr>
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                </details>
            }
        })
    };
    let preview = move || {
        datasets.preview.get().map(|p| {
            view! {
                <details class="preview">
                    <summary>{format!("First {} rows", p.rows.len())}</summary>
                    <div class="table-scroll">
                        <table>
                            <thead><tr>{p.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}</tr></thead>
                            <tbody>
                                {p.rows
                                    .iter()
                                    .map(|r| view! { <tr>{r.iter().map(|v| view! { <td>{display(v)}</td> }).collect_view()}</tr> })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                </details>
            }
        })
    };
    view! { <div class="dataset-details">{profile}{preview}</div> }
}
