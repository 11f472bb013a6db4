//! `accessctl snapshot`: read the live state access.yaml touches and write it as JSON, so that
//! `plan --live-state` can run later without credentials (a pull request from a fork, a test);
//! with `--all`, every RBAC object of the clusters too, for insight over the whole estate.

use std::path::PathBuf;

use clap::Args;

use super::common::{AwsArgs, load, read_live_scoped};
use super::{CliError, EXIT_OK, FileArg, Printer};
use crate::model::ReadScope;
use crate::snapshot;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Write the snapshot to this file instead of stdout
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Save every namespace, ClusterRole, Role, binding and ServiceAccount of the clusters, not
    /// only what accessctl manages or the file declares: for `explain`, `who-can` and `can-i`
    /// over the whole estate (`--live-state`) offline
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: &SnapshotArgs, printer: &Printer) -> Result<i32, CliError> {
    let loaded = load(&args.file.file, None)?;
    let runtime = super::runtime()?;
    let scope = if args.all {
        ReadScope::Everything
    } else {
        ReadScope::Managed
    };
    let desired = &loaded.desired;
    let assume_role = desired.assume_role.as_ref();
    let read = read_live_scoped(&desired.state, assume_role, &args.aws, scope, printer);
    let (live, _connections) = runtime.block_on(read)?;
    let text = snapshot::to_string(&live)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|error| {
                CliError::new(format!(
                    "cannot write the snapshot to `{}`: {}",
                    path.display(),
                    crate::words::io_reason(&error)
                ))
            })?;
            printer.info(&format!("saved the live state to `{}`", path.display()));
        }
        None => printer.data(&text)?,
    }
    Ok(EXIT_OK)
}
