//! Checks of `clusters.<name>`: access mappings (and what EKS refuses in them), namespaces,
//! RBAC objects and their references, and service accounts.

use std::collections::BTreeSet;

use crate::model::eks_rules::{self, POD_IDENTITY_ACCOUNT_RULE, SERVICE_LINKED_RULE};
use crate::model::{AuthenticationMode, IamArn, parse_arn};

use super::super::raw::{AccessSpec, ClusterSpec, PrincipalKind, Text};
use super::super::reader::Reader;
use super::super::resolve::{Directory, unknown};
use super::names;
use super::{bindings, duplicates, metadata, part_rule, rule, rules, unresolved};

/// Namespaces that exist in every cluster: objects may live there without declaring them.
pub const BUILTIN_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];
/// ClusterRoles every cluster has.
const BUILTIN_CLUSTER_ROLES: [&str; 4] = ["cluster-admin", "admin", "edit", "view"];

pub fn validate(reader: &mut Reader<'_>, cluster: &ClusterSpec, directory: &Directory) {
    let name = &cluster.name;
    rule(reader, name, "cluster name", names::cluster_name);
    if let Some(region) = &cluster.region {
        rule(reader, region, "region", names::region);
    }
    if let Some(issuer) = &cluster.oidc_issuer {
        rule(reader, issuer, "OIDC issuer", names::oidc_issuer);
    }
    let mut principals = Vec::new();
    for access in &cluster.access {
        if let Some(key) = access_item(reader, cluster, access, directory) {
            principals.push(key);
        }
    }
    duplicates(
        reader,
        principals.iter().map(|(text, key)| (*text, key.clone())),
        |first, second| {
            let first_form = if first.value == second.value {
                String::new()
            } else {
                format!(" as `{}`", first.value)
            };
            (
                format!(
                    "`{}` is mapped twice in cluster `{}`",
                    second.value, name.value
                ),
                format!(
                    "a principal may appear once per cluster; it is first mapped at line {}{first_form}",
                    first.at.line
                ),
            )
        },
    );
    for namespace in &cluster.namespaces {
        rule(reader, &namespace.name, "namespace", names::dns_label);
        metadata(reader, &namespace.meta);
    }
    duplicates(
        reader,
        cluster
            .namespaces
            .iter()
            .map(|n| (&n.name, n.name.value.clone())),
        |first, _| {
            (
                format!("namespace `{}` is listed twice", first.value),
                "list each namespace once".to_string(),
            )
        },
    );
    let scope = Scope::new(cluster);
    for role in &cluster.cluster_roles {
        rule(reader, &role.name, "ClusterRole name", names::rbac_name);
        rules::rules(reader, role, false);
        metadata(reader, &role.meta);
    }
    for role in &cluster.roles {
        if let Some((_, role_name)) = scope.namespaced(reader, &role.name, "Role") {
            part_rule(reader, &role.name, role_name, "Role name", names::rbac_name);
        }
        rules::rules(reader, role, true);
        metadata(reader, &role.meta);
    }
    for binding in &cluster.bindings {
        bindings::validate(reader, &scope, binding);
    }
    for account in &cluster.service_accounts {
        if let Some((_, account_name)) = scope.namespaced(reader, &account.name, "ServiceAccount") {
            part_rule(
                reader,
                &account.name,
                account_name,
                "service account name",
                names::dns_subdomain,
            );
        }
        for role in account.iam_role.iter().chain(&account.pod_identity) {
            if let Err(problem) = directory.role_arn(&role.value) {
                unresolved(reader, role, problem);
            }
        }
        if let Some(role) = &account.pod_identity {
            pod_identity_account(reader, cluster, role, directory);
        }
        metadata(reader, &account.meta);
    }
}

/// Checks one access mapping; returns its principal and the key that identifies it.
fn access_item<'s>(
    reader: &mut Reader<'_>,
    cluster: &ClusterSpec,
    access: &'s AccessSpec,
    directory: &Directory,
) -> Option<(&'s Text, String)> {
    let mode = cluster.authentication.value;
    let entries = mode.uses_access_entries();
    if let Some(username) = &access.username {
        if let Some(template) = names::unknown_template(&username.value) {
            reader.error_hint(
                username.at,
                format!("unknown username template `{template}`"),
                format!(
                    "EKS expands only {}",
                    super::super::suggest::list(names::USERNAME_TEMPLATES)
                ),
            );
        }
        if entries {
            reserved_prefix(reader, cluster, username, "username");
            if let Some(template) = names::session_template_without_colon(&username.value) {
                reader.error_hint(
                    username.at,
                    format!(
                        "EKS rejects the username `{}` in access entries (cluster `{}`): `{template}` has no `:` before it",
                        username.value, cluster.name.value
                    ),
                    format!(
                        "EKS: \"If you add {{{{SessionName}}}} to your username, the username must include a colon before {{{{SessionName}}}}\" (the same holds for {{{{SessionNameRaw}}}}): write e.g. `{}`",
                        colon_before(&username.value, template)
                    ),
                );
            }
        }
    }
    for group in &access.groups {
        if group.value.is_empty() {
            reader.error(group.at, "a Kubernetes group name cannot be empty");
        } else if entries && group.value == "system:masters" {
            reader.error_hint(
                group.at,
                format!(
                    "access entries cannot grant `system:masters` (cluster `{}` uses access entries)",
                    cluster.name.value
                ),
                "grant the access policy `AmazonEKSClusterAdminPolicy` instead: `accessPolicies: [{policy: AmazonEKSClusterAdminPolicy}]`",
            );
        } else if entries {
            reserved_prefix(reader, cluster, group, "group");
        }
    }
    if let Some(at) = access.access_policies_at
        && mode == AuthenticationMode::ConfigMap
    {
        reader.error_hint(
            at,
            format!(
                "`accessPolicies` need access entries, but cluster `{}` uses `config-map`",
                cluster.name.value
            ),
            "set `authentication: access-entries` (or `both`) on the cluster, or grant access with `groups` and RBAC",
        );
    }
    for policy in &access.access_policies {
        access_policy_name(reader, &policy.policy);
        for namespace in policy.namespaces.iter().flatten() {
            let valid = match namespace.value.strip_suffix('*') {
                // A wildcard: the prefix of a namespace name.
                Some(prefix) => {
                    names::dns_label(&format!("{prefix}x")).is_ok() || prefix.is_empty()
                }
                None => names::dns_label(&namespace.value).is_ok(),
            };
            if !valid {
                reader.error(
                    namespace.at,
                    format!(
                        "invalid namespace `{}`: must be a namespace name, optionally ending in `*`",
                        namespace.value
                    ),
                );
            }
        }
        if let Some(namespaces) = &policy.namespaces
            && namespaces.is_empty()
        {
            reader.error_hint(
                policy.policy.at,
                format!(
                    "access policy `{}` has an empty `namespaces`",
                    policy.policy.value
                ),
                "list namespaces, or remove `namespaces` to grant it on the whole cluster",
            );
        }
    }
    let (kind, principal) = access.principal.as_ref()?;
    let resolved = match kind {
        PrincipalKind::User => directory.user_arn(&principal.value),
        PrincipalKind::Role => directory.role_arn(&principal.value),
        PrincipalKind::Arn => directory.any_principal_arn(&principal.value),
        PrincipalKind::SsoPermissionSet => super::super::sso::check_name(&principal.value)
            .map(|()| directory.sso_role_arn(&principal.value))
            .map_err(|reason| super::super::resolve::Unresolved {
                message: format!(
                    "invalid permission set name `{}`: {reason}",
                    principal.value
                ),
                hint: None,
            }),
        PrincipalKind::Account => {
            if mode == AuthenticationMode::AccessEntries {
                reader.error_hint(
                    principal.at,
                    format!(
                        "`account` mappings exist only in aws-auth, but cluster `{}` uses access entries",
                        cluster.name.value
                    ),
                    "map the account's roles or users one by one, or set `authentication: both`",
                );
            }
            names::account_id(&principal.value)
                .map(|()| principal.value.clone())
                .map_err(|reason| super::super::resolve::Unresolved {
                    message: format!("invalid account `{}`: {reason}", principal.value),
                    hint: None,
                })
        }
    };
    match resolved {
        Ok(key) if entries && eks_rules::is_service_linked_role(&key) => {
            reader.error_hint(
                principal.at,
                format!(
                    "`{}` is a service-linked role, which cannot have an access entry (cluster `{}` uses access entries)",
                    principal.value, cluster.name.value
                ),
                format!(
                    "{SERVICE_LINKED_RULE}: remove the mapping; a service that needs the cluster gets its access from EKS, or through aws-auth on a cluster with `authentication: config-map`"
                ),
            );
            Some((principal, key))
        }
        Ok(key) => {
            match kind {
                PrincipalKind::User => super::unloaded_peer(reader, directory, principal, "user"),
                PrincipalKind::Role => super::unloaded_peer(reader, directory, principal, "role"),
                _ => {}
            }
            Some((principal, key))
        }
        Err(problem) => {
            unresolved(reader, principal, problem);
            None
        }
    }
}

/// `username` with a `:` before `template`, as the hint's example: the separator just before
/// it becomes the colon (`{{AccountID}}-{{SessionName}}` → `{{AccountID}}:{{SessionName}}`),
/// else one is put there.
fn colon_before(username: &str, template: &str) -> String {
    let at = username.find(template).unwrap_or_default();
    let (before, after) = username.split_at(at);
    match before.strip_suffix(['-', '_', '.', '@', '/', '=', ',']) {
        Some(stem) if !stem.is_empty() => format!("{stem}:{after}"),
        _ if before.is_empty() => format!("user:{after}"),
        _ => format!("{before}:{after}"),
    }
}

/// A Pod Identity role of another account than the file's: EKS refuses the association.
fn pod_identity_account(
    reader: &mut Reader<'_>,
    cluster: &ClusterSpec,
    role: &Text,
    directory: &Directory,
) {
    let Ok(arn) = directory.role_arn(&role.value) else {
        return;
    };
    let Some(IamArn::Role { account, .. }) = IamArn::parse(&arn) else {
        return;
    };
    if !directory.has_account() || account == directory.account {
        return;
    }
    reader.error_hint(
        role.at,
        format!(
            "the Pod Identity role `{}` is in account {account}, not in account {} of cluster `{}`",
            role.value, directory.account, cluster.name.value
        ),
        format!(
            "{POD_IDENTITY_ACCOUNT_RULE}: name a role of account {} (to reach another account, let that role assume the other one)",
            directory.account
        ),
    );
}

fn reserved_prefix(reader: &mut Reader<'_>, cluster: &ClusterSpec, text: &Text, what: &str) {
    if let Some(prefix) = names::EKS_RESERVED_PREFIXES
        .iter()
        .find(|prefix| text.value.starts_with(**prefix))
    {
        reader.error_hint(
            text.at,
            format!(
                "EKS rejects the {what} `{}` in access entries (cluster `{}`): the prefix `{prefix}` is reserved",
                text.value, cluster.name.value
            ),
            format!("choose a {what} that does not start with `system:`, `eks:`, `aws:`, `amazon:` or `iam:`"),
        );
    }
}

/// `AmazonEKSViewPolicy` or `arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy`.
fn access_policy_name(reader: &mut Reader<'_>, policy: &Text) {
    let valid = match parse_arn(&policy.value) {
        Some(arn) => arn.service == "eks" && arn.resource.starts_with("cluster-access-policy/"),
        None => !policy.value.is_empty() && policy.value.chars().all(|c| c.is_ascii_alphanumeric()),
    };
    if !valid {
        reader.error_hint(
            policy.at,
            format!("invalid access policy `{}`", policy.value),
            "name an EKS access policy, e.g. `AmazonEKSViewPolicy`, or its ARN `arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy`",
        );
    }
}

/// What a cluster declares, for references between its objects.
pub struct Scope<'c> {
    pub cluster: &'c ClusterSpec,
    namespaces: BTreeSet<String>,
    pub cluster_roles: BTreeSet<String>,
    pub roles: BTreeSet<String>,
}

impl<'c> Scope<'c> {
    fn new(cluster: &'c ClusterSpec) -> Self {
        Scope {
            cluster,
            namespaces: cluster
                .namespaces
                .iter()
                .map(|n| n.name.value.clone())
                .collect(),
            cluster_roles: cluster
                .cluster_roles
                .iter()
                .map(|r| r.name.value.clone())
                .collect(),
            roles: cluster.roles.iter().map(|r| r.name.value.clone()).collect(),
        }
    }

    fn declares_namespace(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace)
            || BUILTIN_NAMESPACES.contains(&namespace)
            || self.cluster.unsure
    }

    /// Splits `namespace/name` and checks the namespace is declared.
    pub fn namespaced<'t>(
        &self,
        reader: &mut Reader<'_>,
        key: &'t Text,
        kind: &str,
    ) -> Option<(&'t str, &'t str)> {
        let Some((namespace, name)) = key.value.split_once('/') else {
            reader.error_hint(
                key.at,
                format!("{kind} `{}` has no namespace", key.value),
                format!("write the key as `namespace/{}`", key.value),
            );
            return None;
        };
        if let Err(reason) = names::dns_label(namespace) {
            reader.error(key.at, format!("invalid namespace `{namespace}`: {reason}"));
            return Some((namespace, name));
        }
        if !self.declares_namespace(namespace) {
            let declared: Vec<String> = self.namespaces.iter().cloned().collect();
            let problem = unknown(
                "namespace",
                namespace,
                &declared,
                &format!(
                    "add it to `clusters.{}.namespaces`",
                    self.cluster.name.value
                ),
            );
            reader.error_hint(
                key.at,
                format!(
                    "{kind} `{}` is in namespace `{namespace}`, which cluster `{}` does not declare",
                    key.value, self.cluster.name.value
                ),
                problem.hint.unwrap_or_default(),
            );
        }
        Some((namespace, name))
    }

    pub fn has_cluster_role(&self, name: &str) -> bool {
        self.cluster_roles.contains(name)
            || BUILTIN_CLUSTER_ROLES.contains(&name)
            || name.starts_with("system:")
            || self.cluster.unsure
    }
}
