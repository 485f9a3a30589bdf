//! The execution tree: every step, LLM call and SQL query of an answer, updated live while it streams.
//!
//! A node with children folds open and shut; which ones the person folded is kept by node id, so the
//! tree can be redrawn on every live update without undoing it.

use datasage_shared::tree::{NodeStatus, TreeNode};
use leptos::prelude::*;
use web_sys::HtmlDetailsElement;

/// Node ids the person folded shut.
pub type Folded = RwSignal<Vec<u32>>;

#[component]
pub fn TreeView(node: TreeNode, folded: Folded) -> impl IntoView {
    let (icon, class) = match node.status {
        NodeStatus::Running => ("◌", "running"),
        NodeStatus::Done => ("✓", "done"),
        NodeStatus::Failed => ("✕", "failed"),
    };
    let duration = node.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default();
    let row = view! {
        <span class="tree-icon" role="img" aria-label=class>{icon}</span>
        <span class="tree-label">{node.label}</span>
        <span class="tree-duration">{duration}</span>
    };
    let llm = node.llm.as_ref().map(|l| l.summary());
    // The row count and duration are in the node's detail line.
    let facts = view! {
        {llm.map(|l| view! { <div class="tree-detail">{l}</div> })}
        {node.query.map(|q| view! { <pre class="tree-sql" aria-label="SQL"><code>{q.sql}</code></pre> })}
        {node.detail.map(|d| view! { <div class="tree-detail">{d}</div> })}
    };
    if node.children.is_empty() {
        return view! {
            <div class=format!("tree-node {class}")>
                <div class="tree-row">{row}</div>
                {facts}
            </div>
        }
        .into_any();
    }
    let id = node.id;
    let open = !folded.with_untracked(|f| f.contains(&id));
    let on_toggle = move |ev: web_sys::Event| {
        let open = event_target::<HtmlDetailsElement>(&ev).open();
        folded.update(|f| {
            f.retain(|x| *x != id);
            if !open {
                f.push(id);
            }
        });
    };
    let children = node.children;
    view! {
        <details class=format!("tree-node {class}") open=open on:toggle=on_toggle>
            <summary class="tree-row">{row}</summary>
            {facts}
            <div class="tree-children">
                {children.into_iter().map(|c| view! { <TreeView node=c folded=folded/> }.into_any()).collect_view()}
            </div>
        </details>
    }
    .into_any()
}
