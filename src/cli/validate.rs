//! `accessctl validate`: load access.yaml and report every mistake at once.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, EXIT_OK, FileArg, Printer};
use crate::spec::{self, Facts};
use crate::words::count;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// A live-state snapshot, to check what depends on live facts (OIDC issuers for IRSA)
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<i32, CliError> {
    let live = args
        .live_state
        .as_deref()
        .map(super::plan::read_live_state)
        .transpose()?;
    let loaded = load(
        &args.file.file,
        &Facts {
            live: live.as_ref(),
        },
    )?;
    let state = &loaded.desired.state;
    let clusters = state.clusters.len();
    printer.info(&format!(
        "`{}` is valid: {}, {}, {}, {}, {}",
        args.file.file.display(),
        count(state.iam.policies.len(), "policy", "policies"),
        count(state.iam.groups.len(), "group", "groups"),
        count(state.iam.users.len(), "user", "users"),
        count(state.iam.roles.len(), "role", "roles"),
        count(clusters, "cluster", "clusters"),
    ));
    Ok(EXIT_OK)
}

/// Loads access.yaml, turning diagnostics into one error that prints them all.
pub fn load(path: &std::path::Path, facts: &Facts<'_>) -> Result<spec::Loaded, CliError> {
    spec::load(path, facts).map_err(|diagnostics| {
        let count = diagnostics.0.len();
        CliError::new(format!(
            "`{}` has {count} problem{}",
            path.display(),
            if count == 1 { "" } else { "s" }
        ))
        .with_details(diagnostics.to_string())
    })
}
