//! IAM apply against moto (every example converges; drift, prune, adoption, policy versions,
//! an interrupted apply) and against SDK-level mocks (what moto cannot show: DeleteConflict,
//! throttling bursts, IAM's propagation delay).
//!
//! Each example keeps its own `account:`: moto serves any account named by the
//! `x-moto-account-id` header, which an interceptor adds to every request, so the files are
//! used unchanged and STS answers with the file's account. moto is started with AWS-managed
//! policies loaded, since the examples attach them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use accessctl::apply::{self, ApplyError, ApplyReport, Executor};
use accessctl::aws::{self, Clients, IamExecutor, RetryPolicy};
use accessctl::model::State;
use accessctl::plan::{self, Action, Address, Change, Desired, Kind, Plan, PlanOptions, Problem};
use accessctl::spec::{self, Facts};
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::moto::Moto;

const PARALLELISM: usize = 10;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/examples")
}

/// Adds moto's account header to every request.
#[derive(Clone, Debug)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "tests::MotoAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

fn start_moto() -> Moto {
    Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
}

/// accessctl's clients, aimed at `account` on `moto`.
fn clients(moto: &Moto, account: &str) -> Clients {
    let config = moto.sdk_config();
    let header = MotoAccount(account.to_string());
    Clients::from_builders(
        aws_sdk_iam::config::Builder::from(&config).interceptor(header.clone()),
        aws_sdk_sts::config::Builder::from(&config).interceptor(header),
    )
}

fn executor(clients: &Clients, live: &State) -> IamExecutor {
    IamExecutor::new(
        clients.iam.clone(),
        live.account.clone().expect("the live read names the account"),
        live.partition.clone(),
    )
    .with_retry(RetryPolicy::fast(Duration::from_secs(5)))
}

/// The account as accessctl reads it, with the clusters of `clusters_from` (an example's
/// live.json) so that only IAM differs.
async fn read_live(clients: &Clients, clusters_from: Option<&Path>) -> State {
    let (mut state, _) = aws::read_state(clients).await.expect("live read");
    if let Some(path) = clusters_from {
        let text = std::fs::read_to_string(path).expect("live.json");
        state.clusters = accessctl::snapshot::parse(&text)
            .expect("a snapshot")
            .clusters;
    }
    state
}

fn load(path: &Path, live: &State) -> Desired {
    match spec::load(path, &Facts { live: Some(live) }) {
        Ok(loaded) => loaded.desired,
        Err(diagnostics) => panic!("{} does not load: {diagnostics:?}", path.display()),
    }
}

/// The IAM part of the plan: cluster objects are another executor's business.
fn iam_plan(desired: &Desired, live: &State, options: &PlanOptions) -> Result<Plan, plan::PlanError> {
    let mut plan = plan::plan(desired, live, options)?;
    plan.changes.retain(|change| change.address.kind.is_iam());
    Ok(plan)
}

/// Reads, plans and applies `file`; the plan that was applied and the report.
async fn apply_file(
    clients: &Clients,
    file: &Path,
    clusters_from: Option<&Path>,
    options: &PlanOptions,
) -> (Plan, ApplyReport) {
    let live = read_live(clients, clusters_from).await;
    let desired = load(file, &live);
    let plan = iam_plan(&desired, &live, options).unwrap_or_else(|error| {
        panic!("{} cannot be planned: {:?}", file.display(), error.problems)
    });
    let report = apply::apply(&plan, &executor(clients, &live), PARALLELISM).await;
    (plan, report)
}

/// A fresh read and plan of `file`.
async fn replan(clients: &Clients, file: &Path, clusters_from: Option<&Path>) -> Plan {
    let live = read_live(clients, clusters_from).await;
    let desired = load(file, &live);
    iam_plan(&desired, &live, &PlanOptions::default()).unwrap_or_else(|error| {
        panic!("{} cannot be planned: {:?}", file.display(), error.problems)
    })
}

fn addresses(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .map(|change| (change.address.to_string(), change.action))
        .collect()
}

fn assert_succeeded(report: &ApplyReport) {
    assert!(
        report.succeeded(),
        "failed: {:?}\nnot attempted: {:?}",
        report.failed,
        report.not_attempted
    );
}

#[tokio::test]
async fn every_example_applies_to_an_empty_account_and_converges() {
    let moto = start_moto();
    let mut names: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("access.yaml").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for dir in names {
        moto.reset();
        let file = dir.join("access.yaml");
        let snapshot = dir.join("live.json");
        let account = accessctl::snapshot::parse(&std::fs::read_to_string(&snapshot).expect("read"))
            .expect("snapshot")
            .account
            .expect("live.json names its account");
        let clients = clients(&moto, &account);
        let (plan, report) =
            apply_file(&clients, &file, Some(&snapshot), &PlanOptions::default()).await;
        assert!(plan.has_changes(), "{}: nothing to create", dir.display());
        assert!(
            plan.changes.iter().all(|change| change.action == Action::Create),
            "{}: {:?}",
            dir.display(),
            addresses(&plan)
        );
        assert_succeeded(&report);
        assert_eq!(report.done.len(), plan.changes.len());
        let again = replan(&clients, &file, Some(&snapshot)).await;
        assert_eq!(addresses(&again), [], "{}: left to do", dir.display());
    }
}
