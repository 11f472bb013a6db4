//! `accessctl plan`: desired state from access.yaml, live state from a snapshot, and the plan
//! between them in text, JSON or Markdown.

use std::path::{Path, PathBuf};

use clap::Args;

use super::progress::Progress;
use super::{CliError, EXIT_CHANGES, EXIT_OK, FileArg, OutputFormat, Printer};
use crate::aws::{AwsOptions, credentials};
use crate::live::{self, Connections};
use crate::model::State;
use crate::plan::{self, Overrides, Plan, PlanOptions, SafetyCheck};
use crate::planfile::{self, SavedPlan};
use crate::render::{self, TextOptions};
use crate::snapshot;
use crate::spec::Facts;
use crate::words::io_reason;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Plan against a saved live-state snapshot instead of reading AWS and the clusters
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to this file, for `accessctl apply PATH` (docs/plan-json.md)
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

/// Where AWS is: everything else comes from the standard chain (`AWS_PROFILE`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL*`, SSO, …).
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS profile (default: the standard chain, `AWS_PROFILE`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsArgs {
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
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

pub fn run(args: &PlanArgs, printer: &Printer) -> Result<i32, CliError> {
    let planned = match &args.live_state {
        Some(path) => plan_offline(&args.file.file, path, &args.safety, printer)?,
        None => {
            let runtime = super::runtime()?;
            plan_live(&runtime, &args.file.file, &args.aws, &args.safety, printer)?
        }
    };
    let plan = &planned.plan;
    if let Some(out) = &args.out {
        save(&planned, &args.file.file, &args.safety, out)?;
        printer.info(&format!("saved the plan to `{}`", out.display()));
    }
    let rendered = match args.output {
        OutputFormat::Text => render::text(
            plan,
            TextOptions {
                color: printer.stdout_color,
            },
        ),
        OutputFormat::Json => render::json(plan)?,
        OutputFormat::Markdown => render::markdown(plan),
    };
    printer.data(&rendered)?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// Writes `planned` as a saved plan (`src/planfile.rs`) to `out`.
fn save(planned: &Planned, file: &Path, safety: &SafetyArgs, out: &Path) -> Result<(), CliError> {
    let saved = SavedPlan::new(
        planned.plan.clone(),
        &crate::spec::input::shown(file).display().to_string(),
        &planned.source,
        &planned.desired,
        &planned.live,
        planfile::Options {
            adopt: safety.adopt,
            overrides: safety.flags(),
        },
    )?;
    std::fs::write(out, saved.to_text()?).map_err(|error| {
        CliError::new(format!(
            "cannot write the plan to `{}`: {}",
            out.display(),
            io_reason(&error)
        ))
    })
}

/// The bytes of access.yaml, for the saved plan's digest.
fn source_bytes(file: &Path) -> Result<Vec<u8>, CliError> {
    crate::spec::input::read(file, false).map_err(|reason| {
        CliError::new(format!(
            "cannot read `{}`: {reason}",
            crate::spec::input::shown(file).display()
        ))
    })
}

/// A plan with what it was made from.
pub struct Planned {
    pub plan: Plan,
    /// The desired state the plan was made for.
    pub desired: State,
    /// The access.yaml bytes the desired state was read from.
    pub source: Vec<u8>,
    pub live: State,
    /// Open when live state was read (not a snapshot): apply reuses them.
    pub connections: Option<Connections>,
}

/// Plans against a saved snapshot.
pub fn plan_offline(
    file: &Path,
    live_path: &Path,
    safety: &SafetyArgs,
    printer: &Printer,
) -> Result<Planned, CliError> {
    let live = read_live_state(live_path)?;
    // The clusters first: a snapshot without one would otherwise be reported as that
    // cluster's missing OIDC issuer, or planned as a cluster with nothing in it.
    let first = super::validate::load(file, &Facts { live: None })?;
    check_snapshot(&first.desired.state, &live, live_path)?;
    let loaded = super::validate::load(file, &Facts { live: Some(&live) })?;
    super::validate::print_warnings(printer, &loaded);
    let source = source_bytes(file)?;
    let plan = plan::plan(&loaded.desired, &live, &safety.options()).map_err(refused)?;
    Ok(Planned {
        plan,
        desired: loaded.desired.state,
        source,
        live,
        connections: None,
    })
}

/// Reads live state from AWS and the clusters the file names, then plans. The file is read
/// on this thread; only the live read runs on `runtime`.
pub fn plan_live(
    runtime: &tokio::runtime::Runtime,
    file: &Path,
    aws: &AwsArgs,
    safety: &SafetyArgs,
    printer: &Printer,
) -> Result<Planned, CliError> {
    // The file names the clusters to read; IRSA issuers are resolved once live state is known.
    let first = super::validate::load(file, &Facts { live: None })?;
    let (live, connections) = runtime.block_on(read_live(&first.desired.state, aws, printer))?;
    let loaded = super::validate::load(file, &Facts { live: Some(&live) })?;
    super::validate::print_warnings(printer, &loaded);
    runtime.block_on(check_policy_references(
        &connections.aws.iam,
        &loaded.desired.state,
        &live,
    ))?;
    let source = source_bytes(file)?;
    let mut plan = plan::plan(&loaded.desired, &live, &safety.options()).map_err(refused)?;
    plan.deleted_with = runtime.block_on(futures_util::future::join_all(
        plan::deleted_users(&plan)
            .into_iter()
            .map(|user| credentials::deleted_with(&connections.aws.iam, user)),
    ));
    Ok(Planned {
        plan,
        desired: loaded.desired.state,
        source,
        live,
        connections: Some(connections),
    })
}

/// Checks that every managed policy the file refers to exists, where the live read cannot
/// tell: AWS-managed policies and other accounts' policies that nothing attaches yet. One
/// `iam:GetPolicy` each, so a typo fails the plan, not apply after its retries.
async fn check_policy_references(
    iam: &aws_sdk_iam::Client,
    desired: &State,
    live: &State,
) -> Result<(), CliError> {
    let referrers = policy_references(desired);
    let known = known_policies(desired, live);
    let unknown: Vec<String> = referrers
        .keys()
        .filter(|arn| !known.contains(*arn))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let missing = crate::aws::read::missing_policies(iam, unknown)
        .await
        .map_err(|error| CliError::new(error.to_string()).with_hint(error.hint()))?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut details = String::new();
    for arn in &missing {
        let by = referrers
            .get(arn)
            .map(|by| by.join(", "))
            .unwrap_or_default();
        let hint = match crate::spec::managed::managed_name(arn).map(crate::spec::managed::lookup) {
            Some(crate::spec::managed::Known::Near(meant)) => {
                format!("did you mean `aws:{meant}`?")
            }
            Some(_) => {
                "check the name and path in access.yaml (`aws:NAME`, `aws:service-role/NAME`)"
                    .to_string()
            }
            None => {
                "check the ARN in access.yaml: the policy must exist in its account".to_string()
            }
        };
        details.push_str(&format!(
            "error: policy `{arn}` does not exist (`iam:GetPolicy` answered NoSuchEntity); {by} refers to it\n  hint: {hint}\n"
        ));
    }
    let count = missing.len();
    Err(CliError::new(format!(
        "access.yaml refers to {count} polic{} that IAM does not have",
        if count == 1 { "y" } else { "ies" }
    ))
    .with_details(details))
}

/// Every managed policy ARN the file attaches or uses as a boundary, with who refers to it.
fn policy_references(desired: &State) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut references: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut add = |arn: &String, by: String| references.entry(arn.clone()).or_default().push(by);
    for (name, user) in &desired.iam.users {
        for arn in user
            .managed_policies
            .iter()
            .chain(&user.permissions_boundary)
        {
            add(arn, format!("user `{name}`"));
        }
    }
    for (name, group) in &desired.iam.groups {
        for arn in &group.managed_policies {
            add(arn, format!("group `{name}`"));
        }
    }
    for (name, role) in &desired.iam.roles {
        for arn in role
            .managed_policies
            .iter()
            .chain(&role.permissions_boundary)
        {
            add(arn, format!("role `{name}`"));
        }
    }
    references
}

/// Policy ARNs known to exist (or to be created by this plan): the file's own policies, the
/// account's policies, and whatever live principals have attached.
fn known_policies(desired: &State, live: &State) -> std::collections::BTreeSet<String> {
    let mut known = std::collections::BTreeSet::new();
    for state in [desired, live] {
        let account = state.account.clone().unwrap_or_default();
        for (name, policy) in &state.iam.policies {
            known.insert(crate::model::arn::policy(
                &state.partition,
                &account,
                &policy.path,
                name,
            ));
        }
    }
    for user in live.iam.users.values() {
        known.extend(
            user.managed_policies
                .iter()
                .chain(&user.permissions_boundary)
                .cloned(),
        );
    }
    for group in live.iam.groups.values() {
        known.extend(group.managed_policies.iter().cloned());
    }
    for role in live.iam.roles.values() {
        known.extend(
            role.managed_policies
                .iter()
                .chain(&role.permissions_boundary)
                .cloned(),
        );
    }
    known
}

/// Connects and reads live state for `desired`, reporting the AWS calls with `-v`.
pub async fn read_live(
    desired: &State,
    aws: &AwsArgs,
    printer: &Printer,
) -> Result<(State, Connections), CliError> {
    let progress = Progress::new(printer);
    let clusters: Vec<&str> = desired.clusters.keys().map(String::as_str).collect();
    if !clusters.is_empty() {
        progress.phase(format!("connecting to {}…", cluster_list(&clusters)));
    }
    let connections = live::connect(desired, &aws.options())
        .await
        .map_err(live_error)?;
    progress.phase(if clusters.is_empty() {
        "reading IAM…".to_string()
    } else {
        format!("reading IAM and {}…", cluster_list(&clusters))
    });
    let (live, calls) = live::read(&connections, desired)
        .await
        .map_err(live_error)?;
    progress.finish();
    printer.verbose(&format!("read live state: {calls}"));
    Ok((live, connections))
}

/// `cluster demo` or `clusters demo, prod`.
fn cluster_list(names: &[&str]) -> String {
    match names {
        [one] => format!("cluster {one}"),
        many => format!("clusters {}", many.join(", ")),
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
