//! `accessctl apply`: read live state, plan, show the plan, ask, then carry out exactly that
//! plan. A failure says what was done, what failed and what was not attempted; running apply
//! again plans afresh from what is live and converges.

use clap::Args;

use super::plan::{AwsArgs, SafetyArgs, plan_live};
use super::{CliError, EXIT_OK, FileArg, Printer};
use crate::apply::{self, ApplyReport, Route};
use crate::aws::apply::IamExecutor;
use crate::kube::{ClusterExecutor, ClusterExecutors};
use crate::render::{self, TextOptions};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Apply without asking (pipelines). Without it, apply asks for `yes` on a terminal and
    /// refuses when there is none
    #[arg(long)]
    pub auto_approve: bool,
    /// How many independent changes may run at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

pub fn run(args: &ApplyArgs, printer: &Printer) -> Result<i32, CliError> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let planned = plan_live(&args.file.file, &args.aws, &args.safety, printer).await?;
        let plan = &planned.plan;
        printer.data(&render::text(
            plan,
            TextOptions {
                color: printer.stdout_color,
            },
        ))?;
        if !plan.has_changes() {
            return Ok(EXIT_OK);
        }
        for flag in &plan.overrides {
            printer.info(&format!(
                "warning: applying with the safety override `{flag}`"
            ));
        }
        if !super::confirm::confirm(args.auto_approve)? {
            printer.info("Apply cancelled: nothing was changed.");
            return Ok(EXIT_OK);
        }
        let Some(connections) = planned.connections else {
            return Err(CliError::new(
                "internal error: live state was read without connections",
            ));
        };
        let account = planned.live.account.clone().unwrap_or_default();
        let executor = Route {
            iam: IamExecutor::new(
                connections.aws.iam.clone(),
                account,
                planned.live.partition.clone(),
            ),
            eks: crate::live::eks_executor(&connections, &planned.live),
            clusters: ClusterExecutors {
                clusters: connections
                    .clusters
                    .into_iter()
                    .map(|(name, client)| (name, ClusterExecutor::new(client)))
                    .collect(),
            },
        };
        let before = connections.aws.counter.snapshot();
        let report = apply::apply(plan, &executor, usize::from(args.parallelism)).await;
        printer.verbose(&format!(
            "apply: {}",
            connections.aws.counter.snapshot().since(&before)
        ));
        finish(&report, printer)
    })
}

/// Prints the outcome: a summary line, and on failure every change by what happened to it.
fn finish(report: &ApplyReport, printer: &Printer) -> Result<i32, CliError> {
    if report.succeeded() {
        printer.info(&format!(
            "Apply complete: {} change{} applied.",
            report.done.len(),
            if report.done.len() == 1 { "" } else { "s" }
        ));
        return Ok(EXIT_OK);
    }
    let mut details = String::new();
    for address in &report.done {
        details.push_str(&format!("  done           {address}\n"));
    }
    for (address, error) in &report.failed {
        details.push_str(&format!("  failed         {address}: {error}\n"));
        if let Some(hint) = &error.hint {
            details.push_str(&format!("                 hint: {hint}\n"));
        }
    }
    for address in &report.not_attempted {
        details.push_str(&format!("  not attempted  {address}\n"));
    }
    Err(CliError::new(format!(
        "apply failed: {} done, {} failed, {} not attempted",
        report.done.len(),
        report.failed.len(),
        report.not_attempted.len()
    ))
    .with_details(details)
    .with_hint(
        "fix the cause and run `accessctl apply` again: it plans afresh from what is live now",
    ))
}
