//! DataSage in the browser: mounts the app.

mod api;
mod chat_stream;
mod components;
mod datasets;
mod events;
mod json;
mod live;
mod markdown;
#[cfg(test)]
mod test_support;
mod usage;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
