//! Approximations of the built-in user-facing ClusterRoles and of the EKS access policies
//! (docs/insight.md says which are exact).

use std::collections::BTreeSet;

use crate::model::PolicyRule;

pub(super) fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: groups.iter().map(|g| g.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        resource_names: BTreeSet::new(),
        non_resource_urls: BTreeSet::new(),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
    }
}

const READ: [&str; 3] = ["get", "list", "watch"];
const WRITE: [&str; 5] = ["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Approximations of the built-in user-facing ClusterRoles (Kubernetes 1.30 aggregation,
/// without `aggregate-to-*` extensions added by add-ons). `cluster-admin` is exact.
pub fn builtin_cluster_role(name: &str) -> Option<Vec<PolicyRule>> {
    let view = || {
        vec![
            rule(
                &[""],
                &[
                    "bindings",
                    "configmaps",
                    "endpoints",
                    "events",
                    "limitranges",
                    "namespaces",
                    "namespaces/status",
                    "persistentvolumeclaims",
                    "persistentvolumeclaims/status",
                    "pods",
                    "pods/log",
                    "pods/status",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "replicationcontrollers/status",
                    "resourcequotas",
                    "resourcequotas/status",
                    "serviceaccounts",
                    "services",
                    "services/status",
                ],
                &READ,
            ),
            rule(
                &["apps"],
                &[
                    "controllerrevisions",
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "statefulsets",
                    "statefulsets/scale",
                    "statefulsets/status",
                ],
                &READ,
            ),
            rule(
                &["autoscaling"],
                &[
                    "horizontalpodautoscalers",
                    "horizontalpodautoscalers/status",
                ],
                &READ,
            ),
            rule(
                &["batch"],
                &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
                &READ,
            ),
            rule(
                &["extensions"],
                &[
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "ingresses",
                    "ingresses/status",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                ],
                &READ,
            ),
            rule(
                &["policy"],
                &["poddisruptionbudgets", "poddisruptionbudgets/status"],
                &READ,
            ),
            rule(
                &["networking.k8s.io"],
                &["ingresses", "ingresses/status", "networkpolicies"],
                &READ,
            ),
            rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
        ]
    };
    let edit = || {
        let mut rules = view();
        rules.extend([
            rule(
                &[""],
                &[
                    "pods",
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                    "configmaps",
                    "endpoints",
                    "persistentvolumeclaims",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "secrets",
                    "serviceaccounts",
                    "services",
                    "services/proxy",
                ],
                &READ_WRITE,
            ),
            rule(
                &[""],
                &["pods/eviction", "serviceaccounts/token"],
                &["create"],
            ),
            rule(&[""], &["serviceaccounts"], &["impersonate"]),
            rule(
                &["apps"],
                &[
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "replicasets",
                    "replicasets/scale",
                    "statefulsets",
                    "statefulsets/scale",
                ],
                &WRITE,
            ),
            rule(&["autoscaling"], &["horizontalpodautoscalers"], &WRITE),
            rule(&["batch"], &["cronjobs", "jobs"], &WRITE),
            rule(
                &["extensions"],
                &[
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "ingresses",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicationcontrollers/scale",
                ],
                &WRITE,
            ),
            rule(&["policy"], &["poddisruptionbudgets"], &WRITE),
            rule(
                &["networking.k8s.io"],
                &["ingresses", "networkpolicies"],
                &WRITE,
            ),
        ]);
        rules
    };
    match name {
        "cluster-admin" => Some(vec![
            rule(&["*"], &["*"], &["*"]),
            PolicyRule {
                non_resource_urls: ["*".to_string()].into(),
                verbs: ["*".to_string()].into(),
                ..PolicyRule::default()
            },
        ]),
        "admin" => {
            let mut rules = edit();
            rules.push(rule(
                &["rbac.authorization.k8s.io"],
                &["rolebindings", "roles"],
                &READ_WRITE,
            ));
            rules.push(rule(
                &["authorization.k8s.io"],
                &["localsubjectaccessreviews"],
                &["create"],
            ));
            Some(rules)
        }
        "edit" => Some(edit()),
        "view" => Some(view()),
        _ => None,
    }
}

/// Approximations of the EKS access policies, after the ClusterRoles AWS documents them as.
pub fn access_policy_rules(name: &str) -> Option<Vec<PolicyRule>> {
    match name {
        "AmazonEKSClusterAdminPolicy" => builtin_cluster_role("cluster-admin"),
        "AmazonEKSAdminPolicy" => builtin_cluster_role("admin"),
        "AmazonEKSEditPolicy" => builtin_cluster_role("edit"),
        "AmazonEKSViewPolicy" => builtin_cluster_role("view"),
        _ => None,
    }
}
