//! The built-in analyst: answers the question shapes it can compute exactly, with no LLM and no key.
//!
//! Flow: [`intent::parse`] maps the question onto a computable [`intent::Intent`] using the table's own
//! column names, [`answer::run`] computes it over the [`table::Table`], and the result is markdown text, an
//! optional chart whose data came from the computation, and the steps for the execution tree.

pub mod answer;
pub mod chart;
pub mod format;
pub mod intent;
pub mod stats;
pub mod table;

pub use answer::{profile_markdown, run, Analysis};
pub use table::Table;
