//! The execution tree: every step, LLM call and SQL query of an answer, updated live while it streams.

use datasage_shared::tree::{NodeStatus, TreeNode};
use leptos::prelude::*;

#[component]
pub fn TreeView(node: TreeNode) -> impl IntoView {
    let (icon, class) = match node.status {
        NodeStatus::Running => ("◌", "running"),
        NodeStatus::Done => ("✓", "done"),
        NodeStatus::Failed => ("✕", "failed"),
    };
    let duration = node.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default();
    let llm = node.llm.as_ref().map(|l| l.summary());
    // The row count and duration are in the node's detail line.
    let query = node
        .query
        .map(|q| view! { <pre class="tree-sql" aria-label="SQL"><code>{q.sql}</code></pre> });
    let children = node.children;
    view! {
        <div class=format!("tree-node {class}")>
            <div class="tree-row">
                <span class="tree-icon" aria-label=class>{icon}</span>
                <span class="tree-label">{node.label}</span>
                <span class="tree-duration">{duration}</span>
            </div>
            {llm.map(|l| view! { <div class="tree-detail">{l}</div> })}
            {query}
            {node.detail.map(|d| view! { <div class="tree-detail">{d}</div> })}
            <div class="tree-children">
                {children.into_iter().map(|c| view! { <TreeView node=c/> }.into_any()).collect_view()}
            </div>
        </div>
    }
    .into_any()
}
