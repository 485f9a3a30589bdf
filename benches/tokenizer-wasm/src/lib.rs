//! Token counting in wasm32 under V8 — the engine workerd runs — so cold-start figures match what an
//! isolate pays. `run.mjs` calls each function in a fresh process; `make bench` runs it.

use wasm_bindgen::prelude::*;

const QUESTION: &str = "How many rows are there?";

fn timed(f: impl FnOnce() -> usize) -> f64 {
    let t = js_sys::Date::now();
    let n = f();
    let elapsed = js_sys::Date::now() - t;
    if n == 0 {
        return f64::NAN; // nothing was counted: the figure would be meaningless
    }
    elapsed
}

/// Milliseconds for the first count with the build-time vocabulary (`tokens::count`).
#[wasm_bindgen]
pub fn prepared_first_count_ms() -> f64 {
    timed(|| datasage_shared::tokens::count(QUESTION))
}

/// Milliseconds for the first count with tiktoken-rs, which parses its vocabulary first.
#[wasm_bindgen]
pub fn tiktoken_first_count_ms() -> f64 {
    timed(|| {
        tiktoken_rs::o200k_base()
            .map(|b| b.encode_ordinary(QUESTION).len())
            .unwrap_or(0)
    })
}

/// Milliseconds to count `text` with the build-time vocabulary, warm.
#[wasm_bindgen]
pub fn prepared_count_ms(text: &str) -> f64 {
    datasage_shared::tokens::count(QUESTION);
    timed(|| datasage_shared::tokens::count(text))
}

/// Milliseconds to count `text` with tiktoken-rs, warm (its start-up excluded).
#[wasm_bindgen]
pub fn tiktoken_count_ms(text: &str) -> f64 {
    match tiktoken_rs::o200k_base() {
        Ok(bpe) => timed(|| bpe.encode_ordinary(text).len()),
        Err(_) => f64::NAN,
    }
}
