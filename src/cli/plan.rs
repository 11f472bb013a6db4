//! `accessctl plan`: desired state from access.yaml, live state from a snapshot, and the plan
//! between them in text, JSON or Markdown.

use std::path::{Path, PathBuf};

use clap::Args;

use super::accounts::{self, AccountRun};
use super::common::{Inputs, SafetyArgs, account_state, read_live_states};
use super::planning::{Planned, plan_input, plan_live, plan_offline, plan_snapshot};
use super::{CliError, EXIT_CHANGES, EXIT_OK, OutputFormat, Printer};
use crate::insight::impact::{self, ImpactItem};
use crate::planfile::{self, AccountPlan, SavedPlan, SavedPlans};
use crate::render::{self, TextOptions};
use crate::words::io_reason;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to this file, for `accessctl apply PATH` (docs/plan-json.md)
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Exit 1 (after showing the plan) when it grants admin-equivalent access (cluster-admin,
    /// `system:masters`, `*` on `*`) to anyone who did not have it
    #[arg(long)]
    pub fail_on_escalation: bool,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

pub fn run(args: &PlanArgs, printer: &Printer) -> Result<i32, CliError> {
    let Some(file) = args.inputs.file.single() else {
        return run_accounts(args, &args.inputs.file.files, printer);
    };
    let planned = match &args.inputs.live_state {
        Some(path) => plan_offline(file, path, &args.safety, printer)?,
        None => {
            let runtime = super::runtime()?;
            plan_live(
                &runtime,
                file,
                &args.inputs.aws,
                &args.safety,
                None,
                printer,
            )?
        }
    };
    let plan = &planned.plan;
    if let Some(out) = &args.out {
        save(&planned, &args.safety, out)?;
        printer.info(&format!("saved the plan to `{}`", out.display()));
    }
    let rendered = match args.output {
        OutputFormat::Text => render::text(
            plan,
            TextOptions {
                color: printer.stdout_color,
            },
        ),
        OutputFormat::Json => render::json(plan)?,
        OutputFormat::Markdown => render::markdown(plan),
    };
    printer.data(&rendered)?;
    if args.fail_on_escalation {
        refuse_escalations(&plan.access_impact)?;
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// `plan -f A -f B …`: each account planned from live state (concurrently, through its
/// `assumeRole`), or from its part of a snapshot of several accounts (`--live-state`), one
/// report; with `--out`, one saved plan of every account. Exit 1 when any account failed
/// (after the report, which says why in its place), else 2 with `--detailed-exitcode` when
/// any account has changes.
fn run_accounts(args: &PlanArgs, files: &[PathBuf], printer: &Printer) -> Result<i32, CliError> {
    let runs = match &args.inputs.live_state {
        Some(path) => {
            let snapshots = read_live_states(path)?;
            accounts::each(files, |input| {
                let live = account_state(&snapshots, &input)?;
                plan_snapshot(input, live, path, &args.safety, printer)
            })
        }
        None => {
            let runtime = super::runtime()?;
            accounts::each(files, |input| {
                plan_input(
                    &runtime,
                    input,
                    &args.inputs.aws,
                    &args.safety,
                    None,
                    printer,
                )
            })
        }
    };
    let report = accounts::sections(&runs, |planned| &planned.plan);
    let printed = accounts::print_report(&report, args.output, printer, "planned");
    let tally = match (printed, &args.out) {
        (Ok(tally), _) => tally,
        (Err(error), Some(out)) => {
            printer.info(&format!(
                "the plan was not saved to `{}`: a saved plan of several accounts holds every account's",
                out.display()
            ));
            return Err(error);
        }
        (Err(error), None) => return Err(error),
    };
    if let Some(out) = &args.out {
        save_accounts(&runs, &args.safety, out)?;
        printer.info(&format!(
            "saved the plan of {} accounts to `{}`",
            runs.len(),
            out.display()
        ));
    }
    if args.fail_on_escalation {
        let items: Vec<ImpactItem> = runs
            .iter()
            .filter_map(|run| run.result.as_ref().ok())
            .flat_map(|planned| planned.plan.access_impact.iter().cloned())
            .collect();
        refuse_escalations(&items)?;
    }
    Ok(if args.detailed_exitcode && tally.with_changes > 0 {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// `--fail-on-escalation`: an error naming each principal or subject the plan makes
/// admin-equivalent, and how.
fn refuse_escalations(items: &[ImpactItem]) -> Result<(), CliError> {
    let found: Vec<&ImpactItem> = impact::escalations(items).collect();
    if found.is_empty() {
        return Ok(());
    }
    let mut details = String::new();
    for item in &found {
        let (line, via) = render::impact_line(item);
        details.push_str(&format!("  {line}\n    {via}\n"));
    }
    let count = found.len();
    Err(CliError::new(format!(
        "the plan grants admin-equivalent access (cluster-admin) to {count} principal{} or subject{} that did not have it (--fail-on-escalation)",
        if count == 1 { "" } else { "s" },
        if count == 1 { "" } else { "s" },
    ))
    .with_details(details)
    .with_hint(
        "have a second reviewer approve this plan, then run it without `--fail-on-escalation`",
    ))
}

/// `planned` as a saved plan (`src/planfile.rs`).
fn saved_plan(planned: &Planned, safety: &SafetyArgs) -> Result<SavedPlan, CliError> {
    Ok(SavedPlan::new(
        planned.plan.clone(),
        planfile::Source::of(&planned.source),
        &planned.desired,
        planned.assume_role.as_ref(),
        &planned.live,
        planfile::Options {
            adopt: safety.adopt,
            overrides: safety.flags(),
        },
    )?)
}

/// Writes `planned` as a saved plan to `out`.
fn save(planned: &Planned, safety: &SafetyArgs, out: &Path) -> Result<(), CliError> {
    write(out, &saved_plan(planned, safety)?.to_text()?)
}

/// Writes the plans of every account as one saved plan of several accounts to `out`; each
/// account is named by the file's `account`, else by the account its live state is of.
fn save_accounts(
    runs: &[AccountRun<Planned>],
    safety: &SafetyArgs,
    out: &Path,
) -> Result<(), CliError> {
    let mut parts = Vec::with_capacity(runs.len());
    for run in runs {
        let planned = run.result.as_ref().map_err(|error| {
            CliError::new(format!(
                "internal error: {} failed ({}) after the report",
                accounts::name(run),
                error.message
            ))
        })?;
        let Some(account) = run.account.clone().or(planned.live.account.clone()) else {
            return Err(CliError::new(format!(
                "cannot save the plan of {}: neither the file nor its live state names an AWS account",
                accounts::name(run)
            ))
            .with_hint("give the file its `account:` (docs/access-yaml.md)"));
        };
        parts.push(AccountPlan {
            account,
            file: crate::spec::input::shown(&run.file).display().to_string(),
            saved: saved_plan(planned, safety)?,
        });
    }
    write(out, &SavedPlans::new(parts).to_text()?)
}

fn write(out: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(out, text).map_err(|error| {
        CliError::new(format!(
            "cannot write the plan to `{}`: {}",
            out.display(),
            io_reason(&error)
        ))
    })
}
