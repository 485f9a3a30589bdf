//! The built-in analyst: answers the question shapes it can compute exactly, with no LLM and no key.
//!
//! Flow: [`reading::read`] maps the question onto a computable [`intent::Intent`] using the dataset's own
//! column names (and onto filters on the category values it names), listing any part of the question it
//! cannot compute; [`plan::plan`] turns it into SQL over the dataset's table, the worker validates and runs
//! that SQL like any model-proposed query, and [`answer::write`] turns the rows into markdown text and an
//! optional chart whose data is those rows — saying first, at low confidence, what it left out.

pub mod answer;
pub mod chart;
pub mod filters;
pub mod format;
pub mod intent;
pub mod over_time;
pub mod parts;
pub mod plan;
pub mod reading;

pub use answer::{profile_markdown, write, Analysis};

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod honesty_tests;
#[cfg(test)]
mod sample_tests;
