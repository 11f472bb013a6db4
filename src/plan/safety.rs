//! Safety checks over the whole plan (design.md §5): the wrong account, the caller locking
//! itself out, a cluster left without an admin, namespace deletion. Each is a refusal the user
//! can override with its flag; node-role refusals come from `diff`, object by object.

use std::collections::BTreeSet;

use crate::insight::iam_eval::{self, Principal};
use crate::insight::{chain, who_can};
use crate::model::{
    AccessScope, Caller, Cluster, IamArn, RoleRefKind, State, SubjectKind, arn, parse_arn,
};

use super::{Action, Change, Desired, Findings, Kind, Note, Object, Problem, SafetyCheck};

/// The Kubernetes group that is cluster-admin through aws-auth.
const MASTERS_GROUP: &str = "system:masters";
/// The ClusterRole that makes its subjects admins.
const CLUSTER_ADMIN_ROLE: &str = "cluster-admin";
/// The EKS access policy that makes an access entry admin.
const CLUSTER_ADMIN_POLICY: &str = "AmazonEKSClusterAdminPolicy";

/// Runs every check; `changes` are already in apply order, and `after` is the state they leave
/// (the planner's one projection of the plan).
pub(super) fn check(
    desired: &Desired,
    live: &State,
    changes: &[Change],
    after: &State,
) -> Findings {
    let mut outcome = Findings::default();
    account(desired, live, &mut outcome);
    match &live.caller {
        Some(caller) => {
            self_lockout(caller, live, changes, &mut outcome);
            membership_lockout(caller, live, changes, after, &mut outcome);
        }
        None => outcome.notes.push(Note {
            address: None,
            message: "live state names no caller: the self-lockout check could not run".to_string(),
        }),
    }
    cluster_admins(live, changes, after, &mut outcome);
    namespace_deletion(changes, &mut outcome);
    outcome
}

/// The note recorded for a problem the user overrode.
pub(super) fn overridden_note(check: SafetyCheck, message: &str) -> String {
    let consequence = match check {
        SafetyCheck::NodeRole => "; the entry is left as it is",
        _ => "",
    };
    format!("allowed by `{}`: {message}{consequence}", check.flag())
}

fn account(desired: &Desired, live: &State, outcome: &mut Findings) {
    let Some(wanted) = &desired.state.account else {
        return;
    };
    let actual = live
        .caller
        .as_ref()
        .map(|caller| &caller.account)
        .or(live.account.as_ref());
    match actual {
        Some(actual) if actual != wanted => outcome.problems.push(Problem::Unsafe {
            check: SafetyCheck::AccountMismatch,
            address: None,
            message: format!(
                "access.yaml is for account `{wanted}` but live state is from account `{actual}`"
            ),
        }),
        Some(_) => {}
        None => outcome.notes.push(Note {
            address: None,
            message: "live state names no account: the account check could not run".to_string(),
        }),
    }
}

/// Whether a mapping's principal ARN is the caller. A session ARN has no role path, so roles
/// match on account and name.
fn is_caller(principal: &str, mapped: &str) -> bool {
    if principal == mapped {
        return true;
    }
    match (IamArn::parse(principal), IamArn::parse(mapped)) {
        (Some(left @ IamArn::Role { .. }), Some(right @ IamArn::Role { .. })) => {
            left.same_principal(&right)
        }
        _ => false,
    }
}

/// The parts of a mapping that decide what it grants.
fn grant(object: Option<&Object>) -> Option<String> {
    match object? {
        // Compared only, never shown: the Debug form cannot fail (serializing could, and a
        // failure must not read as "no grant").
        Object::AwsAuthEntry(entry) => Some(format!(
            "{:?}",
            (&entry.kind, &entry.username, &entry.groups)
        )),
        Object::AccessEntry(entry) => Some(format!(
            "{:?}",
            (&entry.kind, &entry.username, &entry.groups, &entry.policies)
        )),
        _ => None,
    }
}

fn self_lockout(caller: &Caller, live: &State, changes: &[Change], outcome: &mut Findings) {
    let principal = caller.principal_arn();
    let caller_arn = IamArn::parse(&principal);
    let caller_role = caller_arn.as_ref().and_then(IamArn::role_name);
    let partition = parse_arn(&principal).map_or(live.partition.as_str(), |arn| arn.partition);
    for change in changes {
        let address = &change.address;
        let lost = match address.kind {
            Kind::AwsAuth | Kind::AccessEntry if is_caller(&principal, &address.name) => {
                match change.action {
                    Action::Delete | Action::Replace => Some("remove"),
                    Action::Update | Action::Adopt
                        if grant(change.before.as_ref()) != grant(change.after.as_ref()) =>
                    {
                        Some("change")
                    }
                    _ => None,
                }
            }
            Kind::Role
                if caller_role == Some(address.name.as_str())
                    && matches!(change.action, Action::Delete | Action::Replace) =>
            {
                Some("delete")
            }
            Kind::User if matches!(change.action, Action::Delete | Action::Replace) => {
                let path = live
                    .iam
                    .users
                    .get(&address.name)
                    .map_or("/", |user| user.path.as_str());
                (arn::user(partition, &caller.account, path, &address.name) == principal)
                    .then_some("delete")
            }
            _ => None,
        };
        if let Some(verb) = lost {
            let what = if address.kind.is_access_mapping() {
                "the access mapping"
            } else {
                "the IAM identity"
            };
            outcome.problems.push(Problem::Unsafe {
                check: SafetyCheck::SelfLockout,
                address: Some(address.clone()),
                message: format!(
                    "`{address}` is {what} of the caller `{}`: this plan would {verb} it and lock the caller out",
                    caller.arn
                ),
            });
        }
    }
}

/// IAM writes that let the caller repair IAM (and rejoin a group): holding any one of them is
/// what "IAM write access" means for the self-lockout check.
const IAM_WRITE_ACTIONS: [&str; 4] = [
    "iam:AddUserToGroup",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:UpdateAssumeRolePolicy",
];

/// The caller, an IAM user, taken out of groups (a member not declared, a membership dropped
/// from the file, a group deleted): refused when that loses its last route into a cluster or
/// its last IAM write access, each route named. Other routes (its own policies, another
/// group, a direct mapping) keep it safe.
fn membership_lockout(
    caller: &Caller,
    live: &State,
    changes: &[Change],
    after: &State,
    outcome: &mut Findings,
) {
    let principal = caller.principal_arn();
    let Some(parsed @ IamArn::User { .. }) = IamArn::parse(&principal) else {
        return;
    };
    let Some(name) = parsed.name() else {
        return;
    };
    let Some(user) = live.iam.users.get(name) else {
        return;
    };
    if arn::user(parsed.partition(), &caller.account, &user.path, name) != principal {
        return;
    }
    let touches_membership = changes.iter().any(|change| match change.address.kind {
        Kind::User => change.address.name == name,
        Kind::Group => user.groups.contains(&change.address.name),
        _ => false,
    });
    if !touches_membership {
        return;
    }
    // A deleted caller is the identity check's.
    let Some(remaining) = after.iam.users.get(name) else {
        return;
    };
    let lost: Vec<&String> = user.groups.difference(&remaining.groups).collect();
    if lost.is_empty() {
        return;
    }
    // Only the membership changes: what else the plan does is checked on its own.
    let mut without = live.clone();
    if let Some(user) = without.iam.users.get_mut(name) {
        user.groups.clone_from(&remaining.groups);
    }
    let Some(start) = Principal::user(live, name) else {
        return;
    };
    let (before_analysis, after_analysis) = (
        iam_eval::Analysis::new(live),
        iam_eval::Analysis::new(&without),
    );
    let mut routes = Vec::new();
    for cluster in live.clusters.keys() {
        let before = chain::routes(&before_analysis, &start, Some(cluster));
        let Some(route) = before.first() else {
            continue;
        };
        if chain::routes(&after_analysis, &start, Some(cluster)).is_empty() {
            let answer = chain::Answer {
                cluster: cluster.clone(),
                certainty: route.certainty,
                route: Some(route.clone()),
                grant: None,
                grant_unmanaged: false,
                rule: None,
            };
            routes.push(format!(
                "cluster `{cluster}` ({})",
                who_can::describe_route(&answer)
            ));
        }
    }
    let writes = |analysis: &iam_eval::Analysis<'_>| {
        IAM_WRITE_ACTIONS.iter().find_map(|action| {
            let decision = analysis.evaluate(&start, action, "*");
            decision
                .may_allow()
                .then(|| format!("`{action}` {}", decision.reason()))
        })
    };
    if let Some(write) = writes(&before_analysis)
        && writes(&after_analysis).is_none()
    {
        routes.push(format!("IAM write access ({write})"));
    }
    if routes.is_empty() {
        return;
    }
    let address = lost
        .iter()
        .find_map(|group| {
            changes
                .iter()
                .find(|change| {
                    change.address.kind == Kind::Group && change.address.name == group.as_str()
                })
                .map(|change| change.address.clone())
        })
        .unwrap_or_else(|| super::Address::iam(Kind::User, name));
    let groups: Vec<String> = lost.iter().map(|group| format!("`{group}`")).collect();
    outcome.problems.push(Problem::Unsafe {
        check: SafetyCheck::SelfLockout,
        message: format!(
            "`{address}` takes the caller `{}` out of group{} {}, its only route to {}: this plan would lock the caller out",
            caller.arn,
            if groups.len() == 1 { "" } else { "s" },
            groups.join(", "),
            routes.join("; ")
        ),
        address: Some(address),
    });
}

/// How many mappings make someone cluster admin.
fn admin_grants(cluster: &Cluster) -> usize {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for binding in cluster.cluster_role_bindings.values() {
        if binding.role_ref.kind == RoleRefKind::ClusterRole
            && binding.role_ref.name == CLUSTER_ADMIN_ROLE
        {
            for subject in &binding.subjects {
                match subject.kind {
                    SubjectKind::User => users.insert(subject.name.as_str()),
                    SubjectKind::Group => groups.insert(subject.name.as_str()),
                    SubjectKind::ServiceAccount => false,
                };
            }
        }
    }
    let admin_user =
        |username: Option<&String>| username.is_some_and(|name| users.contains(name.as_str()));
    let admin_group = |group: &String| groups.contains(group.as_str());
    let aws_auth = cluster
        .aws_auth
        .iter()
        .flat_map(crate::model::AwsAuth::effective)
        .filter(|entry| {
            entry.groups.iter().any(|group| group == MASTERS_GROUP)
                || admin_user(entry.username.as_ref())
                || entry.groups.iter().any(admin_group)
        })
        .count();
    let access_entries = cluster
        .access_entries
        .values()
        .filter(|entry| {
            entry.policies.iter().any(|(policy, scope)| {
                *scope == AccessScope::Cluster
                    && arn::eks_access_policy_name(policy) == CLUSTER_ADMIN_POLICY
            }) || admin_user(entry.username.as_ref())
                || entry.groups.iter().any(admin_group)
        })
        .count();
    aws_auth + access_entries
}

fn cluster_admins(live: &State, changes: &[Change], after: &State, outcome: &mut Findings) {
    if !changes
        .iter()
        .any(|change| change.address.cluster.is_some())
    {
        return;
    }
    for (name, cluster) in &live.clusters {
        let before = admin_grants(cluster);
        let remaining = after.clusters.get(name).map_or(0, admin_grants);
        if before >= 1 && remaining == 0 {
            outcome.problems.push(Problem::Unsafe {
                check: SafetyCheck::NoClusterAdmin,
                address: None,
                message: format!(
                    "cluster `{name}` has {before} admin mapping{} now and none after this plan (`system:masters`, `{CLUSTER_ADMIN_POLICY}`, or a binding to `{CLUSTER_ADMIN_ROLE}`)",
                    if before == 1 { "" } else { "s" }
                ),
            });
        }
    }
}

fn namespace_deletion(changes: &[Change], outcome: &mut Findings) {
    for change in changes {
        if change.address.kind == Kind::Namespace && change.action == Action::Delete {
            outcome.problems.push(Problem::Unsafe {
                check: SafetyCheck::NamespaceDeletion,
                address: Some(change.address.clone()),
                message: format!(
                    "`{}` would be deleted, and everything in it with it",
                    change.address
                ),
            });
        }
    }
}
