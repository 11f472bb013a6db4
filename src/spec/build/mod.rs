//! The desired state: the validated file turned into the model, with ownership markers added
//! (the `managed-by` tag, the group and policy paths, the Kubernetes label), references resolved to ARNs and
//! trust sugar expanded. Documents are converted here, so their mistakes are reported here.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::eks_rules;
use crate::model::{Acknowledgement, Address, Desired, Grant, Kind};
use crate::model::{
    Cluster, DEFAULT_GROUP_PATH, DocumentKind, Group, Iam, MANAGED_BY_TAG, MANAGED_BY_VALUE,
    OidcProvider, Policy, PolicyDocument, Role, STATE_FORMAT_VERSION, State, User,
    issuer_host_path,
};

mod cluster;

use super::documents;
use super::raw::{ClusterSpec, HolderKind, HolderSpec, InlineSpec, Pair, RoleSpec, Spec, Text};
use super::reader::Reader;
use super::resolve::Directory;
use super::trust;
use super::validate::limits::{self, Limits};

/// The acknowledged grants of the file (top level first, then each cluster's), each as drift
/// matches it; one that `validate` refused is left out (the load fails anyway).
pub fn acknowledged(spec: &Spec<'_>) -> Vec<Acknowledgement> {
    let account = spec.account.as_ref().map(|account| account.value.as_str());
    let top = spec.acknowledged.iter().map(|item| (None, item));
    let clusters = spec.clusters.iter().flat_map(|cluster| {
        cluster
            .acknowledged
            .iter()
            .map(|item| (Some(cluster.name.value.as_str()), item))
    });
    top.chain(clusters)
        .filter_map(|(cluster, item)| {
            let grant = Grant::parse(&item.grant.value, cluster, account).ok()?;
            Some(Acknowledgement {
                cluster: cluster.map(str::to_string),
                written: item.grant.value.clone(),
                grant,
                reason: item.reason.value.trim().to_string(),
            })
        })
        .collect()
}

/// The desired state, with what it leaves to live facts (IRSA issuers) in `pending`.
pub fn build(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    directory: &Directory,
    limits: &Limits,
    pending: &mut trust::Pending,
) -> Desired {
    let mut adopt = BTreeSet::new();
    let group_path = spec
        .iam
        .group_path
        .as_ref()
        .map_or_else(|| DEFAULT_GROUP_PATH.to_string(), |p| p.value.clone());
    let policy_path = spec.iam.policy_path().to_string();
    let iam = build_iam(
        reader,
        spec,
        directory,
        limits,
        pending,
        &group_path,
        &mut adopt,
    );
    let clusters = spec
        .clusters
        .iter()
        .map(|cluster| {
            let built = cluster::build_cluster(cluster, directory, &mut adopt);
            aws_auth_size(reader, limits, cluster, &built);
            (cluster.name.value.clone(), built)
        })
        .collect();
    let assume_role = spec.assume_role.as_ref().and_then(|assume| {
        Some(crate::model::AssumeRole {
            arn: assume.arn.as_ref()?.value.clone(),
            external_id: assume.external_id.as_ref().map(|id| id.value.clone()),
            session_name: assume.session_name.as_ref().map_or_else(
                || crate::model::DEFAULT_SESSION_NAME.to_string(),
                |name| name.value.clone(),
            ),
        })
    });
    Desired {
        assume_role,
        state: State {
            format_version: STATE_FORMAT_VERSION,
            account: spec.account.as_ref().map(|a| a.value.clone()),
            partition: directory.partition.clone(),
            caller: None,
            iam,
            clusters,
            scope: crate::model::ReadScope::Managed,
        },
        adopt,
        group_path,
        policy_path,
    }
}

fn managed_tags(tags: &[Pair]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = tags
        .iter()
        .map(|(key, value)| (key.value.clone(), value.value.clone()))
        .collect();
    map.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    map
}

fn path_or_root(path: Option<&Text>) -> String {
    path.map_or_else(|| "/".to_string(), |p| p.value.clone())
}

fn policy_arns(directory: &Directory, references: &[Text]) -> BTreeSet<String> {
    references
        .iter()
        .filter_map(|r| directory.policy_arn(&r.value).ok())
        .collect()
}

fn inline_documents(
    reader: &mut Reader<'_>,
    directory: &Directory,
    inline: &[InlineSpec<'_>],
) -> BTreeMap<String, PolicyDocument> {
    inline
        .iter()
        .filter_map(|(name, node)| {
            documents::document(reader, directory, node, DocumentKind::Identity)
                .map(|document| (name.value.clone(), document))
        })
        .collect()
}

fn build_iam(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    directory: &Directory,
    limits: &Limits,
    pending: &mut trust::Pending,
    group_path: &str,
    adopt: &mut BTreeSet<Address>,
) -> Iam {
    let mut iam = Iam::default();
    for policy in &spec.iam.policies {
        if policy.adopt {
            adopt.insert(Address::iam(Kind::Policy, &policy.name.value));
        }
        let Some(source) = &policy.document else {
            continue;
        };
        let Some(document) =
            documents::from_spec(reader, directory, source, DocumentKind::Identity)
        else {
            continue;
        };
        let what = format!("policy `{}`", policy.name.value);
        let size = limits::document_size(&document);
        limits.size(
            reader,
            &limits::MANAGED_POLICY_SIZE,
            policy.name.at,
            &what,
            size,
        );
        iam.policies.insert(
            policy.name.value.clone(),
            Policy {
                path: policy
                    .path
                    .as_ref()
                    .map_or_else(|| spec.iam.policy_path().to_string(), |p| p.value.clone()),
                description: policy.description.as_ref().map(|d| d.value.clone()),
                document,
                tags: managed_tags(&policy.tags),
            },
        );
    }
    holders(
        reader,
        directory,
        limits,
        &spec.iam.groups,
        adopt,
        &mut iam.groups,
        |_, _, holding| {
            Some(Group {
                path: group_path.to_string(),
                managed_policies: holding.managed_policies,
                inline_policies: holding.inline_policies,
                members: BTreeSet::new(),
            })
        },
    );
    holders(
        reader,
        directory,
        limits,
        &spec.iam.users,
        adopt,
        &mut iam.users,
        |_, user, holding| {
            Some(User {
                path: path_or_root(user.path.as_ref()),
                groups: user.groups.iter().map(|g| g.value.clone()).collect(),
                managed_policies: holding.managed_policies,
                inline_policies: holding.inline_policies,
                permissions_boundary: holding.permissions_boundary,
                tags: holding.tags,
            })
        },
    );
    access_keys(reader, spec, &mut iam.access_keys);
    let issuers = trust::issuers(spec);
    let mut irsa = trust::Irsa::default();
    let pod_identity_roles: BTreeSet<String> = spec
        .clusters
        .iter()
        .flat_map(|cluster| &cluster.service_accounts)
        .filter_map(|account| account.pod_identity.as_ref())
        .filter_map(|role| directory.role_arn(&role.value).ok())
        .collect();
    holders(
        reader,
        directory,
        limits,
        &spec.iam.roles,
        adopt,
        &mut iam.roles,
        |reader, role, holding| {
            let trust_spec = role.trust.as_ref()?;
            let pod_identity = directory
                .role_arn(&role.name.value)
                .is_ok_and(|arn| pod_identity_roles.contains(&arn));
            let before = irsa.pending.uses.len();
            let trust = trust::trust_document(
                reader,
                directory,
                &issuers,
                role,
                trust_spec,
                pod_identity,
                &mut irsa,
            )?;
            // A trust that names a live issuer is measured once the issuer is known.
            let live_clusters: BTreeSet<String> = irsa.pending.uses[before..]
                .iter()
                .map(|using| using.cluster.clone())
                .collect();
            if live_clusters.is_empty() {
                trust::check_length(reader, limits, &role.name.value, role.name.at, &trust);
            } else {
                irsa.pending.roles.push(trust::PendingRole {
                    name: role.name.value.clone(),
                    at: role.name.at,
                    clusters: live_clusters,
                });
            }
            check_trust(reader, role, &trust, pod_identity);
            Some(Role {
                path: path_or_root(role.path.as_ref()),
                description: role.description.as_ref().map(|d| d.value.clone()),
                max_session_duration: role
                    .max_session_duration
                    .as_ref()
                    .and_then(|d| u32::try_from(d.value).ok())
                    .unwrap_or_else(crate::model::default_max_session),
                trust,
                managed_policies: holding.managed_policies,
                inline_policies: holding.inline_policies,
                permissions_boundary: holding.permissions_boundary,
                tags: holding.tags,
                role_id: None,
            })
        },
    );
    *pending = irsa.pending;
    pending.limits = limits.clone();
    pending.sso = sso_uses(spec, directory);
    for (issuer, client_ids) in irsa.used {
        iam.oidc_providers.insert(
            issuer_host_path(&issuer).to_string(),
            OidcProvider {
                client_ids,
                tags: managed_tags(&[]),
            },
        );
    }
    iam
}

/// What a group, user and role hold alike, built by one path: the policies attached (by ARN),
/// the inline policies, the permissions boundary and the tags (with the ownership tag). A
/// group's spec has no boundary nor tags, and its model takes neither.
struct Holding {
    managed_policies: BTreeSet<String>,
    inline_policies: BTreeMap<String, PolicyDocument>,
    permissions_boundary: Option<String>,
    tags: BTreeMap<String, String>,
}

/// Builds every holder of one kind into `into`: the adoption and the [`Holding`] by one path,
/// the rest of the kind by `build`, which returns `None` to leave a holder out (its mistake is
/// reported).
/// The `accessKeys` of each user; a Secret must be in a cluster of this file.
fn access_keys(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    into: &mut BTreeMap<String, crate::model::AccessKeys>,
) {
    for user in &spec.iam.users {
        let Some(keys) = &user.own.access_keys else {
            continue;
        };
        for cluster in &keys.secret_clusters {
            if !spec.clusters.iter().any(|c| c.name.value == cluster.value) {
                let known: Vec<String> = spec
                    .clusters
                    .iter()
                    .map(|c| format!("`{}`", c.name.value))
                    .collect();
                reader.error_hint(
                    cluster.at,
                    format!(
                        "user `{}` delivers its access key to a Secret in cluster `{}`, which is not in `clusters`",
                        user.name.value, cluster.value
                    ),
                    if known.is_empty() {
                        "declare the cluster under `clusters`, or deliver to `secretsManager`".to_string()
                    } else {
                        format!("the clusters of this file: {}", known.join(", "))
                    },
                );
            }
        }
        into.insert(
            user.name.value.clone(),
            crate::model::AccessKeys {
                rotation: Some(keys.rotation.clone()),
                ..crate::model::AccessKeys::default()
            },
        );
    }
}

fn holders<'r, 'n, K: HolderKind, T>(
    reader: &mut Reader<'r>,
    directory: &Directory,
    limits: &Limits,
    specs: &[HolderSpec<'n, K>],
    adopt: &mut BTreeSet<Address>,
    into: &mut BTreeMap<String, T>,
    mut build: impl FnMut(&mut Reader<'r>, &HolderSpec<'n, K>, Holding) -> Option<T>,
) {
    for spec in specs {
        if spec.adopt {
            adopt.insert(Address::iam(K::ADDRESS, &spec.name.value));
        }
        let holding = Holding {
            managed_policies: policy_arns(directory, &spec.policies),
            inline_policies: inline_documents(reader, directory, &spec.inline),
            permissions_boundary: spec
                .permissions_boundary
                .as_ref()
                .and_then(|b| directory.policy_arn(&b.value).ok()),
            tags: managed_tags(&spec.tags),
        };
        inline_size(reader, limits, spec, &holding.inline_policies);
        if let Some(built) = build(reader, spec, holding) {
            into.insert(spec.name.value.clone(), built);
        }
    }
}

/// The aws-auth ConfigMap the file's own entries make, within Kubernetes' object size limit
/// (1 MiB): reported at the cluster. What live aws-auth holds besides (node roles, entries
/// accessctl does not manage) is only known at plan time, which checks the merged ConfigMap.
fn aws_auth_size(reader: &mut Reader<'_>, limits: &Limits, spec: &ClusterSpec, built: &Cluster) {
    let Some(aws_auth) = &built.aws_auth else {
        return;
    };
    let size = crate::model::aws_auth::data_size(&aws_auth.entries);
    let what = format!(
        "the aws-auth ConfigMap of cluster `{}` (the file's own entries)",
        spec.name.value
    );
    limits.size(reader, &limits::CONFIG_MAP_SIZE, spec.name.at, &what, size);
}

/// The inline policies of a holder, together, within IAM's quota for its kind: reported at
/// the inline policy that takes them over it.
fn inline_size<K: HolderKind>(
    reader: &mut Reader<'_>,
    limits: &Limits,
    spec: &HolderSpec<'_, K>,
    built: &BTreeMap<String, PolicyDocument>,
) {
    let mut total = 0;
    let mut over = None;
    for (name, _) in &spec.inline {
        if let Some(document) = built.get(&name.value) {
            total += limits::document_size(document);
            if over.is_none() && total > limits.of(K::POLICY_SIZE) {
                over = Some(name.at);
            }
        }
    }
    if let Some(at) = over {
        let what = format!(
            "the total of the inline policies of {} `{}`",
            K::KIND,
            spec.name.value
        );
        limits.size(reader, K::POLICY_SIZE, at, &what, total);
    }
}

/// What IAM would refuse in a trust policy, said before the plan (its size is checked by
/// [`trust::check_length`]): a raw document for a Pod Identity role that does not trust the
/// Pod Identity agent.
fn check_trust(
    reader: &mut Reader<'_>,
    role: &RoleSpec<'_>,
    trust: &PolicyDocument,
    pod_identity: bool,
) {
    if !pod_identity {
        return;
    }
    let gaps = eks_rules::pod_identity_trust_gaps(trust);
    if gaps.is_empty() {
        return;
    }
    reader.error_hint(
        role.name.at,
        format!(
            "role `{}` is used by `podIdentity` but its trust `document` does not allow `{}` {}",
            role.name.value,
            eks_rules::POD_IDENTITY_SERVICE,
            eks_rules::list_actions(&gaps),
        ),
        format!(
            "{}: add such a statement to the `document`, or use the trust sugar (accessctl then adds it)",
            eks_rules::POD_IDENTITY_TRUST_RULE
        ),
    );
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod eks_tests;

/// The access items naming an IAM Identity Center permission set: left to live state.
fn sso_uses(spec: &Spec<'_>, directory: &Directory) -> Vec<super::sso::SsoUse> {
    spec.clusters
        .iter()
        .flat_map(|cluster| {
            cluster
                .access
                .iter()
                .filter_map(|access| match &access.principal {
                    Some((super::raw::PrincipalKind::SsoPermissionSet, name))
                        if super::sso::check_name(&name.value).is_ok() =>
                    {
                        Some(super::sso::SsoUse {
                            cluster: cluster.name.value.clone(),
                            permission_set: name.value.clone(),
                            at: name.at,
                            partition: directory.partition.clone(),
                            account: directory.account.clone(),
                        })
                    }
                    _ => None,
                })
        })
        .collect()
}
