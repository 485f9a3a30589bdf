//! Test support for DataSage: a mock LLM provider that speaks the providers' real HTTP protocols, a
//! launcher for real `wrangler dev` instances (workerd, local D1, Durable Objects), a small API client,
//! a reader of what an instance stored, and the runtime's memory for the benchmarks.

pub mod calls;
pub mod client;
pub mod mock_provider;
pub mod runtime;
pub mod socket;
pub mod storage;
pub mod wrangler;

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}

/// The `p` quantile (0–1) of values sorted ascending, nearest rank; NaN when there are none. For the
/// benchmarks' figures.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
