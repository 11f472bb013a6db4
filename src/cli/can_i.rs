//! `accessctl can-i`: may one IAM principal make a Kubernetes request? yes / no / possibly,
//! with the route, and an exit code for scripts.

use clap::Args;
use serde_json::json;

use super::explain::{ReportFormat, resolve, to_json};
use super::who_can::QueryArgs;
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
    pub query: QueryArgs,
}

pub fn run(args: &CanIArgs, printer: &Printer) -> Result<i32, CliError> {
    let query = args.query.read(printer)?;
    let principal = resolve(&query.state, &args.principal)?;
    let request = &query.request;
    // One principal: its own search is cheaper than an index of every principal.
    let analysis = crate::insight::iam_eval::Analysis::new(&query.state);
    let answers = chain::can(
        &analysis,
        &principal,
        request,
        args.query.state.cluster.as_deref(),
    );
    let overall = who_can::overall(&answers);
    let rendered = match args.query.output {
        ReportFormat::Text => who_can::render_can_i_text(&principal, request, &answers),
        ReportFormat::Json => to_json(&json!({
            "principal": principal,
            "request": request,
            "answer": overall,
            "clusters": answers,
        }))?,
    };
    let exit = match overall {
        Certainty::Yes => EXIT_OK,
        Certainty::No => EXIT_NO,
        Certainty::Possibly => EXIT_POSSIBLY,
    };
    query.answer(printer, &rendered, exit)
}
