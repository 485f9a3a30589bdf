//! Platform-free core of DataSage, shared by the worker and the app.
//!
//! Nothing here imports `worker`, `web-sys` or `leptos`: every module is plain Rust and is tested with a
//! plain `cargo test`. The worker and the app are thin adapters around it.

pub mod analyst;
pub mod api;
pub mod budget;
pub mod calendar;
pub mod csv;
pub mod extract;
pub mod hub;
pub mod jwt;
pub mod llm;
pub mod markdown;
pub mod multipart;
pub mod pricing;
pub mod profile;
pub mod prompt;
pub mod provider;
pub mod query;
pub mod ratelimit;
pub mod routing;
pub mod schema;
pub mod sql;
pub mod sse;
#[cfg(test)]
mod test_support;
pub mod text;
pub mod tokens;
pub mod tree;
pub mod usage;
pub mod wire;
mod words;
