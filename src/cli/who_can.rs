//! `accessctl who-can`: the IAM principals that can make a Kubernetes request, each with the
//! shortest route as evidence, and the Kubernetes subjects the bindings let make it.

use clap::Args;
use serde_json::json;

use super::explain::{ReportFormat, StateArgs, to_json};
use super::{CliError, EXIT_OK, Printer};
use crate::insight::{rbac, who_can};
use crate::model::State;

/// A Kubernetes request, as `kubectl auth can-i` takes it.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// Verb: get, list, watch, create, update, patch, delete, bind, escalate, impersonate, `*`, …
    pub verb: String,
    /// Resource: `TYPE`, `TYPE.GROUP`, `TYPE/NAME`, `*`, or a non-resource URL (`/healthz`)
    pub resource: String,
    /// Subresource (`log` for pods/log)
    #[arg(long, value_name = "NAME")]
    pub subresource: Option<String>,
    /// Namespace
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        default_value = "default",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: String,
    /// Every namespace at once (only cluster-wide grants count)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

impl RequestArgs {
    /// Prints a warning for each part of the request `known` does not hold (as kubectl
    /// does), and what a short or singular name resolved to; returns the error that ends the
    /// command after its answer, if there is one: an answer to a request Kubernetes does not
    /// know counts only wildcard grants, so a `no` or an empty list is not to be trusted.
    pub fn check(&self, printer: &Printer, known: &rbac::KnownResources) -> Option<CliError> {
        let checked = self.checked(known);
        for warning in &checked.warnings {
            printer.info(&format!("warning: {warning}"));
        }
        if let Some(resolved) = &checked.resolved {
            printer.info(&format!("note: {resolved}"));
        }
        (!checked.warnings.is_empty()).then(|| {
            CliError::new(format!(
                "`{}` is not a request Kubernetes knows: the answer counts only wildcard (`*`) grants",
                self.shown()
            ))
            .with_hint("check the spelling (`kubectl api-resources` lists a cluster's resource types); name a custom resource with its group: `TYPE.GROUP`")
        })
    }

    /// What `known` says of the request, printing nothing.
    fn checked(&self, known: &rbac::KnownResources) -> rbac::Checked {
        rbac::check_request(
            known,
            &self.verb,
            &self.resource,
            self.subresource.as_deref(),
        )
    }

    /// The request as typed: `get pods`, `get pods --subresource log`.
    fn shown(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{} {} --subresource {sub}", self.verb, self.resource),
            None => format!("{} {}", self.verb, self.resource),
        }
    }

    pub fn request(&self, known: &rbac::KnownResources) -> rbac::Request {
        rbac::parse_request_in(
            known,
            &self.verb,
            &self.resource,
            self.subresource.as_deref(),
            (!self.all_namespaces).then_some(self.namespace.as_str()),
        )
    }
}

/// What `who-can` and `can-i` both take: the request, the state to analyse, the output format.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
}

/// A query read from its arguments.
pub struct Query {
    /// The error that ends the command after its answer (an unknown request).
    pub unknown: Option<CliError>,
    pub state: State,
    pub request: rbac::Request,
}

impl QueryArgs {
    /// Warns about what Kubernetes does not know in the request, loads the state, parses the
    /// request. Offline the request is checked against the table of the Kubernetes version
    /// accessctl models; with `--live`, what that table cannot vouch for (a name it does not
    /// know, a type of a group it does not hold) is checked against the clusters' own API
    /// discovery, which is read only then.
    pub fn read(&self, printer: &Printer) -> Result<Query, CliError> {
        let builtin = rbac::KnownResources::builtin();
        if !self.state.live {
            let unknown = self.request.check(printer, builtin);
            let state = self.state.load(printer)?;
            return Ok(Query {
                unknown,
                state,
                request: self.request.request(builtin),
            });
        }
        let offline = self.request.checked(builtin);
        let discover = !offline.warnings.is_empty() || offline.custom_group;
        let (state, discovered) = self.state.load_discovering(printer, discover)?;
        let known = discovered.as_ref().unwrap_or(builtin);
        let unknown = self.request.check(printer, known);
        Ok(Query {
            unknown,
            state,
            request: self.request.request(known),
        })
    }
}

impl Query {
    /// Prints the answer; then the unknown request's error, or `exit`.
    pub fn answer(self, printer: &Printer, rendered: &str, exit: i32) -> Result<i32, CliError> {
        printer.data(rendered)?;
        match self.unknown {
            Some(error) => Err(error),
            None => Ok(exit),
        }
    }
}

#[derive(Debug, Args)]
pub struct WhoCanArgs {
    #[command(flatten)]
    pub query: QueryArgs,
}

pub fn run(args: &WhoCanArgs, printer: &Printer) -> Result<i32, CliError> {
    let query = args.query.read(printer)?;
    let request = &query.request;
    let only = args.query.state.cluster.as_deref();
    let holders = who_can::who_can(&query.state, request, only);
    let subjects = who_can::subjects(&query.state, request, only);
    let rendered = match args.query.output {
        ReportFormat::Text => who_can::render_who_can_text(&holders, &subjects, request),
        ReportFormat::Json => to_json(&json!({
            "request": request,
            "principals": holders,
            "subjects": subjects,
        }))?,
    };
    query.answer(printer, &rendered, EXIT_OK)
}
