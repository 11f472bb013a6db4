//! Renderers: text, JSON and Markdown views of one [`Plan`](crate::plan::Plan). They are
//! rendered from the same data, so they cannot disagree. No I/O: each returns a `String`.
//!
//! `diff` decides what a change's body shows and `value` how a value is written; `text` and
//! `markdown` only lay those lines out.

mod diff;
pub mod json;
mod markdown;
mod text;
mod value;

use crate::plan::{Plan, Summary};

pub use json::JsonError;

/// Options for the human view.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// ANSI colour (only on a terminal, never with `NO_COLOR` or `--no-color`).
    pub color: bool,
}

/// The Terraform-like human view.
pub fn text(plan: &Plan, options: TextOptions) -> String {
    text::render(plan, options)
}

/// The plan as pretty JSON with a trailing newline; the only writer of plan JSON.
pub fn json(plan: &Plan) -> Result<String, json::JsonError> {
    json::render(plan)
}

/// Markdown for a pull-request comment; never over [`MARKDOWN_LIMIT`] characters.
pub fn markdown(plan: &Plan) -> String {
    markdown::render(plan)
}

/// GitHub refuses comments over 65,536 characters; keep a margin.
pub const MARKDOWN_LIMIT: usize = 65_000;

/// What the text and Markdown views say when there is nothing to do.
const NO_CHANGES: &str = "No changes. Live state matches access.yaml.";

/// `Plan: 1 to add, 0 to change, 0 to destroy.`, with `, N to adopt` only when there are any.
fn summary_line(summary: &Summary) -> String {
    let adopt = if summary.adopt > 0 {
        format!(", {} to adopt", summary.adopt)
    } else {
        String::new()
    };
    format!(
        "Plan: {} to add, {} to change, {} to destroy{adopt}.",
        summary.add, summary.change, summary.destroy
    )
}

#[cfg(test)]
mod tests;
