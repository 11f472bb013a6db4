//! What a cluster holds without anyone writing it down: Kubernetes' built-in ClusterRoles,
//! ClusterRoleBindings and bootstrap Roles and RoleBindings (as a real API server of each
//! minor version serves them, `data/kubernetes-<minor>/`), and the Kubernetes rules of the EKS
//! access policies (as the EKS User Guide documents them, `data/eks-access-policies.json`).
//! The data files are embedded and parsed once, the first time they are needed; see
//! `data/README.md` for their sources.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::model::{
    AggregationRule, Binding, Cluster, Meta, PolicyRule, RbacRole, RoleRef, RoleRefKind, Subject,
};

/// The Kubernetes version whose built-in RBAC a cluster is taken to have when nothing says
/// otherwise (access.yaml has no version key).
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.32";

/// Kubernetes minor version → its data: ClusterRoles, ClusterRoleBindings, and the namespaced
/// Roles and RoleBindings (each as `kubectl get -o json` prints a list). The next version is
/// one more row.
const KUBERNETES_VERSIONS: &[(&str, [&str; 3])] = &[(
    "1.32",
    [
        include_str!("data/kubernetes-1.32/cluster-roles.json"),
        include_str!("data/kubernetes-1.32/cluster-role-bindings.json"),
        include_str!("data/kubernetes-1.32/namespaced-roles-and-bindings.json"),
    ],
)];

const EKS_ACCESS_POLICIES: &str = include_str!("data/eks-access-policies.json");

/// The built-in RBAC objects of one Kubernetes version, held as a cluster with only those
/// (its ClusterRoles, Roles, ClusterRoleBindings and RoleBindings).
pub type Builtins = Cluster;

/// `kubectl get … -o json` of RBAC objects: what the model needs of each.
#[derive(Deserialize)]
struct List {
    items: Vec<Object>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    kind: String,
    metadata: Metadata,
    #[serde(default)]
    rules: BTreeSet<PolicyRule>,
    aggregation_rule: Option<AggregationRule>,
    role_ref: Option<ApiRoleRef>,
    #[serde(default)]
    subjects: Vec<ApiSubject>,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    namespace: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ApiRoleRef {
    kind: String,
    name: String,
}

#[derive(Deserialize)]
struct ApiSubject {
    kind: String,
    name: String,
    namespace: Option<String>,
}

/// Parses one version's data files.
fn parse(files: [&str; 3]) -> Result<Builtins, String> {
    let mut builtins = Builtins::default();
    for text in files {
        let list: List = serde_json::from_str(text).map_err(|error| error.to_string())?;
        for object in list.items {
            let meta = Meta {
                labels: object.metadata.labels,
                annotations: object.metadata.annotations,
            };
            let key = match &object.metadata.namespace {
                Some(namespace) => format!("{namespace}/{}", object.metadata.name),
                None => object.metadata.name.clone(),
            };
            let role = RbacRole {
                meta,
                rules: object.rules,
                aggregation_rule: object.aggregation_rule,
            };
            let binding = |role_ref: Option<ApiRoleRef>, meta: Meta| {
                let role_ref = role_ref.ok_or_else(|| format!("{key}: no roleRef"))?;
                Ok::<_, String>(Binding {
                    meta,
                    role_ref: RoleRef {
                        kind: RoleRefKind::from_api(&role_ref.kind),
                        name: role_ref.name,
                    },
                    subjects: object
                        .subjects
                        .iter()
                        .filter_map(|s| Subject::from_api(&s.kind, &s.name, s.namespace.as_deref()))
                        .collect(),
                })
            };
            match object.kind.as_str() {
                "ClusterRole" => {
                    builtins.cluster_roles.insert(key, role);
                }
                "Role" => {
                    builtins.roles.insert(key, role);
                }
                "ClusterRoleBinding" => {
                    let made = binding(object.role_ref, role.meta)?;
                    builtins.cluster_role_bindings.insert(key, made);
                }
                "RoleBinding" => {
                    let made = binding(object.role_ref, role.meta)?;
                    builtins.role_bindings.insert(key, made);
                }
                other => return Err(format!("{key}: unexpected kind {other}")),
            }
        }
    }
    Ok(builtins)
}

/// Every version's built-in objects, parsed on first use. The embedded files are checked by a
/// unit test, so a parse error cannot reach a user; were it to, the version would hold nothing.
static KUBERNETES: LazyLock<BTreeMap<&'static str, Builtins>> = LazyLock::new(|| {
    KUBERNETES_VERSIONS
        .iter()
        .map(|(version, files)| (*version, parse(*files).unwrap_or_default()))
        .collect()
});

/// The built-in RBAC of a Kubernetes minor version (`1.32`), if accessctl has its data.
pub fn kubernetes(version: &str) -> Option<&'static Builtins> {
    KUBERNETES.get(version)
}

/// The built-in RBAC of [`DEFAULT_KUBERNETES_VERSION`].
pub fn default_kubernetes() -> &'static Builtins {
    static EMPTY: LazyLock<Builtins> = LazyLock::new(Builtins::default);
    kubernetes(DEFAULT_KUBERNETES_VERSION).unwrap_or(&EMPTY)
}

/// The EKS access policies: the documented rules of each, and the names of those whose rules
/// AWS does not publish.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessPolicies {
    #[allow(
        dead_code,
        reason = "kept in the file for the reader: where the rules come from"
    )]
    source: String,
    policies: BTreeMap<String, std::sync::Arc<[PolicyRule]>>,
    unpublished: BTreeSet<String>,
}

static ACCESS_POLICIES: LazyLock<AccessPolicies> =
    LazyLock::new(|| serde_json::from_str(EKS_ACCESS_POLICIES).unwrap_or_default());

/// The Kubernetes rules of an EKS access policy (by name: `AmazonEKSViewPolicy`), exactly as
/// the EKS User Guide lists them; `None` for a policy whose rules are not published (or that
/// does not exist).
pub fn access_policy_rules(name: &str) -> Option<&'static std::sync::Arc<[PolicyRule]>> {
    ACCESS_POLICIES.policies.get(name)
}

/// Is this an EKS access policy AWS describes without publishing its rules?
pub fn access_policy_unpublished(name: &str) -> bool {
    ACCESS_POLICIES.unpublished.contains(name)
}

#[cfg(test)]
pub(super) fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: groups.iter().map(|g| g.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        resource_names: BTreeSet::new(),
        non_resource_urls: BTreeSet::new(),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_version_parses_whole() {
        for (version, files) in KUBERNETES_VERSIONS {
            let builtins = parse(*files).unwrap_or_else(|error| panic!("{version}: {error}"));
            assert_eq!(builtins.cluster_roles.len(), 64, "{version}");
            assert_eq!(builtins.cluster_role_bindings.len(), 45, "{version}");
            assert_eq!(builtins.roles.len(), 7, "{version}");
            assert_eq!(builtins.role_bindings.len(), 7, "{version}");
            assert!(builtins.cluster_roles["view"].aggregation_rule.is_some());
        }
        assert!(kubernetes(DEFAULT_KUBERNETES_VERSION).is_some());
    }

    #[test]
    fn the_access_policy_table_parses_whole() {
        let parsed: AccessPolicies = serde_json::from_str(EKS_ACCESS_POLICIES).unwrap();
        assert_eq!(
            parsed.policies.keys().collect::<Vec<_>>(),
            [
                "AmazonEKSAdminPolicy",
                "AmazonEKSAdminViewPolicy",
                "AmazonEKSClusterAdminPolicy",
                "AmazonEKSEditPolicy",
                "AmazonEKSHybridPolicy",
                "AmazonEKSSecretReaderPolicy",
                "AmazonEKSViewPolicy",
            ]
        );
        assert!(parsed.policies.values().all(|rules| !rules.is_empty()));
        assert!(
            parsed
                .unpublished
                .iter()
                .all(|name| !parsed.policies.contains_key(name))
        );
    }
}
