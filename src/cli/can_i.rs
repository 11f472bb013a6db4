//! `accessctl can-i`: may one IAM principal make a Kubernetes request? yes / no / possibly,
//! with the route, and an exit code for scripts.

use clap::Args;
use serde_json::json;

use super::explain::{ReportFormat, StateArgs, resolve, to_json};
use super::who_can::RequestArgs;
use super::{CliError, EXIT_OK, Printer};
use crate::insight::chain::{self, Certainty};
use crate::insight::who_can;

/// Exit code of `can-i`: the answer is no.
pub const EXIT_NO: i32 = 3;
/// Exit code of `can-i`: the answer depends on what the model does not hold.
pub const EXIT_POSSIBLY: i32 = 4;

#[derive(Debug, Args)]
pub struct CanIArgs {
    /// The IAM user or role asking: a name or an ARN
    #[arg(long = "as", value_name = "NAME|ARN")]
    pub principal: String,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
}

pub fn run(args: &CanIArgs, printer: &Printer) -> Result<i32, CliError> {
    let unknown = args.request.check(printer);
    let state = args.state.load(printer)?;
    let principal = resolve(&state, &args.principal)?;
    let request = args.request.request();
    let analysis = crate::insight::iam_eval::Analysis::new(&state);
    let answers = chain::can(
        &analysis,
        &principal,
        &request,
        args.state.cluster.as_deref(),
    );
    let overall = who_can::overall(&answers);
    let rendered = match args.output {
        ReportFormat::Text => who_can::render_can_i_text(&principal, &request, &answers),
        ReportFormat::Json => to_json(&json!({
            "principal": principal,
            "request": request,
            "answer": overall,
            "clusters": answers,
        }))?,
    };
    printer.data(&rendered)?;
    if let Some(error) = unknown {
        return Err(error);
    }
    Ok(match overall {
        Certainty::Yes => EXIT_OK,
        Certainty::No => EXIT_NO,
        Certainty::Possibly => EXIT_POSSIBLY,
    })
}
