//! What the commands share: the AWS and safety flags, loading access.yaml (read once, parsed
//! once, live facts applied after), reading live state or a snapshot, and the errors of each.
//! Command files import from here, never from one another.

use std::path::{Path, PathBuf};

use clap::Args;

use super::progress::Progress;
use super::{CliError, FilesArg, Printer};
use crate::aws::AwsOptions;
use crate::live::{self, Connections};
use crate::model::{AssumeRole, Desired, ReadScope, State};
use crate::plan::{self, Overrides, PlanOptions, SafetyCheck};
use crate::snapshot;
use crate::spec::{self, Diagnostics, Loaded, Parsed, Sources};

/// What a command compares: access.yaml, and live state from a snapshot or from AWS and the
/// clusters.
#[derive(Debug, Args)]
pub struct Inputs {
    #[command(flatten)]
    pub file: FilesArg,
    /// Use a saved live-state snapshot (`accessctl snapshot`) instead of reading AWS and the
    /// clusters
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Where AWS is: everything else comes from the standard chain (`AWS_PROFILE`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL*`, SSO, …).
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS profile (default: the standard chain, `AWS_PROFILE`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Measure access-key ages at this time (RFC 3339) instead of the clock (tests)
    #[arg(long, value_name = "TIME", hide = true, value_parser = parse_time)]
    pub now: Option<i64>,
}

/// An RFC 3339 time (`2030-01-02T03:04:05Z`) as seconds since the epoch.
fn parse_time(text: &str) -> Result<i64, String> {
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .map(|time| time.secs())
        .map_err(|_| format!("`{text}` is not an RFC 3339 time, e.g. 2030-01-02T03:04:05Z"))
}

impl AwsArgs {
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            now: self.now,
            ..AwsOptions::default()
        }
    }
}

/// Adoption and the explicit overrides of the planner's safety checks.
#[derive(Debug, Args)]
pub struct SafetyArgs {
    /// Take over every declared object that exists but is not managed by accessctl
    #[arg(long)]
    pub adopt: bool,
    /// Plan even though the caller's account is not the file's `account`
    #[arg(long)]
    pub allow_account_mismatch: bool,
    /// Allow removing or changing the caller's own cluster access
    #[arg(long)]
    pub allow_self_lockout: bool,
    /// Allow touching aws-auth entries of node roles (system:bootstrappers, system:nodes)
    #[arg(long)]
    pub allow_node_role_changes: bool,
    /// Allow a plan that leaves a cluster with no admin mapping
    #[arg(long)]
    pub allow_no_cluster_admin: bool,
    /// Allow deleting namespaces accessctl owns
    #[arg(long)]
    pub allow_namespace_deletion: bool,
}

impl SafetyArgs {
    /// The override flags passed, by name (`--allow-self-lockout`).
    pub fn flags(&self) -> std::collections::BTreeSet<String> {
        self.options()
            .overrides
            .allowed
            .into_iter()
            .map(|check| check.flag().to_string())
            .collect()
    }

    pub fn options(&self) -> PlanOptions {
        let flags = [
            (self.allow_account_mismatch, SafetyCheck::AccountMismatch),
            (self.allow_self_lockout, SafetyCheck::SelfLockout),
            (self.allow_node_role_changes, SafetyCheck::NodeRole),
            (self.allow_no_cluster_admin, SafetyCheck::NoClusterAdmin),
            (
                self.allow_namespace_deletion,
                SafetyCheck::NamespaceDeletion,
            ),
        ];
        PlanOptions {
            adopt_all: self.adopt,
            overrides: Overrides {
                allowed: flags
                    .into_iter()
                    .filter(|(set, _)| *set)
                    .map(|(_, check)| check)
                    .collect(),
            },
        }
    }
}

/// access.yaml and its policy files, read once and parsed once; live facts are applied by
/// [`Input::resolve`].
pub struct Input {
    pub sources: Sources,
    parsed: Parsed,
}

impl Input {
    pub fn read(path: &Path) -> Result<Input, CliError> {
        let sources = Sources::read(path).map_err(|diagnostics| problems(path, &diagnostics))?;
        let parsed = sources.parse();
        Ok(Input { sources, parsed })
    }

    /// The file of each account of a run (several `-f`), in order, each parsed knowing the
    /// users and roles the others declare, so that `ACCOUNT/NAME` names one of another
    /// account's by its path (and an unknown name is an error). Files are parsed twice: once
    /// alone, to learn what each declares, then with the others'.
    pub fn read_all(paths: &[PathBuf]) -> Vec<Result<Input, CliError>> {
        let alone: Vec<Result<Input, CliError>> =
            paths.iter().map(|path| Input::read(path)).collect();
        if paths.len() < 2 {
            return alone;
        }
        let mut peers = spec::Peers::default();
        for input in alone.iter().flatten() {
            let Some(account) = input.parsed.account() else {
                continue;
            };
            let names = input.parsed.unresolved().ok().map(|desired| {
                let iam = &desired.state.iam;
                spec::PeerNames {
                    users: iam
                        .users
                        .iter()
                        .map(|(name, user)| (name.clone(), user.path.clone()))
                        .collect(),
                    roles: iam
                        .roles
                        .iter()
                        .map(|(name, role)| (name.clone(), role.path.clone()))
                        .collect(),
                }
            });
            peers.0.insert(account.to_string(), names);
        }
        let peers = std::sync::Arc::new(peers);
        alone
            .into_iter()
            .map(|input| {
                input.map(|input| {
                    let parsed = input.sources.parse_with(&peers);
                    Input {
                        sources: input.sources,
                        parsed,
                    }
                })
            })
            .collect()
    }

    /// The desired state before live facts: what to read.
    pub fn desired(&self) -> Result<&Desired, CliError> {
        self.parsed
            .unresolved()
            .map_err(|diagnostics| problems(&self.sources.path, &diagnostics))
    }

    /// The desired state with live facts (the clusters' OIDC issuers) applied; without
    /// `live`, as the file alone tells.
    pub fn resolve(&self, live: Option<&State>) -> Result<Loaded, CliError> {
        self.parsed
            .clone()
            .resolve(live)
            .map_err(|diagnostics| problems(&self.sources.path, &diagnostics))
    }
}

/// Loads access.yaml with `live` facts, turning diagnostics into one error that prints them all.
pub fn load(path: &Path, live: Option<&State>) -> Result<Loaded, CliError> {
    Input::read(path)?.resolve(live)
}

/// One error that prints every diagnostic.
fn problems(path: &Path, diagnostics: &Diagnostics) -> CliError {
    let count = diagnostics.0.len();
    CliError::new(format!(
        "`{}` has {count} problem{}",
        spec::input::shown(path).display(),
        if count == 1 { "" } else { "s" }
    ))
    .with_details(diagnostics.to_string())
}

/// Shows the warnings of a file that loaded (on stderr, silent with `-q`).
pub fn print_warnings(printer: &Printer, loaded: &Loaded) {
    for warning in &loaded.warnings {
        printer.info(warning.to_string().trim_end());
    }
}

/// Connects and reads live state for `desired`, reporting the AWS calls with `-v`.
pub async fn read_live(
    desired: &Desired,
    aws: &AwsArgs,
    printer: &Printer,
) -> Result<(State, Connections), CliError> {
    let assume_role = desired.assume_role.as_ref();
    read_live_scoped(
        &desired.state,
        assume_role,
        aws,
        ReadScope::Managed,
        printer,
    )
    .await
}

/// [`read_live`], reading `scope` of each cluster's RBAC.
pub async fn read_live_scoped(
    desired: &State,
    assume_role: Option<&AssumeRole>,
    aws: &AwsArgs,
    scope: ReadScope,
    printer: &Printer,
) -> Result<(State, Connections), CliError> {
    let connections = connect_live(desired, assume_role, aws, printer).await?;
    let live = read_scoped(&connections, desired, scope, printer).await?;
    Ok((live, connections))
}

/// Connects to AWS and to each cluster of `desired` (the first half of [`read_live`]).
pub async fn connect_live(
    desired: &State,
    assume_role: Option<&AssumeRole>,
    aws: &AwsArgs,
    printer: &Printer,
) -> Result<Connections, CliError> {
    let message = clusters_named(desired).map(|clusters| format!("connecting to {clusters}…"));
    let options = aws.options();
    let connect = live::connect(desired, assume_role, &options);
    live_step(printer, message, connect).await
}

/// Reads live state over `connections` (the second half of [`read_live`]).
pub async fn read_connected(
    connections: &Connections,
    desired: &State,
    printer: &Printer,
) -> Result<State, CliError> {
    read_scoped(connections, desired, ReadScope::Managed, printer).await
}

async fn read_scoped(
    connections: &Connections,
    desired: &State,
    scope: ReadScope,
    printer: &Printer,
) -> Result<State, CliError> {
    let message = match clusters_named(desired) {
        Some(clusters) => format!("reading IAM and {clusters}…"),
        None => "reading IAM…".to_string(),
    };
    let read = live::read(connections, desired, scope);
    let (live, calls) = live_step(printer, Some(message), read).await?;
    printer.verbose(&format!("read live state: {calls}"));
    print_aws_auth_warnings(printer, &live);
    Ok(live)
}

/// What EKS reads differently from what each cluster's aws-auth seems to say (a list that does
/// not parse, a data key in the wrong case, a repeated ARN: see [`crate::kube::aws_auth::parse`]),
/// on stderr for every command that reads the live state.
fn print_aws_auth_warnings(printer: &Printer, live: &State) {
    for (name, cluster) in &live.clusters {
        for warning in cluster.aws_auth.iter().flat_map(|auth| &auth.warnings) {
            printer.info(&format!("warning: cluster `{name}`: aws-auth {warning}"));
        }
    }
}

/// One step against AWS and the clusters, with `message` on the progress line while it runs
/// (none: no line), its error as the CLI reports it.
async fn live_step<T>(
    printer: &Printer,
    message: Option<String>,
    step: impl Future<Output = Result<T, live::LiveError>>,
) -> Result<T, CliError> {
    let progress = Progress::new(printer);
    if let Some(message) = message {
        progress.phase(message);
    }
    let done = step.await.map_err(live_error);
    progress.finish();
    done
}

/// The clusters of `desired` as the progress line names them, `cluster demo` or `clusters
/// demo, prod`; `None` when there are none.
fn clusters_named(desired: &State) -> Option<String> {
    let names: Vec<&str> = desired.clusters.keys().map(String::as_str).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("cluster {one}")),
        many => Some(format!("clusters {}", many.join(", "))),
    }
}

pub fn live_error(error: live::LiveError) -> CliError {
    let hint = error.hint();
    let cli = CliError::new(error.to_string());
    match hint {
        Some(hint) => cli.with_hint(hint),
        None => cli,
    }
}

pub fn read_live_state(path: &Path) -> Result<State, CliError> {
    snapshot::read(path).map_err(snapshot_error)
}

/// A snapshot of several accounts (`--live-state` with several `-f`); a one-account snapshot
/// is a usage error saying what to do.
pub fn read_live_states(path: &Path) -> Result<snapshot::Snapshots, CliError> {
    snapshot::read_accounts(path).map_err(snapshot_error)
}

/// The live state of `input`'s account in `snapshots`: that account's error when the file
/// names no `account` or the snapshot lacks it.
pub fn account_state(snapshots: &snapshot::Snapshots, input: &Input) -> Result<State, CliError> {
    let Some(account) = &input.desired()?.state.account else {
        return Err(CliError::new(format!(
            "`{}` names no `account`, so its part of the live state `{}` cannot be found",
            spec::input::shown(&input.sources.path).display(),
            snapshots.path
        ))
        .with_hint("give the file its `account:` (the AWS account id its state was read from)"));
    };
    snapshots.state_of(account).cloned().map_err(snapshot_error)
}

/// Refuses a snapshot that lacks a cluster the file declares.
pub fn check_snapshot(desired: &State, live: &State, path: &Path) -> Result<(), CliError> {
    snapshot::check_covers(desired, live, path).map_err(snapshot_error)
}

fn snapshot_error(error: snapshot::SnapshotError) -> CliError {
    CliError::new(error.to_string()).with_hint(error.hint())
}

/// Every refusal, each with its hint, then one closing line.
pub fn refused(error: plan::PlanError) -> CliError {
    let mut details = String::new();
    for problem in &error.problems {
        details.push_str(&format!(
            "error: {}\n  hint: {}\n",
            problem.message(),
            problem.hint()
        ));
    }
    CliError::new(error.to_string()).with_details(details)
}
