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

/// What an account's section shows: a plan, or a drift report.
pub trait Section {
    /// `plan`, `drift`: the comment's heading and the JSON key of each account's result.
    const COMMAND: &'static str;
    /// How the tally counts an account that is not in order: `with changes`, `drifted`.
    const CHANGED: &'static str;
    /// Whether the account has changes (or drift).
    fn changed(&self) -> bool;
    /// The one line shown when the account's section is folded.
    fn summary(&self) -> String;
    fn text(&self, options: TextOptions) -> String;
    /// The one-account Markdown within `limit` characters, without its heading.
    fn markdown_within(&self, limit: usize) -> String;
    fn json(&self) -> Result<serde_json::Value, JsonError>;
}

impl Section for Plan {
    const COMMAND: &'static str = "plan";
    const CHANGED: &'static str = "with changes";
    fn changed(&self) -> bool {
        self.has_changes()
    }
    fn summary(&self) -> String {
        summary_line(&self.summary)
    }
    fn text(&self, options: TextOptions) -> String {
        super::text(self, options)
    }
    fn markdown_within(&self, limit: usize) -> String {
        let body = comment::render_within(self, limit);
        body.strip_prefix("### accessctl plan\n\n")
            .map_or_else(|| body.clone(), str::to_string)
    }
    fn json(&self) -> Result<serde_json::Value, JsonError> {
        super::json::to_value("the plan", self)
    }
}

/// What one account's run ended with.
pub struct Account<'s, S> {
    /// The `-f` path as given.
    pub file: String,
    /// The file's `account`; none when the file could not be read.
    pub account: Option<String>,
    pub outcome: Outcome<'s, S>,
}

/// A plan of several accounts.
pub type AccountPlan<'p> = Account<'p, Plan>;

/// The account's result, or why there is none.
pub enum Outcome<'s, S> {
    Done(&'s S),
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

impl<S> Account<'_, S> {
    /// `account 111111111111 (identity/)`, or the file alone.
    fn title(&self) -> String {
        match &self.account {
            Some(account) => format!("account {account} ({})", self.file),
            None => format!("`{}`", self.file),
        }
    }
}

/// How many accounts ran, had changes (or drift) and failed.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub accounts: usize,
    pub with_changes: usize,
    pub failed: usize,
}

pub fn tally<S: Section>(accounts: &[Account<'_, S>]) -> Tally {
    let mut tally = Tally {
        accounts: accounts.len(),
        ..Tally::default()
    };
    for account in accounts {
        match &account.outcome {
            Outcome::Done(done) if done.changed() => tally.with_changes += 1,
            Outcome::Done(_) => {}
            Outcome::Error(_) => tally.failed += 1,
        }
    }
    tally
}

/// `2 accounts: 1 with changes, 1 failed.`
fn tally_line<S: Section>(tally: &Tally) -> String {
    let mut parts = vec![format!("{} {}", tally.with_changes, S::CHANGED)];
    if tally.failed > 0 {
        parts.push(format!("{} failed", tally.failed));
    }
    format!("{} accounts: {}.", tally.accounts, parts.join(", "))
}

/// The text view: a section per account, then the tally.
pub fn text<S: Section>(accounts: &[Account<'_, S>], options: TextOptions) -> String {
    let mut out = String::new();
    for account in accounts {
        let title = scrub(&account.title());
        let _ = writeln!(out, "=== {title} ===\n");
        match &account.outcome {
            Outcome::Done(done) => out.push_str(&done.text(options)),
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
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{}", tally_line::<S>(&tally(accounts)));
    out
}

/// The JSON view: `accounts[]`, each with its result under [`Section::COMMAND`] (the
/// one-account JSON) or its `error`, and the tally.
pub fn json<S: Section>(accounts: &[Account<'_, S>]) -> Result<String, JsonError> {
    let mut list = Vec::with_capacity(accounts.len());
    for account in accounts {
        let mut entry = serde_json::Map::new();
        entry.insert("file".to_string(), account.file.clone().into());
        if let Some(id) = &account.account {
            entry.insert("account".to_string(), id.clone().into());
        }
        match &account.outcome {
            Outcome::Done(done) => {
                entry.insert(S::COMMAND.to_string(), done.json()?);
            }
            Outcome::Error(failure) => {
                entry.insert(
                    "error".to_string(),
                    super::json::to_value("an account's error", failure)?,
                );
            }
        }
        list.push(serde_json::Value::Object(entry));
    }
    #[derive(Serialize)]
    struct Report {
        format_version: u32,
        accounts: Vec<serde_json::Value>,
        summary: Tally,
    }
    super::json::to_pretty(
        "the accounts' report",
        &Report {
            format_version: PLAN_FORMAT_VERSION,
            accounts: list,
            summary: tally(accounts),
        },
    )
}

/// The pull-request comment: the tally, then a collapsible section per account (open when it
/// has changes or failed), each cut to its share of [`MARKDOWN_LIMIT`] the way the
/// one-account comment is cut, saying what was left out.
pub fn markdown<S: Section>(accounts: &[Account<'_, S>]) -> String {
    markdown_within(accounts, MARKDOWN_LIMIT)
}

/// [`markdown`] with the limit as a parameter (tests).
pub fn markdown_within<S: Section>(accounts: &[Account<'_, S>], limit: usize) -> String {
    let mut out = format!(
        "### accessctl {}: {} accounts\n\n",
        S::COMMAND,
        accounts.len()
    );
    let _ = writeln!(out, "**{}**\n", tally_line::<S>(&tally(accounts)));
    let sections: Vec<(String, String)> = accounts
        .iter()
        .map(|account| {
            let (summary, open) = match &account.outcome {
                Outcome::Done(done) => (done.summary(), done.changed()),
                Outcome::Error(_) => ("failed".to_string(), true),
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
            Outcome::Done(done) => out.push_str(&done.markdown_within(share)),
            Outcome::Error(failure) => out.push_str(&comment::failure(failure, share)),
        }
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&tail);
    }
    out
}
