//! `accessctl validate`: load access.yaml and report every mistake at once.

use std::path::PathBuf;

use clap::Args;

use super::common::{load, print_warnings, read_live_state};
use super::{CliError, EXIT_OK, FileArg, Printer};
use crate::spec;
use crate::words::count;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// A live-state snapshot, to check what depends on live facts (OIDC issuers for IRSA, the
    /// roles of IAM Identity Center permission sets)
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<i32, CliError> {
    let live = args
        .live_state
        .as_deref()
        .map(read_live_state)
        .transpose()?;
    let loaded = load(&args.file.file, live.as_ref())?;
    print_warnings(printer, &loaded);
    let state = &loaded.desired.state;
    let clusters = state.clusters.len();
    printer.info(&format!(
        "`{}` is valid: {}, {}, {}, {}, {}",
        spec::input::shown(&args.file.file).display(),
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
    Ok(EXIT_OK)
}
