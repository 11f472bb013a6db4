//! `accessctl explain`: every route by which an IAM principal reaches each cluster, and what
//! it may do there namespace by namespace. Also holds what `explain`, `who-can` and `can-i`
//! share: where the state comes from and the output format.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{AwsArgs, read_live_scoped};
use super::{CliError, EXIT_OK, FileArg, Printer};
use crate::insight::rbac::KnownResources;
use crate::insight::{chain, explain};
use crate::live::Connections;
use crate::model::{ReadScope, State};

/// The state to analyse: the desired state of access.yaml, a live snapshot, or the whole live
/// estate read now.
#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Analyse this live-state snapshot instead of access.yaml (what is, rather than what is
    /// declared)
    #[arg(long, value_name = "PATH", conflicts_with = "live")]
    pub live_state: Option<PathBuf>,
    /// Analyse the whole live estate instead of access.yaml: every IAM user and role of the
    /// account, and every RBAC object, aws-auth entry and access entry of the file's clusters,
    /// managed by accessctl or not
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Only this cluster (by its name in access.yaml)
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

impl StateArgs {
    /// The state, and what it is called in messages.
    pub fn load(&self, printer: &Printer) -> Result<State, CliError> {
        Ok(self.load_discovering(printer, false)?.0)
    }

    /// [`Self::load`]; with `--live` and `discover`, also the resource types the clusters
    /// serve (their API discovery, merged; `None` when none could be read, each failure a
    /// warning).
    pub fn load_discovering(
        &self,
        printer: &Printer,
        discover: bool,
    ) -> Result<(State, Option<KnownResources>), CliError> {
        let mut known = None;
        let shown = crate::spec::input::shown(&self.file.file);
        let state = match &self.live_state {
            Some(path) => {
                printer.verbose(&format!("analysing live state `{}`", path.display()));
                let state = super::common::read_live_state(path)?;
                if state.scope == ReadScope::Managed && !state.clusters.is_empty() {
                    printer.info(&format!(
                        "note: `{}` holds only the Kubernetes objects accessctl manages or a file declares: RBAC made by hand is not in this answer (`accessctl snapshot --all` saves everything)",
                        path.display()
                    ));
                }
                state
            }
            None if self.live => {
                let loaded = super::common::load(&self.file.file, None)?.desired;
                let assume_role = loaded.assume_role;
                let mut desired = loaded.state;
                self.check_cluster(&desired)?;
                if let Some(cluster) = &self.cluster {
                    desired.clusters.retain(|name, _| name == cluster);
                }
                printer.verbose(&format!(
                    "analysing the live estate of the clusters of `{}`",
                    shown.display()
                ));
                let runtime = super::runtime()?;
                let read = read_live_scoped(
                    &desired,
                    assume_role.as_ref(),
                    &self.aws,
                    ReadScope::Everything,
                    printer,
                );
                let (state, connections) = runtime.block_on(read)?;
                if discover {
                    known = runtime.block_on(discovered(&connections, printer));
                }
                state
            }
            None => {
                printer.verbose(&format!(
                    "analysing the desired state of `{}`",
                    shown.display()
                ));
                super::common::load(&self.file.file, None)?.desired.state
            }
        };
        self.check_cluster(&state)?;
        Ok((state, known))
    }

    /// Refuses a `--cluster` the state does not have.
    fn check_cluster(&self, state: &State) -> Result<(), CliError> {
        if let Some(cluster) = &self.cluster
            && !state.clusters.contains_key(cluster)
        {
            let known: Vec<&str> = state.clusters.keys().map(String::as_str).collect();
            return Err(
                CliError::new(format!("no cluster `{cluster}` in the state")).with_hint(
                    if known.is_empty() {
                        "the state declares no cluster".to_string()
                    } else {
                        format!("clusters: {}", known.join(", "))
                    },
                ),
            );
        }
        Ok(())
    }
}

/// The resource types the connected clusters serve, by their API discovery (merged in name
/// order); a cluster whose discovery cannot be read is a warning.
async fn discovered(connections: &Connections, printer: &Printer) -> Option<KnownResources> {
    let mut known: Option<KnownResources> = None;
    for (name, client) in &connections.clusters {
        match crate::kube::discovery::known_resources(client).await {
            Ok(found) => match &mut known {
                Some(known) => known.extend(found),
                None => known = Some(found),
            },
            Err(error) => printer.info(&format!(
                "warning: cluster `{name}`: cannot read its API discovery ({error}): the request is checked against the resource types of Kubernetes {}",
                crate::insight::rbac::DEFAULT_KUBERNETES_VERSION
            )),
        }
    }
    known
}

/// Output of `explain`, `who-can` and `can-i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// IAM user or role: a name (`manager`, `user/manager`, `role/eks-admin`) or an ARN
    #[arg(long, value_name = "NAME|ARN")]
    pub principal: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
}

pub fn run(args: &ExplainArgs, printer: &Printer) -> Result<i32, CliError> {
    let state = args.state.load(printer)?;
    let principal = resolve(&state, &args.principal)?;
    let explanation = explain::explain(&state, &principal, args.state.cluster.as_deref());
    let rendered = match args.output {
        ReportFormat::Text => explain::render_text(&explanation),
        ReportFormat::Json => to_json(&explanation)?,
    };
    printer.data(&rendered)?;
    Ok(EXIT_OK)
}

pub fn resolve(state: &State, text: &str) -> Result<crate::insight::iam_eval::Principal, CliError> {
    chain::resolve_principal(state, text).map_err(|message| {
        CliError::new(message).with_hint("name an IAM user or role of the state, or give its ARN")
    })
}

pub fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|error| CliError::new(format!("cannot render JSON: {error}")))?;
    text.push('\n');
    Ok(text)
}
