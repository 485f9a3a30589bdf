//! Token estimates against the count they stand in for: cold start (the first call in a fresh process, as
//! in a fresh isolate), time per 100 KB, and how close the estimate is, for `tokens::estimate` and for
//! tiktoken-rs with o200k_base (which parses a 3.6 MB vocabulary on first use). Prints figures.
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let text: String = (0..3_000)
        .map(|i| format!("Row {i}: the **West** region leads with 392,335.43 — café, 東京 😀. "))
        .collect();
    let end = text
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i <= 100_000)
        .last();
    let text = &text[..end.unwrap_or(0)];

    let t = Instant::now();
    black_box(tokens::estimate("How many rows are there?"));
    let ours_cold = t.elapsed();
    let t = Instant::now();
    let Ok(bpe) = tiktoken_rs::o200k_base() else {
        return eprintln!("o200k_base did not load");
    };
    black_box(bpe.encode_ordinary("How many rows are there?").len());
    let theirs_cold = t.elapsed();

    let ours = best_of(5, || {
        black_box(tokens::estimate(text));
    });
    let theirs = best_of(5, || {
        black_box(bpe.encode_ordinary(text).len());
    });
    let (estimate, count) = (tokens::estimate(text), bpe.encode_ordinary(text).len());

    println!("cold start (first call in the process)");
    println!("  tiktoken-rs o200k_base()   {:>8.3} ms", ms(theirs_cold));
    println!("  tokens::estimate           {:>8.3} ms", ms(ours_cold));
    println!("per 100 KB of text: o200k counts {count} tokens, the estimate says {estimate}");
    println!("  tiktoken-rs                {:>8.3} ms", ms(theirs));
    println!("  tokens::estimate           {:>8.3} ms", ms(ours));
}
