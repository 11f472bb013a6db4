//! Kubernetes RBAC over the model: what a username and its groups may do, with the semantics
//! of `kubectl auth can-i` (API groups with `""` for core and `*`, resources with subresources
//! and `*`, verbs with `*`, `resourceNames`, and the namespace scope of RoleBindings).
//!
//! Every cluster also holds what Kubernetes builds in — its ClusterRoles (`admin`, `edit` and
//! `view` aggregated), ClusterRoleBindings (discovery for `system:authenticated`,
//! `cluster-admin` for `system:masters`, …) and bootstrap Roles and RoleBindings — as a real
//! API server of [`DEFAULT_KUBERNETES_VERSION`] serves them; an object of the state under the
//! same name wins. ClusterRoles with an `aggregationRule` get the rules of the ClusterRoles
//! their selectors match, as the aggregation controller gives them. EKS access policies grant
//! the rules the EKS User Guide lists for them. No I/O.
//!
//! Files: this one (evaluation), `builtins` (the built-in objects and access policies, from
//! `data/`), `request` (parsing and checking `kubectl auth can-i` requests), `tests`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::model::{AccessScope, Binding, Cluster, PolicyRule, RbacRole, RoleRefKind, SubjectKind};

mod builtins;
mod request;
mod resources;

pub use builtins::{
    Builtins, DEFAULT_KUBERNETES_VERSION, access_policy_rules, access_policy_unpublished,
    default_kubernetes, kubernetes,
};
pub use request::{Checked, check_request, parse_request, parse_request_in};
pub use resources::{
    Discovered, KnownResources, Lookup, NON_RESOURCE_VERBS, RESOURCE_VERBS, verb_problem,
};

/// The group every authenticated request carries.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group of requests without credentials.
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
/// The user of requests without credentials.
const ANONYMOUS_USER: &str = "system:anonymous";
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
    /// Is the identity in `system:authenticated`? The API server adds that group to every
    /// authenticated user, unless the user is `system:anonymous` or already in
    /// `system:authenticated` or `system:unauthenticated` (`AuthenticatedGroupAdder`).
    pub fn is_authenticated(&self) -> bool {
        self.groups.contains(AUTHENTICATED_GROUP)
            || (self.username != ANONYMOUS_USER && !self.groups.contains(UNAUTHENTICATED_GROUP))
    }

    fn has_group(&self, group: &str) -> bool {
        self.groups.contains(group) || (group == AUTHENTICATED_GROUP && self.is_authenticated())
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
    /// `ClusterRoleBinding reader → ClusterRole reader`, `ClusterRoleBinding system:discovery
    /// (built-in) → ClusterRole system:discovery`, `group system:masters`, `access policy
    /// AmazonEKSViewPolicy`.
    pub source: String,
    /// An access policy whose rules AWS does not publish: it grants something, but nothing
    /// accessctl knows.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unpublished: bool,
    /// Shared: every identity a binding reaches holds the same rules.
    pub rules: std::sync::Arc<[PolicyRule]>,
}

/// Every grant that reaches the identity in the cluster: bindings (the state's and the
/// built-in ones) naming its username or one of its groups, `system:masters`, and the access
/// policies given with the mapping.
pub fn grants(
    cluster: &Cluster,
    identity: &Identity,
    access_policies: &BTreeMap<String, AccessScope>,
) -> Vec<Grant> {
    ClusterGrants::new(cluster).grants(identity, access_policies)
}

/// The bindings of one cluster (the state's and the built-in ones), indexed by the subjects
/// they name, each binding's grant worked out once: for asking the grants of many identities.
pub struct ClusterGrants<'c> {
    cluster: &'c Cluster,
    bindings: Vec<BindingItem<'c>>,
    granted: Vec<std::sync::OnceLock<Grant>>,
    /// Binding indices by the user, group and service-account username their subjects name.
    by_user: HashMap<&'c str, Vec<usize>>,
    by_group: HashMap<&'c str, Vec<usize>>,
    by_service_account: HashMap<String, Vec<usize>>,
}

impl<'c> ClusterGrants<'c> {
    pub fn new(cluster: &'c Cluster) -> Self {
        let bindings: Vec<BindingItem<'c>> =
            bindings(cluster).chain(builtin_bindings(cluster)).collect();
        let mut by_user: HashMap<&'c str, Vec<usize>> = HashMap::new();
        let mut by_group: HashMap<&'c str, Vec<usize>> = HashMap::new();
        let mut by_service_account: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, (namespace, _, binding)) in bindings.iter().enumerate() {
            for subject in &binding.subjects {
                match subject.kind {
                    SubjectKind::User => by_user.entry(&subject.name).or_default().push(index),
                    SubjectKind::Group => by_group.entry(&subject.name).or_default().push(index),
                    SubjectKind::ServiceAccount => by_service_account
                        .entry(service_account_username(subject, *namespace))
                        .or_default()
                        .push(index),
                }
            }
        }
        let granted = bindings
            .iter()
            .map(|_| std::sync::OnceLock::new())
            .collect();
        ClusterGrants {
            cluster,
            bindings,
            granted,
            by_user,
            by_group,
            by_service_account,
        }
    }

    /// Every binding (the state's, ClusterRoleBindings first, then the built-in ones), with
    /// its grant.
    pub fn every_binding(&self) -> impl Iterator<Item = (BindingItem<'c>, &Grant)> + '_ {
        (0..self.bindings.len()).map(|index| (self.bindings[index], self.binding(index)))
    }

    fn binding(&self, index: usize) -> &Grant {
        self.granted[index].get_or_init(|| {
            let (namespace, name, binding) = self.bindings[index];
            binding_grant(self.cluster, namespace, name, binding)
        })
    }

    /// What [`grants`] gives: the bindings whose subjects name the identity (as
    /// [`subject_is`] matches them), `system:masters`, the access policies; sorted.
    pub fn grants(
        &self,
        identity: &Identity,
        access_policies: &BTreeMap<String, AccessScope>,
    ) -> Vec<Grant> {
        let mut grants = Vec::new();
        if identity.groups.contains(MASTERS_GROUP) {
            // The API server's own authorizer, in front of RBAC: whatever the bindings say.
            grants.push(Grant {
                scope: Scope::Cluster,
                source: format!("group {MASTERS_GROUP} (allowed everything by the API server)"),
                unpublished: false,
                rules: cluster_role_rules(self.cluster, "cluster-admin").into(),
            });
        }
        grants.extend(access_policy_grants(access_policies));
        let mut named: Vec<usize> = Vec::new();
        let mut take = |found: Option<&Vec<usize>>| named.extend(found.into_iter().flatten());
        take(self.by_user.get(identity.username.as_str()));
        take(self.by_service_account.get(&identity.username));
        for group in &identity.groups {
            take(self.by_group.get(group.as_str()));
        }
        if identity.has_group(AUTHENTICATED_GROUP) {
            take(self.by_group.get(AUTHENTICATED_GROUP));
        }
        named.sort_unstable();
        named.dedup();
        named.retain(|&index| {
            let (namespace, _, binding) = self.bindings[index];
            binds(&binding.subjects, identity, namespace)
        });
        grants.extend(named.into_iter().map(|index| self.binding(index).clone()));
        grants.sort();
        grants
    }
}

/// (the namespace of a RoleBinding, its name, the binding).
type BindingItem<'c> = (Option<&'c str>, &'c str, &'c Binding);

/// Every binding of the cluster (of the state, not the built-in ones), ClusterRoleBindings
/// first.
pub fn bindings(cluster: &Cluster) -> impl Iterator<Item = BindingItem<'_>> {
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

/// Does `cluster` hold a binding of this name (a RoleBinding: in this namespace)?
fn holds_binding(cluster: &Cluster, namespace: Option<&str>, name: &str) -> bool {
    match namespace {
        None => cluster.cluster_role_bindings.contains_key(name),
        Some(namespace) => cluster
            .role_bindings
            .contains_key(&format!("{namespace}/{name}")),
    }
}

/// The built-in bindings the state does not hold under the same name.
pub fn builtin_bindings<'c>(cluster: &'c Cluster) -> impl Iterator<Item = BindingItem<'c>> + 'c {
    bindings(default_kubernetes())
        .filter(move |(namespace, name, _)| !holds_binding(cluster, *namespace, name))
}

/// Is this binding one of Kubernetes' own (not the state's)?
fn is_builtin_binding(cluster: &Cluster, namespace: Option<&str>, name: &str) -> bool {
    !holds_binding(cluster, namespace, name) && holds_binding(default_kubernetes(), namespace, name)
}

/// What a binding grants (`namespace`: a RoleBinding's), whoever its subjects are.
pub fn binding_grant(
    cluster: &Cluster,
    namespace: Option<&str>,
    name: &str,
    binding: &Binding,
) -> Grant {
    let role = &binding.role_ref.name;
    let builtin = if is_builtin_binding(cluster, namespace, name) {
        " (built-in)"
    } else {
        ""
    };
    let Some(namespace) = namespace else {
        return Grant {
            scope: Scope::Cluster,
            source: format!("ClusterRoleBinding {name}{builtin} → ClusterRole {role}"),
            unpublished: false,
            rules: cluster_role_rules(cluster, role).into(),
        };
    };
    let (rules, kind) = match binding.role_ref.kind {
        RoleRefKind::ClusterRole => (cluster_role_rules(cluster, role), "ClusterRole"),
        RoleRefKind::Role => {
            let key = format!("{namespace}/{role}");
            let found = cluster
                .roles
                .get(&key)
                .or_else(|| default_kubernetes().roles.get(&key));
            let rules = found
                .map(|role| role.rules.iter().cloned().collect())
                .unwrap_or_default();
            (rules, "Role")
        }
    };
    Grant {
        scope: Scope::Namespace(namespace.to_string()),
        source: format!("RoleBinding {namespace}/{name}{builtin} → {kind} {role}"),
        unpublished: false,
        rules: rules.into(),
    }
}

/// The grants of an access entry's access policies: one per policy, per namespace of its
/// scope.
pub fn access_policy_grants(access_policies: &BTreeMap<String, AccessScope>) -> Vec<Grant> {
    let mut grants = Vec::new();
    for (arn, scope) in access_policies {
        let name = crate::model::arn::eks_access_policy_name(arn);
        let rules = access_policy_rules(name)
            .cloned()
            .unwrap_or_else(|| Vec::new().into());
        let unpublished = access_policy_unpublished(name);
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
            unpublished,
            rules: std::sync::Arc::clone(&rules),
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

/// Who a service account's token authenticates as: its username and the groups
/// `system:serviceaccounts` and `system:serviceaccounts:NAMESPACE`.
pub fn service_account_identity(namespace: &str, name: &str) -> Identity {
    Identity {
        username: format!("system:serviceaccount:{namespace}:{name}"),
        groups: BTreeSet::from([
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{namespace}"),
        ]),
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

/// A ClusterRole of the state, else the built-in one of that name.
fn cluster_role<'c>(cluster: &'c Cluster, name: &str) -> Option<&'c RbacRole> {
    cluster
        .cluster_roles
        .get(name)
        .or_else(|| default_kubernetes().cluster_roles.get(name))
}

/// A ClusterRole's rules as the authorizer reads them (none when it does not exist). For one
/// with an `aggregationRule`, they are what the aggregation controller writes: the rules of
/// every other ClusterRole (the state's and the built-in ones) matched by one of its
/// selectors, themselves aggregated first; its own rules are replaced.
pub fn cluster_role_rules(cluster: &Cluster, name: &str) -> Vec<PolicyRule> {
    aggregated(cluster, name, &mut BTreeSet::new())
        .into_iter()
        .collect()
}

/// `visiting`: the aggregated roles being resolved, so that a cycle ends.
fn aggregated(
    cluster: &Cluster,
    name: &str,
    visiting: &mut BTreeSet<String>,
) -> BTreeSet<PolicyRule> {
    let Some(role) = cluster_role(cluster, name) else {
        return BTreeSet::new();
    };
    let Some(aggregation) = &role.aggregation_rule else {
        return role.rules.clone();
    };
    if !visiting.insert(name.to_string()) {
        return BTreeSet::new();
    }
    let builtins = default_kubernetes()
        .cluster_roles
        .iter()
        .filter(|(other, _)| !cluster.cluster_roles.contains_key(*other));
    let matched: Vec<&String> = cluster
        .cluster_roles
        .iter()
        .chain(builtins)
        .filter(|(other, candidate)| {
            *other != name
                && aggregation
                    .cluster_role_selectors
                    .iter()
                    .any(|selector| selector.matches(&candidate.meta.labels))
        })
        .map(|(other, _)| other)
        .collect();
    let mut rules = BTreeSet::new();
    for other in matched {
        rules.extend(aggregated(cluster, other, visiting));
    }
    visiting.remove(name);
    rules
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
    allowing_in(grants, request)
}

/// [`allowing`] over grants held elsewhere.
pub fn allowing_in<'g>(
    grants: impl IntoIterator<Item = &'g Grant>,
    request: &Request,
) -> Option<(&'g Grant, &'g PolicyRule)> {
    grants
        .into_iter()
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
        // `NonResourceURLMatches`: `*`, the exact URL, or a prefix ending in `*` (every
        // trailing `*` trimmed).
        return rule.non_resource_urls.iter().any(|url| {
            url == "*"
                || url == &request.resource
                || (url.ends_with('*') && request.resource.starts_with(url.trim_end_matches('*')))
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

/// `ResourceMatches`: `*`, the exact `resource` or `resource/subresource`, or
/// `*/subresource` for a request of that subresource (no other wildcard form).
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

/// `ResourceNameMatches`: a rule without names allows any; one with names only a request for
/// one of them (a list, watch or create without a name is for none).
fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.contains(name)
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
