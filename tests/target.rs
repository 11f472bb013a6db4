//! The target layer itself: the cluster tests run on an "external" cluster (a second test API
//! server standing in for kind or EKS, reached only through its kubeconfig) pass there
//! without starting a test server of their own, and leave that cluster exactly as they found
//! it, other owners' aws-auth entries and accessctl-owned objects outside the scope included.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::kube_apply::run_all_on;
use crate::support::kube_server::KubeServer;
use crate::support::target::{KubeTarget, test_id, without_own_servers};

/// What a lived-in cluster has before the tests come: nodes and someone else's managed entry
/// in aws-auth, accessctl-owned RBAC outside any test's scope, names the examples use too.
fn furnish(cluster: &KubeServer) {
    let owned = json!({"app.kubernetes.io/managed-by": "accessctl"});
    cluster.seed_as("eks", &json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "aws-auth", "namespace": "kube-system",
            "annotations": {"accessctl.io/managed-entries": "[\"arn:aws:iam::123412341234:user/someone\"]"},
        },
        "data": {
            "mapRoles": "- rolearn: arn:aws:iam::123412341234:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n",
            "mapUsers": "- userarn: arn:aws:iam::123412341234:user/someone\n  username: someone\n",
        },
    }));
    cluster.seed(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "production", "labels": owned}}));
    cluster.seed(
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "my-test-ns"}}),
    );
    cluster.seed(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "deployer", "namespace": "production", "labels": owned},
        "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}],
    }));
    cluster.seed(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "deployers", "namespace": "production", "labels": owned},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "deployers"}],
    }));
    cluster.seed(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader", "labels": owned},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
    }));
    cluster.seed(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "reader", "labels": owned},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "readers"}],
    }));
}

/// The dump with what a restore may change and a reader cannot tell apart removed from
/// aws-auth: its resourceVersion and managed fields.
fn comparable(dump: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    dump.into_iter()
        .map(|(key, mut object)| {
            if key == "configmaps/kube-system/aws-auth"
                && let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut)
            {
                metadata.remove("resourceVersion");
                metadata.remove("managedFields");
            }
            (key, object)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_tests_pass_on_an_external_cluster_and_leave_it_as_they_found_it() {
    let external = KubeServer::start().await;
    furnish(&external);
    let before = external.dump();
    external.clear_requests();
    let target = KubeTarget::External {
        kubeconfig: external.kubeconfig_path().to_path_buf(),
        context: None,
    };
    without_own_servers(run_all_on(&target)).await;

    let requests = external.requests();
    assert!(
        requests.len() > 100,
        "the tests ran on the external cluster: {} requests",
        requests.len()
    );
    let after = external.dump();
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the same objects after as before"
    );
    let (before, after) = (comparable(before), comparable(after));
    for (key, object) in &after {
        assert_eq!(object, &before[key], "{key} changed");
    }
}

#[tokio::test]
async fn a_test_server_refuses_to_start_in_a_run_on_an_external_target() {
    let refused = tokio::spawn(without_own_servers(async {
        KubeServer::start().await;
    }))
    .await;
    assert!(refused.is_err_and(|error| error.is_panic()));
    // Outside such a run it starts.
    KubeServer::start().await;
}

#[test]
fn test_ids_are_prefixed_and_differ() {
    let (first, second) = (test_id(), test_id());
    assert_ne!(first, second);
    for id in [first, second] {
        let random = id.strip_prefix("acctest-").expect("prefixed");
        assert_eq!(random.len(), 8, "{id}");
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}

#[test]
fn the_environment_names_the_target_only_when_set() {
    // Parsing is checked on explicit values: the process environment is shared by parallel
    // tests and is not changed here.
    let from_env = KubeTarget::from_env();
    match std::env::var_os("ACCESSCTL_TEST_KUBECONFIG").filter(|value| !value.is_empty()) {
        Some(_) => assert!(from_env.is_external()),
        None => assert_eq!(from_env, KubeTarget::Own),
    }
}
