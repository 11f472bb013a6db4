//! Renderers: text, JSON and Markdown views of one [`Plan`](crate::plan::Plan). They are
//! rendered from the same data, so they cannot disagree. No I/O: each returns a `String`.

use crate::plan::Plan;

/// Options for the human view.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// ANSI colour (only on a terminal, never with `NO_COLOR` or `--no-color`).
    pub color: bool,
}

pub fn text(plan: &Plan, options: TextOptions) -> String {
    let _ = options;
    format!("{} changes\n", plan.changes.len())
}

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

/// Markdown for a pull-request comment; never over [`MARKDOWN_LIMIT`] characters.
pub fn markdown(plan: &Plan) -> String {
    format!("{} changes\n", plan.changes.len())
}

/// GitHub refuses comments over 65,536 characters; keep a margin.
pub const MARKDOWN_LIMIT: usize = 65_000;
