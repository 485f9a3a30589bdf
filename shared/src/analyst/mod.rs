//! The built-in analyst: answers the question shapes it can compute exactly, with no LLM and no key.
//!
//! Flow: [`intent::parse`] maps the question onto a computable [`intent::Intent`] using the dataset's own
//! column names, [`plan::plan`] turns it into SQL over the dataset's table, the worker validates and runs
//! that SQL like any model-proposed query, and [`answer::write`] turns the rows into markdown text and an
//! optional chart whose data is those rows.

pub mod answer;
pub mod chart;
pub mod format;
pub mod intent;
pub mod plan;

pub use answer::{profile_markdown, write, Analysis};

#[cfg(test)]
mod sample_tests;
