//! `who-can` and `can-i`: answers to one request, for every IAM principal of the state or for
//! one, each with the shortest route as evidence, and the Kubernetes subjects (users, groups,
//! service accounts) the cluster's bindings let make it; as data and as text. No I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use super::chain::{self, Answer, Certainty, mark};
use super::iam_eval::Principal;
use super::rbac::{self, Grant, Request};
use super::reach::Reach;
use crate::model::{Cluster, State, SubjectKind};

/// One principal that can (possibly) do it, in one cluster.
#[derive(Clone, Debug, Serialize)]
pub struct Holder {
    pub principal: Principal,
    #[serde(flatten)]
    pub answer: Answer,
}

/// Everyone who can (possibly) make the request: sure answers first, then by cluster and
/// principal.
pub fn who_can(state: &State, request: &Request, only: Option<&str>) -> Vec<Holder> {
    who_can_in(&Reach::new(state), request, only)
}

/// [`who_can`] over an index of the state.
pub fn who_can_in(reach: &Reach<'_>, request: &Request, only: Option<&str>) -> Vec<Holder> {
    let mut holders: Vec<Holder> = reach
        .who_can(request, only)
        .into_iter()
        .map(|(index, answer)| Holder {
            principal: reach.principals()[index].clone(),
            answer,
        })
        .collect();
    holders.sort_by(|a, b| {
        (a.answer.certainty, &a.answer.cluster, &a.principal).cmp(&(
            b.answer.certainty,
            &b.answer.cluster,
            &b.principal,
        ))
    });
    holders
}

/// A Kubernetes subject that a binding of a cluster lets make the request (whoever it
/// authenticates as: an IAM identity mapped into the group, a service account's token, a
/// certificate).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Subject {
    pub cluster: String,
    /// `group`, `user` or `service-account`.
    pub kind: &'static str,
    /// The group or user name; for a service account its username,
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub name: String,
    /// The binding that allows it, and the rule.
    pub grant: String,
    pub rule: String,
    /// The binding is not accessctl's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

/// Every Kubernetes subject the clusters' bindings (or just `only`'s) let make the request:
/// the users and groups the bindings name (the state's, and the built-in ones it does not
/// hold), and each service account (of the cluster, or named by a binding) with its groups
/// `system:serviceaccounts` and `system:serviceaccounts:NAMESPACE`. By cluster, kind and name.
pub fn subjects(state: &State, request: &Request, only: Option<&str>) -> Vec<Subject> {
    let mut found = BTreeSet::new();
    for (name, cluster) in &state.clusters {
        if only.is_some_and(|wanted| wanted != name) {
            continue;
        }
        let allowing = |grants: &[Grant]| {
            rbac::allowing(grants, request).map(|(grant, rule)| {
                let unmanaged = chain::binding_of(cluster, grant)
                    .is_some_and(|binding| !binding.meta.is_owned());
                (grant.source.clone(), rbac::describe_rule(rule), unmanaged)
            })
        };
        let subject = |kind, who: String, (grant, rule, unmanaged)| Subject {
            cluster: name.clone(),
            kind,
            name: who,
            grant,
            rule,
            unmanaged,
        };
        let mut named: BTreeMap<(&'static str, String), Subject> = BTreeMap::new();
        let indexed = rbac::ClusterGrants::new(cluster);
        for ((_, _, binding), grant) in indexed.every_binding() {
            let Some(allowed) = allowing(std::slice::from_ref(grant)) else {
                continue;
            };
            for bound in &binding.subjects {
                let kind = match bound.kind {
                    SubjectKind::User => "user",
                    SubjectKind::Group => "group",
                    SubjectKind::ServiceAccount => continue,
                };
                named
                    .entry((kind, bound.name.clone()))
                    .or_insert_with(|| subject(kind, bound.name.clone(), allowed.clone()));
            }
        }
        found.extend(named.into_values());
        for (namespace, account) in service_accounts(cluster) {
            let identity = rbac::service_account_identity(&namespace, &account);
            let grants = indexed.grants(&identity, &BTreeMap::new());
            if let Some(allowed) = allowing(&grants) {
                found.insert(subject("service-account", identity.username, allowed));
            }
        }
    }
    found.into_iter().collect()
}

/// The service accounts of a cluster, and the ones its bindings (and the built-in ones) name:
/// (namespace, name).
pub fn service_accounts(cluster: &Cluster) -> BTreeSet<(String, String)> {
    let mut accounts: BTreeSet<(String, String)> = cluster
        .service_accounts
        .keys()
        .filter_map(|key| key.split_once('/'))
        .map(|(namespace, name)| (namespace.to_string(), name.to_string()))
        .collect();
    for (namespace, _, binding) in rbac::bindings(cluster).chain(rbac::builtin_bindings(cluster)) {
        for subject in &binding.subjects {
            if subject.kind == SubjectKind::ServiceAccount {
                let username = rbac::service_account_username(subject, namespace);
                if let Some((namespace, name)) = username
                    .strip_prefix("system:serviceaccount:")
                    .and_then(|rest| rest.split_once(':'))
                {
                    accounts.insert((namespace.to_string(), name.to_string()));
                }
            }
        }
    }
    accounts
}

/// The route of an answer on one line: `user/manager → role/eks-admin → aws-auth mapRoles
/// (eks-admin; system:masters)`.
pub fn describe_route(answer: &Answer) -> String {
    let Some(route) = &answer.route else {
        return "no route".to_string();
    };
    let mut parts = vec![match route.hops.first() {
        Some(hop) => hop.from.clone(),
        None => route.principal.label(),
    }];
    parts.extend(
        route
            .hops
            .iter()
            .map(|hop| format!("role/{}{}", hop.role, mark(hop.unmanaged))),
    );
    let identity = &route.mapping.identity;
    let groups: Vec<&str> = identity.groups.iter().map(String::as_str).collect();
    parts.push(format!(
        "{}{} (user {}{})",
        route.mapping.via,
        mark(route.mapping.unmanaged),
        identity.username,
        if groups.is_empty() {
            String::new()
        } else {
            format!(", groups {}", groups.join(", "))
        }
    ));
    if let Some(grant) = &answer.grant {
        parts.push(chain::marked_source(grant, answer.grant_unmanaged));
    }
    parts.join(" → ")
}

pub fn render_who_can_text(holders: &[Holder], subjects: &[Subject], request: &Request) -> String {
    let mut out = String::new();
    if holders.is_empty() && subjects.is_empty() {
        let _ = writeln!(out, "nobody can {}", request.describe());
        return out;
    }
    if holders.is_empty() {
        let _ = writeln!(out, "no IAM principal can {}", request.describe());
    } else {
        let _ = writeln!(out, "who can {}:", request.describe());
    }
    for holder in holders {
        let _ = writeln!(
            out,
            "  {}{} [{}] in cluster {}",
            holder.principal.label(),
            mark(holder.principal.unmanaged),
            holder.answer.certainty.as_str(),
            holder.answer.cluster
        );
        let _ = writeln!(out, "    {}", describe_route(&holder.answer));
        write_doubts(&mut out, &holder.answer);
    }
    if !subjects.is_empty() {
        let _ = writeln!(out, "Kubernetes subjects bound to it:");
    }
    for subject in subjects {
        let _ = writeln!(
            out,
            "  {} {} in cluster {}",
            subject.kind, subject.name, subject.cluster
        );
        let _ = writeln!(
            out,
            "    {}",
            chain::marked_source(&subject.grant, subject.unmanaged)
        );
    }
    out
}

/// Why an answer is only "possibly".
fn write_doubts(out: &mut String, answer: &Answer) {
    if let Some(route) = &answer.route {
        for hop in route
            .hops
            .iter()
            .filter(|hop| hop.certainty != Certainty::Yes)
        {
            let _ = writeln!(out, "    assume role/{}: {}", hop.role, hop.reason);
        }
    }
}

pub fn render_can_i_text(principal: &Principal, request: &Request, answers: &[Answer]) -> String {
    let mut out = String::new();
    let overall = overall(answers);
    let _ = writeln!(out, "{}", overall.as_str());
    for answer in answers {
        let _ = writeln!(
            out,
            "  cluster {}: {}{} may {}: {}",
            answer.cluster,
            principal.label(),
            mark(principal.unmanaged),
            request.describe(),
            answer.certainty.as_str()
        );
        if answer.route.is_some() {
            let _ = writeln!(out, "    {}", describe_route(answer));
            if let Some(rule) = &answer.rule {
                let _ = writeln!(out, "    rule: {rule}");
            }
            write_doubts(&mut out, answer);
        }
    }
    out
}

/// The best answer over the clusters asked.
pub fn overall(answers: &[Answer]) -> Certainty {
    answers
        .iter()
        .map(|answer| answer.certainty)
        .min()
        .unwrap_or(Certainty::No)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::model::{
        Binding, MANAGED_BY_LABEL, MANAGED_BY_VALUE, Meta, PolicyRule, RbacRole, RoleRef,
        RoleRefKind, ServiceAccount, Subject as Bound,
    };

    fn binding(kind: RoleRefKind, role: &str, subjects: &[Bound], owned: bool) -> Binding {
        let mut meta = Meta::default();
        if owned {
            meta.labels
                .insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
        }
        Binding {
            meta,
            role_ref: RoleRef {
                kind,
                name: role.to_string(),
            },
            subjects: subjects.iter().cloned().collect(),
        }
    }

    fn bound(kind: SubjectKind, name: &str, namespace: Option<&str>) -> Bound {
        Bound {
            kind,
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }

    /// A cluster with a Role that deletes pods in `ci`, bound to the service accounts of `ci`
    /// (by group), to a service account of `tools` by name (in a binding accessctl owns), and
    /// a hand-made ClusterRoleBinding of `view` to every service account.
    fn cluster() -> Cluster {
        let mut cluster = Cluster::default();
        cluster.roles.insert(
            "ci/deleter".into(),
            RbacRole {
                meta: Meta::default(),
                rules: BTreeSet::from([PolicyRule {
                    api_groups: BTreeSet::from([String::new()]),
                    resources: BTreeSet::from(["pods".to_string()]),
                    verbs: BTreeSet::from(["delete".to_string()]),
                    ..PolicyRule::default()
                }]),
                aggregation_rule: None,
            },
        );
        cluster.role_bindings.insert(
            "ci/deleters".into(),
            binding(
                RoleRefKind::Role,
                "deleter",
                &[bound(SubjectKind::Group, "system:serviceaccounts:ci", None)],
                false,
            ),
        );
        cluster.role_bindings.insert(
            "ci/tools".into(),
            binding(
                RoleRefKind::Role,
                "deleter",
                &[bound(SubjectKind::ServiceAccount, "runner", Some("tools"))],
                true,
            ),
        );
        cluster.cluster_role_bindings.insert(
            "everyone-views".into(),
            binding(
                RoleRefKind::ClusterRole,
                "view",
                &[bound(SubjectKind::Group, "system:serviceaccounts", None)],
                false,
            ),
        );
        for account in ["ci/builder", "ci/default", "other/default"] {
            cluster
                .service_accounts
                .insert(account.into(), ServiceAccount::default());
        }
        cluster
    }

    /// The subjects of the test cluster's own bindings (the built-in ones aside).
    fn answer(request: &Request) -> Vec<(String, String, bool)> {
        let mut state = State::default();
        state.clusters.insert("demo".into(), cluster());
        subjects(&state, request, None)
            .into_iter()
            .filter(|subject| !subject.grant.contains("(built-in)"))
            .map(|subject| {
                (
                    format!("{} {}", subject.kind, subject.name),
                    subject.grant,
                    subject.unmanaged,
                )
            })
            .collect()
    }

    #[test]
    fn service_accounts_hold_what_their_groups_and_names_are_bound_to() {
        let delete = rbac::parse_request("delete", "pods", None, Some("ci"));
        let deleters = "RoleBinding ci/deleters → Role deleter".to_string();
        assert_eq!(
            answer(&delete),
            [
                (
                    "group system:serviceaccounts:ci".into(),
                    deleters.clone(),
                    true
                ),
                (
                    "service-account system:serviceaccount:ci:builder".into(),
                    deleters.clone(),
                    true
                ),
                (
                    "service-account system:serviceaccount:ci:default".into(),
                    deleters,
                    true
                ),
                // Named by a binding only (no ServiceAccount object read): still a subject.
                (
                    "service-account system:serviceaccount:tools:runner".into(),
                    "RoleBinding ci/tools → Role deleter".into(),
                    false
                ),
            ]
        );
        // `view` for every service account, through `system:serviceaccounts`.
        let get = rbac::parse_request("get", "pods", None, Some("other"));
        let (system, holders): (Vec<String>, Vec<String>) = answer(&get)
            .into_iter()
            .map(|(who, _, _)| who)
            .partition(|who| who.starts_with("service-account system:serviceaccount:kube-system:"));
        // The controllers' accounts the built-in bindings name are service accounts too.
        assert!(
            system.contains(
                &"service-account system:serviceaccount:kube-system:kube-scheduler".to_string()
            ),
            "{system:?}"
        );
        assert_eq!(
            holders,
            [
                "group system:serviceaccounts",
                "service-account system:serviceaccount:ci:builder",
                "service-account system:serviceaccount:ci:default",
                "service-account system:serviceaccount:other:default",
                "service-account system:serviceaccount:tools:runner",
            ]
        );
        assert!(answer(&rbac::parse_request("delete", "pods", None, Some("other"))).is_empty());

        // Kubernetes' own bindings count too, unmarked: they are no object of the state.
        let mut state = State::default();
        state.clusters.insert("demo".into(), cluster());
        let masters = subjects(&state, &delete, None)
            .into_iter()
            .find(|subject| subject.name == rbac::MASTERS_GROUP);
        assert_eq!(
            masters.map(|subject| (subject.kind, subject.grant, subject.unmanaged)),
            Some((
                "group",
                "ClusterRoleBinding cluster-admin (built-in) → ClusterRole cluster-admin".into(),
                false
            ))
        );
    }

    /// The binding behind a grant is found from the source [`rbac::binding_grant`] gives it,
    /// for each kind of binding; a grant that is no binding's has none.
    #[test]
    fn the_binding_behind_each_grant_is_found() {
        let cluster = cluster();
        for (namespace, name, binding) in rbac::bindings(&cluster) {
            let grant = rbac::binding_grant(&cluster, namespace, name, binding);
            assert_eq!(chain::binding_of(&cluster, &grant), Some(binding), "{name}");
        }
        let grants = rbac::access_policy_grants(&BTreeMap::from([(
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".to_string(),
            crate::model::AccessScope::Cluster,
        )]));
        assert!(
            grants
                .iter()
                .all(|grant| chain::binding_of(&cluster, grant).is_none())
        );
        assert_eq!(
            chain::marked_source("ClusterRoleBinding a → ClusterRole b", true),
            "ClusterRoleBinding a (unmanaged) → ClusterRole b"
        );
        assert_eq!(
            chain::marked_source("access policy AmazonEKSViewPolicy", true),
            "access policy AmazonEKSViewPolicy (unmanaged)"
        );
        assert_eq!(
            chain::marked_source("group system:masters", false),
            "group system:masters"
        );
    }
}
