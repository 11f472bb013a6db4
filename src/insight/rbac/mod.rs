//! Kubernetes RBAC over the model: what a username and its groups may do, with the semantics
//! of `kubectl auth can-i` (API groups with `""` for core and `*`, resources with subresources
//! and `*`, verbs with `*`, `resourceNames`, and the namespace scope of RoleBindings).
//!
//! Built-in ClusterRoles (`cluster-admin`, `admin`, `edit`, `view`) and the EKS access policies
//! are not in the model unless someone wrote them down: [`builtin_cluster_role`] and
//! [`access_policy_rules`] hold approximations of their rules (docs/insight.md says which).
//! A ClusterRole of the state under a built-in name wins over the approximation. No I/O.
//!
//! Files: this one (evaluation), `builtins` (the built-in roles and access policies),
//! `request` (parsing and checking `kubectl auth can-i` requests), `tests`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{AccessScope, Cluster, PolicyRule, RoleRefKind, SubjectKind};

mod builtins;
mod request;

pub use builtins::{access_policy_rules, builtin_cluster_role};
pub use request::{KNOWN_VERBS, parse_request, request_warnings};

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
    grants.extend(access_policy_grants(access_policies));
    for (namespace, name, binding) in bindings(cluster) {
        if binds(&binding.subjects, identity, namespace) {
            grants.push(binding_grant(cluster, namespace, name, binding));
        }
    }
    grants.sort();
    grants
}

/// Every binding of the cluster: (the namespace of a RoleBinding, its name, the binding);
/// ClusterRoleBindings first.
pub fn bindings(
    cluster: &Cluster,
) -> impl Iterator<Item = (Option<&str>, &str, &crate::model::Binding)> {
    let cluster_wide = cluster
        .cluster_role_bindings
        .iter()
        .map(|(name, binding)| (None, name.as_str(), binding));
    let namespaced = cluster.role_bindings.iter().map(|(key, binding)| {
        let (namespace, name) = key.split_once('/').unwrap_or(("default", key));
        (Some(namespace), name, binding)
    });
    cluster_wide.chain(namespaced)
}

/// What a binding grants (`namespace`: a RoleBinding's), whoever its subjects are.
pub fn binding_grant(
    cluster: &Cluster,
    namespace: Option<&str>,
    name: &str,
    binding: &crate::model::Binding,
) -> Grant {
    let role = &binding.role_ref.name;
    let Some(namespace) = namespace else {
        let (rules, approximated) = cluster_role_rules(cluster, role);
        return Grant {
            scope: Scope::Cluster,
            source: format!("ClusterRoleBinding {name} → ClusterRole {role}"),
            approximated,
            rules,
        };
    };
    let (rules, approximated, kind) = match binding.role_ref.kind {
        RoleRefKind::ClusterRole => {
            let (rules, approximated) = cluster_role_rules(cluster, role);
            (rules, approximated, "ClusterRole")
        }
        RoleRefKind::Role => {
            let rules = cluster
                .roles
                .get(&format!("{namespace}/{role}"))
                .map(|role| role.rules.iter().cloned().collect())
                .unwrap_or_default();
            (rules, false, "Role")
        }
    };
    Grant {
        scope: Scope::Namespace(namespace.to_string()),
        source: format!("RoleBinding {namespace}/{name} → {kind} {role}"),
        approximated,
        rules,
    }
}

/// The grants of an access entry's access policies: one per policy, per namespace of its
/// scope.
pub fn access_policy_grants(access_policies: &BTreeMap<String, AccessScope>) -> Vec<Grant> {
    let mut grants = Vec::new();
    for (arn, scope) in access_policies {
        let name = crate::model::arn::eks_access_policy_name(arn);
        let rules = access_policy_rules(name).unwrap_or_default();
        let source = format!("access policy {name}");
        let scopes = match scope {
            AccessScope::Cluster => vec![Scope::Cluster],
            AccessScope::Namespace { namespaces } => namespaces
                .iter()
                .map(|namespace| Scope::Namespace(namespace.clone()))
                .collect(),
        };
        grants.extend(scopes.into_iter().map(|scope| Grant {
            scope,
            source: source.clone(),
            approximated: true,
            rules: rules.clone(),
        }));
    }
    grants
}

fn binds(
    subjects: &BTreeSet<crate::model::Subject>,
    identity: &Identity,
    binding_namespace: Option<&str>,
) -> bool {
    subjects
        .iter()
        .any(|subject| subject_is(subject, identity, binding_namespace))
}

/// Does a binding's subject name the identity (its username, one of its groups, or, for a
/// service account, `system:serviceaccount:NAMESPACE:NAME`)?
pub fn subject_is(
    subject: &crate::model::Subject,
    identity: &Identity,
    binding_namespace: Option<&str>,
) -> bool {
    match subject.kind {
        SubjectKind::User => subject.name == identity.username,
        SubjectKind::Group => identity.has_group(&subject.name),
        SubjectKind::ServiceAccount => {
            identity.username == service_account_username(subject, binding_namespace)
        }
    }
}

/// The username of a service-account subject (its namespace defaults to the binding's).
pub fn service_account_username(
    subject: &crate::model::Subject,
    binding_namespace: Option<&str>,
) -> String {
    let namespace = subject
        .namespace
        .as_deref()
        .or(binding_namespace)
        .unwrap_or("default");
    format!("system:serviceaccount:{namespace}:{}", subject.name)
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
mod tests;
