//! `accessctl lint`: risky access patterns in access.yaml, with `file:line:col` and a hint;
//! text, JSON or SARIF; `--fail-on` for CI.

use clap::{Args, ValueEnum};

use super::{CliError, EXIT_OK, FileArg, Printer};
use crate::insight::lint::{self, Severity};

/// Exit code of `lint --fail-on`: a finding at or above the threshold.
pub const EXIT_FINDINGS: i32 = 2;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    #[default]
    Text,
    Json,
    Sarif,
}

/// The severities `--fail-on` takes (the insight module knows nothing of clap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
}

impl From<FailOn> for Severity {
    fn from(level: FailOn) -> Severity {
        match level {
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
        }
    }
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = LintFormat::Text)]
    pub output: LintFormat,
    /// Also lint what only live state holds (access key ages and last use), from this
    /// live-state snapshot (`accessctl snapshot`)
    #[arg(long, value_name = "PATH")]
    pub live_state: Option<std::path::PathBuf>,
    /// Exit 2 when a finding is at least this severe
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
}

pub fn run(args: &LintArgs, printer: &Printer) -> Result<i32, CliError> {
    let loaded = super::common::load(&args.file.file, None)?;
    super::common::print_warnings(printer, &loaded);
    let live = match &args.live_state {
        Some(path) => Some(super::common::read_live_state(path)?),
        None => None,
    };
    let findings = lint::lint_live(&loaded.desired.state, live.as_ref(), &loaded.locations);
    let file = crate::spec::input::shown(&args.file.file)
        .display()
        .to_string();
    let rendered = match args.output {
        LintFormat::Text => lint::render_text(&findings, &file),
        LintFormat::Json => lint::render_json(&findings, &file)?,
        LintFormat::Sarif => lint::render_sarif(&findings, &file)?,
    };
    printer.data(&rendered)?;
    let failing = args
        .fail_on
        .map(Severity::from)
        .is_some_and(|threshold| findings.iter().any(|finding| finding.severity >= threshold));
    Ok(if failing { EXIT_FINDINGS } else { EXIT_OK })
}
