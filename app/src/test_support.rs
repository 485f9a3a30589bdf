//! For the component tests, which run in real Chromium (wasm-bindgen-test): mounting a view on its own
//! and reading the DOM it made.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// The element a view was mounted into.
pub struct Page(HtmlElement);

/// Mounts `view` into a fresh element of the page (kept for the rest of the test run).
pub fn mount<V: IntoView + 'static>(view: impl FnOnce() -> V + 'static) -> Page {
    let document = document();
    let host: HtmlElement = document.create_element("div").expect("a div").unchecked_into();
    document
        .body()
        .expect("a body")
        .append_child(&host)
        .expect("appended");
    std::mem::forget(leptos::mount::mount_to(host.clone(), view));
    Page(host)
}

/// Lets pending effects and renders run.
pub use crate::chat_stream::next_turn as settle;

impl Page {
    /// Every element `selector` matches, in page order.
    pub fn all(&self, selector: &str) -> Vec<Element> {
        let list = self.0.query_selector_all(selector).expect("a valid selector");
        (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into().ok())
            .collect()
    }

    pub fn has(&self, selector: &str) -> bool {
        !self.all(selector).is_empty()
    }

    pub fn first(&self, selector: &str) -> Element {
        self.all(selector)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {selector} in {}", self.html()))
    }

    pub fn count(&self, selector: &str) -> usize {
        self.all(selector).len()
    }

    /// The text of every element `selector` matches, in page order.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        self.all(selector)
            .iter()
            .map(|e| e.text_content().unwrap_or_default().trim().to_owned())
            .collect()
    }

    pub fn attrs(&self, selector: &str, name: &str) -> Vec<String> {
        self.all(selector)
            .iter()
            .filter_map(|e| e.get_attribute(name))
            .collect()
    }

    pub fn click(&self, selector: &str) {
        self.first(selector).unchecked_into::<HtmlElement>().click();
    }

    pub fn text(&self) -> String {
        self.0.text_content().unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.0.inner_html()
    }
}
