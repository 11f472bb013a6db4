//! `accessctl drift`: does live state match access.yaml, and does anything grant access outside
//! it? Exit 0 when all is in order, 2 when there is drift, 1 on error: made for a schedule
//! (docs/recipes/kubernetes-cronjob.md).

use std::path::PathBuf;

use clap::Args;

use super::accounts;
use super::common::{
    AwsArgs, Input, Inputs, SafetyArgs, account_state, check_snapshot, live_error, read_live,
    read_live_state, read_live_states,
};
use super::{CliError, EXIT_CHANGES, EXIT_OK, OutputFormat, Printer};
use crate::drift::{self, Report};
use crate::live::LiveError;
use crate::model::{Desired, State};
use crate::plan;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// The options the plans are made with (as for `accessctl plan`): drift reports what that
    /// plan shows, and what would make it refuse
    #[command(flatten)]
    pub safety: SafetyArgs,
}

pub fn run(args: &DriftArgs, printer: &Printer) -> Result<i32, CliError> {
    let Some(file) = args.inputs.file.single() else {
        return run_accounts(args, &args.inputs.file.files, printer);
    };
    let report = match &args.inputs.live_state {
        Some(path) => {
            let live = read_live_state(path)?;
            let input = Input::read(file)?;
            check_snapshot(&input.desired()?.state, &live, path)?;
            report_of(&input, &live, &live, args)?
        }
        None => live_report(&super::runtime()?, Input::read(file)?, args, printer)?,
    };
    let rendered = match args.output {
        OutputFormat::Text => drift::text(&report),
        OutputFormat::Json => drift::json(&report)?,
        OutputFormat::Markdown => drift::markdown(&report),
    };
    printer.data(&rendered)?;
    Ok(if report.in_sync {
        EXIT_OK
    } else {
        EXIT_CHANGES
    })
}

/// `drift -f A -f B …`: each account checked against live state (concurrently, through its
/// `assumeRole`), or against its part of a snapshot of several accounts (`--live-state`), one
/// report. Exit 1 when any account failed, else 2 when any drifted.
fn run_accounts(args: &DriftArgs, files: &[PathBuf], printer: &Printer) -> Result<i32, CliError> {
    let runs = match &args.inputs.live_state {
        Some(path) => {
            let snapshots = read_live_states(path)?;
            accounts::each(files, |input| {
                let live = account_state(&snapshots, &input)?;
                check_snapshot(&input.desired()?.state, &live, path)?;
                report_of(&input, &live, &live, args)
            })
        }
        None => {
            let runtime = super::runtime()?;
            accounts::each(files, |input| live_report(&runtime, input, args, printer))
        }
    };
    let report = accounts::sections(&runs, |report: &Report| report);
    let tally = accounts::print_report(&report, args.output, printer, "checked")?;
    Ok(if tally.with_changes > 0 {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// One account's report from live state.
fn live_report(
    runtime: &tokio::runtime::Runtime,
    input: Input,
    args: &DriftArgs,
    printer: &Printer,
) -> Result<Report, CliError> {
    let desired = input.desired()?;
    let (live, wider) = runtime.block_on(read_with_bindings(desired, &args.inputs.aws, printer))?;
    report_of(&input, &live, &wider, args)
}

/// The report: the plan `accessctl plan` makes with the same options (what would refuse it is
/// reported with the changes, not raised), and the grants outside the file.
fn report_of(
    input: &Input,
    live: &State,
    grants_live: &State,
    args: &DriftArgs,
) -> Result<Report, CliError> {
    let loaded = input.resolve(Some(live))?;
    let assessment = plan::assess(&loaded.desired, live, &args.safety.options());
    let unmanaged = drift::unmanaged(&loaded.desired.state, grants_live);
    Ok(Report::new(&assessment, unmanaged, &loaded.acknowledged))
}

/// Live state as a plan reads it, and a copy with every binding of `cluster-admin` added (the
/// plan's read brings only the bindings accessctl owns or the file names) and the access keys
/// of the users [`drift::key_holders`] names (the plan reads only those of `accessKeys` users).
async fn read_with_bindings(
    desired: &Desired,
    aws: &AwsArgs,
    printer: &Printer,
) -> Result<(State, State), CliError> {
    let (live, connections) = read_live(desired, aws, printer).await?;
    let desired = &desired.state;
    let mut wider = live.clone();
    // The keys of the users drift reports on that declare no `accessKeys`: unmanaged grants.
    let holders = drift::key_holders(desired, &live)
        .into_iter()
        .map(|user| (user, None))
        .collect();
    let keys = crate::live::key_reader(&connections)
        .read(holders)
        .await
        .map_err(live_error)?;
    wider.iam.access_keys.extend(keys);
    for (name, client) in &connections.clusters {
        let bindings = crate::kube::wide::read_cluster_admin_bindings(client)
            .await
            .map_err(|error| live_error(LiveError::Kube(error)))?;
        if let Some(cluster) = wider.clusters.get_mut(name) {
            drift::add_bindings(cluster, bindings);
        }
    }
    Ok((live, wider))
}
