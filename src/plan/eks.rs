//! What the planner knows about EKS beyond single objects: whether the cluster's authentication
//! mode can serve the file's `authentication:`, access entries left broken by a recreated IAM
//! role (same ARN, new unique id), in `both` mode, access entries and aws-auth entries for
//! one principal that say different things, and Pod Identity roles EKS would refuse.

use std::collections::BTreeSet;

use crate::model::eks_rules::{self, POD_IDENTITY_ACCOUNT_RULE, POD_IDENTITY_TRUST_RULE};
use crate::model::{AccessEntry, AuthenticationMode, IamArn, MapKind, State, arn};

use super::diff::STANDARD_ACCESS_ENTRY;
use super::{Address, Desired, Findings, Kind, Note, Problem};

/// Runs the EKS checks over the plan's changes and the state `after` them (the planner's one
/// projection of the plan).
pub(super) fn check(desired: &Desired, live: &State, after: &State) -> Findings {
    let mut outcome = Findings::default();
    for (name, want) in &desired.state.clusters {
        let Some(have) = live.clusters.get(name) else {
            continue;
        };
        let (wanted, actual) = (want.authentication, have.authentication);
        if !serves(wanted, actual) {
            outcome.problems.push(Problem::Authentication {
                cluster: name.clone(),
                region: want.region.clone(),
                wanted,
                actual,
            });
        }
    }
    disagreements(desired, live, after, &mut outcome.notes);
    pod_identity_roles(desired, live, &mut outcome.problems);
    outcome
}

/// Refuses a Pod Identity association this plan creates or points at another role when EKS
/// would refuse its role: one not in the cluster's account, one that does not exist, or one
/// whose trust does not let the Pod Identity agent assume it and tag the session. Roles of
/// the file are checked when the file is loaded (their trust is built from it); here the
/// others are, from the live role IAM holds.
fn pod_identity_roles(desired: &Desired, live: &State, problems: &mut Vec<Problem>) {
    // The file's account is the clusters' (a caller in another one is refused, or allowed,
    // by the account check); without one, the caller's.
    let account = desired.state.account.as_deref().or(live.account.as_deref());
    for (cluster, want) in &desired.state.clusters {
        let have = live.clusters.get(cluster);
        for (key, association) in &want.pod_identity {
            let unchanged = have
                .and_then(|have| have.pod_identity.get(key))
                .is_some_and(|live| live.role_arn == association.role_arn);
            if unchanged {
                continue;
            }
            let role_arn = &association.role_arn;
            let Some(IamArn::Role {
                account: role_account,
                path,
                name,
                ..
            }) = IamArn::parse(role_arn)
            else {
                continue;
            };
            let of_the_file = desired
                .state
                .iam
                .roles
                .get(&name)
                .is_some_and(|role| role.path == path)
                && desired.state.account.as_deref() == Some(role_account.as_str());
            if of_the_file {
                continue;
            }
            let refusal = if account.is_some_and(|account| account != role_account) {
                Some((
                    format!(
                        "the Pod Identity role `{role_arn}` is in account {role_account}, not in the cluster's account {}",
                        account.unwrap_or_default()
                    ),
                    format!(
                        "{POD_IDENTITY_ACCOUNT_RULE}: name a role of account {} (to reach another account, let that role assume the other one)",
                        account.unwrap_or_default()
                    ),
                ))
            } else {
                match live.iam.roles.get(&name).filter(|role| role.path == path) {
                    None => Some((
                        format!("the Pod Identity role `{role_arn}` does not exist"),
                        "create the role (or declare it under `iam.roles`), or fix the ARN in `podIdentity`".to_string(),
                    )),
                    Some(role) => {
                        let gaps = eks_rules::pod_identity_trust_gaps(&role.trust);
                        (!gaps.is_empty()).then(|| {
                            (
                                format!(
                                    "the trust policy of the Pod Identity role `{role_arn}` does not allow `{}` {}",
                                    eks_rules::POD_IDENTITY_SERVICE,
                                    eks_rules::list_actions(&gaps)
                                ),
                                format!(
                                    "{POD_IDENTITY_TRUST_RULE}: add a statement `{{\"Effect\": \"Allow\", \"Principal\": {{\"Service\": \"pods.eks.amazonaws.com\"}}, \"Action\": [\"sts:AssumeRole\", \"sts:TagSession\"]}}` to the role's trust (`aws iam update-assume-role-policy --role-name {name}`), or declare the role under `iam.roles` so accessctl adds it"
                                ),
                            )
                        })
                    }
                }
            };
            if let Some((message, hint)) = refusal {
                problems.push(Problem::Refused {
                    address: Address::cluster(Kind::PodIdentity, cluster, key),
                    message: format!("{message} (cluster `{cluster}`, service account `{key}`)"),
                    hint,
                });
            }
        }
    }
}

fn file_word(mode: AuthenticationMode) -> &'static str {
    match mode {
        AuthenticationMode::ConfigMap => "config-map",
        AuthenticationMode::AccessEntries => "access-entries",
        AuthenticationMode::Both => "both",
    }
}

fn eks_word(mode: AuthenticationMode) -> &'static str {
    match mode {
        AuthenticationMode::ConfigMap => "CONFIG_MAP",
        AuthenticationMode::AccessEntries => "API",
        AuthenticationMode::Both => "API_AND_CONFIG_MAP",
    }
}

pub(super) fn authentication_message(problem: &Problem) -> String {
    let Problem::Authentication {
        cluster,
        wanted,
        actual,
        ..
    } = problem
    else {
        return problem.message();
    };
    let unused = if wanted.uses_access_entries() && !actual.uses_access_entries() {
        "EKS access entries, which this cluster does not accept"
    } else {
        "the aws-auth ConfigMap, which this cluster ignores"
    };
    format!(
        "cluster `{cluster}` authenticates with `{}` but access.yaml sets `authentication: {}`, which grants access through {unused}",
        eks_word(*actual),
        file_word(*wanted),
    )
}

pub(super) fn authentication_hint(problem: &Problem) -> String {
    let Problem::Authentication {
        cluster,
        region,
        wanted,
        actual,
    } = problem
    else {
        return problem.hint();
    };
    let region = region
        .as_ref()
        .map(|region| format!(" --region {region}"))
        .unwrap_or_default();
    let command = |mode: &str| {
        format!(
            "`aws eks update-cluster-config --name {cluster}{region} --access-config authenticationMode={mode}`"
        )
    };
    if wanted.uses_access_entries() && !actual.uses_access_entries() {
        format!(
            "switch the cluster to access entries with {} (EKS moves CONFIG_MAP → API_AND_CONFIG_MAP → API, one way only), or set `authentication: config-map`",
            command("API_AND_CONFIG_MAP")
        )
    } else if *actual == AuthenticationMode::AccessEntries {
        "set `authentication: access-entries`: EKS cannot switch a cluster back from API to the ConfigMap".to_string()
    } else {
        format!(
            "set `authentication: {}`, or change the cluster with {}",
            file_word(*actual),
            command("API_AND_CONFIG_MAP")
        )
    }
}

/// The live IAM role an access entry's principal ARN names, when it is a role of this account.
fn live_role_id<'a>(live: &'a State, principal: &str) -> Option<Option<&'a str>> {
    let IamArn::Role {
        account,
        path,
        name,
        ..
    } = IamArn::parse(principal)?
    else {
        return None;
    };
    if live.account.as_deref().is_some_and(|a| a != account) {
        return None;
    }
    Some(
        live.iam
            .roles
            .get(&name)
            .filter(|role| role.path == path)
            .and_then(|role| role.role_id.as_deref()),
    )
}

/// Why an owned (or adopted) STANDARD access entry no longer authenticates anyone and must be
/// replaced, or `None` when it still does: EKS binds an entry to the role's unique id, so an
/// entry whose role was recreated (its recorded id is not the role's id now), or whose role
/// does not exist and is created by this plan (`created_roles`: the ARNs of the roles the plan
/// creates or replaces), matches no one. `diff` asks this while it decides the entry's action.
pub(super) fn stale_entry(
    live: &State,
    created_roles: &BTreeSet<String>,
    principal: &str,
    entry: &AccessEntry,
) -> Option<String> {
    let role_id = live_role_id(live, principal)?;
    match (role_id, entry.principal_id.as_deref()) {
        (Some(now), Some(recorded)) if now != recorded => Some(format!(
            "the IAM role was recreated (id `{recorded}` when the entry was made, `{now}` now): EKS no longer matches the entry to it"
        )),
        (None, _) if created_roles.contains(principal) => Some(
            "the IAM role does not exist and this plan creates it: an entry made for an earlier role with this ARN does not match the new one".to_string(),
        ),
        _ => None,
    }
}

/// Whether a cluster authenticating with `actual` serves the file's `wanted` mode.
pub(super) fn serves(wanted: AuthenticationMode, actual: AuthenticationMode) -> bool {
    (!wanted.uses_config_map() || actual.uses_config_map())
        && (!wanted.uses_access_entries() || actual.uses_access_entries())
}

/// aws-auth matches roles without their path.
fn aws_auth_key(principal: &str) -> String {
    arn::aws_auth_key(principal)
}

/// In `both` mode EKS uses the access entry when a principal has one, whatever aws-auth says:
/// say so when, after this plan, the two differ.
fn disagreements(desired: &Desired, live: &State, after: &State, notes: &mut Vec<Note>) {
    let both: Vec<&String> = desired
        .state
        .clusters
        .iter()
        .filter(|(name, want)| {
            want.authentication == AuthenticationMode::Both
                && live
                    .clusters
                    .get(*name)
                    .is_some_and(|have| have.authentication == AuthenticationMode::Both)
        })
        .map(|(name, _)| name)
        .collect();
    if both.is_empty() {
        return;
    }
    for name in both {
        let Some(cluster) = after.clusters.get(name) else {
            continue;
        };
        let Some(auth) = &cluster.aws_auth else {
            continue;
        };
        for (principal, entry) in &cluster.access_entries {
            if entry.kind != STANDARD_ACCESS_ENTRY {
                continue;
            }
            let key = aws_auth_key(principal);
            for mapped in auth
                .effective()
                .filter(|mapped| mapped.kind != MapKind::MapAccounts && mapped.arn == key)
            {
                if let Some(difference) = difference(entry, &mapped.username, &mapped.groups) {
                    notes.push(Note {
                        address: Some(Address::cluster(Kind::AccessEntry, name, principal)),
                        message: format!(
                            "the access entry and the aws-auth entry of this principal disagree ({difference}); EKS uses the access entry"
                        ),
                    });
                }
            }
        }
    }
}

fn difference(entry: &AccessEntry, username: &Option<String>, groups: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    // EKS fills in a username when an access entry has none: only compare explicit ones.
    if let (Some(left), Some(right)) = (&entry.username, username)
        && left != right
    {
        parts.push(format!("username `{left}` vs `{right}`"));
    }
    let mapped: BTreeSet<&str> = groups.iter().map(String::as_str).collect();
    let granted: BTreeSet<&str> = entry.groups.iter().map(String::as_str).collect();
    if mapped != granted {
        let list = |set: &BTreeSet<&str>| {
            if set.is_empty() {
                "none".to_string()
            } else {
                set.iter()
                    .map(|group| format!("`{group}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        parts.push(format!("groups {} vs {}", list(&granted), list(&mapped)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests;
