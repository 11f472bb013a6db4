//! The cluster side end to end on the in-memory API server: each seed example's cluster part
//! applied from its "before" state and converged, aws-auth entries accessctl does not manage
//! kept byte for byte, concurrent aws-auth edits, prunes, binding replacement, adoption and
//! faults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use accessctl::apply::{ApplyReport, apply};
use accessctl::kube::apply::manifest;
use accessctl::kube::{ClusterClient, ClusterExecutor, RetryClock, RetryPolicy, read_cluster};
use accessctl::model::{AWS_AUTH_MANAGED_ANNOTATION, AwsAuthEntry, Cluster, MapKind, State};
use accessctl::plan::{self, Action, Address, Desired, Kind, Object, Plan, PlanOptions, Problem};
use accessctl::spec::{self, Facts};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::rbac::v1::RoleBinding;
use serde_json::json;

use crate::support::kube_server::{Fault, KubeServer};
use crate::support::target::{
    KubeTarget, TestCluster, aws_auth_arns, scope_desired, scope_state, skipped,
};

const EXAMPLES: [&str; 6] = [
    "000-service-admins-and-ci-user",
    "001-reader-group-and-eks-admin-role",
    "002-role-mappings",
    "003-irsa-service-account",
    "004-ci-namespace-deployer",
    "all-seeds-combined",
];

fn example_dir(example: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs/examples")
        .join(example)
}

/// An aws-auth entry as people write it by hand (eksctl's indentation, a comment above):
/// deliberately not accessctl's own style, so a rewrite would show.
fn hand_block(entry: &AwsAuthEntry) -> String {
    match entry.kind {
        MapKind::MapAccounts => format!("# account\n- '{}'\n", entry.arn),
        kind => {
            let key = if kind == MapKind::MapRoles {
                "rolearn"
            } else {
                "userarn"
            };
            let mut text = format!("# added by hand\n- {key}: {}\n", entry.arn);
            if let Some(username) = &entry.username {
                text.push_str(&format!("  username: {username}\n"));
            }
            if !entry.groups.is_empty() {
                text.push_str("  groups:\n");
                for group in &entry.groups {
                    text.push_str(&format!("  - {group}\n"));
                }
            }
            text
        }
    }
}

/// Manifests (each with whether it is a namespace), aws-auth, and hand-written blocks by ARN.
type SeedObjects = (
    Vec<(bool, serde_json::Value)>,
    Option<serde_json::Value>,
    Vec<(String, String)>,
);

/// The objects of a model cluster as manifests, each with whether it is a namespace; the
/// aws-auth ConfigMap (entries written by hand); the aws-auth blocks written for entries
/// accessctl does not manage, by ARN.
fn cluster_objects(cluster: &Cluster) -> SeedObjects {
    let mut objects = Vec::new();
    let mut add = |kind: Kind, key: &str, object: Object| {
        let (namespace, name) = match key.split_once('/') {
            Some((namespace, name))
                if kind != Kind::Namespace
                    && kind != Kind::ClusterRole
                    && kind != Kind::ClusterRoleBinding =>
            {
                (Some(namespace), name)
            }
            _ => (None, key),
        };
        let value = manifest(kind, namespace, name, &object).expect("manifest");
        objects.push((kind == Kind::Namespace, value));
    };
    for (name, namespace) in &cluster.namespaces {
        add(Kind::Namespace, name, Object::Namespace(namespace.clone()));
    }
    for (name, role) in &cluster.cluster_roles {
        add(Kind::ClusterRole, name, Object::RbacRole(role.clone()));
    }
    for (name, role) in &cluster.roles {
        add(Kind::K8sRole, name, Object::RbacRole(role.clone()));
    }
    for (name, binding) in &cluster.cluster_role_bindings {
        add(
            Kind::ClusterRoleBinding,
            name,
            Object::Binding(binding.clone()),
        );
    }
    for (name, binding) in &cluster.role_bindings {
        add(Kind::RoleBinding, name, Object::Binding(binding.clone()));
    }
    for (name, account) in &cluster.service_accounts {
        add(
            Kind::ServiceAccount,
            name,
            Object::ServiceAccount(account.clone()),
        );
    }
    let Some(aws_auth) = &cluster.aws_auth else {
        return (objects, None, Vec::new());
    };
    let mut data = BTreeMap::new();
    let mut blocks = Vec::new();
    for (kind, key) in [
        (MapKind::MapRoles, "mapRoles"),
        (MapKind::MapUsers, "mapUsers"),
        (MapKind::MapAccounts, "mapAccounts"),
    ] {
        let mut text = String::new();
        for entry in aws_auth.entries.iter().filter(|entry| entry.kind == kind) {
            let block = hand_block(entry);
            text.push_str(&block);
            if !aws_auth.managed.contains(&entry.arn) {
                blocks.push((entry.arn.clone(), block));
            }
        }
        if !text.is_empty() {
            data.insert(key.to_string(), text);
        }
    }
    // As on a real cluster: an aws-auth ConfigMap that accessctl never wrote (EKS, eksctl or
    // Terraform made it) carries no annotation of accessctl's.
    let mut metadata = json!({"name": "aws-auth", "namespace": "kube-system"});
    if !aws_auth.managed.is_empty() {
        let managed = serde_json::to_string(&aws_auth.managed).expect("json");
        metadata["annotations"] = json!({AWS_AUTH_MANAGED_ANNOTATION: managed});
    }
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": data,
    });
    (objects, Some(config_map), blocks)
}

fn namespace_name(value: &serde_json::Value) -> &str {
    value["metadata"]["name"].as_str().unwrap_or_default()
}

/// Seeds the cluster objects of a model cluster; returns the aws-auth blocks written for
/// entries accessctl does not manage, by ARN.
pub(crate) fn seed_cluster(server: &KubeServer, cluster: &Cluster) -> Vec<(String, String)> {
    let (objects, aws_auth, blocks) = cluster_objects(cluster);
    for (is_namespace, value) in objects {
        if is_namespace
            && server
                .raw_object::<Namespace>(None, namespace_name(&value))
                .is_some()
        {
            continue;
        }
        server.seed(&value);
    }
    if let Some(aws_auth) = aws_auth {
        server.seed(&aws_auth);
    }
    blocks
}

/// [`seed_cluster`] on any target: on an external cluster the model should be scoped first
/// ([`TestCluster::scope_cluster`]), and aws-auth's entries are added to the ones there.
pub(crate) async fn seed_cluster_on(
    target: &TestCluster,
    cluster: &Cluster,
) -> Vec<(String, String)> {
    let (objects, aws_auth, blocks) = cluster_objects(cluster);
    for (is_namespace, value) in objects {
        if is_namespace
            && target
                .object::<Namespace>(None, namespace_name(&value))
                .await
                .is_some()
        {
            continue;
        }
        target.seed(&value).await;
    }
    if let Some(aws_auth) = aws_auth {
        target.seed(&aws_auth).await;
    }
    blocks
}

/// One cluster of one example on its own API server, or in its own scope on an external one.
struct Fixture {
    kube: TestCluster,
    /// live.json: the IAM part, caller and account the plan needs.
    live: State,
    cluster: String,
    client: ClusterClient,
    /// The aws-auth blocks seeded for entries accessctl does not manage, by ARN.
    seeded_blocks: Vec<(String, String)>,
    /// The ARNs of the aws-auth entries seeded.
    seeded_arns: BTreeSet<String>,
    /// The seeded ARNs and every ARN access.yaml has declared so far: the aws-auth entries
    /// this test may manage on an external cluster.
    own_arns: std::sync::Mutex<BTreeSet<String>>,
    directory: tempfile::TempDir,
}

impl Fixture {
    async fn on(target: &KubeTarget, example: &str) -> Self {
        let live_text =
            std::fs::read_to_string(example_dir(example).join("live.json")).expect("live.json");
        let mut live: State = serde_json::from_str(&live_text).expect("live.json parses");
        assert_eq!(live.clusters.len(), 1, "one cluster per example");
        let kube = target.cluster().await;
        scope_state(&kube, &mut live);
        let (cluster, live_cluster) = live.clusters.iter().next().expect("a cluster");
        let seeded_blocks = seed_cluster_on(&kube, live_cluster).await;
        let seeded_arns = aws_auth_arns(live_cluster);
        // The kubeconfig's context (the test server's current one) stands for the cluster's own.
        let client = kube.connect(cluster).await;
        let directory = tempfile::tempdir().expect("temporary directory");
        let access =
            std::fs::read_to_string(example_dir(example).join("access.yaml")).expect("access.yaml");
        std::fs::write(directory.path().join("access.yaml"), access).expect("write");
        Fixture {
            cluster: cluster.clone(),
            kube,
            live,
            client,
            seeded_blocks,
            own_arns: std::sync::Mutex::new(seeded_arns.clone()),
            seeded_arns,
            directory,
        }
    }

    fn access_path(&self) -> PathBuf {
        self.directory.path().join("access.yaml")
    }

    /// Rewrites access.yaml by replacing `from` (which must be there) with `to`.
    fn edit_access(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.access_path()).expect("read");
        assert!(text.contains(from), "access.yaml has no {from:?}");
        std::fs::write(self.access_path(), text.replacen(from, to, 1)).expect("write");
    }

    /// access.yaml, in the test's scope.
    fn desired(&self) -> Desired {
        let mut desired = spec::load(
            &self.access_path(),
            &Facts {
                live: Some(&self.live),
            },
        )
        .unwrap_or_else(|diagnostics| panic!("access.yaml: {diagnostics:?}"))
        .desired;
        scope_desired(&self.kube, &mut desired);
        desired
    }

    /// The aws-auth entries this test may manage: those it seeded and those it declares or
    /// declared before an edit.
    fn own_arns(&self, desired: &Desired) -> BTreeSet<String> {
        let mut arns = self
            .own_arns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(cluster) = desired.state.clusters.get(&self.cluster) {
            arns.extend(aws_auth_arns(cluster));
        }
        arns.clone()
    }

    /// live.json with the cluster read from the server (cut down to the test's scope).
    async fn read(&self, desired: &Desired) -> State {
        let want = desired
            .state
            .clusters
            .get(&self.cluster)
            .expect("cluster in access.yaml");
        let mut cluster = read_cluster(&self.client, want, accessctl::model::ReadScope::Managed)
            .await
            .expect("read cluster");
        self.kube.scope_live(&mut cluster, &self.own_arns(desired));
        let mut live = self.live.clone();
        live.clusters.insert(self.cluster.clone(), cluster);
        live
    }

    /// The plan of the cluster kinds only (IAM is another executor's).
    async fn plan(&self, options: &PlanOptions) -> Result<Plan, plan::PlanError> {
        let desired = self.desired();
        let live = self.read(&desired).await;
        let mut plan = plan::plan(&desired, &live, options)?;
        plan.changes.retain(|change| {
            !change.address.kind.is_iam() && change.address.kind != Kind::AccessEntry
        });
        Ok(plan)
    }

    async fn apply_with(&self, plan: &Plan, client: ClusterClient) -> ApplyReport {
        self.kube
            .assert_in_scope(plan, &self.own_arns(&self.desired()));
        apply(plan, &ClusterExecutor::new(client), 10).await
    }

    async fn apply(&self, plan: &Plan) -> ApplyReport {
        self.apply_with(plan, self.client.clone()).await
    }

    /// Plans and applies; panics unless it all succeeds.
    async fn converge(&self) -> Plan {
        let plan = self.plan(&PlanOptions::default()).await.expect("plan");
        let report = self.apply(&plan).await;
        assert!(report.succeeded(), "apply failed: {report:?}");
        plan
    }

    async fn converge_with(&self, options: &PlanOptions) -> Plan {
        let plan = self.plan(options).await.expect("plan");
        let report = self.apply(&plan).await;
        assert!(report.succeeded(), "apply failed: {report:?}");
        plan
    }

    async fn assert_no_changes(&self) {
        let plan = self.plan(&PlanOptions::default()).await.expect("plan");
        let addresses: Vec<String> = plan.changes.iter().map(|c| c.address.to_string()).collect();
        assert!(addresses.is_empty(), "changes left: {addresses:?}");
    }

    /// A cluster address, in the test's scope.
    fn address(&self, kind: Kind, key: &str) -> Address {
        Address::cluster(kind, &self.cluster, self.kube.key(key))
    }

    async fn aws_auth(&self) -> ConfigMap {
        self.kube
            .object::<ConfigMap>(Some("kube-system"), "aws-auth")
            .await
            .expect("aws-auth exists")
    }

    async fn aws_auth_text(&self) -> String {
        self.aws_auth()
            .await
            .data
            .unwrap_or_default()
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join("")
    }

    /// my-test-ns/my-test-user-role-binding of example 004, in the test's scope.
    async fn binding(&self) -> Option<RoleBinding> {
        self.kube
            .object::<RoleBinding>(
                Some(&self.kube.namespace("my-test-ns")),
                "my-test-user-role-binding",
            )
            .await
    }

    /// The test server, for tests that skip on an external target.
    fn server(&self) -> &KubeServer {
        self.kube.own_server()
    }
}

async fn every_example_applies_keeps_unmanaged_entries_byte_for_byte_and_converges_on(
    target: &KubeTarget,
) {
    for example in EXAMPLES {
        let fixture = Fixture::on(target, example).await;
        let plan = fixture.converge().await;
        assert!(plan.has_changes(), "{example}: nothing to apply");
        let text = fixture.aws_auth_text().await;
        let adopted: Vec<&str> = plan
            .changes
            .iter()
            .filter(|c| c.address.kind == Kind::AwsAuth)
            .map(|c| c.address.name.as_str())
            .collect();
        let kept: Vec<&String> = fixture
            .seeded_blocks
            .iter()
            .filter(|(arn, _)| !adopted.contains(&arn.as_str()))
            .map(|(_, block)| block)
            .collect();
        assert!(!kept.is_empty(), "{example}");
        for block in kept {
            assert!(
                text.contains(block.as_str()),
                "{example}: lost or rewrote\n{block}\nin\n{text}"
            );
        }
        // Every planned aws-auth entry is managed, every deleted one gone.
        let annotations = fixture
            .aws_auth()
            .await
            .metadata
            .annotations
            .unwrap_or_default();
        // A real cluster's aws-auth carries the annotation only once accessctl wrote it.
        let managed: Vec<String> = annotations
            .get(AWS_AUTH_MANAGED_ANNOTATION)
            .map(|text| serde_json::from_str(text).expect("json"))
            .unwrap_or_default();
        for change in plan
            .changes
            .iter()
            .filter(|c| c.address.kind == Kind::AwsAuth)
        {
            let deleted = change.action == Action::Delete;
            assert_eq!(
                managed.contains(&change.address.name),
                !deleted,
                "{example}: {}",
                change.address
            );
            assert_eq!(
                text.contains(&format!("{}\n", change.address.name)),
                !deleted,
                "{example}: {}",
                change.address
            );
        }
        let Some(server) = fixture.kube.server() else {
            fixture.assert_no_changes().await;
            skipped(&format!(
                "{example}: the request count after convergence needs the test API server's request log"
            ));
            continue;
        };
        server.clear_requests();
        fixture.assert_no_changes().await;
        // One LIST per kind and the aws-auth GET: every declared object is owned now.
        let requests = server.requests();
        assert_eq!(requests.len(), 7, "{example}: {requests:#?}");
        let lists = requests
            .iter()
            .filter(|r| r.method == "GET" && r.query.contains("labelSelector"))
            .count();
        assert_eq!(lists, 6, "{example}");
    }
}

/// A user entry as a concurrent writer would add it.
const RACER: &str = "- userarn: arn:aws:iam::123412341234:user/racer\n  username: racer\n";

async fn a_concurrent_aws_auth_edit_loses_no_entry_on(target: &KubeTarget) {
    if target.skip_if_external("a_concurrent_aws_auth_edit_loses_no_entry: injects a concurrent aws-auth write into the test API server") {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    let plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    // Between apply's GET of aws-auth and its PUT.
    fixture.server().inject_concurrent_write::<ConfigMap>(
        Some("kube-system"),
        "aws-auth",
        |object| {
            let users = object["data"]["mapUsers"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            object["data"]["mapUsers"] = json!(format!("{users}{RACER}"));
        },
    );
    let report = fixture.apply(&plan).await;
    assert!(report.succeeded(), "{report:?}");
    let users = fixture.aws_auth().await.data.unwrap_or_default()["mapUsers"].clone();
    assert!(users.contains(RACER), "{users}");
    assert!(users.contains("user/my-test-iam-user"), "{users}");
    let puts = fixture
        .server()
        .count("PUT", "/api/v1/namespaces/kube-system/configmaps/aws-auth");
    assert_eq!(puts, 2, "one conflict, one success");
    fixture.assert_no_changes().await;
}

async fn removing_a_user_removes_exactly_its_entry_and_bindings_on(target: &KubeTarget) {
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    fixture.converge().await;
    let before = fixture.kube.dump().await;
    let users_before = fixture.aws_auth().await.data.unwrap_or_default()["mapUsers"].clone();

    fixture.edit_access(
        "      - user: my-test-iam-user\n        username: my-test-user\n        groups: [my-test-role]\n",
        "",
    );
    fixture.edit_access(
        "    bindings:\n      my-test-ns/my-test-user-role-binding:\n        role: my-test-role\n        users: [my-test-user]\n",
        "",
    );
    let plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    let arn = "arn:aws:iam::123412341234:user/my-test-iam-user";
    let planned: Vec<(Address, Action)> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), c.action))
        .collect();
    assert_eq!(
        planned,
        vec![
            (
                Address::cluster(Kind::AwsAuth, &fixture.cluster, arn),
                Action::Delete
            ),
            (
                fixture.address(Kind::RoleBinding, "my-test-ns/my-test-user-role-binding"),
                Action::Delete
            ),
        ]
    );
    let report = fixture.apply(&plan).await;
    assert!(report.succeeded(), "{report:?}");

    let after = fixture.kube.dump().await;
    let gone = format!(
        "rolebindings/{}",
        fixture.kube.key("my-test-ns/my-test-user-role-binding")
    );
    let aws_auth = "configmaps/kube-system/aws-auth";
    let mut expected_keys: Vec<&String> = before.keys().filter(|k| **k != gone).collect();
    expected_keys.sort();
    assert_eq!(after.keys().collect::<Vec<_>>(), expected_keys);
    for (key, object) in &after {
        if key != aws_auth {
            assert_eq!(object, &before[key], "{key} changed");
        }
    }
    let users_after = fixture.aws_auth().await.data.unwrap_or_default()["mapUsers"].clone();
    let removed = "- userarn: arn:aws:iam::123412341234:user/my-test-iam-user\n  username: my-test-user\n  groups:\n    - my-test-role\n";
    assert_eq!(users_after, users_before.replace(removed, ""));
    assert_ne!(users_after, users_before);
    fixture.assert_no_changes().await;
}

async fn a_binding_whose_role_ref_changes_is_replaced_on(target: &KubeTarget) {
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    fixture.converge().await;
    let uid = async |fixture: &Fixture| {
        fixture
            .binding()
            .await
            .and_then(|binding| binding.metadata.uid)
            .expect("binding")
    };
    let first_uid = uid(&fixture).await;
    fixture.edit_access(
        "    bindings:\n      my-test-ns/my-test-user-role-binding:\n        role: my-test-role\n",
        "      my-test-ns/other-role:\n        rules:\n          - apiGroups: [\"\"]\n            resources: [pods]\n            verbs: [get]\n    bindings:\n      my-test-ns/my-test-user-role-binding:\n        role: other-role\n",
    );
    let plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    let replace = plan
        .changes
        .iter()
        .find(|c| c.address.kind == Kind::RoleBinding)
        .expect("binding change");
    assert_eq!(replace.action, Action::Replace);
    let report = fixture.apply(&plan).await;
    assert!(report.succeeded(), "{report:?}");
    let binding = fixture.binding().await.expect("binding");
    assert_eq!(binding.role_ref.name, "other-role");
    assert_ne!(uid(&fixture).await, first_uid, "deleted and created");
    fixture.assert_no_changes().await;
}

async fn an_unowned_binding_is_refused_until_adopted_on(target: &KubeTarget) {
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    let namespace = fixture.kube.namespace("my-test-ns");
    fixture
        .kube
        .seed(&json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}
        }))
        .await;
    fixture.kube.seed(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "my-test-user-role-binding", "namespace": namespace, "labels": {"team": "ci"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "my-test-role"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "someone-else"}],
    })).await;
    let binding = fixture.address(Kind::RoleBinding, "my-test-ns/my-test-user-role-binding");
    let refused = fixture
        .plan(&PlanOptions::default())
        .await
        .expect_err("refused");
    assert!(
        refused.problems.contains(&Problem::Unowned {
            address: binding.clone()
        }),
        "{refused:?}"
    );
    let adopt = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    let plan = fixture.plan(&adopt).await.expect("plan with --adopt");
    let change = plan
        .changes
        .iter()
        .find(|c| c.address == binding)
        .expect("adopted");
    assert_eq!(change.action, Action::Adopt);
    let report = fixture.apply(&plan).await;
    assert!(report.succeeded(), "{report:?}");
    let stored = fixture.binding().await.expect("binding");
    let labels = stored.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("accessctl")
    );
    assert_eq!(
        labels.get("team").map(String::as_str),
        Some("ci"),
        "others' labels stay"
    );
    let subjects: Vec<String> = stored
        .subjects
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(subjects, vec!["my-test-user".to_string()]);
    fixture.assert_no_changes().await;
}

async fn throttling_and_server_errors_are_retried_honouring_retry_after_on(target: &KubeTarget) {
    if target.skip_if_external("throttling_and_server_errors_are_retried_honouring_retry_after: injects 429 and 500 answers into the test API server") {
        return;
    }
    let mut fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    fixture
        .server()
        .inject(Fault::too_many_requests(2).retry_after(1).method("PATCH"));
    fixture
        .server()
        .inject(Fault::internal_error(2).method("PUT"));
    fixture.server().inject(
        Fault::internal_error(1)
            .method("GET")
            .path_contains("rolebindings"),
    );
    // A clock that records the waits instead of sleeping, and backoffs far below the
    // Retry-After, so the waits that honour it stand out.
    let clock = RetryClock::manual();
    let retry_after = Duration::from_secs(1);
    fixture.client = fixture
        .client
        .clone()
        .with_clock(clock.clone())
        .with_retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            ..RetryPolicy::kube()
        });
    fixture.converge().await;
    let statuses: Vec<Option<u16>> = fixture
        .server()
        .requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == Some(429)).count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == Some(500)).count(), 3);
    // One wait per failed request; each 429 is followed by a wait of its Retry-After (1 s), each
    // 500 by a backoff (at most 10 ms).
    let waits = clock.waits();
    assert_eq!(waits.len(), 5, "{waits:?}");
    assert_eq!(
        waits.iter().filter(|wait| **wait == retry_after).count(),
        2,
        "{waits:?}"
    );
    assert!(
        waits
            .iter()
            .all(|wait| *wait == retry_after || *wait <= Duration::from_millis(10)),
        "{waits:?}"
    );
    fixture.assert_no_changes().await;
}

async fn retries_stop_at_their_bound_with_a_clear_error_on(target: &KubeTarget) {
    if target.skip_if_external("retries_stop_at_their_bound_with_a_clear_error: injects endless 429 answers into the test API server") {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    let path = format!(
        "/api/v1/namespaces/{}",
        fixture.kube.namespace("my-test-ns")
    );
    // Only namespace my-test-ns is refused: the clock's waits are its own, not those of the
    // namespaces created beside it.
    fixture.server().inject(
        Fault::too_many_requests(1000)
            .retry_after(1)
            .method("PATCH")
            .path_contains(&path),
    );
    let plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    // Each attempt is answered 429 with Retry-After: 1 s; within 2 s there is room for two
    // waits, so exactly three attempts, and no more waiting than the bound.
    let clock = RetryClock::manual();
    let bounded = fixture
        .client
        .clone()
        .with_clock(clock.clone())
        .with_retry(RetryPolicy {
            max_elapsed: Duration::from_secs(2),
            ..RetryPolicy::kube()
        });
    let report = fixture.apply_with(&plan, bounded).await;
    let (address, error) = report.failed.first().expect("a failure");
    assert_eq!(address.kind, Kind::Namespace);
    assert_eq!(
        fixture.server().count("PATCH", &path),
        3,
        "{:?}",
        fixture.server().requests()
    );
    assert_eq!(clock.waits(), [Duration::from_secs(1); 2]);
    assert!(error.message.contains("429"), "{}", error.message);
    assert!(
        error.message.contains("gave up after 3 attempts in 2.0s"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("namespaces my-test-ns"),
        "{}",
        error.message
    );
    assert!(error.hint.is_some());
    assert!(!report.not_attempted.is_empty(), "later stages not started");
}

async fn a_dropped_connection_is_retried_on(target: &KubeTarget) {
    if target.skip_if_external(
        "a_dropped_connection_is_retried: makes the test API server drop connections",
    ) {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    fixture.server().inject(
        Fault::drop_connection(1)
            .method("PATCH")
            .path_contains("rolebindings"),
    );
    fixture
        .server()
        .inject(Fault::drop_connection(1).method("PUT"));
    fixture.converge().await;
    let dropped = fixture
        .server()
        .requests()
        .iter()
        .filter(|r| r.status.is_none())
        .count();
    assert_eq!(dropped, 2);
    fixture.assert_no_changes().await;
}

async fn after_a_dropped_connection_mid_apply_the_next_apply_converges_on(target: &KubeTarget) {
    if target.skip_if_external("after_a_dropped_connection_mid_apply_the_next_apply_converges: makes the test API server drop a connection") {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    fixture.server().inject(
        Fault::drop_connection(1)
            .method("PATCH")
            .path_contains("rolebindings"),
    );
    let plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    let report = fixture
        .apply_with(
            &plan,
            fixture.client.clone().with_retry(RetryPolicy::none()),
        )
        .await;
    assert!(!report.succeeded());
    let (_, error) = report.failed.first().expect("a failure");
    assert!(
        error.message.contains("did not answer"),
        "{}",
        error.message
    );
    // The namespace and role were applied; the binding and aws-auth were not.
    assert!(!report.done.is_empty());
    assert!(!report.not_attempted.is_empty());
    fixture.converge().await;
    fixture.assert_no_changes().await;
    let text = fixture.aws_auth_text().await;
    for (_, block) in &fixture.seeded_blocks {
        assert!(text.contains(block.as_str()));
    }
}

async fn a_missing_aws_auth_is_created_on(target: &KubeTarget) {
    if target.skip_if_external("a_missing_aws_auth_is_created: deletes kube-system/aws-auth, which a real cluster's nodes need") {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    let api = kube::Api::<ConfigMap>::namespaced(fixture.server().client().await, "kube-system");
    api.delete("aws-auth", &Default::default())
        .await
        .expect("delete");
    fixture.converge().await;
    let users = fixture.aws_auth().await.data.unwrap_or_default()["mapUsers"].clone();
    assert!(users.contains("user/my-test-iam-user"), "{users}");
    fixture.assert_no_changes().await;
}

async fn a_missing_context_is_named_with_a_hint_on(target: &KubeTarget) {
    let kube = target.cluster().await;
    let kubeconfig =
        kube::config::Kubeconfig::read_from(kube.kubeconfig_path()).expect("kubeconfig");
    let known = kubeconfig
        .contexts
        .first()
        .map(|context| context.name.clone())
        .expect("a context");
    let cluster = Cluster {
        context: Some("prod-admin".into()),
        region: Some("eu-west-1".into()),
        ..Cluster::default()
    };
    let error = ClusterClient::connect_with_file("prod", &cluster, kube.kubeconfig_path())
        .await
        .expect_err("no such context");
    assert!(error.message.contains("`prod-admin`"), "{}", error.message);
    assert!(
        error.message.contains(&format!("`{known}`")) || error.message.contains(&known),
        "lists the known contexts: {}",
        error.message
    );
    let hint = error.hint.unwrap_or_default();
    assert!(
        hint.contains(
            "aws eks update-kubeconfig --name prod --region eu-west-1 --alias prod-admin"
        ),
        "{hint}"
    );
}

async fn an_unreachable_server_is_named_on(target: &KubeTarget) {
    if target.skip_if_external(
        "an_unreachable_server_is_named: starts and stops a test API server of its own",
    ) {
        return;
    }
    let server = KubeServer::start().await;
    let path = server.kubeconfig_path().to_path_buf();
    let copy = tempfile::tempdir().expect("dir");
    let kubeconfig = copy.path().join("kubeconfig");
    std::fs::copy(&path, &kubeconfig).expect("copy");
    server.stop().await;
    let client = ClusterClient::connect_with_file("demo", &Cluster::default(), &kubeconfig)
        .await
        .expect("config")
        .with_retry(RetryPolicy::none());
    let error = read_cluster(
        &client,
        &Cluster::default(),
        accessctl::model::ReadScope::Managed,
    )
    .await
    .expect_err("unreachable");
    assert!(
        error.message.contains("context `test`"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("did not answer"),
        "{}",
        error.message
    );
    assert!(
        error
            .hint
            .unwrap_or_default()
            .contains("aws eks update-kubeconfig --name demo")
    );
}

async fn seeded_live_objects_match_the_model_on(target: &KubeTarget) {
    // The seed helper and the reader agree: what is seeded reads back as live.json says.
    let fixture = Fixture::on(target, "all-seeds-combined").await;
    let desired = fixture.desired();
    let live = fixture.read(&desired).await;
    let read = &live.clusters[&fixture.cluster];
    let expected = &fixture.live.clusters[&fixture.cluster];
    // An external cluster's aws-auth has entries of its own besides the seeded ones.
    let entries: Vec<&AwsAuthEntry> = read
        .aws_auth
        .iter()
        .flat_map(|a| &a.entries)
        .filter(|entry| !fixture.kube.is_external() || fixture.seeded_arns.contains(&entry.arn))
        .collect();
    let expected_entries: Vec<&AwsAuthEntry> =
        expected.aws_auth.iter().flat_map(|a| &a.entries).collect();
    assert_eq!(entries, expected_entries);
    assert_eq!(read.cluster_roles, expected.cluster_roles);
    assert_eq!(read.roles, expected.roles);
    assert_eq!(read.role_bindings, expected.role_bindings);
    assert_eq!(read.cluster_role_bindings, expected.cluster_role_bindings);
}

async fn removing_iam_role_removes_the_irsa_annotation_even_when_kubectl_set_it_first_on(
    target: &KubeTarget,
) {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let fixture = Fixture::on(target, "003-irsa-service-account").await;
    // Annotated by hand before accessctl, then adopted: the annotation has another owner.
    let namespace = fixture.kube.namespace("devops-aurora-1");
    fixture
        .kube
        .seed_as(
            "kubectl-annotate",
            &json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "connections-serviceaccount-s3",
                    "namespace": namespace,
                    "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::204393242335:role/connections-role-test"},
                },
            }),
        )
        .await;
    let adopt = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    fixture.converge_with(&adopt).await;
    let annotation = async |fixture: &Fixture| {
        fixture
            .kube
            .object::<ServiceAccount>(Some(&namespace), "connections-serviceaccount-s3")
            .await
            .expect("service account")
            .metadata
            .annotations
            .unwrap_or_default()
            .get("eks.amazonaws.com/role-arn")
            .cloned()
    };
    assert_eq!(
        annotation(&fixture).await.as_deref(),
        Some("arn:aws:iam::204393242335:role/connections-role-test")
    );
    fixture.assert_no_changes().await;

    fixture.edit_access(
        "      devops-aurora-1/connections-serviceaccount-s3:\n        # Sets eks.amazonaws.com/role-arn: arn:aws:iam::204393242335:role/connections-role-test\n        iamRole: connections-role-test\n",
        "      devops-aurora-1/connections-serviceaccount-s3: {}\n",
    );
    let plan = fixture.converge().await;
    assert!(
        plan.changes
            .iter()
            .any(|c| c.address.kind == Kind::ServiceAccount && c.action == Action::Update),
        "{plan:?}"
    );
    assert_eq!(annotation(&fixture).await, None);
    fixture.assert_no_changes().await;
}

async fn when_someone_else_creates_aws_auth_first_it_is_merged_not_failed_on(target: &KubeTarget) {
    if target.skip_if_external("when_someone_else_creates_aws_auth_first_it_is_merged_not_failed: deletes kube-system/aws-auth and slows the test API server's answers") {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    let api = kube::Api::<ConfigMap>::namespaced(fixture.server().client().await, "kube-system");
    api.delete("aws-auth", &Default::default())
        .await
        .expect("delete");
    let mut plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    plan.changes.retain(|c| c.address.kind == Kind::AwsAuth);
    assert!(!plan.changes.is_empty());
    // The create (POST) is held until the other writer has created aws-auth: it is read as
    // missing, then found there when written.
    let mut create = fixture
        .server()
        .hold("POST", "/api/v1/namespaces/kube-system/configmaps");
    let node_role = "- rolearn: arn:aws:iam::123412341234:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n";
    let (report, ()) = tokio::join!(fixture.apply(&plan), async {
        create.arrived().await;
        fixture.server().seed_as(
            "eks",
            &json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                "data": {"mapRoles": node_role},
            }),
        );
        create.open();
    });
    fixture.server().clear_faults();
    assert!(report.succeeded(), "{report:?}");
    let calls: Vec<(String, Option<u16>)> = fixture
        .server()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/configmaps/aws-auth") || r.path.ends_with("/configmaps"))
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert!(
        calls.contains(&("POST".to_string(), Some(409))),
        "the create lost the race: {calls:?}"
    );
    let data = fixture.aws_auth().await.data.unwrap_or_default();
    assert_eq!(
        data["mapRoles"], node_role,
        "the other writer's entry is kept byte for byte"
    );
    assert!(data["mapUsers"].contains("user/my-test-iam-user"));
}

async fn endless_aws_auth_conflicts_stop_with_an_error_on(target: &KubeTarget) {
    if target.skip_if_external("endless_aws_auth_conflicts_stop_with_an_error: injects concurrent aws-auth writes into the test API server") {
        return;
    }
    let fixture = Fixture::on(target, "004-ci-namespace-deployer").await;
    let mut plan = fixture.plan(&PlanOptions::default()).await.expect("plan");
    plan.changes.retain(|c| c.address.kind == Kind::AwsAuth);
    for round in 0..accessctl::kube::apply::AWS_AUTH_ATTEMPTS {
        fixture.server().inject_concurrent_write::<ConfigMap>(
            Some("kube-system"),
            "aws-auth",
            move |object| {
                object["data"][format!("other-{round}")] = json!("x");
            },
        );
    }
    let report = fixture.apply(&plan).await;
    let (_, error) = report.failed.first().expect("gave up");
    assert!(
        error.message.contains("still conflicting"),
        "{}",
        error.message
    );
    let puts = fixture
        .server()
        .count("PUT", "/api/v1/namespaces/kube-system/configmaps/aws-auth");
    assert_eq!(puts, accessctl::kube::apply::AWS_AUTH_ATTEMPTS as usize);
    // Nothing half-written: the entry is not there, the others' writes are.
    let data = fixture.aws_auth().await.data.unwrap_or_default();
    assert!(!data.values().any(|text| text.contains("my-test-iam-user")));
    assert!(data.contains_key("other-9"));
}

/// The cluster's API discovery feeds the resolver of `can-i`/`who-can` questions: types by
/// plural and singular name, in the groups the server serves, with the name meant for a typo.
async fn discovery_lists_the_served_resource_types_on(target: &KubeTarget) {
    use accessctl::insight::rbac::Lookup;
    let kube = target.cluster().await;
    let client =
        ClusterClient::connect_with_file("demo", &Cluster::default(), kube.kubeconfig_path())
            .await
            .expect("config");
    let known = accessctl::kube::discovery::known_resources(&client)
        .await
        .expect("discovery");
    let qualified = |name: &str, group: Option<&str>| match known.resolve(name, group) {
        Lookup::Known(found) => (found.qualified(), found.namespaced),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(
        qualified("configmap", None),
        ("configmaps".to_string(), true)
    );
    assert_eq!(
        qualified("clusterrole", None),
        ("clusterroles.rbac.authorization.k8s.io".to_string(), false)
    );
    assert_eq!(
        qualified("RoleBindings", Some("rbac.authorization.k8s.io")),
        ("rolebindings.rbac.authorization.k8s.io".to_string(), true)
    );
    assert_eq!(
        known.resolve("clusterrols", None),
        Lookup::Unknown(Some("clusterroles".to_string()))
    );
    assert_eq!(
        known.resolve("widgets", Some("example.accessctl.dev")),
        Lookup::CustomGroup
    );
}

/// Each body above as a test on the target the environment names
/// ([`KubeTarget::from_env`]), and all of them in turn on an explicit target.
macro_rules! on_target {
    ($($test:ident => $body:ident,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                $body(&KubeTarget::from_env()).await;
            }
        )*

        /// Runs every cluster test body on `target`, one after another.
        pub(crate) async fn run_all_on(target: &KubeTarget) {
            $(
                eprintln!("kube_apply on {target:?}: {}", stringify!($test));
                $body(target).await;
            )*
        }
    };
}

on_target! {
    every_example_applies_keeps_unmanaged_entries_byte_for_byte_and_converges => every_example_applies_keeps_unmanaged_entries_byte_for_byte_and_converges_on,
    a_concurrent_aws_auth_edit_loses_no_entry => a_concurrent_aws_auth_edit_loses_no_entry_on,
    removing_a_user_removes_exactly_its_entry_and_bindings => removing_a_user_removes_exactly_its_entry_and_bindings_on,
    a_binding_whose_role_ref_changes_is_replaced => a_binding_whose_role_ref_changes_is_replaced_on,
    an_unowned_binding_is_refused_until_adopted => an_unowned_binding_is_refused_until_adopted_on,
    throttling_and_server_errors_are_retried_honouring_retry_after => throttling_and_server_errors_are_retried_honouring_retry_after_on,
    retries_stop_at_their_bound_with_a_clear_error => retries_stop_at_their_bound_with_a_clear_error_on,
    a_dropped_connection_is_retried => a_dropped_connection_is_retried_on,
    after_a_dropped_connection_mid_apply_the_next_apply_converges => after_a_dropped_connection_mid_apply_the_next_apply_converges_on,
    a_missing_aws_auth_is_created => a_missing_aws_auth_is_created_on,
    a_missing_context_is_named_with_a_hint => a_missing_context_is_named_with_a_hint_on,
    an_unreachable_server_is_named => an_unreachable_server_is_named_on,
    seeded_live_objects_match_the_model => seeded_live_objects_match_the_model_on,
    removing_iam_role_removes_the_irsa_annotation_even_when_kubectl_set_it_first => removing_iam_role_removes_the_irsa_annotation_even_when_kubectl_set_it_first_on,
    when_someone_else_creates_aws_auth_first_it_is_merged_not_failed => when_someone_else_creates_aws_auth_first_it_is_merged_not_failed_on,
    endless_aws_auth_conflicts_stop_with_an_error => endless_aws_auth_conflicts_stop_with_an_error_on,
    discovery_lists_the_served_resource_types => discovery_lists_the_served_resource_types_on,
}
