//! The pull-request comment: heading and summary, a table of changes, one collapsible
//! `diff` block per change, then overrides and notes.
//!
//! GitHub refuses comments over 65,536 characters, so the comment is cut to
//! [`MARKDOWN_LIMIT`](super::MARKDOWN_LIMIT): details go first (from the end), then table rows,
//! then notes, and a closing line says what was left out and where the full plan is.
//! Everything taken from the plan is escaped for the place it lands in (table cell, HTML
//! summary, code span, fenced block).

use std::fmt::Write as _;

use crate::insight::impact::{Direction, ImpactItem};
use crate::plan::{Action, Change, Plan};

use super::diff::{self, Content, Line, Tag};
use super::value::scrub;
use super::{MARKDOWN_LIMIT, NO_CHANGES, summary_line};

pub fn render(plan: &Plan) -> String {
    render_within(plan, MARKDOWN_LIMIT)
}

/// [`render`] with the size limit as a parameter, so truncation can be tested on small plans.
pub fn render_within(plan: &Plan, limit: usize) -> String {
    let mut head = String::from("### accessctl plan\n\n");
    let _ = writeln!(head, "**{}**\n", summary_line(&plan.summary));
    if !plan.has_changes() {
        let _ = writeln!(head, "{NO_CHANGES}\n");
    }

    let rows: Vec<String> = plan.changes.iter().map(row).collect();
    let details: Vec<String> = plan
        .changes
        .iter()
        .map(|change| details(change, &super::deleted_with_lines(plan, change)))
        .collect();
    let overrides: String = plan
        .overrides
        .iter()
        .map(|flag| {
            format!(
                "**Warning:** safety override used: {}\n\n",
                code_span(flag, false)
            )
        })
        .collect();
    let notes: Vec<String> = plan
        .notes
        .iter()
        .map(|note| match super::note_address(note) {
            Some(address) => format!(
                "- {}: {}\n",
                code_span(&address.to_string(), false),
                prose(&note.message, false)
            ),
            None => format!("- {}\n", prose(&note.message, false)),
        })
        .collect();

    let impact: Vec<String> = plan.access_impact.iter().map(impact_item).collect();
    let impact_header = if impact.is_empty() {
        String::new()
    } else {
        format!("**{}**\n\n", super::impact_heading(&plan.access_impact))
    };

    let kept = fit(
        limit,
        head.len() + overrides.len(),
        &impact_header,
        [&rows, &details, &impact, &notes],
        plan.changes.len(),
    );

    let mut out = head;
    if kept.rows > 0 {
        out.push_str(TABLE_HEADER);
        for row in &rows[..kept.rows] {
            out.push_str(row);
        }
        out.push('\n');
    }
    for block in &details[..kept.details] {
        out.push_str(block);
    }
    if kept.impact > 0 {
        out.push_str(&impact_header);
        for item in &impact[..kept.impact] {
            out.push_str(item);
        }
        out.push('\n');
    }
    out.push_str(&overrides);
    if kept.notes > 0 {
        out.push_str(NOTES_HEADER);
        for note in &notes[..kept.notes] {
            out.push_str(note);
        }
        out.push('\n');
    }
    out.push_str(&omission(
        plan.changes.len(),
        &kept,
        plan.notes.len() - kept.notes,
        impact.len() - kept.impact,
    ));
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    out.push('\n');
    if out.len() > limit {
        // Only reachable when the heading and overrides alone are too long: a hard cut keeps
        // the promise of never exceeding the limit.
        let cut = out.floor_char_boundary(limit.saturating_sub(CUT.len()));
        out.truncate(cut);
        out.push_str(CUT);
    }
    out
}

const TABLE_HEADER: &str = "| Action | Address | Reason |\n| --- | --- | --- |\n";
const NOTES_HEADER: &str = "**Notes**\n\n";
const CUT: &str = "\n…\n";

/// How many table rows, details blocks, access-impact items and notes fit.
#[derive(Debug, PartialEq, Eq)]
struct Kept {
    rows: usize,
    details: usize,
    impact: usize,
    notes: usize,
}

/// `parts`: table rows, details blocks, access-impact items, notes. Cut first: details (from
/// the end), then access-impact items (from the end: escalations, listed first, go last), then
/// rows, then notes.
fn fit(
    limit: usize,
    fixed: usize,
    impact_header: &str,
    parts: [&[String]; 4],
    total: usize,
) -> Kept {
    let [rows, details, impact, notes] = parts;
    let rows_len = prefix_sums(rows);
    let details_len = prefix_sums(details);
    let impact_len = prefix_sums(impact);
    let notes_len = prefix_sums(notes);
    let mut kept = Kept {
        rows: rows.len(),
        details: details.len(),
        impact: impact.len(),
        notes: notes.len(),
    };
    loop {
        let table = if kept.rows > 0 {
            TABLE_HEADER.len() + rows_len[kept.rows] + 1
        } else {
            0
        };
        let notes_part = if kept.notes > 0 {
            NOTES_HEADER.len() + notes_len[kept.notes] + 1
        } else {
            0
        };
        let impact_part = if kept.impact > 0 {
            impact_header.len() + impact_len[kept.impact] + 1
        } else {
            0
        };
        let size = fixed
            + table
            + details_len[kept.details]
            + impact_part
            + notes_part
            + omission(
                total,
                &kept,
                notes.len() - kept.notes,
                impact.len() - kept.impact,
            )
            .len()
            + 1;
        if size <= limit {
            return kept;
        }
        if kept.details > 0 {
            kept.details -= 1;
        } else if kept.impact > 0 {
            kept.impact -= 1;
        } else if kept.rows > 0 {
            kept.rows -= 1;
        } else if kept.notes > 0 {
            kept.notes -= 1;
        } else {
            return kept;
        }
    }
}

fn prefix_sums(parts: &[String]) -> Vec<usize> {
    let mut sums = Vec::with_capacity(parts.len() + 1);
    sums.push(0);
    let mut total = 0;
    for part in parts {
        total += part.len();
        sums.push(total);
    }
    sums
}

/// The closing line saying what the comment leaves out; empty when nothing is.
fn omission(total: usize, kept: &Kept, notes_left_out: usize, impact_left_out: usize) -> String {
    let left_out = total - kept.rows;
    let without_details = kept.rows - kept.details;
    let mut parts = Vec::new();
    if left_out > 0 {
        parts.push(format!(
            "{left_out} of {total} {} {} left out",
            plural(total, "change", "changes"),
            plural(left_out, "was", "were")
        ));
    }
    if without_details > 0 {
        parts.push(format!(
            "{without_details} {} listed without details",
            plural(without_details, "change is", "changes are")
        ));
    }
    if impact_left_out > 0 {
        parts.push(format!(
            "{impact_left_out} access-impact {} left out",
            plural(impact_left_out, "item was", "items were")
        ));
    }
    if notes_left_out > 0 {
        parts.push(format!(
            "{notes_left_out} {} left out",
            plural(notes_left_out, "note was", "notes were")
        ));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!(
        "**This comment is shortened to stay under GitHub's size limit:** {}. \
         The full plan is in the job log, and in `accessctl plan -o json`.\n",
        parts.join("; ")
    )
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

pub fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "destroy",
        Action::Adopt => "adopt",
    }
}

/// An access-impact item as a list item: `**escalation**` first when it is one, the route in a
/// code span.
fn impact_item(item: &ImpactItem) -> String {
    let (line, via) = super::impact_line(item);
    let flag = if item.escalation && item.direction == Direction::Gains {
        "**escalation:** "
    } else {
        ""
    };
    format!(
        "- `{}` {flag}{}\n  {}\n",
        super::impact_marker(item),
        escape_text(&line),
        code_span(&via, false)
    )
}

fn row(change: &Change) -> String {
    format!(
        "| `{}` {} | {} | {} |\n",
        change.action.symbol(),
        action_word(change.action),
        code_span(&change.address.to_string(), true),
        change
            .reason
            .as_deref()
            .map(|reason| prose(reason, true))
            .unwrap_or_default()
    )
}

/// A change's collapsible block; `comments` (`# …` lines) close its body.
fn details(change: &Change, comments: &[String]) -> String {
    let lines = diff::body(change);
    let mut body = String::new();
    if lines.is_empty() {
        let _ = writeln!(
            body,
            "{} {}",
            change.action.symbol(),
            scrub(&change.address.to_string())
        );
    }
    for line in &lines {
        write_line(&mut body, line);
    }
    for comment in comments {
        let _ = writeln!(body, "  {comment}");
    }
    let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
    format!(
        "<details><summary><code>{}</code> {}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
        escape_html(&change.address.to_string()),
        action_word(change.action)
    )
}

/// A body line with its `+`/`-` in the first column, where GitHub's diff highlighting looks.
fn write_line(out: &mut String, line: &Line) {
    let indent = " ".repeat(4 * line.depth);
    let slot = if line.tag == Tag::Change && !line.bare {
        '~'
    } else {
        ' '
    };
    match &line.content {
        Content::Text(text) => {
            let first = match line.tag {
                Tag::Add => '+',
                Tag::Remove => '-',
                Tag::Change | Tag::Keep => ' ',
            };
            let _ = writeln!(
                out,
                "{}",
                format!("{first}{slot} {indent}{text}").trim_end()
            );
        }
        Content::Change {
            name,
            before,
            after,
        } => {
            if let Some(before) = before {
                let _ = writeln!(out, "-  {indent}{name} = {before}");
            }
            if let Some(after) = after {
                let _ = writeln!(out, "+  {indent}{name} = {after}");
            }
        }
    }
}

fn longest_run(text: &str, wanted: char) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if c == wanted {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

/// An account's error in a several-account comment: the message, its details in a fenced
/// block (cut to `limit`, saying so), the hint.
pub(super) fn failure(failure: &super::accounts::Failure, limit: usize) -> String {
    let mut out = format!("**Error:** {}\n\n", prose(&failure.message, false));
    if let Some(hint) = &failure.hint {
        let _ = writeln!(out, "Hint: {}\n", prose(hint, false));
    }
    if let Some(details) = &failure.details {
        let details: String = details
            .lines()
            .map(|line| format!("{}\n", scrub(line)))
            .collect();
        let room = limit.saturating_sub(out.len() + 64);
        let (shown, cut) = match details.char_indices().nth(room) {
            Some((at, _)) => (&details[..at], true),
            None => (details.as_str(), false),
        };
        let fence = "`".repeat(longest_run(shown, '`').max(2) + 1);
        let _ = writeln!(out, "{fence}\n{}\n{fence}\n", shown.trim_end());
        if cut {
            out.push_str("_(cut: the rest is in the run's output)_\n\n");
        }
    }
    out
}

/// Free text from the plan (a reason, a note) for a table cell or a paragraph: the values it
/// quotes in backticks become code spans, the rest is escaped by [`escape_text`]. Text with
/// an unpaired backtick is escaped whole.
fn prose(text: &str, in_table: bool) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape_text(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (index, part) in parts.iter().enumerate() {
        if index.is_multiple_of(2) {
            out.push_str(&escape_text(part));
        } else if part.is_empty() {
            // A doubled backtick quotes nothing: keep it as text.
            out.push_str("\\`\\`");
        } else {
            out.push_str(&code_span(part, in_table));
        }
    }
    out
}

/// Text in a table cell or paragraph: nothing in it can end the cell, open HTML, start code or
/// swallow the next character.
fn escape_text(text: &str) -> String {
    escape(
        text,
        &[
            ('\\', "\\\\"),
            ('|', "\\|"),
            ('`', "\\`"),
            ('<', "&lt;"),
            ('>', "&gt;"),
            ('&', "&amp;"),
        ],
    )
}

/// Text inside HTML (`<summary>`), where Markdown is not parsed but entities are.
pub(super) fn escape_html(text: &str) -> String {
    escape(
        text,
        &[
            ('&', "&amp;"),
            ('<', "&lt;"),
            ('>', "&gt;"),
            ('"', "&quot;"),
            ('`', "&#96;"),
            ('|', "&#124;"),
        ],
    )
}

/// `text` scrubbed, each character `escapes` names replaced by its escape.
fn escape(text: &str, escapes: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in scrub(text).chars() {
        match escapes.iter().find(|(special, _)| *special == c) {
            Some((_, escaped)) => out.push_str(escaped),
            None => out.push(c),
        }
    }
    out
}

/// A code span that holds any text: the fence is longer than any run of backticks inside.
/// In a table cell `|` must still be escaped; GFM removes the backslash inside code spans.
fn code_span(text: &str, in_table: bool) -> String {
    let mut text = scrub(text);
    if in_table {
        text = text.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code_span("a", false), "`a`");
        assert_eq!(code_span("a`b", false), "``a`b``");
        assert_eq!(code_span("`a", false), "`` `a ``");
        assert_eq!(code_span("a|b", true), r"`a\|b`");
        assert_eq!(code_span("a|b", false), "`a|b`");
    }

    #[test]
    fn text_escapes() {
        assert_eq!(
            escape_text(r"a|b <script> `x` \ & c"),
            r"a\|b &lt;script&gt; \`x\` \\ &amp; c"
        );
        assert_eq!(escape_text("line\nbreak"), r"line\\u{a}break");
        assert_eq!(escape_html("<b>`|\"&"), "&lt;b&gt;&#96;&#124;&quot;&amp;");
    }

    #[test]
    fn prose_quotes_become_code_spans() {
        assert_eq!(
            prose("adopted because of `adopt: true`", true),
            "adopted because of `adopt: true`"
        );
        assert_eq!(prose("`a|b` and <c>", true), r"`a\|b` and &lt;c&gt;");
        assert_eq!(prose("`a|b` and <c>", false), "`a|b` and &lt;c&gt;");
        assert_eq!(prose("one ` alone", true), r"one \` alone");
        assert_eq!(prose("empty `` quote", false), r"empty \`\` quote");
    }

    #[test]
    fn omission_line_counts() {
        let kept = Kept {
            rows: 10,
            details: 4,
            impact: 0,
            notes: 0,
        };
        let line = omission(12, &kept, 1, 3);
        assert!(
            line.contains("3 access-impact items were left out"),
            "{line}"
        );
        assert!(line.contains("2 of 12 changes were left out"), "{line}");
        assert!(
            line.contains("6 changes are listed without details"),
            "{line}"
        );
        assert!(line.contains("1 note was left out"), "{line}");
        let all = Kept {
            rows: 3,
            details: 3,
            impact: 0,
            notes: 0,
        };
        assert_eq!(omission(3, &all, 0, 0), "");
    }
}
