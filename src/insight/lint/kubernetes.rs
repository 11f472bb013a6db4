//! The Kubernetes RBAC escalation rules: exec into pods, impersonation, rewriting one's own
//! role, binding any role, reading every secret, creating workloads in kube-system. Each grant is judged with the
//! RBAC evaluation of `insight::rbac` (wildcards, `resourceNames`, subresources, the namespace
//! of a RoleBinding, the built-in roles and access policies) and followed back through aws-auth
//! and access entries, so a finding names the IAM principals that hold it, not only the
//! Kubernetes subject. One finding per rule and binding (or access-entry policy).

use super::{
    ESCALATION_BIND, ESCALATION_EXEC, ESCALATION_IMPERSONATE, ESCALATION_KUBE_SYSTEM_WORKLOADS,
    ESCALATION_SELF_ROLE, Linter, SECRETS_CLUSTER_WIDE, Severity,
};
use crate::insight::chain::{self, Mapping};
use crate::insight::rbac::{self, Grant, Identity, Request, Scope};
use crate::model::{Binding, Cluster, IamArn, PolicyRule, RoleRefKind, Subject, SubjectKind};
use crate::spec::SourceLocation;

const KUBE_SYSTEM: &str = "kube-system";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Do these rules allow `*` on `*` in every API group? Such a holder escalates nowhere
/// (`rbac-wildcard-cluster-wide` and `eks-system-masters` say what it holds).
pub(super) fn everything<'r>(mut rules: impl Iterator<Item = &'r PolicyRule>) -> bool {
    rules.any(|rule| {
        rule.verbs.contains("*") && rule.resources.contains("*") && rule.api_groups.contains("*")
    })
}

/// A request on any object of a type (no name: a rule limited by `resourceNames` does not
/// allow it).
fn any(verb: &str, api_group: &str, resource: &str, namespace: Option<&str>) -> Request {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    Request {
        verb: verb.to_string(),
        api_group: api_group.to_string(),
        resource: resource.to_string(),
        subresource: subresource.to_string(),
        name: String::new(),
        namespace: namespace.map(str::to_string),
    }
}

/// One rule on single requests: any of `requests` allowed by a grant fires it.
struct Check {
    rule: &'static str,
    requests: Vec<Request>,
    /// What holding it means, after the capability.
    consequence: &'static str,
}

fn checks() -> Vec<Check> {
    let kube_system = Some(KUBE_SYSTEM);
    vec![
        Check {
            rule: ESCALATION_EXEC,
            // `create` (SPDY, and WebSockets where the API server authorizes the upgrade as
            // a create), or `get` (a WebSocket upgrade is a GET, authorized as `get` by
            // Kubernetes 1.32).
            requests: ["create", "get"]
                .into_iter()
                .flat_map(|verb| {
                    ["pods/exec", "pods/attach"]
                        .map(|resource| any(verb, "", resource, kube_system))
                })
                .collect(),
            consequence: "a shell in those pods, with their service-account tokens",
        },
        Check {
            rule: ESCALATION_IMPERSONATE,
            requests: vec![
                any("impersonate", "", "users", None),
                any("impersonate", "", "groups", None),
                any("impersonate", "", "serviceaccounts", kube_system),
            ],
            consequence: "it acts with their rights (a group can be `system:masters`, a service account one of kube-system's controllers)",
        },
        Check {
            rule: SECRETS_CLUSTER_WIDE,
            requests: ["get", "list", "watch"]
                .into_iter()
                .map(|verb| any(verb, "", "secrets", None))
                .collect(),
            consequence: "every service-account token and credential of the cluster",
        },
        Check {
            rule: ESCALATION_KUBE_SYSTEM_WORKLOADS,
            // Creating a workload, or rewriting one that runs (a pod's image is mutable, a
            // workload's pod template too).
            requests: [
                ("", "pods"),
                ("", "replicationcontrollers"),
                ("apps", "deployments"),
                ("apps", "daemonsets"),
                ("apps", "statefulsets"),
                ("apps", "replicasets"),
                ("batch", "jobs"),
                ("batch", "cronjobs"),
            ]
            .into_iter()
            .flat_map(|(group, resource)| {
                ["create", "update", "patch"].map(|verb| any(verb, group, resource, kube_system))
            })
            .collect(),
            consequence: "its pods can run as any service account of kube-system and use its token",
        },
    ]
}

/// What a grant allows of the requests, as `create pods/exec, pods/attach in kube-system`.
fn capability(grant: &Grant, requests: &[Request]) -> Option<String> {
    let allowed = requests
        .iter()
        .filter(|request| rbac::allowing(std::slice::from_ref(grant), request).is_some())
        .map(|request| {
            let mut resource = request.resource.clone();
            if !request.subresource.is_empty() {
                resource = format!("{resource}/{}", request.subresource);
            }
            if !request.api_group.is_empty() {
                resource = format!("{resource}.{}", request.api_group);
            }
            (resource, request.verb.as_str())
        });
    let by_resource = grouped(allowed);
    if by_resource.is_empty() {
        return None;
    }
    let what: Vec<String> = grouped(
        by_resource
            .into_iter()
            .map(|(resource, verbs)| (verbs, resource)),
    )
    .into_iter()
    .map(|(verbs, resources)| format!("{} {}", verbs.join("/"), resources.join(", ")))
    .collect();
    let namespaced = requests.iter().any(|request| request.namespace.is_some());
    let place = match &grant.scope {
        Scope::Namespace(namespace) => format!("in {namespace}"),
        Scope::Cluster if namespaced => "cluster-wide".to_string(),
        Scope::Cluster => "in every namespace".to_string(),
    };
    Some(format!("{} {place}", what.join(", ")))
}

/// `rbac-escalation-bind`: what a grant allows of creating role bindings (in its scope) and
/// binding or escalating roles, when it allows both, short of holding everything already. A
/// `bind` limited by `resourceNames` binds those roles only: it counts when it names
/// `cluster-admin`.
fn bind_capability(grant: &Grant) -> Option<String> {
    if everything(grant.rules.iter()) {
        return None;
    }
    let namespace = match &grant.scope {
        Scope::Namespace(namespace) => Some(namespace.as_str()),
        Scope::Cluster => None,
    };
    let mut create = vec![any("create", RBAC_GROUP, "rolebindings", namespace)];
    if namespace.is_none() {
        create.push(any("create", RBAC_GROUP, "clusterrolebindings", None));
    }
    let bind: Vec<Request> = ["bind", "escalate"]
        .into_iter()
        .flat_map(|verb| {
            [
                any(verb, RBAC_GROUP, "roles", namespace),
                Request {
                    name: "cluster-admin".to_string(),
                    ..any(verb, RBAC_GROUP, "clusterroles", namespace)
                },
            ]
        })
        .collect();
    capability(grant, &create)?;
    capability(grant, &bind)?;
    capability(grant, &[create, bind].concat())
}

/// The values of each key, keys in the order they first come.
fn grouped<K: PartialEq, V>(pairs: impl Iterator<Item = (K, V)>) -> Vec<(K, Vec<V>)> {
    let mut groups: Vec<(K, Vec<V>)> = Vec::new();
    for (key, value) in pairs {
        match groups.iter_mut().find(|(known, _)| *known == key) {
            Some((_, values)) => values.push(value),
            None => groups.push((key, vec![value])),
        }
    }
    groups
}

/// Who an IAM mapping makes, as `IAM role ARN (via aws-auth mapRoles → group G)`.
fn mapped(mapping: &Mapping, subject: &Subject) -> String {
    let principal = match mapping.via.as_str() {
        "aws-auth mapRoles" => format!("IAM role {}", mapping.arn),
        "aws-auth mapUsers" => format!("IAM user {}", mapping.arn),
        "aws-auth mapAccounts" => format!("every IAM principal of account {}", mapping.arn),
        _ => match IamArn::parse(&mapping.arn) {
            Some(IamArn::Role { .. }) => format!("IAM role {}", mapping.arn),
            Some(IamArn::User { .. }) => format!("IAM user {}", mapping.arn),
            _ => format!("IAM principal {}", mapping.arn),
        },
    };
    let link = match subject.kind {
        SubjectKind::Group => format!("group {}", subject.name),
        _ => format!("user {}", subject.name),
    };
    format!("{principal} (via {} → {link})", mapping.via)
}

/// A binding's subject as Kubernetes names it.
fn subject_label(subject: &Subject, namespace: Option<&str>) -> String {
    match subject.kind {
        SubjectKind::User => format!("user {}", subject.name),
        SubjectKind::Group => format!("group {}", subject.name),
        SubjectKind::ServiceAccount => {
            let username = rbac::service_account_username(subject, namespace);
            let account = username
                .strip_prefix("system:serviceaccount:")
                .unwrap_or(&username)
                .replacen(':', "/", 1);
            format!("service account {account}")
        }
    }
}

/// The identity a subject stands for when no IAM mapping reaches it.
fn subject_identity(subject: &Subject, namespace: Option<&str>) -> Identity {
    match subject.kind {
        SubjectKind::User => Identity {
            username: subject.name.clone(),
            groups: Default::default(),
        },
        SubjectKind::Group => Identity {
            username: String::new(),
            groups: [subject.name.clone()].into(),
        },
        SubjectKind::ServiceAccount => Identity {
            username: rbac::service_account_username(subject, namespace),
            groups: Default::default(),
        },
    }
}

/// Who holds a binding's subjects: each IAM mapping that becomes the subject (its label, its
/// whole identity and access policies); a subject no mapping reaches, as itself.
fn holders<'m>(
    mappings: &'m [Mapping],
    binding: &Binding,
    namespace: Option<&str>,
) -> Vec<(String, Identity, Option<&'m Mapping>)> {
    let mut holders = Vec::new();
    for subject in &binding.subjects {
        let reached: Vec<&Mapping> = mappings
            .iter()
            .filter(|mapping| rbac::subject_is(subject, &mapping.identity, namespace))
            .collect();
        if reached.is_empty() {
            holders.push((
                subject_label(subject, namespace),
                subject_identity(subject, namespace),
                None,
            ));
        }
        for mapping in reached {
            holders.push((
                mapped(mapping, subject),
                mapping.identity.clone(),
                Some(mapping),
            ));
        }
    }
    holders.sort_by(|a, b| a.0.cmp(&b.0));
    holders.dedup_by(|a, b| a.0 == b.0);
    holders
}

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl Linter<'_> {
    /// `rbac-escalation-exec`, `rbac-escalation-impersonate`, `rbac-secrets-cluster-wide`,
    /// `rbac-escalation-kube-system-workloads`, `rbac-escalation-bind`,
    /// `rbac-escalation-self-role`.
    pub(super) fn kubernetes_escalations(&mut self) {
        let state = self.state;
        let checks = checks();
        for (cluster_name, cluster) in &state.clusters {
            let mappings = chain::cluster_mappings(cluster);
            for (namespace, name, binding) in rbac::bindings(cluster) {
                let grant = rbac::binding_grant(cluster, namespace, name, binding);
                let key = match namespace {
                    Some(namespace) => format!("{namespace}/{name}"),
                    None => name.to_string(),
                };
                let at = self.first_at(&[
                    format!("clusters.{cluster_name}.bindings.{key}"),
                    format!("clusters.{cluster_name}"),
                ]);
                let holders = holders(&mappings, binding, namespace);
                let who: Vec<String> = holders.iter().map(|(label, ..)| label.clone()).collect();
                self.check_grant(&checks, cluster_name, &grant, &who, at.as_ref());
                self.self_role(
                    cluster_name,
                    cluster,
                    namespace,
                    binding,
                    &grant,
                    &holders,
                    at.as_ref(),
                );
            }
            for mapping in mappings.iter().filter(|m| !m.access_policies.is_empty()) {
                let at = self
                    .access_item(cluster_name, &mapping.arn)
                    .or_else(|| self.at(&format!("clusters.{cluster_name}.access")).cloned());
                let who = [match IamArn::parse(&mapping.arn) {
                    Some(IamArn::User { .. }) => {
                        format!("IAM user {} (via access entry)", mapping.arn)
                    }
                    _ => format!("IAM role {} (via access entry)", mapping.arn),
                }];
                for grant in rbac::access_policy_grants(&mapping.access_policies) {
                    self.check_grant(&checks, cluster_name, &grant, &who, at.as_ref());
                }
            }
        }
    }

    /// The single-request rules and `rbac-escalation-bind` on one grant held by `who`.
    fn check_grant(
        &mut self,
        checks: &[Check],
        cluster: &str,
        grant: &Grant,
        who: &[String],
        at: Option<&SourceLocation>,
    ) {
        if who.is_empty() || (grant.scope == Scope::Cluster && everything(grant.rules.iter())) {
            return;
        }
        for check in checks {
            let Some(capability) = capability(grant, &check.requests) else {
                continue;
            };
            let message = format!(
                "{} can {capability} in cluster {cluster} ({}): {}",
                listed(who),
                grant.source,
                check.consequence
            );
            self.push(check.rule, Severity::High, at, message);
        }
        if let Some(capability) = bind_capability(grant) {
            let consequence = match &grant.scope {
                Scope::Namespace(namespace) => {
                    format!("it can bind `admin` or `cluster-admin` in {namespace}")
                }
                Scope::Cluster => "it can bind any role, `cluster-admin` included".to_string(),
            };
            let message = format!(
                "{} can {capability} in cluster {cluster} ({}): {consequence}",
                listed(who),
                grant.source
            );
            self.push(ESCALATION_BIND, Severity::High, at, message);
        }
    }

    /// `rbac-escalation-self-role`: holders of a binding who, by any of their grants, may
    /// update (or patch) and escalate the binding's own role.
    #[allow(clippy::too_many_arguments)]
    fn self_role(
        &mut self,
        cluster_name: &str,
        cluster: &Cluster,
        namespace: Option<&str>,
        binding: &Binding,
        grant: &Grant,
        holders: &[(String, Identity, Option<&Mapping>)],
        at: Option<&SourceLocation>,
    ) {
        let role = &binding.role_ref.name;
        let (resource, role_namespace, kind) = match (binding.role_ref.kind, namespace) {
            (RoleRefKind::Role, Some(namespace)) => ("roles", Some(namespace), "Role"),
            _ => ("clusterroles", None, "ClusterRole"),
        };
        let request = |verb: &str| Request {
            name: role.clone(),
            ..any(verb, RBAC_GROUP, resource, role_namespace)
        };
        let who: Vec<String> = holders
            .iter()
            .filter(|(_, identity, mapping)| {
                let policies = mapping
                    .map(|m| m.access_policies.clone())
                    .unwrap_or_default();
                let grants = rbac::grants(cluster, identity, &policies);
                // Already holding everything where the role applies: nothing to gain.
                let admin = grants.iter().any(|g| {
                    let covers = match &g.scope {
                        Scope::Cluster => true,
                        Scope::Namespace(namespace) => Some(namespace.as_str()) == role_namespace,
                    };
                    covers && everything(g.rules.iter())
                });
                let allowed = |verb: &str| rbac::allowing(&grants, &request(verb)).is_some();
                !admin && (allowed("update") || allowed("patch")) && allowed("escalate")
            })
            .map(|(label, ..)| label.clone())
            .collect();
        if who.is_empty() {
            return;
        }
        let shown = match role_namespace {
            Some(namespace) => format!("{kind} {namespace}/{role}"),
            None => format!("{kind} {role}"),
        };
        let message = format!(
            "{} can update and escalate {shown} in cluster {cluster_name}, which it holds ({}): it can write any rule into its own role",
            listed(&who),
            grant.source
        );
        self.push(ESCALATION_SELF_ROLE, Severity::High, at, message);
    }
}

#[cfg(test)]
#[path = "kubernetes_tests.rs"]
mod tests;
