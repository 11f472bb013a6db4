//! `accessctl snapshot`: read the live state access.yaml touches and write it as JSON, so that
//! `plan --live-state` can run later without credentials (a pull request from a fork, a test).

use std::path::PathBuf;

use clap::Args;

use super::common::{AwsArgs, load, read_live};
use super::{CliError, EXIT_OK, FileArg, Printer};
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
}

pub fn run(args: &SnapshotArgs, printer: &Printer) -> Result<i32, CliError> {
    let loaded = load(&args.file.file, None)?;
    let runtime = super::runtime()?;
    let (live, _connections) =
        runtime.block_on(read_live(&loaded.desired.state, &args.aws, printer))?;
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
