//! Token counting: cold start (the first count in a fresh process, as in a fresh isolate) and time per
//! 100 KB, for tiktoken-rs (`o200k_base()`, which parses its vocabulary at start) and for `tokens::count`
//! (vocabulary prepared at build time). Prints figures; asserts only that both count the same.
//! Run with `make bench` or `cargo bench -p datasage-shared --bench tokenizer`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use datasage_shared::tokens;

fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let text: String = (0..3_000)
        .map(|i| format!("Row {i}: the **West** region leads with 392,335.43 — café, 東京 😀. "))
        .collect();
    let text = &text[..text
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i <= 100_000)
        .last()
        .unwrap_or(0)];

    let t = Instant::now();
    let ours_first = tokens::count("How many rows are there?");
    let ours_cold = t.elapsed();
    let t = Instant::now();
    let bpe = tiktoken_rs::o200k_base().expect("o200k");
    let theirs_first = bpe.encode_ordinary("How many rows are there?").len();
    let theirs_cold = t.elapsed();
    assert_eq!(ours_first, theirs_first);

    let ours = best_of(5, || {
        black_box(tokens::count(text));
    });
    let theirs = best_of(5, || {
        black_box(bpe.encode_ordinary(text).len());
    });
    assert_eq!(tokens::count(text), bpe.encode_ordinary(text).len());

    println!("cold start (first count in the process)");
    println!(
        "  tiktoken-rs o200k_base()   {:>8.1} ms",
        theirs_cold.as_secs_f64() * 1e3
    );
    println!(
        "  tokens::count (prepared)   {:>8.1} ms",
        ours_cold.as_secs_f64() * 1e3
    );
    println!("per 100 KB of text ({} tokens)", tokens::count(text));
    println!(
        "  tiktoken-rs                {:>8.1} ms",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "  tokens::count              {:>8.1} ms",
        ours.as_secs_f64() * 1e3
    );
}
