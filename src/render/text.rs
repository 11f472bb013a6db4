//! The human view, Terraform-like: one block per change (a `#` line saying what and why, the
//! action symbol and address, then the body), the summary line, overrides and notes.
//!
//! ANSI colour only when asked for; without it the output holds no escape codes at all.

use std::fmt::Write as _;

use crate::insight::impact::{Direction, ImpactItem};
use crate::plan::{Action, Change, Plan};

use super::diff::{self, Content, Line, Tag};
use super::value::{NONE, scrub};
use super::{NO_CHANGES, TextOptions, summary_line};

const BOLD: &str = "1";
const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";
const CYAN: &str = "36";

/// Wraps text in an SGR sequence, or leaves it alone when colour is off.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn render(plan: &Plan, options: TextOptions) -> String {
    let paint = Paint {
        color: options.color,
    };
    let mut out = String::new();
    if plan.has_changes() {
        out.push_str("accessctl will perform the following actions:\n\n");
        for change in &plan.changes {
            write_change(&mut out, change, paint);
            for line in super::deleted_with_lines(plan, change) {
                let _ = writeln!(out, "      {}", paint.paint(YELLOW, &line));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{}{}",
            paint.paint(BOLD, "Plan:"),
            summary_line(&plan.summary).trim_start_matches("Plan:")
        );
    } else {
        let _ = writeln!(out, "{}", paint.paint(BOLD, NO_CHANGES));
    }
    write_impact(&mut out, &plan.access_impact, paint);
    if !plan.overrides.is_empty() || !plan.notes.is_empty() {
        out.push('\n');
    }
    for flag in &plan.overrides {
        let _ = writeln!(
            out,
            "{} safety override used: {}",
            paint.paint(&format!("{BOLD};{YELLOW}"), "warning:"),
            scrub(flag)
        );
    }
    for note in &plan.notes {
        let label = paint.paint(BOLD, "note:");
        match super::note_address(note) {
            Some(address) => {
                let address = paint.paint(BOLD, &scrub(&address.to_string()));
                let _ = writeln!(out, "{label} {address}: {}", scrub(&note.message));
            }
            None => {
                let _ = writeln!(out, "{label} {}", scrub(&note.message));
            }
        }
    }
    out
}

/// The access-impact section: escalations first (`!`), then gains (`+`) and losses (`-`),
/// each with the route it comes by.
fn write_impact(out: &mut String, items: &[ImpactItem], paint: Paint) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint.paint(BOLD, &super::impact_heading(items))
    );
    for item in items {
        let (line, via) = super::impact_line(item);
        let marker = super::impact_marker(item);
        let color = match item.direction {
            _ if item.escalation => &format!("{BOLD};{RED}"),
            Direction::Gains => GREEN,
            Direction::Loses => RED,
        };
        let _ = writeln!(out, "  {} {line}", paint.paint(color, marker));
        let _ = writeln!(out, "      {via}");
    }
}

/// How the `#` line describes an action.
pub fn phrase(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::Adopt => "will be adopted",
    }
}

fn action_color(action: Action) -> &'static str {
    match action {
        Action::Create => GREEN,
        Action::Update => YELLOW,
        Action::Replace => MAGENTA,
        Action::Delete => RED,
        Action::Adopt => CYAN,
    }
}

fn write_change(out: &mut String, change: &Change, paint: Paint) {
    let address = scrub(&change.address.to_string());
    let reason = change
        .reason
        .as_deref()
        .map(|reason| format!(" ({})", scrub(reason)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  # {} {}{reason}",
        paint.paint(BOLD, &address),
        phrase(change.action)
    );
    let symbol = format!("{:>3}", change.action.symbol());
    let _ = writeln!(
        out,
        "{} {}",
        paint.paint(action_color(change.action), &symbol),
        paint.paint(BOLD, &address)
    );
    for line in diff::body(change) {
        write_line(out, &line, paint);
    }
}

fn tag_color(tag: Tag) -> Option<&'static str> {
    match tag {
        Tag::Add => Some(GREEN),
        Tag::Remove => Some(RED),
        Tag::Change => Some(YELLOW),
        Tag::Keep => None,
    }
}

fn marker(tag: Tag) -> &'static str {
    match tag {
        Tag::Add => "+",
        Tag::Remove => "-",
        Tag::Change => "~",
        Tag::Keep => " ",
    }
}

fn write_line(out: &mut String, line: &Line, paint: Paint) {
    let indent = " ".repeat(6 + 4 * line.depth);
    let text = match &line.content {
        Content::Text(text) => text.clone(),
        Content::Change {
            name,
            before,
            after,
        } => format!(
            "{name} = {} -> {}",
            before.as_deref().unwrap_or(NONE),
            after.as_deref().unwrap_or(NONE)
        ),
    };
    let color = tag_color(line.tag);
    let rendered = match (line.bare, line.tag, color) {
        (true, _, Some(color)) => format!("  {}", paint.paint(color, &text)),
        (true, _, None) => format!("  {text}"),
        // Whole added and removed lines are coloured, so diffs read at a glance; changed
        // fields colour only their marker.
        (false, Tag::Add | Tag::Remove, Some(color)) => {
            paint.paint(color, &format!("{} {text}", marker(line.tag)))
        }
        (false, _, Some(color)) => format!("{} {text}", paint.paint(color, marker(line.tag))),
        (false, _, None) => format!("{} {text}", marker(line.tag)),
    };
    let _ = writeln!(out, "{}", format!("{indent}{rendered}").trim_end());
}
