//! `accessctl iam-policy --for plan|apply`: the least-privilege IAM policy accessctl needs, as
//! JSON on stdout, built from the table of the operations it calls (`aws::permissions`).

use clap::{Args, ValueEnum};

use super::{CliError, EXIT_OK, Printer};
use crate::aws::permissions::{self, Phase};

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// What the policy is for: `plan` (reading only: plan, drift, snapshot, import, the
    /// `--live` insight commands) or `apply` (plan's reads and the writes)
    #[arg(long = "for", value_name = "COMMAND")]
    pub purpose: Purpose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Purpose {
    Plan,
    Apply,
}

pub fn run(args: &IamPolicyArgs, printer: &Printer) -> Result<i32, CliError> {
    let phase = match args.purpose {
        Purpose::Plan => Phase::Read,
        Purpose::Apply => Phase::Write,
    };
    let document = permissions::policy(phase);
    let text = serde_json::to_string_pretty(&document)
        .map_err(|error| CliError::new(format!("cannot render the policy: {error}")))?;
    printer.data(&format!("{text}\n"))?;
    Ok(EXIT_OK)
}
