//! The command line: arguments (clap), one file per command, and the mapping of every error to
//! a message, a hint and an exit code. Data goes to stdout; messages go to stderr.

mod accounts;
mod apply;
mod can_i;
mod common;
mod completions;
mod confirm;
mod drift;
mod explain;
mod iam_policy;
mod import;
mod lint;
mod lock;
mod output;
mod plan;
mod planning;
mod progress;
mod snapshot;
mod validate;
mod who_can;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use output::{CliError, Printer};

/// Exit code: success, no changes.
pub const EXIT_OK: i32 = 0;
/// Exit code: any error.
pub const EXIT_ERROR: i32 = 1;
/// Exit code with `--detailed-exitcode`: the plan has changes.
pub const EXIT_CHANGES: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "accessctl",
    version,
    about = "Declarative access management for Amazon EKS: IAM, aws-auth, access entries, RBAC and IRSA from one reviewed file",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print only data and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what is happening
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never colour the output (also: the NO_COLOR environment variable)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an access.yaml and report every mistake at once
    Validate(validate::ValidateArgs),
    /// Show what would change to make live state match access.yaml
    Plan(plan::PlanArgs),
    /// Make live state match access.yaml: plan, confirm, then apply exactly that plan
    Apply(apply::ApplyArgs),
    /// Report drift: changed objects, and access granted outside access.yaml (exit 0 none, 2 drift)
    Drift(drift::DriftArgs),
    /// Read the live state access.yaml touches and save it as JSON (for `plan --live-state`)
    Snapshot(snapshot::SnapshotArgs),
    /// Write an access.yaml for the access that exists, such that its first plan only adopts
    Import(import::ImportArgs),
    /// Show every route by which an IAM principal reaches each cluster, and what it may do
    Explain(explain::ExplainArgs),
    /// List the IAM principals that can make a Kubernetes request, with the route
    WhoCan(who_can::WhoCanArgs),
    /// Answer whether an IAM principal can make a Kubernetes request (exit 0 yes, 3 no, 4 possibly)
    CanI(can_i::CanIArgs),
    /// Report risky access patterns in access.yaml
    Lint(lint::LintArgs),
    /// Print the least-privilege IAM policy accessctl needs to plan, or to apply
    IamPolicy(iam_policy::IamPolicyArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
}

/// The access.yaml to read.
#[derive(Debug, Args)]
pub struct FileArg {
    /// Path of the access.yaml (`-`: read it from standard input), or of a directory whose
    /// `*.yaml`/`*.yml` files (hidden ones aside) are its fragments
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "access.yaml"
    )]
    pub file: PathBuf,
}

/// The access.yaml of each account: `validate`, `plan`, `apply`, `drift`, `snapshot` and
/// insight take several, one per account.
#[derive(Debug, Args)]
pub struct FilesArg {
    /// Path of the access.yaml (`-`: read it from standard input), or of a directory whose
    /// `*.yaml`/`*.yml` files (hidden ones aside) are its fragments. Repeat it for several
    /// accounts (one file or directory each, each with its `assumeRole`): one run, one report
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "access.yaml",
        action = clap::ArgAction::Append
    )]
    pub files: Vec<PathBuf>,
}

impl FilesArg {
    /// The one file of a one-account run; `None` when several were given.
    pub fn single(&self) -> Option<&PathBuf> {
        match self.files.as_slice() {
            [file] => Some(file),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    let printer = Printer::new(&cli.global);
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, &printer),
        Command::Plan(args) => plan::run(args, &printer),
        Command::Apply(args) => apply::run(args, &printer),
        Command::Snapshot(args) => snapshot::run(args, &printer),
        Command::Completions(args) => completions::run(args),
        Command::Explain(args) => explain::run(args, &printer),
        Command::WhoCan(args) => who_can::run(args, &printer),
        Command::CanI(args) => can_i::run(args, &printer),
        Command::Lint(args) => lint::run(args, &printer),
        Command::Import(args) => import::run(args, &printer),
        Command::Drift(args) => drift::run(args, &printer),
        Command::IamPolicy(args) => iam_policy::run(args, &printer),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            printer.error(&error);
            EXIT_ERROR
        }
    }
}

/// Prints clap's message for `--help`, `--version` or a usage error, and returns the exit code:
/// 0 for what was asked for, 1 (an error, never 2: "changes", "drift" or "findings") for a
/// mistyped command line.
fn usage(error: &clap::Error) -> i32 {
    let _ = error.print();
    if error.use_stderr() {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

/// The async runtime for commands that talk to AWS or clusters.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            CliError::new(format!(
                "cannot start the async runtime: {}",
                crate::words::io_reason(&error)
            ))
        })
}
