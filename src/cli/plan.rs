//! `accessctl plan`: desired state from access.yaml, live state from a snapshot, and the plan
//! between them in text, JSON or Markdown.

use std::path::{Path, PathBuf};

use clap::Args;

use super::accounts;
use super::common::{Inputs, SafetyArgs};
use super::planning::{Planned, plan_input, plan_live, plan_offline};
use super::{CliError, EXIT_CHANGES, EXIT_OK, OutputFormat, Printer};
use crate::insight::impact::{self, ImpactItem};
use crate::planfile::{self, SavedPlan};
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
/// `assumeRole`), one report. Exit 1 when any account failed (after the report, which says
/// why in its place), else 2 with `--detailed-exitcode` when any account has changes.
fn run_accounts(args: &PlanArgs, files: &[PathBuf], printer: &Printer) -> Result<i32, CliError> {
    if args.inputs.live_state.is_some() {
        return Err(CliError::new(
            "`--live-state` is the snapshot of one account: give one `-f` with it",
        )
        .with_hint("plan each account against its own snapshot, or drop `--live-state` to read every account live"));
    }
    if args.out.is_some() {
        return Err(
            CliError::new("`--out` saves the plan of one account: give one `-f` with it")
                .with_hint(
                    "save each account's plan with its own `accessctl plan -f FILE --out PATH`",
                ),
        );
    }
    let runtime = super::runtime()?;
    let runs = accounts::each(files, |input| {
        plan_input(
            &runtime,
            input,
            &args.inputs.aws,
            &args.safety,
            None,
            printer,
        )
    });
    let report = accounts::sections(&runs, |planned| &planned.plan);
    let tally = accounts::print_report(&report, args.output, printer, "planned")?;
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

/// Writes `planned` as a saved plan (`src/planfile.rs`) to `out`.
fn save(planned: &Planned, safety: &SafetyArgs, out: &Path) -> Result<(), CliError> {
    let saved = SavedPlan::new(
        planned.plan.clone(),
        planfile::Source::of(&planned.source),
        &planned.desired,
        planned.assume_role.as_ref(),
        &planned.live,
        planfile::Options {
            adopt: safety.adopt,
            overrides: safety.flags(),
        },
    )?;
    std::fs::write(out, saved.to_text()?).map_err(|error| {
        CliError::new(format!(
            "cannot write the plan to `{}`: {}",
            out.display(),
            io_reason(&error)
        ))
    })
}
