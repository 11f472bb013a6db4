//! The desired state: the validated file turned into the model, with ownership markers added
//! (the `managed-by` tag, the group and policy paths, the Kubernetes label), references resolved to ARNs and
//! trust sugar expanded. Documents are converted here, so their mistakes are reported here.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::eks_rules;
use crate::model::{Address, Desired, Kind};
use crate::model::{
    DEFAULT_GROUP_PATH, DocumentKind, Group, Iam, MANAGED_BY_TAG, MANAGED_BY_VALUE, OidcProvider,
    Policy, PolicyDocument, Role, STATE_FORMAT_VERSION, State, User, issuer_host_path,
};

mod cluster;

use super::documents;
use super::raw::{InlineSpec, Pair, RoleSpec, Spec, Text};
use super::reader::Reader;
use super::resolve::Directory;
use super::trust::{self, STS_AUDIENCE};

/// The desired state, with what it leaves to live facts (IRSA issuers) in `pending`.
pub fn build(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    directory: &Directory,
    pending: &mut trust::Pending,
) -> Desired {
    let mut adopt = BTreeSet::new();
    let group_path = spec
        .iam
        .group_path
        .as_ref()
        .map_or_else(|| DEFAULT_GROUP_PATH.to_string(), |p| p.value.clone());
    let policy_path = spec.iam.policy_path().to_string();
    let iam = build_iam(reader, spec, directory, pending, &group_path, &mut adopt);
    let clusters = spec
        .clusters
        .iter()
        .map(|cluster| {
            let built = cluster::build_cluster(cluster, directory, &mut adopt);
            (cluster.name.value.clone(), built)
        })
        .collect();
    Desired {
        state: State {
            format_version: STATE_FORMAT_VERSION,
            account: spec.account.as_ref().map(|a| a.value.clone()),
            partition: directory.partition.clone(),
            caller: None,
            iam,
            clusters,
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
    for group in &spec.iam.groups {
        if group.adopt {
            adopt.insert(Address::iam(Kind::Group, &group.name.value));
        }
        iam.groups.insert(
            group.name.value.clone(),
            Group {
                path: group_path.to_string(),
                managed_policies: policy_arns(directory, &group.policies),
                inline_policies: inline_documents(reader, directory, &group.inline),
                members: BTreeSet::new(),
            },
        );
    }
    for user in &spec.iam.users {
        if user.adopt {
            adopt.insert(Address::iam(Kind::User, &user.name.value));
        }
        iam.users.insert(
            user.name.value.clone(),
            User {
                path: path_or_root(user.path.as_ref()),
                groups: user.groups.iter().map(|g| g.value.clone()).collect(),
                managed_policies: policy_arns(directory, &user.policies),
                inline_policies: inline_documents(reader, directory, &user.inline),
                permissions_boundary: user
                    .permissions_boundary
                    .as_ref()
                    .and_then(|b| directory.policy_arn(&b.value).ok()),
                tags: managed_tags(&user.tags),
            },
        );
    }
    let issuers = trust::issuers(spec);
    let mut irsa = trust::Irsa::default();
    let pod_identity_roles: BTreeSet<String> = spec
        .clusters
        .iter()
        .flat_map(|cluster| &cluster.service_accounts)
        .filter_map(|account| account.pod_identity.as_ref())
        .filter_map(|role| directory.role_arn(&role.value).ok())
        .collect();
    for role in &spec.iam.roles {
        if role.adopt {
            adopt.insert(Address::iam(Kind::Role, &role.name.value));
        }
        let inline_policies = inline_documents(reader, directory, &role.inline);
        let Some(trust_spec) = &role.trust else {
            continue;
        };
        let pod_identity = directory
            .role_arn(&role.name.value)
            .is_ok_and(|arn| pod_identity_roles.contains(&arn));
        let before = irsa.pending.uses.len();
        let Some(trust) = trust::trust_document(
            reader,
            directory,
            &issuers,
            role,
            trust_spec,
            pod_identity,
            &mut irsa,
        ) else {
            continue;
        };
        // A trust that names a live issuer is measured once the issuer is known.
        let live_clusters: BTreeSet<String> = irsa.pending.uses[before..]
            .iter()
            .map(|using| using.cluster.clone())
            .collect();
        if live_clusters.is_empty() {
            trust::check_length(reader, &role.name.value, role.name.at, &trust);
        } else {
            irsa.pending.roles.push(trust::PendingRole {
                name: role.name.value.clone(),
                at: role.name.at,
                clusters: live_clusters,
            });
        }
        check_trust(reader, role, &trust, pod_identity);
        iam.roles.insert(
            role.name.value.clone(),
            Role {
                path: path_or_root(role.path.as_ref()),
                description: role.description.as_ref().map(|d| d.value.clone()),
                max_session_duration: role
                    .max_session_duration
                    .as_ref()
                    .and_then(|d| u32::try_from(d.value).ok())
                    .unwrap_or_else(crate::model::default_max_session),
                trust,
                managed_policies: policy_arns(directory, &role.policies),
                inline_policies,
                permissions_boundary: role
                    .permissions_boundary
                    .as_ref()
                    .and_then(|b| directory.policy_arn(&b.value).ok()),
                tags: managed_tags(&role.tags),
                role_id: None,
            },
        );
    }
    *pending = irsa.pending;
    for issuer in irsa.used {
        iam.oidc_providers.insert(
            issuer_host_path(&issuer).to_string(),
            OidcProvider {
                client_ids: BTreeSet::from([STS_AUDIENCE.to_string()]),
                tags: managed_tags(&[]),
            },
        );
    }
    iam
}

/// What EKS would refuse in a trust policy, said before the plan (its size is checked by
/// [`trust::check_length`]): the trust of a Pod Identity role that does not let the Pod
/// Identity agent assume the role and tag the session. Generated trusts always do; a raw
/// `document` is read through the policy model, as IAM reads it.
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
