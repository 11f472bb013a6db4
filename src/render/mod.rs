//! Renderers: text, JSON and Markdown views of one [`Plan`](crate::plan::Plan). They are
//! rendered from the same data, so they cannot disagree. No I/O: each returns a `String`.
//!
//! `diff` decides what a change's body shows and `value` how a value is written; `text` and
//! `markdown` only lay those lines out.

pub mod accounts;
mod diff;
pub mod json;
mod markdown;
mod text;
mod value;

use crate::insight::impact::{self, Direction, ImpactItem, WhoKind};
use crate::plan::{Address, Change, DeletedWith, Note, Plan, Summary};

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

/// What goes with a user `change` deletes, as `#` comment lines for its block: the
/// credentials by id, then what could not be read. Nothing for other changes.
fn deleted_with_lines(plan: &Plan, change: &Change) -> Vec<String> {
    let Some(with) = plan
        .deleted_with
        .iter()
        .find(|with| with.address == change.address)
    else {
        return Vec::new();
    };
    deleted_with_comments(with)
}

fn deleted_with_comments(with: &DeletedWith) -> Vec<String> {
    let items = with.items();
    let mut lines = vec![if items.is_empty() {
        "# IAM deletes no credentials with it".to_string()
    } else {
        format!("# IAM deletes with it: {}", items.join(", "))
    }];
    lines.extend(with.unlisted.iter().map(|note| format!("# {note}")));
    lines.into_iter().map(|line| value::scrub(&line)).collect()
}

/// An access-impact item as one line (without its marker) and the route it comes by:
/// `user/manager gains cluster-admin (everything, cluster-wide) in cluster demo`.
pub fn impact_line(item: &ImpactItem) -> (String, String) {
    let who = match item.kind {
        WhoKind::IamUser | WhoKind::IamRole | WhoKind::IamExternal => item.who.clone(),
        WhoKind::KubernetesUser => format!("user {}", item.who),
        WhoKind::KubernetesGroup => format!("group {}", item.who),
        WhoKind::ServiceAccount => format!("service account {}", item.who),
    };
    let place = match &item.namespace {
        Some(namespace) => format!("in namespace {namespace} of cluster {}", item.cluster),
        None if item.rule.is_some() && !item.escalation => {
            format!("cluster-wide in cluster {}", item.cluster)
        }
        None => format!("in cluster {}", item.cluster),
    };
    let possibly = if item.possibly { " (possibly)" } else { "" };
    (
        value::scrub(&format!(
            "{who} {} {} {place}{possibly}",
            item.direction.as_str(),
            item.access
        )),
        value::scrub(&format!("via {}", item.via)),
    )
}

/// The heading of the access-impact section, with the number of escalations.
fn impact_heading(items: &[ImpactItem]) -> String {
    let escalations = impact::escalations(items).count();
    match escalations {
        0 => "Access impact:".to_string(),
        1 => "Access impact (1 escalation to admin-equivalent access):".to_string(),
        n => format!("Access impact ({n} escalations to admin-equivalent access):"),
    }
}

/// `!` for an escalation gained, `+` for a gain, `-` for a loss.
fn impact_marker(item: &ImpactItem) -> &'static str {
    match (item.escalation, item.direction) {
        (true, Direction::Gains) => "!",
        (_, Direction::Gains) => "+",
        (_, Direction::Loses) => "-",
    }
}

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

/// The address a note is shown under, or `None` when its message already names it: a note
/// never repeats its own address.
fn note_address(note: &Note) -> Option<&Address> {
    note.address
        .as_ref()
        .filter(|address| !note.message.contains(&address.to_string()))
}

#[cfg(test)]
mod tests;
