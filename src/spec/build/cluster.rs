//! Cluster objects of the desired state: aws-auth entries and access entries from `access`,
//! namespaces, RBAC objects and service accounts, each with the ownership label.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AccessEntry, AccessScope, AwsAuth, AwsAuthEntry, Binding, Cluster, IRSA_ANNOTATION, IamArn,
    MANAGED_BY_LABEL, MANAGED_BY_VALUE, MapKind, Meta, Namespace, PodIdentityAssociation,
    PolicyRule, RbacRole, RoleRef, RoleRefKind, ServiceAccount, Subject, SubjectKind, arn,
};
use crate::model::{Address, Kind};

use super::super::raw::{
    AccessSpec, BindingSpec, ClusterSpec, MetaSpec, Pair, PrincipalKind, RbacRoleSpec, RuleSpec,
    Text,
};
use super::super::resolve::Directory;
use super::managed_tags;

pub fn build_cluster(
    spec: &ClusterSpec,
    directory: &Directory,
    adopt: &mut BTreeSet<Address>,
) -> Cluster {
    let name = spec.name.value.as_str();
    let mode = spec.authentication.value;
    let mut cluster = Cluster {
        region: spec.region.as_ref().map(|r| r.value.clone()),
        eks_name: None,
        context: spec.context.as_ref().map(|c| c.value.clone()),
        authentication: mode,
        oidc_issuer: spec.oidc_issuer.as_ref().map(|i| i.value.clone()),
        ..Cluster::default()
    };
    let mut aws_auth = AwsAuth::default();
    for access in &spec.access {
        let Some(mapping) = Mapping::resolve(access, directory) else {
            continue;
        };
        if mode.uses_config_map() {
            let key = mapping.aws_auth_key();
            if access.adopt {
                adopt.insert(Address::cluster(Kind::AwsAuth, name, &key));
            }
            aws_auth.managed.insert(key.clone());
            aws_auth.entries.push(AwsAuthEntry {
                kind: mapping.kind,
                arn: key,
                username: access.username.as_ref().map(|u| u.value.clone()),
                groups: access
                    .groups
                    .iter()
                    .map(|g| g.value.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            });
        }
        if mode.uses_access_entries() && mapping.kind != MapKind::MapAccounts {
            if access.adopt {
                adopt.insert(Address::cluster(Kind::AccessEntry, name, &mapping.arn));
            }
            cluster
                .access_entries
                .insert(mapping.arn.clone(), access_entry(access, directory));
        }
    }
    // Access entries only: accessctl still owns aws-auth's (empty) set of managed entries, so
    // entries it managed before a switch of mode are removed.
    cluster.aws_auth = Some(aws_auth);
    for namespace in &spec.namespaces {
        let object = Namespace {
            meta: meta(&namespace.meta),
        };
        let at = Address::cluster(Kind::Namespace, name, &namespace.name.value);
        declare(&mut cluster.namespaces, at, namespace.adopt, object, adopt);
    }
    let scopes = [
        (
            Kind::ClusterRole,
            &spec.cluster_roles,
            &mut cluster.cluster_roles,
        ),
        (Kind::K8sRole, &spec.roles, &mut cluster.roles),
    ];
    for (kind, specs, roles) in scopes {
        for role in specs {
            let object = RbacRole {
                meta: meta(&role.meta),
                rules: rules(role),
                aggregation_rule: None,
            };
            let at = Address::cluster(kind, name, &role.name.value);
            declare(roles, at, role.adopt, object, adopt);
        }
    }
    for binding in &spec.bindings {
        build_binding(&mut cluster, name, binding, adopt);
    }
    for account in &spec.service_accounts {
        let mut meta = meta(&account.meta);
        if let Some(role_arn) = account
            .iam_role
            .as_ref()
            .and_then(|role| directory.role_arn(&role.value).ok())
        {
            meta.annotations
                .insert(IRSA_ANNOTATION.to_string(), role_arn);
        }
        let at = Address::cluster(Kind::ServiceAccount, name, &account.name.value);
        let object = ServiceAccount { meta };
        declare(
            &mut cluster.service_accounts,
            at,
            account.adopt,
            object,
            adopt,
        );
        if let Some(role_arn) = account
            .pod_identity
            .as_ref()
            .and_then(|role| directory.role_arn(&role.value).ok())
        {
            let at = Address::cluster(Kind::PodIdentity, name, &account.name.value);
            let object = PodIdentityAssociation {
                role_arn,
                tags: managed_tags(&[]),
                association_id: None,
            };
            declare(&mut cluster.pod_identity, at, account.adopt, object, adopt);
        }
    }
    cluster
}

/// Puts `object` in the desired cluster under the name `at` names, adopted when `adopted`.
fn declare<T>(
    objects: &mut BTreeMap<String, T>,
    at: Address,
    adopted: bool,
    object: T,
    adopt: &mut BTreeSet<Address>,
) {
    objects.insert(at.name.clone(), object);
    if adopted {
        adopt.insert(at);
    }
}

/// An access mapping's principal, resolved.
struct Mapping {
    kind: MapKind,
    /// The principal ARN (with its path), or the account id.
    arn: String,
}

impl Mapping {
    fn resolve(access: &AccessSpec, directory: &Directory) -> Option<Mapping> {
        let (kind, principal) = access.principal.as_ref()?;
        let value = principal.value.as_str();
        let (kind, arn) = match kind {
            PrincipalKind::User => (MapKind::MapUsers, directory.user_arn(value).ok()?),
            PrincipalKind::Role => (MapKind::MapRoles, directory.role_arn(value).ok()?),
            PrincipalKind::Arn => {
                let arn = directory.any_principal_arn(value).ok()?;
                let is_role = matches!(IamArn::parse(&arn), Some(IamArn::Role { .. }));
                (
                    if is_role {
                        MapKind::MapRoles
                    } else {
                        MapKind::MapUsers
                    },
                    arn,
                )
            }
            PrincipalKind::Account => (MapKind::MapAccounts, value.to_string()),
            // The stand-in until live state is known: `sso::resolve` replaces it.
            PrincipalKind::SsoPermissionSet => (MapKind::MapRoles, directory.sso_role_arn(value)),
        };
        Some(Mapping { kind, arn })
    }

    /// aws-auth matches roles by ARN without the path (EKS documents that a `rolearn` with a
    /// path never matches), so role entries are written without it.
    fn aws_auth_key(&self) -> String {
        if self.kind != MapKind::MapRoles {
            return self.arn.clone();
        }
        arn::aws_auth_key(&self.arn)
    }
}

fn access_entry(access: &AccessSpec, directory: &Directory) -> AccessEntry {
    let mut policies: BTreeMap<String, AccessScope> = BTreeMap::new();
    for policy in &access.access_policies {
        let arn = if policy.policy.value.starts_with("arn:") {
            policy.policy.value.clone()
        } else {
            arn::eks_access_policy(&directory.partition, &policy.policy.value)
        };
        let scope = match &policy.namespaces {
            None => AccessScope::Cluster,
            Some(namespaces) => AccessScope::Namespace {
                namespaces: namespaces.iter().map(|n| n.value.clone()).collect(),
            },
        };
        // The same policy listed twice: the wider scope wins, namespaces add up.
        let merged = match (policies.remove(&arn), scope) {
            (
                Some(AccessScope::Namespace {
                    namespaces: mut old,
                }),
                AccessScope::Namespace { namespaces: new },
            ) => {
                old.extend(new);
                AccessScope::Namespace { namespaces: old }
            }
            (Some(AccessScope::Cluster), _) | (_, AccessScope::Cluster) => AccessScope::Cluster,
            (None, scope) => scope,
        };
        policies.insert(arn, merged);
    }
    AccessEntry {
        kind: "STANDARD".to_string(),
        username: access.username.as_ref().map(|u| u.value.clone()),
        groups: access.groups.iter().map(|g| g.value.clone()).collect(),
        policies,
        tags: managed_tags(&[]),
        principal_id: None,
    }
}

fn meta(spec: &MetaSpec) -> Meta {
    let pairs = |pairs: &[Pair]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.value.clone(), value.value.clone()))
            .collect()
    };
    let mut labels = pairs(&spec.labels);
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
    Meta {
        labels,
        annotations: pairs(&spec.annotations),
    }
}

fn rules(role: &RbacRoleSpec) -> BTreeSet<PolicyRule> {
    role.rules.iter().map(rule).collect()
}

fn rule(spec: &RuleSpec) -> PolicyRule {
    let set = |list: &Option<Vec<Text>>| -> BTreeSet<String> {
        list.iter().flatten().map(|t| t.value.clone()).collect()
    };
    PolicyRule {
        api_groups: set(&spec.api_groups),
        resources: set(&spec.resources),
        resource_names: set(&spec.resource_names),
        non_resource_urls: set(&spec.non_resource_urls),
        verbs: set(&spec.verbs),
    }
}

fn build_binding(
    cluster: &mut Cluster,
    name: &str,
    spec: &BindingSpec,
    adopt: &mut BTreeSet<Address>,
) {
    let namespace = spec
        .name
        .value
        .split_once('/')
        .map(|(namespace, _)| namespace);
    let role_ref = match (&spec.cluster_role, &spec.role) {
        (Some(cluster_role), None) => RoleRef {
            kind: RoleRefKind::ClusterRole,
            name: cluster_role.value.clone(),
        },
        (None, Some(role)) if namespace.is_some() => RoleRef {
            kind: RoleRefKind::Role,
            name: role.value.clone(),
        },
        // Both, neither, or a Role in a ClusterRoleBinding: reported by validation.
        _ => return,
    };
    let mut subjects = BTreeSet::new();
    for user in &spec.users {
        subjects.insert(Subject {
            kind: SubjectKind::User,
            name: user.value.clone(),
            namespace: None,
        });
    }
    for group in &spec.groups {
        subjects.insert(Subject {
            kind: SubjectKind::Group,
            name: group.value.clone(),
            namespace: None,
        });
    }
    for account in &spec.service_accounts {
        let (account_namespace, account_name) = match (account.value.split_once('/'), namespace) {
            (Some((ns, n)), _) => (ns, n),
            (None, Some(ns)) => (ns, account.value.as_str()),
            (None, None) => continue,
        };
        subjects.insert(Subject {
            kind: SubjectKind::ServiceAccount,
            name: account_name.to_string(),
            namespace: Some(account_namespace.to_string()),
        });
    }
    let binding = Binding {
        meta: meta(&spec.meta),
        role_ref,
        subjects,
    };
    let (kind, bindings) = if namespace.is_some() {
        (Kind::RoleBinding, &mut cluster.role_bindings)
    } else {
        (Kind::ClusterRoleBinding, &mut cluster.cluster_role_bindings)
    };
    let at = Address::cluster(kind, name, &spec.name.value);
    declare(bindings, at, spec.adopt, binding, adopt);
}
