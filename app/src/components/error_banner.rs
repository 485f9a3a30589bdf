//! Errors in plain words, with what to do about them: a rate limit counts down to when asking works
//! again, and whatever can be tried again has a Retry button.

use datasage_shared::api::ErrorCode;
use leptos::prelude::*;

use crate::api::ClientError;
use crate::chat_stream::ChatStream;

#[component]
pub fn ErrorBanner(chat: ChatStream) -> impl IntoView {
    let error = chat.error;
    // Seconds until a rate-limited person may ask again, counted down once a second.
    let wait = RwSignal::new(0u64);
    let ticker = StoredValue::new_local(None::<IntervalHandle>);
    Effect::watch(
        move || error.get(),
        move |now, _, _| {
            if let Some(t) = ticker.try_update_value(Option::take).flatten() {
                t.clear();
            }
            let secs = match now {
                Some(ClientError::RateLimited { retry_after_secs }) => *retry_after_secs,
                _ => 0,
            };
            wait.set(secs);
            if secs > 0 {
                let tick = move || {
                    wait.update(|w| *w = w.saturating_sub(1));
                    if wait.get_untracked() == 0 {
                        if let Some(t) = ticker.try_update_value(Option::take).flatten() {
                            t.clear();
                        }
                    }
                };
                ticker.set_value(set_interval_with_handle(tick, std::time::Duration::from_secs(1)).ok());
            }
        },
        true,
    );
    let text = move || {
        error.with(|e| match e {
            Some(ClientError::RateLimited { .. }) => match wait.get() {
                0 => "You can ask again now.".to_owned(),
                secs => format!("You're asking faster than your plan allows. You can ask again in {secs} s."),
            },
            Some(e) => e.explain(),
            None => String::new(),
        })
    };
    let retryable = move || {
        error.with(|e| match e {
            Some(ClientError::Network(_) | ClientError::RateLimited { .. }) => true,
            Some(ClientError::Server { code, .. }) => matches!(
                code,
                ErrorCode::ProvidersUnavailable | ErrorCode::ProviderError | ErrorCode::Internal
            ),
            _ => false,
        })
    };
    view! {
        <Show when=move || error.with(Option::is_some)>
            <div class="error-banner" role="alert">
                <span class="error-text">{text}</span>
                <Show when=retryable>
                    <button
                        type="button"
                        class="retry"
                        disabled=move || { wait.get() > 0 || chat.is_streaming.get() }
                        on:click=move |_| chat.retry()
                    >
                        "Retry"
                    </button>
                </Show>
                <button class="dismiss" aria-label="Dismiss" on:click=move |_| error.set(None)>"×"</button>
            </div>
        </Show>
    }
}
