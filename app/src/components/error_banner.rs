//! Errors in plain words, with what to do about them.

use leptos::prelude::*;

use crate::api::ClientError;

#[component]
pub fn ErrorBanner(error: RwSignal<Option<ClientError>>) -> impl IntoView {
    view! {
        <Show when=move || error.with(Option::is_some)>
            <div class="error-banner" role="alert">
                <span>{move || error.get().map(|e| e.explain()).unwrap_or_default()}</span>
                <button class="dismiss" aria-label="Dismiss" on:click=move |_| error.set(None)>"×"</button>
            </div>
        </Show>
    }
}
