//! Checks of `bindings`: what they grant (a declared or built-in role) and to whom.

use super::super::raw::BindingSpec;
use super::super::reader::Reader;
use super::super::resolve::unknown;
use super::cluster::Scope;
use super::names;
use super::{part_rule, rule};

/// Checks one binding; `None` when its key is too broken to check the rest.
pub fn validate(reader: &mut Reader<'_>, scope: &Scope<'_>, binding: &BindingSpec) -> Option<()> {
    let key = &binding.name;
    let namespace = if key.value.contains('/') {
        let (namespace, name) = scope.namespaced(reader, key, "RoleBinding")?;
        part_rule(reader, key, name, "RoleBinding name", names::rbac_name);
        Some(namespace)
    } else {
        rule(reader, key, "ClusterRoleBinding name", names::rbac_name);
        None
    };
    grant(reader, scope, binding, namespace);
    for account in &binding.service_accounts {
        let (account_namespace, name) = match (account.value.split_once('/'), namespace) {
            (Some((_, name)), _) if name.contains('/') => {
                reader.error_hint(
                    account.at,
                    format!("invalid service account `{}`", account.value),
                    "write `namespace/name`, or `name` for one in the binding's namespace",
                );
                continue;
            }
            (Some(pair), _) => pair,
            (None, Some(namespace)) => (namespace, account.value.as_str()),
            (None, None) => {
                reader.error_hint(
                    account.at,
                    format!(
                        "service account `{}` of ClusterRoleBinding `{}` has no namespace",
                        account.value, key.value
                    ),
                    format!("write `namespace/{}`", account.value),
                );
                continue;
            }
        };
        super::service_account_parts(reader, account, account_namespace, name);
    }
    for subject in binding.users.iter().chain(&binding.groups) {
        if subject.value.is_empty() {
            reader.error(subject.at, "a subject name cannot be empty");
        }
    }
    super::metadata(reader, &binding.meta);
    Some(())
}

fn grant(
    reader: &mut Reader<'_>,
    scope: &Scope<'_>,
    binding: &BindingSpec,
    namespace: Option<&str>,
) {
    let key = &binding.name;
    let kind = if namespace.is_some() {
        "RoleBinding"
    } else {
        "ClusterRoleBinding"
    };
    match (&binding.cluster_role, &binding.role, namespace) {
        (Some(_), Some(role), _) => reader.error_hint(
            role.at,
            format!("{kind} `{}` has both `clusterRole` and `role`", key.value),
            "a binding grants exactly one of them",
        ),
        (None, None, _) => reader.error_hint(
            key.at,
            format!("{kind} `{}` grants nothing", key.value),
            "add `clusterRole: NAME` or, for a RoleBinding, `role: NAME`",
        ),
        (None, Some(role), None) => reader.error_hint(
            role.at,
            format!("ClusterRoleBinding `{}` cannot grant a Role", key.value),
            format!(
                "use `clusterRole`, or make it a RoleBinding with the key `namespace/{}`",
                key.value
            ),
        ),
        (None, Some(role), Some(namespace)) => {
            let qualified = format!("{namespace}/{}", role.value);
            let system = role.value.starts_with("system:");
            if !system && !scope.roles.contains(&qualified) && !scope.cluster.unsure {
                let in_namespace: Vec<String> = scope
                    .roles
                    .iter()
                    .filter_map(|r| r.strip_prefix(&format!("{namespace}/")))
                    .map(str::to_string)
                    .collect();
                let problem = unknown(
                    "Role",
                    &role.value,
                    &in_namespace,
                    &format!(
                        "declare it under `roles` as `{qualified}`, in the binding's namespace"
                    ),
                );
                reader.error_hint(
                    role.at,
                    format!("unknown Role `{}` in namespace `{namespace}`", role.value),
                    problem.hint.unwrap_or_default(),
                );
            }
        }
        (Some(cluster_role), None, _) => {
            if !scope.has_cluster_role(&cluster_role.value) {
                let problem = unknown(
                    "ClusterRole",
                    &cluster_role.value,
                    &scope.cluster_roles,
                    "declare it under `clusterRoles`, or use a built-in one: `cluster-admin`, `admin`, `edit` or `view`",
                );
                super::unresolved(reader, cluster_role, problem);
            }
        }
    }
}
