//! IAM apply against moto (every example converges, its access keys delivered to Secrets on the
//! test API server; drift, prune, adoption, policy versions, an interrupted apply) and against
//! SDK-level mocks (what moto cannot show: DeleteConflict, throttling bursts, IAM's propagation
//! delay).
//!
//! Each example keeps its own `account:`: moto serves any account named by the
//! `x-moto-account-id` header, which an interceptor adds to every request, so the files are
//! used unchanged and STS answers with the file's account. moto is started with AWS-managed
//! policies loaded, since the examples attach them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use accessctl::apply::{self, ApplyError, ApplyReport, Executor, Route};
use accessctl::aws::apply::keys::KeyExecutor;
use accessctl::aws::{self, Clients, IamExecutor, RetryPolicy};
use accessctl::kube::ClusterClient;
use accessctl::model::access_key::mask;
use accessctl::model::{Cluster, Destination, State};
use accessctl::plan::{self, Action, Address, Change, Desired, Kind, Plan, PlanOptions, Problem};
use accessctl::spec::{self, Facts};
use aws_config::retry::RetryConfig;
use aws_sdk_iam::operation::list_service_specific_credentials::ListServiceSpecificCredentialsOutput;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, mock};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use k8s_openapi::api::core::v1::Namespace;

use crate::access_keys::delivered_to;
use crate::moto::Moto;
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, IamScope, KubeTarget};

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
///
/// moto does not implement `ListServiceSpecificCredentials` (it answers 500): that one call is
/// answered here as IAM answers it for a user without such credentials; every other request
/// goes to moto.
fn clients(moto: &Moto, account: &str) -> Clients {
    let config = moto.sdk_config();
    let header = MotoAccount(account.to_string());
    let no_service_credentials = mock!(aws_sdk_iam::Client::list_service_specific_credentials)
        .sequence()
        .output(|| ListServiceSpecificCredentialsOutput::builder().build())
        .repeatedly()
        .build();
    let unimplemented = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&no_service_credentials)
        .allow_passthrough();
    Clients::from_builders(
        aws_sdk_iam::config::Builder::from(&config)
            .interceptor(header.clone())
            .interceptor(unimplemented),
        aws_sdk_sts::config::Builder::from(&config).interceptor(header),
    )
}

fn executor(clients: &Clients, live: &State) -> IamExecutor {
    IamExecutor::new(
        clients.iam.clone(),
        live.account
            .clone()
            .expect("the live read names the account"),
        live.partition.clone(),
    )
    .with_retry(RetryPolicy::fast(Duration::from_secs(5)))
}

/// The account and `file` as accessctl reads them: the IAM part of the live state with the
/// clusters of `clusters_from` (an example's live.json) so that only IAM differs, and the keys of
/// the users the file declares `accessKeys` for (as the binary's live read adds them).
async fn read_file_and_live(
    clients: &Clients,
    file: &Path,
    clusters_from: Option<&Path>,
) -> (Desired, State) {
    let mut live = read_live(clients, clusters_from).await;
    let desired = load(file, &live);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    // The keys only: what each destination holds is not read here (the destinations are the
    // key executor's, not this IAM test's), so the decision takes them to hold the current key.
    let (sdk, clusters) = (aws_config::SdkConfig::builder().build(), BTreeMap::new());
    let reader = aws::access_keys::KeyReader {
        iam: &clients.iam,
        sdk: &sdk,
        counter: &clients.counter,
        clusters: &clusters,
        now: now as i64,
        retry: RetryPolicy::fast(Duration::from_secs(5)),
    };
    let users = desired
        .state
        .iam
        .access_keys
        .keys()
        .filter(|user| live.iam.users.contains_key(*user))
        .map(|user| (user.clone(), None))
        .collect();
    let keys = reader
        .read(users)
        .await
        .unwrap_or_else(|error| panic!("the keys: {error:?}"));
    live.iam.access_keys.extend(keys);
    (desired, live)
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
fn iam_plan(
    desired: &Desired,
    live: &State,
    options: &PlanOptions,
) -> Result<Plan, plan::PlanError> {
    let mut plan = plan::plan(desired, live, options)?;
    plan.changes.retain(|change| change.address.kind.is_iam());
    Ok(plan)
}

/// A fresh read and IAM plan of `file`, with the live state it was planned against and the file.
async fn plan_file(
    clients: &Clients,
    file: &Path,
    clusters_from: Option<&Path>,
    options: &PlanOptions,
) -> (Desired, State, Plan) {
    let (desired, live) = read_file_and_live(clients, file, clusters_from).await;
    let plan = iam_plan(&desired, &live, options).unwrap_or_else(|error| {
        panic!("{} cannot be planned: {:?}", file.display(), error.problems)
    });
    (desired, live, plan)
}

/// Reads, plans and applies `file`; the plan that was applied and the report.
async fn apply_file(
    clients: &Clients,
    file: &Path,
    clusters_from: Option<&Path>,
    options: &PlanOptions,
) -> (Plan, ApplyReport) {
    let (_, live, plan) = plan_file(clients, file, clusters_from, options).await;
    let report = apply::apply(&plan, &executor(clients, &live), PARALLELISM).await;
    (plan, report)
}

/// A fresh read and plan of `file`.
async fn replan(clients: &Clients, file: &Path, clusters_from: Option<&Path>) -> Plan {
    plan_file(clients, file, clusters_from, &PlanOptions::default())
        .await
        .2
}

/// The IAM plans here hold no cluster or EKS change: [`Route`] sends none here.
struct NoClusterChanges;

impl Executor for NoClusterChanges {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        Err(ApplyError::new(format!(
            "{:?}: an IAM plan holds no cluster change",
            unit.first().map(|change| change.address.to_string())
        )))
    }
}

/// The binary's routing for an IAM plan: IAM changes to the IAM executor, access-key changes to
/// the key executor, which delivers to the Secrets of `kube` (every cluster of `desired` is
/// reached through it). The key executor's Secrets Manager client carries no account header:
/// it reaches moto's default account.
async fn iam_and_keys(
    moto: &Moto,
    clients: &Clients,
    live: &State,
    desired: &Desired,
    kube: &KubeServer,
) -> Route<IamExecutor, NoClusterChanges, NoClusterChanges, KeyExecutor> {
    let mut clusters = BTreeMap::new();
    for name in desired.state.clusters.keys() {
        let client =
            ClusterClient::connect_with_file(name, &Cluster::default(), kube.kubeconfig_path())
                .await
                .unwrap_or_else(|error| panic!("connect to the test API server: {error:?}"));
        clusters.insert(name.clone(), client);
    }
    let iam = executor(clients, live);
    let keys = KeyExecutor::new(
        clients.iam.clone(),
        moto.sdk_config(),
        clients.counter.clone(),
        clusters,
    )
    .with_retry(RetryPolicy::fast(Duration::from_secs(5)))
    .with_created(iam.created());
    Route {
        iam,
        clusters: NoClusterChanges,
        eks: NoClusterChanges,
        keys,
    }
}

/// The namespaces the Secrets of `desired`'s keys go to, created on `kube` as the cluster part
/// of the apply (not tested here) would have created them.
fn key_namespaces(desired: &Desired, kube: &KubeServer) {
    let namespaces: BTreeSet<&str> = desired
        .state
        .iam
        .access_keys
        .values()
        .filter_map(|keys| keys.rotation.as_ref())
        .flat_map(|rotation| &rotation.deliver_to)
        .filter_map(|to| match to {
            Destination::Secret { namespace, .. } => Some(namespace.as_str()),
            Destination::SecretsManager { .. } => None,
        })
        .collect();
    for namespace in namespaces {
        if kube.raw_object::<Namespace>(None, namespace).is_none() {
            kube.seed(&serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace},
            }));
        }
    }
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

/// Makes the roles IAM Identity Center made in the account of `snapshot` (path
/// `/aws-reserved/sso.amazonaws.com/…`): an example's `ssoPermissionSet` names them, and
/// accessctl never creates them.
async fn identity_center_roles(clients: &Clients, snapshot: &Path) {
    let state = accessctl::snapshot::parse(&std::fs::read_to_string(snapshot).expect("read"))
        .expect("snapshot");
    for (name, role) in &state.iam.roles {
        if !role.path.starts_with("/aws-reserved/sso.amazonaws.com/") {
            continue;
        }
        clients
            .iam
            .create_role()
            .role_name(name)
            .path(&role.path)
            .assume_role_policy_document(role.trust.to_value().to_string())
            .send()
            .await
            .expect("create the IAM Identity Center role");
    }
}

#[tokio::test]
async fn every_example_applies_to_an_empty_account_and_converges() {
    if AwsTarget::from_env().skip_if_external("every_example_applies_to_an_empty_account_and_converges: resets moto between examples and reaches each example's account through moto's account header")
        || KubeTarget::from_env().skip_if_external("every_example_applies_to_an_empty_account_and_converges: delivers the examples' access keys to a test API server of its own")
    {
        return;
    }
    let moto = start_moto();
    let kube = KubeServer::start().await;
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
        let account =
            accessctl::snapshot::parse(&std::fs::read_to_string(&snapshot).expect("read"))
                .expect("snapshot")
                .account
                .expect("live.json names its account");
        let clients = clients(&moto, &account);
        identity_center_roles(&clients, &snapshot).await;
        let (desired, live, plan) =
            plan_file(&clients, &file, Some(&snapshot), &PlanOptions::default()).await;
        key_namespaces(&desired, &kube);
        let executor = iam_and_keys(&moto, &clients, &live, &desired, &kube).await;
        let report = apply::apply(&plan, &executor, PARALLELISM).await;
        assert!(plan.has_changes(), "{}: nothing to create", dir.display());
        assert!(
            plan.changes
                .iter()
                .all(|change| change.action == Action::Create),
            "{}: {:?}",
            dir.display(),
            addresses(&plan)
        );
        assert_succeeded(&report);
        assert_eq!(report.done.len(), plan.changes.len());
        let again = replan(&clients, &file, Some(&snapshot)).await;
        assert_eq!(addresses(&again), [], "{}: left to do", dir.display());
        // Each declared key was created and is in every Secret it goes to: one key per user.
        let (_, after) = read_file_and_live(&clients, &file, Some(&snapshot)).await;
        for (user, want) in &desired.state.iam.access_keys {
            let have = &after.iam.access_keys[user].keys;
            assert_eq!(have.len(), 1, "{}: the keys of {user}", dir.display());
            let rotation = want.rotation.as_ref().expect("declared");
            for to in &rotation.deliver_to {
                if let Destination::Secret {
                    namespace, name, ..
                } = to
                {
                    let (id, _) = delivered_to(&kube, namespace, name);
                    assert_eq!(mask(&id), have[0].id, "{}: {to}", dir.display());
                }
            }
        }
    }
}

/// Console drift on example 001: each shows as exactly its change, and apply repairs it.
#[tokio::test]
async fn drift_shows_as_exactly_that_change_and_apply_repairs_it() {
    if AwsTarget::from_env().skip_if_external("drift_shows_as_exactly_that_change_and_apply_repairs_it: reaches example 001's account through moto's account header") {
        return;
    }
    let moto = start_moto();
    let dir = examples_dir().join("001-reader-group-and-eks-admin-role");
    let (file, snapshot) = (dir.join("access.yaml"), dir.join("live.json"));
    let clients = clients(&moto, "424432388155");
    let (_, report) = apply_file(&clients, &file, Some(&snapshot), &PlanOptions::default()).await;
    assert_succeeded(&report);

    // Behind accessctl's back, in the "console".
    let iam = &clients.iam;
    let read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    iam.attach_group_policy()
        .group_name("developers")
        .policy_arn(read_only)
        .send()
        .await
        .expect("console attach");
    iam.update_assume_role_policy()
        .role_name("eks-admin")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .expect("console trust edit");
    iam.add_user_to_group()
        .group_name("developers")
        .user_name("manager")
        .send()
        .await
        .expect("console membership");
    iam.remove_user_from_group()
        .group_name("developers")
        .user_name("developer")
        .send()
        .await
        .expect("console: leave the group before deletion");
    iam.delete_user()
        .user_name("developer")
        .send()
        .await
        .expect("console delete");

    let drift = replan(&clients, &file, Some(&snapshot)).await;
    let mut found = addresses(&drift);
    found.sort();
    assert_eq!(
        found,
        [
            ("iam.group.developers".to_string(), Action::Update),
            ("iam.role.eks-admin".to_string(), Action::Update),
            ("iam.user.developer".to_string(), Action::Create),
            ("iam.user.manager".to_string(), Action::Update),
        ]
    );
    let fields = |address: &str| -> Vec<String> {
        drift
            .changes
            .iter()
            .find(|change| change.address.to_string() == address)
            .map(|change| {
                change
                    .fields
                    .iter()
                    .map(|field| field.path.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(fields("iam.group.developers"), ["managed_policies"]);
    assert_eq!(fields("iam.role.eks-admin"), ["trust"]);
    assert_eq!(fields("iam.user.manager"), ["groups"]);

    let (_, report) = apply_file(&clients, &file, Some(&snapshot), &PlanOptions::default()).await;
    assert_succeeded(&report);
    assert_eq!(
        addresses(&replan(&clients, &file, Some(&snapshot)).await),
        []
    );
    let attached = iam
        .list_attached_group_policies()
        .group_name("developers")
        .send()
        .await
        .expect("list");
    assert!(
        attached
            .attached_policies()
            .iter()
            .all(|policy| policy.policy_arn() != Some(read_only)),
        "the console attachment is gone"
    );
}

const ACCOUNT: &str = "123456789012";
const BUCKET_READ: &str = r#"{Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["s3:GetObject"], Resource: "*"}]}"#;

fn write_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("access.yaml");
    std::fs::write(&path, text).expect("write access.yaml");
    path
}

fn users_file(users: &str) -> String {
    format!(
        "version: 1\naccount: \"{ACCOUNT}\"\niam:\n  policies:\n    bucket-read:\n      document: {BUCKET_READ}\n  users:\n{users}"
    )
}

async fn exists(iam: &aws_sdk_iam::Client, user: &str) -> bool {
    match iam.get_user().user_name(user).send().await {
        Ok(_) => true,
        Err(error) => {
            let error = aws::AwsError::from_sdk("iam:GetUser", None, error);
            assert_eq!(error.kind, aws::ErrorKind::NotFound, "{error}");
            false
        }
    }
}

/// An owned user dropped from the file goes with everything IAM requires removed first; an
/// unowned user is never touched.
#[tokio::test]
async fn prune_deletes_owned_users_with_their_credentials_and_leaves_others() {
    if AwsTarget::from_env().skip_if_external("prune_deletes_owned_users_with_their_credentials_and_leaves_others: reaches account 123456789012 through moto's account header") {
        return;
    }
    let moto = start_moto();
    let clients = clients(&moto, ACCOUNT);
    let iam = &clients.iam;
    let temp = tempfile::tempdir().expect("tempdir");
    let both = users_file(
        "    alice: {}\n    bob:\n      policies: [bucket-read]\n      inline:\n        list: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:ListBucket\", Resource: \"*\"}]}\n",
    );
    let file = write_file(temp.path(), &both);
    let (_, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
    assert_succeeded(&report);

    iam.create_access_key()
        .user_name("bob")
        .send()
        .await
        .expect("key");
    iam.create_login_profile()
        .user_name("bob")
        .password("Correct-Horse-1")
        .send()
        .await
        .expect("login profile");
    iam.create_group()
        .group_name("console-group")
        .send()
        .await
        .expect("unowned group");
    iam.add_user_to_group()
        .group_name("console-group")
        .user_name("bob")
        .send()
        .await
        .expect("membership");
    iam.create_user()
        .user_name("carol")
        .send()
        .await
        .expect("unowned user");
    iam.create_access_key()
        .user_name("carol")
        .send()
        .await
        .expect("carol's key");

    let file = write_file(temp.path(), &users_file("    alice: {}\n"));
    let before = clients.counter.snapshot();
    let (plan, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
    assert_eq!(
        addresses(&plan),
        [("iam.user.bob".to_string(), Action::Delete)]
    );
    assert_succeeded(&report);
    // moto deletes a user with attachments left (IAM refuses): check each was removed. What
    // the plan knows goes first; credentials are listed only when IAM refuses the delete,
    // which moto never does (moto's `ListServiceSpecificCredentials` answers 500).
    let calls = clients.counter.snapshot().since(&before);
    for (call, count) in [
        ("iam:RemoveUserFromGroup", 1),
        ("iam:DetachUserPolicy", 1),
        ("iam:DeleteUserPolicy", 1),
        ("iam:DeleteUser", 1),
        ("iam:ListAccessKeys", 0),
        ("iam:ListServiceSpecificCredentials", 0),
        ("iam:DeleteAccessKey", 0),
    ] {
        assert_eq!(calls.get(call), count, "{call} in {calls}");
    }
    assert!(!exists(iam, "bob").await, "bob is deleted");
    assert!(exists(iam, "carol").await, "carol is not accessctl's");
    assert!(exists(iam, "alice").await);
    let keys = iam
        .list_access_keys()
        .user_name("carol")
        .send()
        .await
        .expect("carol's keys");
    assert_eq!(keys.access_key_metadata().len(), 1);
    let group = iam
        .get_group()
        .group_name("console-group")
        .send()
        .await
        .expect("the unowned group stays");
    assert!(group.users().is_empty());
    let entities = iam
        .list_entities_for_policy()
        .policy_arn(format!(
            "arn:aws:iam::{ACCOUNT}:policy/accessctl/bucket-read"
        ))
        .send()
        .await
        .expect("the policy stays, declared");
    assert!(entities.policy_users().is_empty());
    assert_eq!(addresses(&replan(&clients, &file, None).await), []);
}

/// Declaring a user that exists unowned is refused until adopted; adoption tags it.
#[tokio::test]
async fn an_unowned_user_is_refused_until_adopted() {
    if AwsTarget::from_env().skip_if_external("an_unowned_user_is_refused_until_adopted: reaches account 123456789012 through moto's account header") {
        return;
    }
    let moto = start_moto();
    let clients = clients(&moto, ACCOUNT);
    let iam = &clients.iam;
    iam.create_user()
        .user_name("dave")
        .send()
        .await
        .expect("unowned user");
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        temp.path(),
        &users_file("    dave:\n      policies: [bucket-read]\n"),
    );

    let live = read_live(&clients, None).await;
    let desired = load(&file, &live);
    let error = iam_plan(&desired, &live, &PlanOptions::default()).expect_err("refused");
    assert_eq!(
        error.problems,
        [Problem::Unowned {
            address: Address::iam(Kind::User, "dave")
        }]
    );

    let adopt = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    let (plan, report) = apply_file(&clients, &file, None, &adopt).await;
    assert_eq!(
        addresses(&plan),
        [
            ("iam.policy.bucket-read".to_string(), Action::Create),
            ("iam.user.dave".to_string(), Action::Adopt),
        ]
    );
    assert_succeeded(&report);
    let tags = iam
        .list_user_tags()
        .user_name("dave")
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .iter()
            .any(|tag| tag.key() == "managed-by" && tag.value() == "accessctl"),
        "{tags:?}"
    );
    assert_eq!(addresses(&replan(&clients, &file, None).await), []);
}

/// Adopting a console-made policy (at `/`) re-creates it under the policy path: a new ARN,
/// attached wherever the old one was; declared principals end as the file says, others keep
/// the policy under its new ARN, and the new policy carries the tag.
#[tokio::test]
async fn adopting_a_policy_outside_the_path_moves_it_with_its_attachments() {
    let moto = start_moto();
    let clients = clients(&moto, ACCOUNT);
    let iam = &clients.iam;
    let old_arn = format!("arn:aws:iam::{ACCOUNT}:policy/bucket-read");
    let new_arn = format!("arn:aws:iam::{ACCOUNT}:policy/accessctl/bucket-read");
    iam.create_policy()
        .policy_name("bucket-read")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("console-made policy");
    for user in ["alice", "carol"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .expect("user");
        iam.attach_user_policy()
            .user_name(user)
            .policy_arn(&old_arn)
            .send()
            .await
            .expect("attach");
    }
    iam.create_group()
        .group_name("readers")
        .path("/accessctl/")
        .send()
        .await
        .expect("owned group");
    iam.attach_group_policy()
        .group_name("readers")
        .policy_arn(&old_arn)
        .send()
        .await
        .expect("attach");
    // alice (adopted) keeps the policy, the readers group drops it, carol is not declared.
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        temp.path(),
        &format!(
            "version: 1\naccount: \"{ACCOUNT}\"\niam:\n  policies:\n    bucket-read:\n      adopt: true\n      document: {BUCKET_READ}\n  groups:\n    readers: {{}}\n  users:\n    alice:\n      adopt: true\n      policies: [bucket-read]\n"
        ),
    );
    let (plan, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
    assert_eq!(
        addresses(&plan),
        [
            ("iam.policy.bucket-read".to_string(), Action::Replace),
            ("iam.group.readers".to_string(), Action::Update),
            ("iam.user.alice".to_string(), Action::Adopt),
        ]
    );
    assert_succeeded(&report);

    let attached = |user: &'static str| async move {
        iam.list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("attached")
            .attached_policies()
            .iter()
            .filter_map(|policy| policy.policy_arn().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(attached("alice").await, std::slice::from_ref(&new_arn));
    assert_eq!(attached("carol").await, std::slice::from_ref(&new_arn));
    let group = iam
        .list_attached_group_policies()
        .group_name("readers")
        .send()
        .await
        .expect("group attachments");
    assert!(group.attached_policies().is_empty(), "{group:?}");
    let tags = iam
        .list_policy_tags()
        .policy_arn(&new_arn)
        .send()
        .await
        .expect("the new policy's tags");
    assert!(
        tags.tags()
            .iter()
            .any(|tag| tag.key() == "managed-by" && tag.value() == "accessctl"),
        "{tags:?}"
    );
    assert!(
        iam.get_policy().policy_arn(&old_arn).send().await.is_err(),
        "the old policy is gone"
    );
    assert_eq!(addresses(&replan(&clients, &file, None).await), []);
}

fn policy_file(bucket: &str) -> String {
    format!(
        "version: 1\naccount: \"{ACCOUNT}\"\niam:\n  policies:\n    deploy:\n      document:\n        Version: \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            Action: [\"s3:GetObject\", \"s3:PutObject\"]\n            Resource: [\"arn:aws:s3:::{bucket}/*\"]\n"
    )
}

/// A reformatted equivalent document is no change; six updates keep IAM's five versions.
#[tokio::test]
async fn policy_updates_keep_at_most_five_versions_and_reformatting_is_no_change() {
    if AwsTarget::from_env().skip_if_external("policy_updates_keep_at_most_five_versions_and_reformatting_is_no_change: reaches account 123456789012 through moto's account header") {
        return;
    }
    let moto = start_moto();
    let clients = clients(&moto, ACCOUNT);
    let iam = &clients.iam;
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/accessctl/deploy");
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write_file(temp.path(), &policy_file("bucket-0"));
    let (_, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
    assert_succeeded(&report);

    // How IAM may hand a document back: keys reordered, one-element lists as strings, a lone
    // statement as an object, other whitespace.
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(
            "{ \"Statement\" : { \"Resource\" : \"arn:aws:s3:::bucket-0/*\", \"Action\" : [\"s3:PutObject\", \"s3:GetObject\"], \"Effect\" : \"Allow\" },\n  \"Version\" : \"2012-10-17\" }",
        )
        .set_as_default(true)
        .send()
        .await
        .expect("reformatted version");
    assert_eq!(addresses(&replan(&clients, &file, None).await), []);

    for update in 1..=6 {
        let file = write_file(temp.path(), &policy_file(&format!("bucket-{update}")));
        let (plan, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
        assert_eq!(
            addresses(&plan),
            [("iam.policy.deploy".to_string(), Action::Update)],
            "update {update}"
        );
        assert_succeeded(&report);
        let versions = iam
            .list_policy_versions()
            .policy_arn(&arn)
            .send()
            .await
            .expect("versions");
        assert!(
            versions.versions().len() <= 5,
            "update {update}: {} versions",
            versions.versions().len()
        );
        assert_eq!(addresses(&replan(&clients, &file, None).await), []);
    }
}

/// Fails every unit after the first `remaining`: the connection to IAM lost mid-apply.
struct FailAfter<'a> {
    inner: &'a IamExecutor,
    remaining: AtomicUsize,
}

impl Executor for FailAfter<'_> {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        let allowed = self
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if !allowed {
            return Err(ApplyError::new(
                "cannot reach the AWS endpoint (stopped mid-apply)",
            ));
        }
        self.inner.execute(unit).await
    }
}

#[tokio::test]
async fn an_interrupted_apply_reports_everything_and_a_rerun_converges() {
    if AwsTarget::from_env().skip_if_external("an_interrupted_apply_reports_everything_and_a_rerun_converges: reaches account 123456789012 through moto's account header") {
        return;
    }
    const USERS: usize = 30;
    let moto = start_moto();
    let clients = clients(&moto, ACCOUNT);
    let temp = tempfile::tempdir().expect("tempdir");
    let users: String = (0..USERS)
        .map(|index| format!("    user-{index:02}:\n      policies: [bucket-read]\n"))
        .collect();
    let file = write_file(temp.path(), &users_file(&users));

    let live = read_live(&clients, None).await;
    let desired = load(&file, &live);
    let plan = iam_plan(&desired, &live, &PlanOptions::default()).expect("plan");
    assert_eq!(plan.changes.len(), USERS + 1);
    let inner = executor(&clients, &live);
    let faulty = FailAfter {
        inner: &inner,
        remaining: AtomicUsize::new(11),
    };
    let report = apply::apply(&plan, &faulty, 2).await;
    assert!(!report.succeeded());
    assert!(
        (10..=11).contains(&report.done.len()),
        "done {:?}",
        report.done
    );
    assert!(!report.failed.is_empty() && report.failed.len() <= 2);
    assert!(!report.not_attempted.is_empty());
    assert_eq!(
        report.done.len() + report.failed.len() + report.not_attempted.len(),
        plan.changes.len()
    );
    let all: BTreeSet<&Address> = report
        .done
        .iter()
        .chain(report.failed.iter().map(|(address, _)| address))
        .chain(&report.not_attempted)
        .collect();
    assert_eq!(all.len(), plan.changes.len(), "each change reported once");

    // The re-run plans afresh from what is there and does the rest.
    let (rerun, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
    assert_eq!(rerun.changes.len(), plan.changes.len() - 11);
    assert_succeeded(&report);
    assert_eq!(addresses(&replan(&clients, &file, None).await), []);
}

/// In a scope of its own (path and names `acctest-<random>`), on whatever target the
/// environment names: apply, converge, prune one user. An owned user outside the scope is never
/// planned for, and the scope's cleanup leaves nothing under its path.
#[tokio::test]
async fn a_scoped_apply_converges_prunes_and_cleans_up_on_any_target() {
    scoped_round_trip_on(&AwsTarget::from_env()).await;
}

pub(crate) async fn scoped_round_trip_on(target: &AwsTarget) {
    let moto = (!target.is_external()).then(start_moto);
    let scope = IamScope::new(target, moto.as_ref().map(Moto::endpoint));
    let clients = scope.clients().await;
    let iam = &clients.iam;
    let outsider = "outsider-owned-by-accessctl";
    if moto.is_some() {
        iam.create_user()
            .user_name(outsider)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("managed-by")
                    .value("accessctl")
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("an owned user outside the scope");
    }
    let account = read_live(&clients, None)
        .await
        .account
        .expect("the live read names the account");
    let path = scope.path.clone();
    let (policy, alice, bob) = (scope.name("read"), scope.name("alice"), scope.name("bob"));
    let temp = tempfile::tempdir().expect("tempdir");
    let write = |users: &str| {
        write_file(
            temp.path(),
            &format!(
                "version: 1\naccount: \"{account}\"\niam:\n  groupPath: {path}\n  policyPath: {path}\n  policies:\n    {policy}:\n      path: {path}\n      document: {BUCKET_READ}\n  users:\n{users}"
            ),
        )
    };
    let scoped_apply = async |file: &Path| {
        let live = read_live(&clients, None).await;
        let desired = load(file, &live);
        let mut plan = iam_plan(&desired, &live, &PlanOptions::default()).expect("plan");
        scope.scope_plan(&mut plan);
        let report = apply::apply(&plan, &executor(&clients, &live), PARALLELISM).await;
        (plan, report)
    };
    let scoped_replan = async |file: &Path| {
        let live = read_live(&clients, None).await;
        let mut plan = iam_plan(&load(file, &live), &live, &PlanOptions::default()).expect("plan");
        scope.scope_plan(&mut plan);
        addresses(&plan)
    };

    let both = write(&format!(
        "    {alice}:\n      path: {path}\n    {bob}:\n      path: {path}\n      policies: [{policy}]\n"
    ));
    let (plan, report) = scoped_apply(&both).await;
    assert_eq!(
        addresses(&plan),
        [
            (format!("iam.policy.{policy}"), Action::Create),
            (format!("iam.user.{alice}"), Action::Create),
            (format!("iam.user.{bob}"), Action::Create),
        ]
    );
    assert_succeeded(&report);
    assert_eq!(scoped_replan(&both).await, []);

    let one = write(&format!("    {alice}:\n      path: {path}\n"));
    let (plan, report) = scoped_apply(&one).await;
    assert_eq!(
        addresses(&plan),
        [(format!("iam.user.{bob}"), Action::Delete)]
    );
    assert_succeeded(&report);
    assert!(!exists(iam, &bob).await);
    assert!(exists(iam, &alice).await);
    if moto.is_some() {
        assert!(exists(iam, outsider).await, "outside the scope: untouched");
    }

    drop(scope);
    let users = iam
        .list_users()
        .path_prefix(&path)
        .send()
        .await
        .expect("list users");
    assert!(users.users().is_empty(), "{users:?}");
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .path_prefix(&path)
        .send()
        .await
        .expect("list policies");
    assert!(policies.policies().is_empty(), "{policies:?}");
    if moto.is_some() {
        assert!(exists(iam, outsider).await, "cleanup stays in the scope");
    }
}

// --- SDK-level mocks: what moto cannot show ---

fn mocked_executor(rules: &[&aws_smithy_mocks::Rule]) -> IamExecutor {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::from_static("us-east-1"))
        .credentials_provider(crate::moto::dummy_credentials())
        .http_client(aws_smithy_mocks::create_mock_http_client())
        // Only accessctl's retries, so the attempts below are exactly its own.
        .retry_config(RetryConfig::disabled())
        .interceptor(interceptor)
        .build();
    IamExecutor::new(aws_sdk_iam::Client::from_conf(config), ACCOUNT, "aws")
        .with_retry(RetryPolicy::fast(Duration::from_secs(5)))
}

fn user(policies: &[&str]) -> accessctl::model::User {
    accessctl::model::User {
        path: "/".into(),
        groups: BTreeSet::new(),
        managed_policies: policies.iter().map(|arn| arn.to_string()).collect(),
        inline_policies: Default::default(),
        permissions_boundary: None,
        tags: [("managed-by".to_string(), "accessctl".to_string())].into(),
    }
}

fn one_change(
    name: &str,
    action: Action,
    before: Option<accessctl::model::User>,
    after: Option<accessctl::model::User>,
) -> Plan {
    Plan {
        format_version: plan::PLAN_FORMAT_VERSION,
        changes: vec![Change {
            address: Address::iam(Kind::User, name),
            action,
            reason: None,
            before: before.map(plan::Object::User),
            after: after.map(plan::Object::User),
            fields: Vec::new(),
        }],
        summary: plan::Summary::default(),
        overrides: Vec::new(),
        notes: Vec::new(),
        deleted_with: Vec::new(),
        access_impact: Vec::new(),
    }
}

fn service_error(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build()
}

#[tokio::test]
async fn delete_conflict_on_delete_user_fails_with_a_clear_error() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfileError;
    use aws_sdk_iam::operation::delete_user::DeleteUserError;
    use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
    use aws_sdk_iam::operation::list_attached_user_policies::ListAttachedUserPoliciesOutput;
    use aws_sdk_iam::operation::list_groups_for_user::ListGroupsForUserOutput;
    use aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput;
    use aws_sdk_iam::operation::list_signing_certificates::ListSigningCertificatesOutput;
    use aws_sdk_iam::operation::list_ssh_public_keys::ListSshPublicKeysOutput;
    use aws_sdk_iam::operation::list_user_policies::ListUserPoliciesOutput;

    let keys = mock!(Client::list_access_keys).then_output(|| {
        ListAccessKeysOutput::builder()
            .set_access_key_metadata(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let no_profile = mock!(Client::delete_login_profile).then_error(|| {
        DeleteLoginProfileError::generic(service_error(
            "NoSuchEntity",
            "Login Profile for User alice cannot be found.",
        ))
    });
    let certificates = mock!(Client::list_signing_certificates).then_output(|| {
        ListSigningCertificatesOutput::builder()
            .set_certificates(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let ssh = mock!(Client::list_ssh_public_keys)
        .then_output(|| ListSshPublicKeysOutput::builder().build());
    let service = mock!(Client::list_service_specific_credentials)
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build());
    let mfa = mock!(Client::list_mfa_devices).then_output(|| {
        ListMfaDevicesOutput::builder()
            .set_mfa_devices(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let groups = mock!(Client::list_groups_for_user).then_output(|| {
        ListGroupsForUserOutput::builder()
            .set_groups(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let attached = mock!(Client::list_attached_user_policies)
        .then_output(|| ListAttachedUserPoliciesOutput::builder().build());
    let inline = mock!(Client::list_user_policies).then_output(|| {
        ListUserPoliciesOutput::builder()
            .set_policy_names(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let conflict = mock!(Client::delete_user).then_error(|| {
        DeleteUserError::generic(service_error(
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ))
    });
    let executor = mocked_executor(&[
        &keys,
        &no_profile,
        &certificates,
        &ssh,
        &service,
        &mfa,
        &groups,
        &attached,
        &inline,
        &conflict,
    ]);

    let report = apply::apply(
        &one_change("alice", Action::Delete, Some(user(&[])), None),
        &executor,
        PARALLELISM,
    )
    .await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let (address, error) = &report.failed[0];
    assert_eq!(address, &Address::iam(Kind::User, "alice"));
    assert_eq!(
        error.message,
        // The report pairs it with the address; the message names the call and the object.
        "`iam:DeleteUser` failed for user `alice`: DeleteConflict: Cannot delete entity, must delete policies first."
    );
    let hint = error.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("user `alice`") && hint.contains("then run `accessctl apply` again"),
        "{hint}"
    );
    assert_eq!(
        conflict.num_calls(),
        2,
        "tried once, then once more after removing the credentials; not retried beyond"
    );
    assert_eq!(
        no_profile.num_calls(),
        1,
        "a missing login profile is nothing to delete"
    );
    assert_eq!(
        service.num_calls(),
        1,
        "credentials are listed after the refusal"
    );
}

/// Real IAM refuses to delete a user that still has credentials: the refusal is met by
/// listing and removing them (keys, console password, MFA devices), then deleting again.
#[tokio::test]
async fn delete_conflict_on_delete_user_removes_the_credentials_and_deletes_again() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::deactivate_mfa_device::DeactivateMfaDeviceOutput;
    use aws_sdk_iam::operation::delete_access_key::DeleteAccessKeyOutput;
    use aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfileOutput;
    use aws_sdk_iam::operation::delete_user::{DeleteUserError, DeleteUserOutput};
    use aws_sdk_iam::operation::delete_virtual_mfa_device::DeleteVirtualMfaDeviceOutput;
    use aws_sdk_iam::operation::detach_user_policy::DetachUserPolicyOutput;
    use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
    use aws_sdk_iam::operation::list_attached_user_policies::ListAttachedUserPoliciesOutput;
    use aws_sdk_iam::operation::list_groups_for_user::ListGroupsForUserOutput;
    use aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput;
    use aws_sdk_iam::operation::list_signing_certificates::ListSigningCertificatesOutput;
    use aws_sdk_iam::operation::list_ssh_public_keys::ListSshPublicKeysOutput;
    use aws_sdk_iam::operation::list_user_policies::ListUserPoliciesOutput;
    use aws_sdk_iam::types::{AccessKeyMetadata, MfaDevice};

    let detach =
        mock!(Client::detach_user_policy).then_output(|| DetachUserPolicyOutput::builder().build());
    let keys = mock!(Client::list_access_keys).then_output(|| {
        ListAccessKeysOutput::builder()
            .access_key_metadata(
                AccessKeyMetadata::builder()
                    .access_key_id("AKIAEXAMPLEKEY000001")
                    .build(),
            )
            .build()
            .expect("keys")
    });
    let delete_key = mock!(Client::delete_access_key)
        .match_requests(|request| request.access_key_id() == Some("AKIAEXAMPLEKEY000001"))
        .then_output(|| DeleteAccessKeyOutput::builder().build());
    let profile = mock!(Client::delete_login_profile)
        .then_output(|| DeleteLoginProfileOutput::builder().build());
    let certificates = mock!(Client::list_signing_certificates).then_output(|| {
        ListSigningCertificatesOutput::builder()
            .set_certificates(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let ssh = mock!(Client::list_ssh_public_keys)
        .then_output(|| ListSshPublicKeysOutput::builder().build());
    let service = mock!(Client::list_service_specific_credentials)
        .then_output(|| ListServiceSpecificCredentialsOutput::builder().build());
    let serial = "arn:aws:iam::123456789012:mfa/alice";
    let mfa = mock!(Client::list_mfa_devices).then_output(move || {
        ListMfaDevicesOutput::builder()
            .mfa_devices(
                MfaDevice::builder()
                    .user_name("alice")
                    .serial_number(serial)
                    .enable_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .expect("device"),
            )
            .build()
            .expect("devices")
    });
    let deactivate = mock!(Client::deactivate_mfa_device)
        .then_output(|| DeactivateMfaDeviceOutput::builder().build());
    let delete_device = mock!(Client::delete_virtual_mfa_device)
        .match_requests(move |request| request.serial_number() == Some(serial))
        .then_output(|| DeleteVirtualMfaDeviceOutput::builder().build());
    let groups = mock!(Client::list_groups_for_user).then_output(|| {
        ListGroupsForUserOutput::builder()
            .set_groups(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let attached = mock!(Client::list_attached_user_policies)
        .then_output(|| ListAttachedUserPoliciesOutput::builder().build());
    let inline = mock!(Client::list_user_policies).then_output(|| {
        ListUserPoliciesOutput::builder()
            .set_policy_names(Some(Vec::new()))
            .build()
            .expect("set")
    });
    let delete_user = mock!(Client::delete_user)
        .sequence()
        .error(|| {
            DeleteUserError::generic(service_error(
                "DeleteConflict",
                "Cannot delete entity, must delete access keys first.",
            ))
        })
        .output(|| DeleteUserOutput::builder().build())
        .build();
    let executor = mocked_executor(&[
        &detach,
        &keys,
        &delete_key,
        &profile,
        &certificates,
        &ssh,
        &service,
        &mfa,
        &deactivate,
        &delete_device,
        &groups,
        &attached,
        &inline,
        &delete_user,
    ]);

    let read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let report = apply::apply(
        &one_change("alice", Action::Delete, Some(user(&[read_only])), None),
        &executor,
        PARALLELISM,
    )
    .await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(detach.num_calls(), 1, "the plan's attachment goes first");
    assert_eq!(delete_user.num_calls(), 2, "refused, then deleted");
    for (call, rule) in [
        ("DeleteAccessKey", &delete_key),
        ("DeleteLoginProfile", &profile),
        ("ListServiceSpecificCredentials", &service),
        ("DeactivateMFADevice", &deactivate),
        ("DeleteVirtualMFADevice", &delete_device),
    ] {
        assert_eq!(rule.num_calls(), 1, "{call}");
    }
}

#[tokio::test]
async fn a_throttling_burst_is_retried_then_succeeds() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::create_user::{CreateUserError, CreateUserOutput};

    let create = mock!(Client::create_user)
        .sequence()
        .error(|| CreateUserError::generic(service_error("Throttling", "Rate exceeded")))
        .times(3)
        .http_status(429, None)
        .output(|| CreateUserOutput::builder().build())
        .build();
    let executor = mocked_executor(&[&create]);
    let report = apply::apply(
        &one_change("alice", Action::Create, None, Some(user(&[]))),
        &executor,
        PARALLELISM,
    )
    .await;
    assert_succeeded(&report);
    assert_eq!(
        create.num_calls(),
        5,
        "three throttles, one bare 429, then success"
    );
}

#[tokio::test]
async fn no_such_entity_right_after_a_create_is_retried_and_otherwise_fails_fast() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::attach_user_policy::{
        AttachUserPolicyError, AttachUserPolicyOutput,
    };
    use aws_sdk_iam::operation::create_user::CreateUserOutput;

    let policy = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let not_yet = || {
        AttachUserPolicyError::generic(service_error(
            "NoSuchEntity",
            "The user with name alice cannot be found.",
        ))
    };
    let create = mock!(Client::create_user).then_output(|| CreateUserOutput::builder().build());
    let attach = mock!(Client::attach_user_policy)
        .sequence()
        .error(not_yet)
        .times(2)
        .output(|| AttachUserPolicyOutput::builder().build())
        .build();
    let executor = mocked_executor(&[&create, &attach]);
    let report = apply::apply(
        &one_change("alice", Action::Create, None, Some(user(&[policy]))),
        &executor,
        PARALLELISM,
    )
    .await;
    assert_succeeded(&report);
    assert_eq!(attach.num_calls(), 3);

    // The same error on a user this apply did not create is real: no retry.
    let missing = mock!(Client::attach_user_policy).then_error(not_yet);
    let executor = mocked_executor(&[&missing]);
    let report = apply::apply(
        &one_change(
            "alice",
            Action::Update,
            Some(user(&[])),
            Some(user(&[policy])),
        ),
        &executor,
        PARALLELISM,
    )
    .await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(missing.num_calls(), 1);
    assert!(
        report.failed[0].1.hint.as_deref().is_some_and(|hint| hint
            .contains("`accessctl plan` shows the plan afresh")
            && !hint.contains("changed since the plan")),
        "{report:?}"
    );

    // A missing policy on a user this apply just created: the user is fresh, the policy is
    // not, and IAM's message names the policy: no retry.
    let no_policy = mock!(Client::attach_user_policy).then_error(move || {
        AttachUserPolicyError::generic(service_error(
            "NoSuchEntity",
            "Policy arn:aws:iam::aws:policy/ReadOnlyAccess does not exist or is not attachable.",
        ))
    });
    let create = mock!(Client::create_user).then_output(|| CreateUserOutput::builder().build());
    let executor = mocked_executor(&[&create, &no_policy]);
    let report = apply::apply(
        &one_change("alice", Action::Create, None, Some(user(&[policy]))),
        &executor,
        PARALLELISM,
    )
    .await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(no_policy.num_calls(), 1, "a missing policy is not retried");
    let hint = report.failed[0].1.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains(&format!("the policy `{policy}` does not exist")),
        "{hint}"
    );
}

#[tokio::test]
async fn invalid_principal_naming_a_just_created_user_is_retried() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::create_role::{CreateRoleError, CreateRoleOutput};
    use aws_sdk_iam::operation::create_user::CreateUserOutput;

    let trust = aws::decode_document(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/deployer"}},"Action":"sts:AssumeRole"}}]}}"#
    ))
    .expect("valid trust");
    let role = accessctl::model::Role {
        path: "/".into(),
        description: None,
        max_session_duration: 3600,
        trust,
        managed_policies: BTreeSet::new(),
        inline_policies: Default::default(),
        permissions_boundary: None,
        tags: Default::default(),
        role_id: None,
    };
    let mut plan = one_change("deployer", Action::Create, None, Some(user(&[])));
    plan.changes.push(Change {
        address: Address::iam(Kind::Role, "ci"),
        action: Action::Create,
        reason: None,
        before: None,
        after: Some(plan::Object::Role(role)),
        fields: Vec::new(),
    });
    let create_user =
        mock!(Client::create_user).then_output(|| CreateUserOutput::builder().build());
    let create_role = mock!(Client::create_role)
        .sequence()
        .error(|| {
            CreateRoleError::generic(service_error(
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:user/deployer\"",
            ))
        })
        .times(2)
        .output(|| CreateRoleOutput::builder().build())
        .build();
    let executor = mocked_executor(&[&create_user, &create_role]);
    let report = apply::apply(&plan, &executor, PARALLELISM).await;
    assert_succeeded(&report);
    assert_eq!(create_role.num_calls(), 3);
}

/// A bare 429 whose `Retry-After` says how long to wait (what an API gateway in front of IAM or
/// EKS answers): the retry comes no sooner; one asking past the retry budget fails at once.
#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_retried_no_sooner_than_asked() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::create_user::CreateUserOutput;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn too_many(seconds: &'static str) -> HttpResponse {
        let mut response = HttpResponse::new(
            StatusCode::try_from(429).expect("a status"),
            SdkBody::empty(),
        );
        response.headers_mut().insert("retry-after", seconds);
        response
    }

    /// Creates user `alice` against `rule`: the report and the time it took.
    async fn create_alice(rule: &aws_smithy_mocks::Rule) -> (ApplyReport, Duration) {
        let executor = mocked_executor(&[rule]);
        let started = tokio::time::Instant::now();
        let change = one_change("alice", Action::Create, None, Some(user(&[])));
        let report = apply::apply(&change, &executor, PARALLELISM).await;
        (report, started.elapsed())
    }

    let create = mock!(Client::create_user)
        .sequence()
        .http_response(|| too_many("3"))
        .output(|| CreateUserOutput::builder().build())
        .build();
    let (report, elapsed) = create_alice(&create).await;
    assert_succeeded(&report);
    assert_eq!(create.num_calls(), 2);
    // The policy's own backoff is at most 50 ms: only the header explains three seconds.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");

    // Asked to come back after the whole budget (5 s): no point waiting.
    let throttled = mock!(Client::create_user)
        .sequence()
        .http_response(|| too_many("30"))
        .repeatedly()
        .build();
    let (report, elapsed) = create_alice(&throttled).await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(throttled.num_calls(), 1);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert!(
        report.failed[0].1.message.contains("iam:CreateUser"),
        "{}",
        report.failed[0].1.message
    );
}

/// Deleting a group lists its members, attachments and inline policies page by page: every
/// page is followed, and a listing that says `IsTruncated` with no marker (moto's empty last
/// page of ListPolicies) or an empty marker ends instead of looping. A throttled page is
/// retried.
#[tokio::test(start_paused = true)]
async fn group_deletion_follows_every_listing_page_and_stops_on_an_empty_truncated_page() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::delete_group::DeleteGroupOutput;
    use aws_sdk_iam::operation::delete_group_policy::DeleteGroupPolicyOutput;
    use aws_sdk_iam::operation::detach_group_policy::DetachGroupPolicyOutput;
    use aws_sdk_iam::operation::get_group::{GetGroupError, GetGroupOutput};
    use aws_sdk_iam::operation::list_attached_group_policies::ListAttachedGroupPoliciesOutput;
    use aws_sdk_iam::operation::list_group_policies::ListGroupPoliciesOutput;
    use aws_sdk_iam::operation::remove_user_from_group::RemoveUserFromGroupOutput;
    use aws_sdk_iam::types::{AttachedPolicy, Group, User};

    let date = aws_smithy_types::DateTime::from_secs(0);
    let members = move |names: &[&str], marker: Option<&str>| {
        let group = Group::builder()
            .path("/")
            .group_name("ops")
            .group_id("AGPAOPS")
            .arn(format!("arn:aws:iam::{ACCOUNT}:group/ops"))
            .create_date(date)
            .build()
            .expect("group");
        let users = names.iter().map(|name| {
            User::builder()
                .path("/")
                .user_name(*name)
                .user_id(format!("AIDA{name}"))
                .arn(format!("arn:aws:iam::{ACCOUNT}:user/{name}"))
                .create_date(date)
                .build()
                .expect("user")
        });
        GetGroupOutput::builder()
            .group(group)
            .set_users(Some(users.collect()))
            .is_truncated(true)
            .set_marker(marker.map(str::to_string))
            .build()
            .expect("output")
    };
    let first_members = mock!(Client::get_group)
        .match_requests(|request| request.marker().is_none())
        .then_output(move || members(&["ann", "bob"], Some("m2")));
    let second_members = mock!(Client::get_group)
        .match_requests(|request| request.marker() == Some("m2"))
        .sequence()
        .error(|| GetGroupError::generic(service_error("Throttling", "Rate exceeded")))
        .output(move || members(&["cy"], Some("m3")))
        .build();
    // Truncated, and no marker: the end.
    let last_members = mock!(Client::get_group)
        .match_requests(|request| request.marker() == Some("m3"))
        .then_output(move || members(&[], None));
    let removed = mock!(Client::remove_user_from_group)
        .then_output(|| RemoveUserFromGroupOutput::builder().build());
    let attached = |policy: &str, marker: &str| {
        ListAttachedGroupPoliciesOutput::builder()
            .attached_policies(
                AttachedPolicy::builder()
                    .policy_arn(format!("arn:aws:iam::aws:policy/{policy}"))
                    .build(),
            )
            .is_truncated(true)
            .marker(marker)
            .build()
    };
    let first_attached = mock!(Client::list_attached_group_policies)
        .match_requests(|request| request.marker().is_none())
        .then_output(move || attached("ReadOnlyAccess", "a2"));
    // Truncated with an empty marker: the end too.
    let last_attached = mock!(Client::list_attached_group_policies)
        .match_requests(|request| request.marker() == Some("a2"))
        .then_output(move || attached("ViewOnlyAccess", ""));
    let detached = mock!(Client::detach_group_policy)
        .then_output(|| DetachGroupPolicyOutput::builder().build());
    let inline = mock!(Client::list_group_policies).then_output(|| {
        ListGroupPoliciesOutput::builder()
            .policy_names("ops-inline")
            .build()
            .expect("names")
    });
    let deleted_inline = mock!(Client::delete_group_policy)
        .then_output(|| DeleteGroupPolicyOutput::builder().build());
    let deleted = mock!(Client::delete_group).then_output(|| DeleteGroupOutput::builder().build());
    let executor = mocked_executor(&[
        &first_members,
        &second_members,
        &last_members,
        &removed,
        &first_attached,
        &last_attached,
        &detached,
        &inline,
        &deleted_inline,
        &deleted,
    ]);
    let group = accessctl::model::Group {
        path: "/".into(),
        members: BTreeSet::new(),
        managed_policies: BTreeSet::new(),
        inline_policies: Default::default(),
    };
    let plan = Plan {
        changes: vec![Change {
            address: Address::iam(Kind::Group, "ops"),
            action: Action::Delete,
            reason: None,
            before: Some(plan::Object::Group(group)),
            after: None,
            fields: Vec::new(),
        }],
        ..one_change("unused", Action::Delete, None, None)
    };
    let report = apply::apply(&plan, &executor, PARALLELISM).await;
    assert_succeeded(&report);
    assert_eq!(removed.num_calls(), 3, "ann, bob and cy leave the group");
    assert_eq!(second_members.num_calls(), 2, "throttled, then served");
    assert_eq!(last_members.num_calls(), 1);
    assert_eq!(detached.num_calls(), 2, "both pages of attachments");
    assert_eq!(last_attached.num_calls(), 1);
    assert_eq!(deleted_inline.num_calls(), 1);
    assert_eq!(deleted.num_calls(), 1);
}

/// A policy that already stands at the policy path, untagged and with another document, is
/// accessctl's by its path: an update makes a new default version, then sets the ownership
/// tag, which IAM takes by the policy's ARN; a second apply has nothing to do.
#[tokio::test]
async fn a_policy_at_the_path_is_updated_to_its_document_and_tagged() {
    if AwsTarget::from_env().skip_if_external("a_policy_at_the_path_is_updated_to_its_document_and_tagged: reaches account 123456789012 through moto's account header") {
        return;
    }
    let moto = start_moto();
    let clients = clients(&moto, ACCOUNT);
    let iam = &clients.iam;
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/accessctl/bucket-read");
    iam.create_policy()
        .policy_name("bucket-read")
        .path("/accessctl/")
        .policy_document(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}"#,
        )
        .send()
        .await
        .expect("unowned policy");
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write_file(temp.path(), &users_file("    alice: {}\n"));
    let (plan, report) = apply_file(&clients, &file, None, &PlanOptions::default()).await;
    assert_eq!(
        addresses(&plan),
        [
            ("iam.policy.bucket-read".to_string(), Action::Update),
            ("iam.user.alice".to_string(), Action::Create),
        ]
    );
    assert_succeeded(&report);
    let tags = iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .expect("the policy's tags");
    assert!(
        tags.tags()
            .iter()
            .any(|tag| tag.key() == "managed-by" && tag.value() == "accessctl"),
        "{tags:?}"
    );
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .expect("the policy's versions");
    let versions = versions.versions();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(addresses(&replan(&clients, &file, None).await), []);
}
