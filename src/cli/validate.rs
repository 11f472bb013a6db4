//! `accessctl validate`: load access.yaml and report every mistake at once.

use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{Input, print_warnings, read_live_state};
use super::{CliError, EXIT_OK, FilesArg, Printer};
use crate::spec;
use crate::spec::Loaded;
use crate::words::count;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub file: FilesArg,
    /// A live-state snapshot, to check what depends on live facts (OIDC issuers for IRSA, the
    /// roles of IAM Identity Center permission sets)
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<i32, CliError> {
    let files = &args.file.files;
    if files.len() > 1 && args.live_state.is_some() {
        return Err(CliError::new(
            "`--live-state` is the snapshot of one account: give one `-f` with it",
        )
        .with_hint("validate each account against its own snapshot"));
    }
    let live = args
        .live_state
        .as_deref()
        .map(read_live_state)
        .transpose()?;
    // Several accounts (one `-f` each) are validated together, so that an `ACCOUNT/NAME`
    // reference to another account's user or role is checked against its file.
    let mut invalid = 0;
    for (file, input) in files.iter().zip(Input::read_all(files)) {
        match input.and_then(|input| input.resolve(live.as_ref())) {
            Ok(loaded) => valid(printer, file, &loaded),
            Err(error) if files.len() == 1 => return Err(error),
            Err(error) => {
                printer.error(&error);
                invalid += 1;
            }
        }
    }
    if invalid > 0 {
        return Err(CliError::new(format!(
            "{invalid} of {} files have problems (above)",
            files.len()
        )));
    }
    Ok(EXIT_OK)
}

/// Says that `file` is valid, with what it declares, its warnings, and what could not be
/// checked.
fn valid(printer: &Printer, file: &Path, loaded: &Loaded) {
    print_warnings(printer, loaded);
    let state = &loaded.desired.state;
    let clusters = state.clusters.len();
    printer.info(&format!(
        "`{}` is valid: {}, {}, {}, {}, {}",
        spec::input::shown(file).display(),
        count(state.iam.policies.len(), "policy", "policies"),
        count(state.iam.groups.len(), "group", "groups"),
        count(state.iam.users.len(), "user", "users"),
        count(state.iam.roles.len(), "role", "roles"),
        count(clusters, "cluster", "clusters"),
    ));
    // Without an issuer, the IRSA trust policies were built on a stand-in: say what was not
    // checked, and how to check it.
    for (cluster, roles) in spec::unchecked_irsa(state) {
        let region = state
            .clusters
            .get(&cluster)
            .and_then(|cluster| cluster.region.as_deref());
        printer.info(&format!(
            "note: the IRSA trust polic{} of role{} {} could not be checked: cluster `{cluster}` sets no `oidcIssuer`, and plan reads the issuer from the live cluster\n  hint: {}; or validate against live state with `--live-state live.json` (from `accessctl snapshot`)",
            if roles.len() == 1 { "y" } else { "ies" },
            if roles.len() == 1 { "" } else { "s" },
            crate::words::quoted_list(&roles),
            spec::issuer_hint(&cluster, region),
        ));
    }
}
