//! Kubernetes RBAC over the model: what a username and its groups may do, with the semantics
//! of `kubectl auth can-i` (API groups with `""` for core and `*`, resources with subresources
//! and `*`, verbs with `*`, `resourceNames`, and the namespace scope of RoleBindings).
//!
//! Built-in ClusterRoles (`cluster-admin`, `admin`, `edit`, `view`) and the EKS access policies
//! are not in the model unless someone wrote them down: [`builtin_cluster_role`] and
//! [`access_policy_rules`] hold approximations of their rules (docs/insight.md says which).
//! A ClusterRole of the state under a built-in name wins over the approximation. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{AccessScope, Cluster, PolicyRule, RoleRefKind, SubjectKind};

/// The group every authenticated request carries.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group the API server's authorizer lets do everything (bound to `cluster-admin`).
pub const MASTERS_GROUP: &str = "system:masters";

/// Who a request is: as `kubectl auth can-i --as USER --as-group G…` would say.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Identity {
    pub username: String,
    /// Without `system:authenticated`, which is always added.
    pub groups: BTreeSet<String>,
}

impl Identity {
    fn has_group(&self, group: &str) -> bool {
        group == AUTHENTICATED_GROUP || self.groups.contains(group)
    }
}

/// What is asked: a verb on a resource (in a namespace), or on a non-resource URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Request {
    pub verb: String,
    /// `""` for the core group.
    pub api_group: String,
    /// Plural resource name (`pods`), or a non-resource URL starting with `/`.
    pub resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `None`: cluster-scoped, or every namespace at once (`-A`).
    pub namespace: Option<String>,
}

impl Request {
    pub fn is_non_resource(&self) -> bool {
        self.resource.starts_with('/')
    }

    /// `create deployments.apps in my-test-ns`, for messages.
    pub fn describe(&self) -> String {
        if self.is_non_resource() {
            return format!("{} {}", self.verb, self.resource);
        }
        let mut text = format!("{} {}", self.verb, self.resource);
        if !self.api_group.is_empty() {
            text.push('.');
            text.push_str(&self.api_group);
        }
        if !self.subresource.is_empty() {
            text.push('/');
            text.push_str(&self.subresource);
        }
        if !self.name.is_empty() {
            text.push_str(&format!(" named {}", self.name));
        }
        match &self.namespace {
            Some(namespace) => text.push_str(&format!(" in namespace {namespace}")),
            None => text.push_str(" cluster-wide"),
        }
        text
    }
}

/// Where a grant applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "scope", content = "namespace", rename_all = "kebab-case")]
pub enum Scope {
    /// Every namespace, and cluster-scoped resources.
    Cluster,
    Namespace(String),
}

/// Rules that reach an identity, and by what.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    pub scope: Scope,
    /// `ClusterRoleBinding reader → ClusterRole reader`, `group system:masters`, `access
    /// policy AmazonEKSViewPolicy`.
    pub source: String,
    /// The rules come from a documented approximation (a built-in ClusterRole or an access
    /// policy not in the model).
    pub approximated: bool,
    pub rules: Vec<PolicyRule>,
}

/// Every grant that reaches the identity in the cluster: bindings naming its username or one
/// of its groups, `system:masters`, and the access policies given with the mapping.
pub fn grants(
    cluster: &Cluster,
    identity: &Identity,
    access_policies: &BTreeMap<String, AccessScope>,
) -> Vec<Grant> {
    let mut grants = Vec::new();
    if identity.groups.contains(MASTERS_GROUP) {
        grants.push(Grant {
            scope: Scope::Cluster,
            source: format!("group {MASTERS_GROUP} (built-in binding to cluster-admin)"),
            approximated: false,
            rules: builtin_cluster_role("cluster-admin").unwrap_or_default(),
        });
    }
    for (arn, scope) in access_policies {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let (rules, approximated) = match access_policy_rules(name) {
            Some(rules) => (rules, true),
            None => (Vec::new(), true),
        };
        let source = format!("access policy {name}");
        match scope {
            AccessScope::Cluster => grants.push(Grant {
                scope: Scope::Cluster,
                source,
                approximated,
                rules,
            }),
            AccessScope::Namespace { namespaces } => {
                for namespace in namespaces {
                    grants.push(Grant {
                        scope: Scope::Namespace(namespace.clone()),
                        source: source.clone(),
                        approximated,
                        rules: rules.clone(),
                    });
                }
            }
        }
    }
    for (name, binding) in &cluster.cluster_role_bindings {
        if !binds(&binding.subjects, identity, None) {
            continue;
        }
        let (rules, approximated) = cluster_role_rules(cluster, &binding.role_ref.name);
        grants.push(Grant {
            scope: Scope::Cluster,
            source: format!(
                "ClusterRoleBinding {name} → ClusterRole {}",
                binding.role_ref.name
            ),
            approximated,
            rules,
        });
    }
    for (key, binding) in &cluster.role_bindings {
        let (namespace, name) = key.split_once('/').unwrap_or(("default", key));
        if !binds(&binding.subjects, identity, Some(namespace)) {
            continue;
        }
        let (rules, approximated, kind) = match binding.role_ref.kind {
            RoleRefKind::ClusterRole => {
                let (rules, approximated) = cluster_role_rules(cluster, &binding.role_ref.name);
                (rules, approximated, "ClusterRole")
            }
            RoleRefKind::Role => {
                let rules = cluster
                    .roles
                    .get(&format!("{namespace}/{}", binding.role_ref.name))
                    .map(|role| role.rules.iter().cloned().collect())
                    .unwrap_or_default();
                (rules, false, "Role")
            }
        };
        grants.push(Grant {
            scope: Scope::Namespace(namespace.to_string()),
            source: format!(
                "RoleBinding {namespace}/{name} → {kind} {}",
                binding.role_ref.name
            ),
            approximated,
            rules,
        });
    }
    grants.sort();
    grants
}

fn binds(
    subjects: &BTreeSet<crate::model::Subject>,
    identity: &Identity,
    binding_namespace: Option<&str>,
) -> bool {
    subjects.iter().any(|subject| match subject.kind {
        SubjectKind::User => subject.name == identity.username,
        SubjectKind::Group => identity.has_group(&subject.name),
        SubjectKind::ServiceAccount => {
            let namespace = subject
                .namespace
                .as_deref()
                .or(binding_namespace)
                .unwrap_or("default");
            identity.username == format!("system:serviceaccount:{namespace}:{}", subject.name)
        }
    })
}

/// A ClusterRole's rules: the state's, else the built-in approximation.
pub fn cluster_role_rules(cluster: &Cluster, name: &str) -> (Vec<PolicyRule>, bool) {
    if let Some(role) = cluster.cluster_roles.get(name) {
        return (role.rules.iter().cloned().collect(), false);
    }
    match builtin_cluster_role(name) {
        Some(rules) => (rules, true),
        None => (Vec::new(), false),
    }
}

/// Does the grant's scope cover the request's namespace? A cluster-wide grant covers all; a
/// namespaced one only a request in that namespace (never a cluster-scoped or `-A` request).
fn scope_covers(scope: &Scope, request: &Request) -> bool {
    match scope {
        Scope::Cluster => true,
        Scope::Namespace(namespace) => {
            !request.is_non_resource() && request.namespace.as_deref() == Some(namespace)
        }
    }
}

/// The first grant and rule allowing the request, as the RBAC authorizer would find it.
pub fn allowing<'g>(grants: &'g [Grant], request: &Request) -> Option<(&'g Grant, &'g PolicyRule)> {
    grants
        .iter()
        .filter(|grant| scope_covers(&grant.scope, request))
        .find_map(|grant| {
            grant
                .rules
                .iter()
                .find(|rule| rule_allows(rule, request))
                .map(|rule| (grant, rule))
        })
}

/// Kubernetes' `RuleAllows`.
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    if !verb_matches(rule, &request.verb) {
        return false;
    }
    if request.is_non_resource() {
        return rule.non_resource_urls.iter().any(|url| {
            url == "*"
                || url == &request.resource
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| request.resource.starts_with(prefix))
        });
    }
    api_group_matches(rule, &request.api_group)
        && resource_matches(rule, &request.resource, &request.subresource)
        && resource_name_matches(rule, &request.name)
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    let combined = if subresource.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{subresource}")
    };
    rule.resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || (!name.is_empty() && rule.resource_names.contains(name))
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
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

/// Resource types known without a discovery call: (resource, short names, API group,
/// namespaced). Every built-in type of Kubernetes 1.32 (`kubectl api-resources` on a
/// kube-apiserver v1.32), plus the RBAC-only names its default roles use (`signers`,
/// `metrics.k8s.io`). Where one name is served by two groups (`events`), the core group comes
/// first: it is what a name without a group means.
const KNOWN_RESOURCES: &[(&str, &[&str], &str, bool)] = &[
    ("pods", &["po", "pod"], "", true),
    ("services", &["svc", "service"], "", true),
    ("configmaps", &["cm", "configmap"], "", true),
    ("secrets", &["secret"], "", true),
    ("serviceaccounts", &["sa", "serviceaccount"], "", true),
    ("endpoints", &["ep"], "", true),
    ("events", &["ev", "event"], "", true),
    ("persistentvolumeclaims", &["pvc"], "", true),
    ("replicationcontrollers", &["rc"], "", true),
    ("limitranges", &["limits"], "", true),
    ("resourcequotas", &["quota"], "", true),
    ("podtemplates", &["podtemplate"], "", true),
    ("bindings", &["binding"], "", true),
    ("namespaces", &["ns", "namespace"], "", false),
    ("nodes", &["no", "node"], "", false),
    ("persistentvolumes", &["pv"], "", false),
    ("componentstatuses", &["cs"], "", false),
    ("deployments", &["deploy", "deployment"], "apps", true),
    ("replicasets", &["rs", "replicaset"], "apps", true),
    ("statefulsets", &["sts", "statefulset"], "apps", true),
    ("daemonsets", &["ds", "daemonset"], "apps", true),
    ("controllerrevisions", &[], "apps", true),
    ("jobs", &["job"], "batch", true),
    ("cronjobs", &["cj", "cronjob"], "batch", true),
    ("horizontalpodautoscalers", &["hpa"], "autoscaling", true),
    ("poddisruptionbudgets", &["pdb"], "policy", true),
    ("ingresses", &["ing", "ingress"], "networking.k8s.io", true),
    ("networkpolicies", &["netpol"], "networking.k8s.io", true),
    ("ingressclasses", &[], "networking.k8s.io", false),
    ("endpointslices", &[], "discovery.k8s.io", true),
    ("roles", &["role"], "rbac.authorization.k8s.io", true),
    (
        "rolebindings",
        &["rolebinding"],
        "rbac.authorization.k8s.io",
        true,
    ),
    (
        "clusterroles",
        &["clusterrole"],
        "rbac.authorization.k8s.io",
        false,
    ),
    (
        "clusterrolebindings",
        &["clusterrolebinding"],
        "rbac.authorization.k8s.io",
        false,
    ),
    ("storageclasses", &["sc"], "storage.k8s.io", false),
    ("csidrivers", &[], "storage.k8s.io", false),
    ("csinodes", &[], "storage.k8s.io", false),
    ("csistoragecapacities", &[], "storage.k8s.io", true),
    ("volumeattachments", &[], "storage.k8s.io", false),
    (
        "customresourcedefinitions",
        &["crd", "crds"],
        "apiextensions.k8s.io",
        false,
    ),
    ("apiservices", &[], "apiregistration.k8s.io", false),
    (
        "mutatingwebhookconfigurations",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingwebhookconfigurations",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingadmissionpolicies",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingadmissionpolicybindings",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    ("tokenreviews", &[], "authentication.k8s.io", false),
    ("selfsubjectreviews", &[], "authentication.k8s.io", false),
    (
        "localsubjectaccessreviews",
        &[],
        "authorization.k8s.io",
        true,
    ),
    (
        "selfsubjectaccessreviews",
        &[],
        "authorization.k8s.io",
        false,
    ),
    (
        "selfsubjectrulesreviews",
        &[],
        "authorization.k8s.io",
        false,
    ),
    ("subjectaccessreviews", &[], "authorization.k8s.io", false),
    (
        "certificatesigningrequests",
        &["csr"],
        "certificates.k8s.io",
        false,
    ),
    ("signers", &[], "certificates.k8s.io", false),
    ("leases", &[], "coordination.k8s.io", true),
    ("leasecandidates", &[], "coordination.k8s.io", true),
    ("events", &["ev", "event"], "events.k8s.io", true),
    ("flowschemas", &[], "flowcontrol.apiserver.k8s.io", false),
    (
        "prioritylevelconfigurations",
        &[],
        "flowcontrol.apiserver.k8s.io",
        false,
    ),
    ("runtimeclasses", &[], "node.k8s.io", false),
    ("priorityclasses", &["pc"], "scheduling.k8s.io", false),
    ("pods", &[], "metrics.k8s.io", true),
    ("nodes", &[], "metrics.k8s.io", false),
];

/// The verbs Kubernetes authorizes: the API verbs, and the special ones of RBAC, impersonation,
/// certificates and the proxy.
pub const KNOWN_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "use",
    "bind",
    "escalate",
    "impersonate",
    "approve",
    "sign",
    "attest",
    "proxy",
    "*",
];

/// The known name closest to `wrong` when it is close enough to be a typo: at most one edit in
/// three characters (a swap of neighbours is one edit), ties to the shorter distance, then by
/// name.
fn closest<'k>(wrong: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let limit = (wrong.chars().count() / 3).max(1);
    known
        .into_iter()
        .filter(|name| *name != wrong)
        .map(|name| (edit_distance(wrong, name), name))
        .filter(|(score, _)| *score <= limit)
        .min()
        .map(|(_, name)| name)
}

/// Edit distance with swaps of neighbours (optimal string alignment).
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

/// What is wrong with a `kubectl auth can-i` request, as kubectl warns: a verb Kubernetes does
/// not know, or a resource type that is not built in and names no API group (a custom resource
/// is named `TYPE.GROUP`). Empty when the request is one Kubernetes knows.
pub fn request_warnings(verb: &str, resource: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if !KNOWN_VERBS.contains(&verb) {
        let suggestion = closest(verb, KNOWN_VERBS.iter().copied())
            .map(|known| format!(" (did you mean `{known}`?)"))
            .unwrap_or_default();
        warnings.push(format!(
            "`{verb}` is not a known verb{suggestion}; the known verbs are {}",
            KNOWN_VERBS
                .iter()
                .map(|verb| format!("`{verb}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if resource.starts_with('/') {
        return warnings;
    }
    let kind = resource.split_once('/').map_or(resource, |(kind, _)| kind);
    let (name, group) = match kind.split_once('.') {
        Some((name, group)) => (name, Some(group)),
        None => (kind, None),
    };
    if name == "*" {
        return warnings;
    }
    let lowered = name.to_ascii_lowercase();
    let builtin_group = |group: &str| {
        group == "*"
            || KNOWN_RESOURCES
                .iter()
                .any(|(_, _, known, _)| *known == group)
    };
    match group {
        // A group Kubernetes does not build in: a custom resource, which only the cluster
        // knows.
        Some(group) if !builtin_group(group) => return warnings,
        _ => {}
    }
    let known = KNOWN_RESOURCES
        .iter()
        .any(|(plural, short, known_group, _)| {
            (*plural == lowered || short.contains(&lowered.as_str()))
                && group.is_none_or(|group| group == "*" || group == *known_group)
        });
    if known {
        return warnings;
    }
    let names = KNOWN_RESOURCES
        .iter()
        .flat_map(|(plural, short, known_group, _)| {
            let keep = group.is_none_or(|group| group == *known_group);
            std::iter::once(*plural)
                .chain(short.iter().copied())
                .filter(move |_| keep)
        });
    let suggestion = closest(&lowered, names)
        .map(|known| match group {
            Some(group) => format!(" (did you mean `{known}.{group}`?)"),
            None => format!(" (did you mean `{known}`?)"),
        })
        .unwrap_or_default();
    match group {
        Some(group) => warnings.push(format!(
            "the API group `{group}` has no resource type `{name}`{suggestion}"
        )),
        None => warnings.push(format!(
            "`{name}` is not a built-in resource type or short name{suggestion}; a custom resource is named with its group: `TYPE.GROUP`"
        )),
    }
    warnings
}

/// Parses `kubectl auth can-i`'s resource argument: `TYPE`, `TYPE.GROUP`, `TYPE/NAME`, `*`, or
/// a non-resource URL (`/healthz`). `namespace` is the namespace asked about (`None` for
/// `--all-namespaces`); it is dropped for cluster-scoped types. Unknown types are taken as
/// namespaced types of the core group, as kubectl does after its warning.
pub fn parse_request(
    verb: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> Request {
    if resource.starts_with('/') {
        return Request {
            verb: verb.to_string(),
            api_group: String::new(),
            resource: resource.to_string(),
            subresource: String::new(),
            name: String::new(),
            namespace: None,
        };
    }
    let (kind, name) = resource.split_once('/').unwrap_or((resource, ""));
    let (kind, explicit_group) = match kind.split_once('.') {
        Some((kind, group)) => (kind, Some(group)),
        None => (kind, None),
    };
    let lowered = kind.to_ascii_lowercase();
    let known = KNOWN_RESOURCES.iter().find(|(plural, short, group, _)| {
        (*plural == lowered || short.contains(&lowered.as_str()))
            && explicit_group.is_none_or(|g| g == *group)
    });
    let (plural, group, namespaced) = match known {
        Some((plural, _, group, namespaced)) => {
            (plural.to_string(), group.to_string(), *namespaced)
        }
        None => (
            lowered.clone(),
            explicit_group
                .unwrap_or(if lowered == "*" { "*" } else { "" })
                .to_string(),
            true,
        ),
    };
    Request {
        verb: verb.to_string(),
        api_group: group,
        resource: plural,
        subresource: subresource.unwrap_or_default().to_string(),
        name: name.to_string(),
        namespace: if namespaced {
            namespace.map(str::to_string)
        } else {
            None
        },
    }
}

/// A short text for a rule: `get, list, watch on pods, secrets (apps, "")`.
pub fn describe_rule(rule: &PolicyRule) -> String {
    let verbs: Vec<&str> = rule.verbs.iter().map(String::as_str).collect();
    if !rule.non_resource_urls.is_empty() {
        let urls: Vec<&str> = rule.non_resource_urls.iter().map(String::as_str).collect();
        return format!("{} on URLs {}", verbs.join(", "), urls.join(", "));
    }
    let resources: Vec<&str> = rule.resources.iter().map(String::as_str).collect();
    let groups: Vec<String> = rule
        .api_groups
        .iter()
        .map(|g| {
            if g.is_empty() {
                "core".to_string()
            } else {
                g.clone()
            }
        })
        .collect();
    let mut text = format!(
        "{} on {} [{}]",
        verbs.join(", "),
        resources.join(", "),
        groups.join(", ")
    );
    if !rule.resource_names.is_empty() {
        let names: Vec<&str> = rule.resource_names.iter().map(String::as_str).collect();
        text.push_str(&format!(" named {}", names.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Binding, ClusterRole, K8sRole, RoleRef, Subject};

    fn rule_of(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        let mut rule = rule(groups, resources, verbs);
        rule.resource_names = names.iter().map(|n| n.to_string()).collect();
        rule
    }

    #[test]
    fn rule_matching_follows_kubectl_auth_can_i() {
        let pods_log = parse_request("get", "pods", Some("log"), Some("default"));
        let cases = [
            (
                rule_of(&[""], &["pods"], &["get"], &[]),
                parse_request("get", "pods", None, Some("default")),
                true,
            ),
            (
                rule_of(&[""], &["pods"], &["get"], &[]),
                parse_request("create", "pods", None, Some("default")),
                false,
            ),
            (
                rule_of(&[""], &["pods"], &["*"], &[]),
                parse_request("delete", "pods", None, Some("default")),
                true,
            ),
            // Groups: deployments live in `apps`, not in the core group.
            (
                rule_of(&[""], &["deployments"], &["get"], &[]),
                parse_request("get", "deployments", None, Some("default")),
                false,
            ),
            (
                rule_of(&["*"], &["deployments"], &["get"], &[]),
                parse_request("get", "deployments", None, Some("default")),
                true,
            ),
            (
                rule_of(&["apps"], &["deployments"], &["get"], &[]),
                parse_request("get", "deployments.apps", None, Some("default")),
                true,
            ),
            // Subresources need their own grant, `*` or `*/log`.
            (
                rule_of(&[""], &["pods"], &["get"], &[]),
                pods_log.clone(),
                false,
            ),
            (
                rule_of(&[""], &["pods/log"], &["get"], &[]),
                pods_log.clone(),
                true,
            ),
            (
                rule_of(&[""], &["*/log"], &["get"], &[]),
                pods_log.clone(),
                true,
            ),
            (rule_of(&[""], &["*"], &["get"], &[]), pods_log, true),
            // resourceNames: only requests for that name.
            (
                rule_of(&[""], &["secrets"], &["get"], &["token"]),
                parse_request("get", "secrets/token", None, Some("default")),
                true,
            ),
            (
                rule_of(&[""], &["secrets"], &["get"], &["token"]),
                parse_request("get", "secrets/other", None, Some("default")),
                false,
            ),
            (
                rule_of(&[""], &["secrets"], &["get"], &["token"]),
                parse_request("get", "secrets", None, Some("default")),
                false,
            ),
            // Short names resolve.
            (
                rule_of(&["apps"], &["deployments"], &["patch"], &[]),
                parse_request("patch", "deploy", None, Some("default")),
                true,
            ),
        ];
        for (rule, request, expected) in cases {
            assert_eq!(
                rule_allows(&rule, &request),
                expected,
                "{rule:?} / {request:?}"
            );
        }
        let url = PolicyRule {
            non_resource_urls: ["/healthz*".to_string()].into(),
            verbs: ["get".to_string()].into(),
            ..PolicyRule::default()
        };
        assert!(rule_allows(
            &url,
            &parse_request("get", "/healthz/ready", None, None)
        ));
        assert!(!rule_allows(
            &url,
            &parse_request("get", "/metrics", None, None)
        ));
    }

    fn cluster() -> Cluster {
        let subject = |kind, name: &str| Subject {
            kind,
            name: name.to_string(),
            namespace: None,
        };
        let mut cluster = Cluster::default();
        cluster.cluster_roles.insert(
            "pod-reader".to_string(),
            ClusterRole {
                rules: [rule(&[""], &["pods"], &["get"])].into(),
                ..ClusterRole::default()
            },
        );
        cluster.roles.insert(
            "team/deployer".to_string(),
            K8sRole {
                rules: [rule(&["apps"], &["deployments"], &["patch"])].into(),
                ..K8sRole::default()
            },
        );
        cluster.role_bindings.insert(
            "team/pod-reader".to_string(),
            Binding {
                meta: Default::default(),
                role_ref: RoleRef {
                    kind: RoleRefKind::ClusterRole,
                    name: "pod-reader".to_string(),
                },
                subjects: [subject(SubjectKind::Group, "readers")].into(),
            },
        );
        cluster.role_bindings.insert(
            "team/deployer".to_string(),
            Binding {
                meta: Default::default(),
                role_ref: RoleRef {
                    kind: RoleRefKind::Role,
                    name: "deployer".to_string(),
                },
                subjects: [subject(SubjectKind::User, "ci")].into(),
            },
        );
        cluster.cluster_role_bindings.insert(
            "everyone-views".to_string(),
            Binding {
                meta: Default::default(),
                role_ref: RoleRef {
                    kind: RoleRefKind::ClusterRole,
                    name: "view".to_string(),
                },
                subjects: [subject(SubjectKind::Group, AUTHENTICATED_GROUP)].into(),
            },
        );
        cluster
    }

    fn can(identity: &Identity, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
        let grants = grants(&cluster(), identity, &BTreeMap::new());
        allowing(&grants, &parse_request(verb, resource, None, namespace)).is_some()
    }

    #[test]
    fn bindings_and_their_scope() {
        let reader = Identity {
            username: "someone".to_string(),
            groups: ["readers".to_string()].into(),
        };
        let ci = Identity {
            username: "ci".to_string(),
            groups: Default::default(),
        };
        // A ClusterRole bound by a RoleBinding applies in that namespace only.
        assert!(can(&reader, "get", "pods", Some("team")));
        assert!(!can(&reader, "delete", "pods", Some("team")));
        assert!(can(&ci, "patch", "deployments", Some("team")));
        assert!(!can(&ci, "patch", "deployments", Some("other")));
        assert!(!can(&ci, "patch", "deployments", None));
        // system:authenticated reaches the built-in `view` everywhere, but never secrets.
        assert!(can(&ci, "list", "services", Some("other")));
        assert!(!can(&ci, "get", "secrets", Some("other")));
        let masters = Identity {
            username: "admin".to_string(),
            groups: [MASTERS_GROUP.to_string()].into(),
        };
        assert!(can(&masters, "escalate", "clusterroles", None));
        assert!(can(&masters, "get", "/healthz", None));
    }

    #[test]
    fn access_policies_by_scope() {
        let identity = Identity {
            username: "arn:aws:iam::1:role/x".to_string(),
            groups: Default::default(),
        };
        let view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".to_string();
        let edit = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy".to_string();
        let policies = BTreeMap::from([
            (view, AccessScope::Cluster),
            (
                edit,
                AccessScope::Namespace {
                    namespaces: ["apps".to_string()].into(),
                },
            ),
        ]);
        let grants = grants(&Cluster::default(), &identity, &policies);
        let allowed = |verb, resource, namespace: Option<&str>| {
            allowing(&grants, &parse_request(verb, resource, None, namespace)).is_some()
        };
        assert!(allowed("get", "pods", Some("kube-system")));
        assert!(!allowed("create", "pods", Some("kube-system")));
        assert!(allowed("create", "pods", Some("apps")));
        assert!(allowed("update", "secrets", Some("apps")));
        assert!(!allowed("create", "roles", Some("apps")));
    }
}
