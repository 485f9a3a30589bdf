//! Test support for DataSage: a mock LLM provider that speaks the providers' real HTTP protocols, a
//! launcher for real `wrangler dev` instances (workerd, local D1, Durable Objects), a small API client,
//! and a reader of what an instance stored.

pub mod client;
pub mod mock_provider;
pub mod storage;
pub mod wrangler;

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}
