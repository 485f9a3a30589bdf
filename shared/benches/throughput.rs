//! Throughput of the streaming hot paths: SSE framing, provider stream parsing and `response_text`
//! extraction on recorded fixtures repeated to a few megabytes, and CSV reading plus profiling of 100,000
//! rows of the sample dataset. Prints MB/s; asserts nothing (the machine
//! is shared and noisy). Run with `make bench` or `cargo bench -p datasage-shared --bench throughput`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use datasage_shared::csv::{CsvReader, Limits};
use datasage_shared::extract::AnswerExtractor;
use datasage_shared::profile::Profiler;
use datasage_shared::provider::anthropic::AnthropicStream;
use datasage_shared::provider::openai::OpenAiStream;
use datasage_shared::provider::StreamParser;
use datasage_shared::sse::SseParser;

const TARGET_BYTES: usize = 4 << 20;
const CHUNK: usize = 512;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/providers")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn repeat_to_target(one: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET_BYTES + one.len());
    while out.len() < TARGET_BYTES {
        out.extend_from_slice(one);
    }
    out
}

/// Best of five runs, in MB/s.
fn measure(name: &str, bytes: usize, mut run: impl FnMut()) {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        run();
        best = best.min(t.elapsed());
    }
    let mbps = bytes as f64 / (1 << 20) as f64 / best.as_secs_f64();
    println!(
        "{name:<44} {mbps:>9.1} MB/s   ({:.1} ms for {:.1} MB)",
        best.as_secs_f64() * 1e3,
        bytes as f64 / (1 << 20) as f64
    );
}

fn main() {
    let openai = repeat_to_target(&fixture("openai/text_with_usage.sse"));
    let anthropic = repeat_to_target(&fixture("anthropic/thinking_then_text.sse"));
    measure("SSE framing (OpenAI stream, 512 B chunks)", openai.len(), || {
        let mut p = SseParser::new();
        for c in openai.chunks(CHUNK) {
            black_box(p.push(c).ok());
        }
    });
    // A hostile stream: one line that never ends, up to the bound. Linear scanning keeps this at the
    // speed above; rescanning the buffer on every chunk made it quadratic (seconds for a megabyte).
    let endless_line = vec![b'x'; datasage_shared::sse::MAX_EVENT_BYTES];
    measure(
        "SSE framing (one 1 MB line, 512 B chunks)",
        endless_line.len(),
        || {
            let mut p = SseParser::new();
            for c in endless_line.chunks(CHUNK) {
                black_box(p.push(c).ok());
            }
        },
    );
    measure("OpenAI stream → events (512 B chunks)", openai.len(), || {
        let mut p = OpenAiStream::new();
        for c in openai.chunks(CHUNK) {
            black_box(p.push(c));
        }
    });
    measure(
        "Anthropic stream → events (512 B chunks)",
        anthropic.len(),
        || {
            let mut p = AnthropicStream::new();
            for c in anthropic.chunks(CHUNK) {
                black_box(p.push(c));
            }
        },
    );

    // A long JSON answer full of escapes, fed in token-sized deltas.
    let text: String = (0..40_000).map(|i| format!("Row {i}: \"é\" \\ 😀\n")).collect();
    let json =
        serde_json::json!({"response_text": text, "chart_config": null, "confidence": "high"}).to_string();
    let deltas: Vec<&str> = {
        let mut v = Vec::new();
        let mut start = 0;
        for (i, _) in json.char_indices().filter(|(i, _)| i % 6 == 0) {
            if i > start {
                v.push(&json[start..i]);
                start = i;
            }
        }
        v.push(&json[start..]);
        v
    };
    measure("response_text extraction (6-byte deltas)", json.len(), || {
        let mut x = AnswerExtractor::new();
        for d in &deltas {
            black_box(x.push(d));
        }
        black_box(x.finish());
    });

    // 100,000 rows: the sample's rows repeated, read in 64 KB chunks as an upload arrives, then profiled.
    let sample = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample_sales.csv"))
        .expect("sample dataset");
    let header_end = sample.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut csv = sample[..header_end].to_vec();
    let body = &sample[header_end..];
    let rows_per_copy = body.iter().filter(|&&b| b == b'\n').count();
    for _ in 0..100_000usize.div_ceil(rows_per_copy) {
        csv.extend_from_slice(body);
    }
    let mut rows = 0;
    measure("CSV reading + profiling (64 KB chunks)", csv.len(), || {
        let mut reader = CsvReader::new(Limits::default());
        let mut profiler: Option<Profiler> = None;
        rows = 0;
        for chunk in csv.chunks(64 << 10).map(Some).chain([None]) {
            let records = match chunk {
                Some(c) => reader.push(c),
                None => reader.finish(),
            }
            .expect("valid CSV");
            let p = profiler.get_or_insert_with(|| Profiler::new(reader.header().unwrap_or_default()));
            for r in &records {
                p.observe(r);
            }
            rows += records.len();
        }
        black_box(profiler.map(Profiler::finish));
    });
    println!("    ({rows} rows)");
}
