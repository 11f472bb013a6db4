//! `accessctl plan`: desired state from access.yaml, live state from a snapshot, and the plan
//! between them in text, JSON or Markdown.

use std::path::{Path, PathBuf};

use clap::Args;

use super::progress::Progress;
use super::{CliError, EXIT_CHANGES, EXIT_OK, FileArg, OutputFormat, Printer};
use crate::aws::AwsOptions;
use crate::live::{self, Connections};
use crate::model::State;
use crate::plan::{self, Overrides, Plan, PlanOptions, SafetyCheck};
use crate::planfile::{self, SavedPlan};
use crate::render::{self, TextOptions};
use crate::snapshot;
use crate::spec::Facts;

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
        Some(path) => plan_offline(&args.file.file, path, &args.safety)?,
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
            "cannot write the plan to `{}`: {error}",
            out.display()
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
) -> Result<Planned, CliError> {
    let live = read_live_state(live_path)?;
    let loaded = super::validate::load(file, &Facts { live: Some(&live) })?;
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
    let source = source_bytes(file)?;
    let plan = plan::plan(&loaded.desired, &live, &safety.options()).map_err(refused)?;
    Ok(Planned {
        plan,
        desired: loaded.desired.state,
        source,
        live,
        connections: Some(connections),
    })
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
    snapshot::read(path).map_err(|error| CliError::new(error.to_string()).with_hint(error.hint()))
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
