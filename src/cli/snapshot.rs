//! `accessctl snapshot`: read the live state access.yaml touches and write it as JSON, so that
//! `plan --live-state` can run later without credentials (a pull request from a fork, a test);
//! with `--all`, every RBAC object of the clusters too, for insight over the whole estate.
//! With several `-f` (one account each), one document holding each account's state.

use std::path::{Path, PathBuf};

use clap::Args;

use super::accounts;
use super::common::{AwsArgs, Input, load, read_live_scoped};
use super::{CliError, EXIT_OK, FilesArg, Printer};
use crate::model::{ReadScope, State};
use crate::snapshot::{self, AccountState};

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub file: FilesArg,
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
    let Some(file) = args.file.single() else {
        return run_accounts(args, &args.file.files, printer);
    };
    let loaded = load(file, None)?;
    let runtime = super::runtime()?;
    let desired = &loaded.desired;
    let assume_role = desired.assume_role.as_ref();
    let read = read_live_scoped(&desired.state, assume_role, &args.aws, scope(args), printer);
    let (live, _connections) = runtime.block_on(read)?;
    let text = snapshot::to_string(&live)?;
    write(args.out.as_deref(), &text, printer)?;
    Ok(EXIT_OK)
}

fn scope(args: &SnapshotArgs) -> ReadScope {
    if args.all {
        ReadScope::Everything
    } else {
        ReadScope::Managed
    }
}

/// `snapshot -f A -f B …`: each account read (concurrently, through its `assumeRole`), one
/// document holding the state of each account that could be read (docs/snapshot.md,
/// "Several accounts"). An account that could not be read is reported on stderr and left
/// out; the others are still saved, and the exit code is 1.
fn run_accounts(
    args: &SnapshotArgs,
    files: &[PathBuf],
    printer: &Printer,
) -> Result<i32, CliError> {
    let runtime = super::runtime()?;
    let runs = accounts::each(files, |input| read_account(&runtime, &input, args, printer));
    let mut saved = Vec::new();
    let mut failed = Vec::new();
    for run in runs {
        let file = crate::spec::input::shown(&run.file).display().to_string();
        let name = accounts::name(&run);
        match run.result {
            Ok(state) => match state.account.clone().or(run.account) {
                Some(account) => saved.push(AccountState {
                    account,
                    file,
                    state,
                }),
                None => failed.push(
                    CliError::new(format!(
                        "{name}: the live state names no AWS account, so it cannot be told apart from the others"
                    ))
                    .with_hint("give the file its `account:` (docs/access-yaml.md)"),
                ),
            },
            Err(error) => failed.push(CliError {
                message: format!("{name}: {}", error.message),
                ..error
            }),
        }
    }
    if !saved.is_empty() {
        let text = snapshot::accounts_to_string(&saved)?;
        write(args.out.as_deref(), &text, printer)?;
    }
    if failed.is_empty() {
        return Ok(EXIT_OK);
    }
    for error in &failed {
        printer.error(error);
    }
    Err(CliError::new(format!(
        "{} of {} accounts could not be read: {}",
        failed.len(),
        files.len(),
        if saved.is_empty() {
            "nothing was saved".to_string()
        } else {
            format!(
                "the snapshot holds the {} (a plan against it reports the missing ones in their place)",
                if saved.len() == 1 {
                    "other account".to_string()
                } else {
                    format!("other {} accounts", saved.len())
                }
            )
        }
    ))
    .with_hint("fix what is said above for each account, then take the snapshot again with the same `-f` options"))
}

/// One account's live state, as a one-account `snapshot` reads it.
fn read_account(
    runtime: &tokio::runtime::Runtime,
    input: &Input,
    args: &SnapshotArgs,
    printer: &Printer,
) -> Result<State, CliError> {
    let desired = input.desired()?;
    let read = read_live_scoped(
        &desired.state,
        desired.assume_role.as_ref(),
        &args.aws,
        scope(args),
        printer,
    );
    let (live, _connections) = runtime.block_on(read)?;
    Ok(live)
}

/// Writes `text` to `out`, or to stdout.
fn write(out: Option<&Path>, text: &str, printer: &Printer) -> Result<(), CliError> {
    match out {
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
        None => printer.data(text)?,
    }
    Ok(())
}
