//! `accessctl drift`: does live state match access.yaml, and does anything grant access outside
//! it? Exit 0 when all is in order, 2 when there is drift, 1 on error: made for a schedule
//! (docs/recipes/kubernetes-cronjob.md).

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;

use super::plan::{AwsArgs, live_error, read_live, read_live_state, refused};
use super::{CliError, EXIT_CHANGES, EXIT_OK, FileArg, OutputFormat, Printer};
use crate::drift::{self, Report};
use crate::live::LiveError;
use crate::model::State;
use crate::plan::{self, Overrides, PlanOptions, SafetyCheck};
use crate::spec::Facts;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Compare with a saved live-state snapshot instead of reading AWS and the clusters
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(args: &DriftArgs, printer: &Printer) -> Result<i32, CliError> {
    let file = &args.file.file;
    let (live, grants_live) = match &args.live_state {
        Some(path) => {
            let live = read_live_state(path)?;
            (live.clone(), live)
        }
        None => {
            let first = super::validate::load(file, &Facts { live: None })?;
            let runtime = super::runtime()?;
            runtime.block_on(read_with_bindings(&first.desired.state, &args.aws, printer))?
        }
    };
    let loaded = super::validate::load(file, &Facts { live: Some(&live) })?;
    // Every override and adoption: drift reports what differs, it never refuses to look.
    let options = PlanOptions {
        adopt_all: true,
        overrides: Overrides {
            allowed: BTreeSet::from([
                SafetyCheck::AccountMismatch,
                SafetyCheck::SelfLockout,
                SafetyCheck::NodeRole,
                SafetyCheck::NoClusterAdmin,
                SafetyCheck::NamespaceDeletion,
            ]),
        },
    };
    let plan = plan::plan(&loaded.desired, &live, &options).map_err(refused)?;
    let unmanaged = drift::unmanaged(&loaded.desired.state, &grants_live);
    let report = Report::new(&plan, unmanaged);
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
/// plan's read brings only the bindings accessctl owns or the file names).
async fn read_with_bindings(
    desired: &State,
    aws: &AwsArgs,
    printer: &Printer,
) -> Result<(State, State), CliError> {
    let (live, connections) = read_live(desired, aws, printer).await?;
    let mut wider = live.clone();
    for (name, client) in &connections.clusters {
        let bindings = drift::read_cluster_admin_bindings(client)
            .await
            .map_err(|error| live_error(LiveError::Kube(error)))?;
        if let Some(cluster) = wider.clusters.get_mut(name) {
            drift::add_bindings(cluster, bindings);
        }
    }
    Ok((live, wider))
}
