//! `accessctl drift`: does live state match access.yaml, and does anything grant access outside
//! it? Exit 0 when all is in order, 2 when there is drift, 1 on error: made for a schedule
//! (docs/recipes/kubernetes-cronjob.md).

use clap::Args;

use super::common::{
    AwsArgs, Input, Inputs, SafetyArgs, check_snapshot, live_error, read_live, read_live_state,
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
        return Err(
            CliError::new("`drift` checks one account: give one `-f`").with_hint(
                "run `accessctl drift -f FILE` once per account (a CI job per account, or a loop)",
            ),
        );
    };
    let (input, live, grants_live) = match &args.inputs.live_state {
        Some(path) => {
            let live = read_live_state(path)?;
            let input = Input::read(file)?;
            check_snapshot(&input.desired()?.state, &live, path)?;
            (input, live.clone(), live)
        }
        None => {
            let input = Input::read(file)?;
            let runtime = super::runtime()?;
            let desired = input.desired()?;
            let (live, wider) =
                runtime.block_on(read_with_bindings(desired, &args.inputs.aws, printer))?;
            (input, live, wider)
        }
    };
    let loaded = input.resolve(Some(&live))?;
    // The plan `accessctl plan` makes with the same options; what would refuse it is
    // reported with the changes, not raised.
    let assessment = plan::assess(&loaded.desired, &live, &args.safety.options());
    let unmanaged = drift::unmanaged(&loaded.desired.state, &grants_live);
    let report = Report::new(&assessment, unmanaged, &loaded.acknowledged);
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
