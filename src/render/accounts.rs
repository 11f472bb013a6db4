//! Several accounts in one report (`plan -f identity -f workload`): each account's plan as the
//! one-account views render it, under a heading naming the account and its file; an account
//! that failed shows its error in its place. One text, one Markdown comment (a collapsible
//! section per account, all within [`MARKDOWN_LIMIT`]), one JSON document with `accounts[]`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::plan::{PLAN_FORMAT_VERSION, Plan};

use super::json::JsonError;
use super::markdown as comment;
use super::value::scrub;
use super::{MARKDOWN_LIMIT, TextOptions, summary_line};

/// What one account's run ended with.
#[derive(Debug, Serialize)]
pub struct AccountPlan<'p> {
    /// The `-f` path as given.
    pub file: String,
    /// The file's `account`; none when the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome<'p>,
}

/// A plan, or why there is none.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome<'p> {
    Plan(&'p Plan),
    Error(Failure),
}

/// An account's error, as the command line would have printed it alone.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub message: String,
    /// Every diagnostic of a file that does not load, one per line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl AccountPlan<'_> {
    /// `account 111111111111 (identity/)`, or the file alone.
    fn title(&self) -> String {
        match &self.account {
            Some(account) => format!("account {account} ({})", self.file),
            None => format!("`{}`", self.file),
        }
    }
}

/// How many accounts planned, had changes and failed.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub accounts: usize,
    pub with_changes: usize,
    pub failed: usize,
}

pub fn tally(accounts: &[AccountPlan<'_>]) -> Tally {
    let mut tally = Tally {
        accounts: accounts.len(),
        ..Tally::default()
    };
    for account in accounts {
        match &account.outcome {
            Outcome::Plan(plan) if plan.has_changes() => tally.with_changes += 1,
            Outcome::Plan(_) => {}
            Outcome::Error(_) => tally.failed += 1,
        }
    }
    tally
}

/// `2 accounts: 1 with changes, 1 failed.`
fn tally_line(tally: &Tally) -> String {
    let mut parts = vec![format!("{} with changes", tally.with_changes)];
    if tally.failed > 0 {
        parts.push(format!("{} failed", tally.failed));
    }
    format!("{} accounts: {}.", tally.accounts, parts.join(", "))
}

/// The text view: a section per account, then the tally.
pub fn text(accounts: &[AccountPlan<'_>], options: TextOptions) -> String {
    let mut out = String::new();
    for account in accounts {
        let title = scrub(&account.title());
        let _ = writeln!(out, "=== {title} ===\n");
        match &account.outcome {
            Outcome::Plan(plan) => out.push_str(&super::text(plan, options)),
            Outcome::Error(failure) => {
                let _ = writeln!(out, "error: {}", scrub(&failure.message));
                if let Some(details) = &failure.details {
                    for line in details.lines() {
                        let _ = writeln!(out, "{}", scrub(line));
                    }
                }
                if let Some(hint) = &failure.hint {
                    let _ = writeln!(out, "  hint: {}", scrub(hint));
                }
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", tally_line(&tally(accounts)));
    out
}

/// The JSON view: `accounts[]`, each with its `plan` (the one-account plan JSON) or its
/// `error`, and the tally.
pub fn json(accounts: &[AccountPlan<'_>]) -> Result<String, JsonError> {
    #[derive(Serialize)]
    struct Report<'a, 'p> {
        format_version: u32,
        accounts: &'a [AccountPlan<'p>],
        summary: Tally,
    }
    super::json::to_pretty(
        "the plans",
        &Report {
            format_version: PLAN_FORMAT_VERSION,
            accounts,
            summary: tally(accounts),
        },
    )
}

/// The pull-request comment: the tally, then a collapsible section per account (open when it
/// has changes or failed), each cut to its share of [`MARKDOWN_LIMIT`] the way the
/// one-account comment is cut, saying what was left out.
pub fn markdown(accounts: &[AccountPlan<'_>]) -> String {
    markdown_within(accounts, MARKDOWN_LIMIT)
}

/// [`markdown`] with the limit as a parameter (tests).
pub fn markdown_within(accounts: &[AccountPlan<'_>], limit: usize) -> String {
    let mut out = format!("### accessctl plan: {} accounts\n\n", accounts.len());
    let _ = writeln!(out, "**{}**\n", tally_line(&tally(accounts)));
    let sections: Vec<(String, String)> = accounts
        .iter()
        .map(|account| {
            let summary = match &account.outcome {
                Outcome::Plan(plan) => summary_line(&plan.summary),
                Outcome::Error(_) => "failed".to_string(),
            };
            let open = match &account.outcome {
                Outcome::Plan(plan) => plan.has_changes(),
                Outcome::Error(_) => true,
            };
            let head = format!(
                "<details{}><summary>{}: {}</summary>\n\n",
                if open { " open" } else { "" },
                comment::escape_html(&account.title()),
                comment::escape_html(&summary)
            );
            (head, "</details>\n\n".to_string())
        })
        .collect();
    let wrapping: usize = out.len()
        + sections
            .iter()
            .map(|(head, tail)| head.len() + tail.len())
            .sum::<usize>();
    let share = limit.saturating_sub(wrapping) / accounts.len().max(1);
    for (account, (head, tail)) in accounts.iter().zip(sections) {
        out.push_str(&head);
        match &account.outcome {
            Outcome::Plan(plan) => {
                let body = comment::render_within(plan, share);
                // The account's heading is the section's summary.
                let body = body.strip_prefix("### accessctl plan\n\n").unwrap_or(&body);
                out.push_str(body);
            }
            Outcome::Error(failure) => out.push_str(&comment::failure(failure, share)),
        }
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&tail);
    }
    out
}
