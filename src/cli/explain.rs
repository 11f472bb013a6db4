//! `accessctl explain`: every route by which an IAM principal reaches each cluster, and what
//! it may do there namespace by namespace. Also holds what `explain`, `who-can` and `can-i`
//! share: where the state comes from and the output format.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::accounts;
use super::common::{AwsArgs, Input, read_live_scoped};
use super::{CliError, EXIT_OK, FilesArg, Printer};
use crate::insight::rbac::KnownResources;
use crate::insight::{chain, estate, explain};
use crate::live::Connections;
use crate::model::{ReadScope, State};

/// The state to analyse: the desired state of access.yaml, a live snapshot, or the whole live
/// estate read now; with several `-f` (one per account), the accounts' states as one estate
/// (`insight::estate`), so that chains cross accounts.
#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub file: FilesArg,
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
    /// Only this cluster (by its name in access.yaml; with several `-f`, `ACCOUNT/NAME`)
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
        let (state, known) = match self.file.single() {
            Some(file) => self.load_one(file, printer, discover)?,
            None => self.load_estate(printer, discover)?,
        };
        self.check_cluster(&state)?;
        Ok((state, known))
    }

    /// One account's state.
    fn load_one(
        &self,
        file: &Path,
        printer: &Printer,
        discover: bool,
    ) -> Result<(State, Option<KnownResources>), CliError> {
        let shown = crate::spec::input::shown(file);
        if let Some(path) = &self.live_state {
            printer.verbose(&format!("analysing live state `{}`", path.display()));
            let state = super::common::read_live_state(path)?;
            partial_note(printer, path, &state);
            return Ok((state, None));
        }
        let input = Input::read(file)?;
        if !self.live {
            printer.verbose(&format!(
                "analysing the desired state of `{}`",
                shown.display()
            ));
            return Ok((input.resolve(None)?.desired.state, None));
        }
        self.check_cluster(&input.desired()?.state)?;
        printer.verbose(&format!(
            "analysing the live estate of the clusters of `{}`",
            shown.display()
        ));
        let runtime = super::runtime()?;
        let keep = |name: &str| self.cluster.as_deref().is_none_or(|wanted| wanted == name);
        self.read_live(&runtime, &input, &keep, printer, discover)
    }

    /// The states of several accounts, one per `-f`, as one estate. With `--live`, the
    /// accounts are read concurrently as `plan` reads them; an account that cannot be read
    /// ends the command (an answer without it would be wrong, not partial).
    fn load_estate(
        &self,
        printer: &Printer,
        discover: bool,
    ) -> Result<(State, Option<KnownResources>), CliError> {
        let files = &self.file.files;
        if let Some(path) = &self.live_state {
            // A snapshot of several accounts: each file's account's part.
            printer.verbose(&format!("analysing live state `{}`", path.display()));
            let snapshots = super::common::read_live_states(path)?;
            let mut states = Vec::with_capacity(files.len());
            for (file, input) in files.iter().zip(Input::read_all(files)) {
                let shown = crate::spec::input::shown(file).display().to_string();
                states.push((shown, super::common::account_state(&snapshots, &input?)?));
            }
            let estate = merge(states)?;
            partial_note(printer, path, &estate);
            return Ok((estate, None));
        }
        if self.live && self.cluster.is_some() {
            // A cluster no file declares is refused before any account is read.
            let mut declared = Vec::with_capacity(files.len());
            for (file, input) in files.iter().zip(Input::read_all(files)) {
                let shown = crate::spec::input::shown(file).display().to_string();
                declared.push((shown, input?.desired()?.state.clone()));
            }
            self.check_cluster(&merge(declared)?)?;
        }
        let mut states = Vec::with_capacity(files.len());
        let mut known: Option<KnownResources> = None;
        if self.live {
            printer.verbose(&format!(
                "analysing the live estate of {} accounts",
                files.len()
            ));
            let runtime = super::runtime()?;
            let runs = accounts::each(files, |input| {
                let account = input.desired()?.state.account.clone().unwrap_or_default();
                // `--cluster ACCOUNT/NAME`: that cluster of its account, none of the others'.
                let keep = |name: &str| {
                    self.cluster.as_deref().is_none_or(|wanted| {
                        estate::qualified(wanted) == Some((account.as_str(), name))
                    })
                };
                self.read_live(&runtime, &input, &keep, printer, discover)
            });
            for run in runs {
                let shown = crate::spec::input::shown(&run.file).display().to_string();
                let (state, found) = run.result.map_err(|mut error| {
                    error.message = format!("`{shown}`: {}", error.message);
                    error
                })?;
                if let Some(found) = found {
                    match &mut known {
                        Some(known) => known.extend(found),
                        None => known = Some(found),
                    }
                }
                states.push((shown, state));
            }
        } else {
            for (file, input) in files.iter().zip(Input::read_all(files)) {
                let shown = crate::spec::input::shown(file).display().to_string();
                printer.verbose(&format!("analysing the desired state of `{shown}`"));
                states.push((shown, input?.resolve(None)?.desired.state));
            }
        }
        Ok((merge(states)?, known))
    }

    /// The whole live estate of `input`'s account (of its clusters, those `keep` keeps), and
    /// with `discover` the resource types its clusters serve.
    fn read_live(
        &self,
        runtime: &tokio::runtime::Runtime,
        input: &Input,
        keep: &dyn Fn(&str) -> bool,
        printer: &Printer,
        discover: bool,
    ) -> Result<(State, Option<KnownResources>), CliError> {
        let loaded = input.desired()?;
        let mut desired = loaded.state.clone();
        desired.clusters.retain(|name, _| keep(name));
        let read = read_live_scoped(
            &desired,
            loaded.assume_role.as_ref(),
            &self.aws,
            ReadScope::Everything,
            printer,
        );
        let (state, connections) = runtime.block_on(read)?;
        let known = if discover {
            runtime.block_on(discovered(&connections, printer))
        } else {
            None
        };
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

/// Says so when the snapshot at `path` holds only what accessctl manages of its clusters.
fn partial_note(printer: &Printer, path: &Path, state: &State) {
    if state.scope == ReadScope::Managed && !state.clusters.is_empty() {
        printer.info(&format!(
            "note: `{}` holds only the Kubernetes objects accessctl manages or a file declares: RBAC made by hand is not in this answer (`accessctl snapshot --all` saves everything)",
            path.display()
        ));
    }
}

/// The states of several accounts (each with its file, as shown) as one estate.
fn merge(states: Vec<(String, State)>) -> Result<State, CliError> {
    estate::merge(states).map_err(|error| {
        let hint = match &error {
            estate::EstateError::NoAccount { .. } => {
                "add its `account: \"123456789012\"`: across accounts, each file names its own"
            }
            estate::EstateError::Twice { .. } => {
                "one file or directory per account: put the account's fragments in one directory"
            }
            estate::EstateError::Partition { .. } => "analyse each partition in its own run",
        };
        CliError::new(error.to_string()).with_hint(hint)
    })
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
