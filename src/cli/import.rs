//! `accessctl import`: write an access.yaml for what exists — live IAM and one cluster (or a
//! saved snapshot) — such that its first plan only adopts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::common::{AwsArgs, read_live_scoped, read_live_state};
use super::output::write_atomically;
use super::{CliError, EXIT_OK, Printer};
use crate::import::{self, Options, Part};
use crate::model::{Cluster, ReadScope, State};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The EKS cluster to import (its name in EKS)
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// kubeconfig context of the cluster (default: the current context)
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// AWS region of the cluster (default: the standard chain, `AWS_REGION`)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Import only these kinds (default: all)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KINDS")]
    pub include: Vec<Part>,
    /// Also import every IAM user, role, group and policy whose path starts with this
    #[arg(long, value_name = "PATH")]
    pub path_prefix: Option<String>,
    /// Write customer policies as JSON files in this directory, referenced with `file:`
    #[arg(long, value_name = "DIR")]
    pub policies_dir: Option<PathBuf>,
    /// Import from a saved live-state snapshot instead of reading AWS and the cluster
    #[arg(long, value_name = "PATH")]
    pub from_live_state: Option<PathBuf>,
    /// The file's `account` (default: the caller's)
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// Write the access.yaml to this file (whole or not at all: an existing file is replaced
    /// only once the import succeeded) instead of stdout
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub fn run(args: &ImportArgs, printer: &Printer) -> Result<i32, CliError> {
    if let Some(prefix) = &args.path_prefix
        && !(prefix.starts_with('/') && prefix.ends_with('/'))
    {
        return Err(
            CliError::new(format!("`--path-prefix {prefix}` is not an IAM path"))
                .with_hint("an IAM path starts and ends with `/`, e.g. `/team/`"),
        );
    }
    let live = match &args.from_live_state {
        Some(path) => read_live_state(path)?,
        None => {
            let runtime = super::runtime()?;
            runtime.block_on(read(args, printer))?
        }
    };
    let options = Options {
        cluster: args.cluster.clone(),
        include: args.include.iter().copied().collect(),
        path_prefix: args.path_prefix.clone(),
        policies_dir: args.policies_dir.clone(),
        account: args.account.clone(),
        context: args.context.clone(),
    };
    let imported = import::import(&live, &options).map_err(|error| {
        let hint = match &error {
            import::ImportError::UnknownCluster { .. } => {
                "name the cluster as the snapshot does, or take the snapshot of that cluster"
            }
            import::ImportError::NoAccount => "give the account with `--account 123456789012`",
            import::ImportError::Invalid(_) => {
                "please report it with the live state that caused it"
            }
        };
        CliError::new(error.to_string()).with_hint(hint)
    })?;
    write_policy_files(&imported.policy_files)?;
    for warning in &imported.warnings {
        printer.info(&format!("warning: {warning}"));
    }
    match &args.out {
        Some(out) => {
            write_atomically(out, &imported.yaml)?;
            printer.info(&format!("wrote `{}`", out.display()));
        }
        None => printer.data(&imported.yaml)?,
    }
    Ok(EXIT_OK)
}

fn write_policy_files(files: &BTreeMap<String, String>) -> Result<(), CliError> {
    for (path, text) in files {
        let path = PathBuf::from(path);
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                CliError::new(format!(
                    "cannot create `{}`: {}",
                    parent.display(),
                    crate::words::io_reason(&error)
                ))
            })?;
        }
        write_atomically(&path, text)?;
    }
    Ok(())
}

/// Reads IAM and the cluster: the plan's reader for a one-cluster desired state, reading every
/// Kubernetes object of the cluster.
async fn read(args: &ImportArgs, printer: &Printer) -> Result<State, CliError> {
    let mut wanted = State::default();
    wanted.clusters.insert(
        args.cluster.clone(),
        Cluster {
            region: args.region.clone(),
            context: args.context.clone(),
            ..Cluster::default()
        },
    );
    let (mut live, _connections) =
        read_live_scoped(&wanted, None, &args.aws, ReadScope::Everything, printer).await?;
    if live.account.is_none() {
        live.account = live.caller.as_ref().map(|c| c.account.clone());
    }
    Ok(live)
}
