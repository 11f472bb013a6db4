//! The planner's projection: what live state will look like once `apply` has carried out a
//! list of changes. The planner projects each plan once (`assess`) and hands the result to
//! the checks that judge the plan as a whole (safety, EKS notes); `diff` uses the policy-move
//! part to compare principals with the ARNs apply re-attaches. Apply reads the objects a saved
//! plan touches from it (`planfile`).
//!
//! The property tests judge the planner with an oracle of their own (tests/support/oracle.rs),
//! written apart from this module.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AwsAuth, AwsAuthEntry, Binding, Cluster, Iam, IamArn, Namespace, RbacRole, ServiceAccount,
    State,
};

use super::diff::{KubeManaged, set_keys};
use super::{Action, Change, Kind, Object, Variant};

/// The live state after `changes` are applied to `live`, in order.
pub fn project(live: &State, changes: &[Change]) -> State {
    let mut state = live.clone();
    for change in changes {
        apply(&mut state, change);
    }
    state
}

fn apply(state: &mut State, change: &Change) {
    let name = change.address.name.clone();
    if change.address.kind.is_iam() {
        let iam = &mut state.iam;
        match (change.address.kind, &change.after) {
            (Kind::Policy, after) => {
                reattach_moved_policy(iam, change);
                put(&mut iam.policies, name, change.action, after);
            }
            (Kind::Group, after) => {
                membership(iam, &name, change);
                // A state records membership once, on the users.
                if let Some(group) = put(&mut iam.groups, name, change.action, after) {
                    group.members = BTreeSet::new();
                }
            }
            (Kind::User, after) => {
                put(&mut iam.users, name, change.action, after);
            }
            (Kind::Role, after) => {
                put(&mut iam.roles, name, change.action, after);
            }
            (Kind::OidcProvider, after) => {
                put(&mut iam.oidc_providers, name, change.action, after);
            }
            (Kind::AccessKey, _) => access_keys(iam, name, change),
            _ => {}
        }
        return;
    }
    let Some(cluster_name) = &change.address.cluster else {
        return;
    };
    if change.action == Action::Delete && !state.clusters.contains_key(cluster_name) {
        return;
    }
    let cluster: &mut Cluster = state.clusters.entry(cluster_name.clone()).or_default();
    let action = change.action;
    let after = &change.after;
    match change.address.kind {
        Kind::Namespace => put_kube::<Namespace>(&mut cluster.namespaces, name, action, after),
        Kind::ClusterRole => put_kube::<RbacRole>(&mut cluster.cluster_roles, name, action, after),
        Kind::K8sRole => put_kube::<RbacRole>(&mut cluster.roles, name, action, after),
        Kind::ClusterRoleBinding => {
            put_kube::<Binding>(&mut cluster.cluster_role_bindings, name, action, after)
        }
        Kind::RoleBinding => put_kube::<Binding>(&mut cluster.role_bindings, name, action, after),
        Kind::ServiceAccount => {
            put_kube::<ServiceAccount>(&mut cluster.service_accounts, name, action, after)
        }
        Kind::PodIdentity => {
            put(&mut cluster.pod_identity, name, action, after);
        }
        Kind::AccessEntry => {
            put(&mut cluster.access_entries, name, action, after);
        }
        Kind::AwsAuth => aws_auth(&mut cluster.aws_auth, &name, action, after.as_ref()),
        Kind::Policy
        | Kind::Group
        | Kind::User
        | Kind::Role
        | Kind::OidcProvider
        | Kind::AccessKey => {}
    }
}

/// A user's keys after an access-key change: a delete removes the keys it lists (the
/// deactivated keys past their grace), anything else leaves the keys of its `after`.
fn access_keys(iam: &mut Iam, name: String, change: &Change) {
    let entry = iam.access_keys.entry(name).or_default();
    match (change.action, &change.before, &change.after) {
        (Action::Delete, Some(Object::AccessKeys(gone)), _) => {
            entry.keys.retain(|key| !gone.keys.contains(key));
        }
        (_, _, Some(Object::AccessKeys(after))) => {
            entry.keys = after.keys.clone();
            entry.held = after.held.clone();
        }
        _ => {}
    }
}

/// A policy replaced under another path gets a new ARN, and apply attaches the new ARN wherever
/// the old one was (`aws::apply::policy::replace`): users, groups and roles that had the old ARN
/// have the new one afterwards. Nothing happens for other changes.
pub(super) fn reattach_moved_policy(iam: &mut Iam, change: &Change) {
    let Some((before, after)) = moved_paths(change) else {
        return;
    };
    let name = change.address.name.as_str();
    let attachments = iam
        .holders_mut()
        .map(|holder| holder.managed_policies_mut());
    for arns in attachments {
        let moved: Vec<(String, String)> = arns
            .iter()
            .filter_map(|arn| moved_arn(arn, name, before, after).map(|new| (arn.clone(), new)))
            .collect();
        for (old, new) in moved {
            arns.remove(&old);
            arns.insert(new);
        }
    }
}

/// A group change on its users, where a state records membership: the members it takes out
/// leave, those it adds join (as apply's `RemoveUserFromGroup`/`AddUserToGroup`); a deleted
/// group is left by everyone, and a created one starts empty.
fn membership(iam: &mut Iam, name: &str, change: &Change) {
    let members = |object: &Option<Object>| match object {
        Some(Object::Group(group)) => group.members.clone(),
        _ => BTreeSet::new(),
    };
    if matches!(change.action, Action::Delete | Action::Create) {
        // Gone, or new: no one is in it (a user naming a group that did not exist named
        // nothing).
        for user in iam.users.values_mut() {
            user.groups.remove(name);
        }
        if change.action == Action::Delete {
            return;
        }
    }
    let (before, after) = (members(&change.before), members(&change.after));
    for left in before.difference(&after) {
        if let Some(user) = iam.users.get_mut(left) {
            user.groups.remove(name);
        }
    }
    for joined in after.difference(&before) {
        if let Some(user) = iam.users.get_mut(joined) {
            user.groups.insert(name.to_string());
        }
    }
}

/// Whether `change` re-creates a policy under another path (its ARN changes).
pub(super) fn moves_policy(change: &Change) -> bool {
    moved_paths(change).is_some()
}

/// The old and new paths of a policy replaced under another path.
fn moved_paths(change: &Change) -> Option<(&str, &str)> {
    match (&change.before, &change.after) {
        (Some(Object::Policy(before)), Some(Object::Policy(after)))
            if change.action == Action::Replace && before.path != after.path =>
        {
            Some((before.path.as_str(), after.path.as_str()))
        }
        _ => None,
    }
}

/// `arn:…:policy{from}{name}` of a customer policy → the same ARN with the path `to`.
fn moved_arn(arn: &str, name: &str, from: &str, to: &str) -> Option<String> {
    let mut parsed = IamArn::parse(arn)?;
    if parsed.is_aws_managed_policy() {
        return None;
    }
    let IamArn::Policy {
        path, name: named, ..
    } = &mut parsed
    else {
        return None;
    };
    if path != from || named != name {
        return None;
    }
    *path = to.to_string();
    Some(parsed.to_string())
}

/// Delete removes; anything else writes the after object (a replace ends as its create), and
/// returns it as written.
fn put<'m, T: Variant + Clone>(
    map: &'m mut BTreeMap<String, T>,
    name: String,
    action: Action,
    after: &Option<Object>,
) -> Option<&'m mut T> {
    if action == Action::Delete {
        map.remove(&name);
        return None;
    }
    let object = after.as_ref().and_then(T::from_object)?.clone();
    Some(map.entry(name).insert_entry(object).into_mut())
}

/// Like [`put`], for Kubernetes objects: an update merges metadata keys into the live object,
/// as apply does, so keys others set survive; a replace starts afresh.
fn put_kube<T: KubeManaged>(
    map: &mut BTreeMap<String, T>,
    name: String,
    action: Action,
    after: &Option<Object>,
) {
    if action == Action::Delete {
        map.remove(&name);
        return;
    }
    let Some(after) = after.as_ref().and_then(T::from_object) else {
        return;
    };
    let mut object = after.clone();
    if let (Action::Update | Action::Adopt, Some(live)) = (action, map.get(&name)) {
        *object.meta_mut() = set_keys(after.meta(), live.meta(), T::REMOVABLE);
    }
    map.insert(name, object);
}

/// Entries of other owners stay where they are; a changed entry keeps its place, duplicates
/// of its ARN go, and the managed list follows.
fn aws_auth(auth: &mut Option<AwsAuth>, arn: &str, action: Action, after: Option<&Object>) {
    if action == Action::Delete {
        if let Some(auth) = auth {
            auth.entries.retain(|entry| entry.arn != arn);
            auth.managed.remove(arn);
        }
        return;
    }
    let Some(Object::AwsAuthEntry(entry)) = after else {
        return;
    };
    let auth = auth.get_or_insert_with(AwsAuth::default);
    replace_entry(&mut auth.entries, entry);
    auth.managed.insert(arn.to_string());
}

fn replace_entry(entries: &mut Vec<AwsAuthEntry>, entry: &AwsAuthEntry) {
    match entries.iter().position(|e| e.arn == entry.arn) {
        Some(index) => {
            entries[index] = entry.clone();
            let mut position = 0;
            entries.retain(|e| {
                let keep = position <= index || e.arn != entry.arn;
                position += 1;
                keep
            });
        }
        None => entries.push(entry.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Action, Object, moved_arn, put_kube};
    use crate::model::{IRSA_ANNOTATION, Meta, Namespace, ServiceAccount, string_map};
    use crate::testing::assert_cases;

    /// An update sets the plan's keys on the live object's, and drops the IRSA annotation the
    /// plan drops; a replace writes the plan's object alone; a delete removes it; an object of
    /// another kind writes nothing.
    #[test]
    fn kubernetes_objects_follow_the_change() {
        let live = ServiceAccount {
            meta: Meta {
                labels: string_map(&[("team", "a")]),
                annotations: string_map(&[(IRSA_ANNOTATION, "arn:old"), ("other", "x")]),
            },
        };
        let planned = ServiceAccount {
            meta: Meta {
                labels: string_map(&[("owner", "accessctl")]),
                annotations: BTreeMap::new(),
            },
        };
        let after = Some(Object::ServiceAccount(planned.clone()));
        let key = "ns/sa".to_string();
        let mut accounts = BTreeMap::from([(key.clone(), live.clone())]);

        put_kube(&mut accounts, key.clone(), Action::Update, &after);
        let updated = Meta {
            labels: string_map(&[("owner", "accessctl"), ("team", "a")]),
            annotations: string_map(&[("other", "x")]),
        };
        assert_eq!(accounts[&key].meta, updated);

        accounts.insert(key.clone(), live.clone());
        put_kube(&mut accounts, key.clone(), Action::Replace, &after);
        assert_eq!(accounts[&key], planned);

        accounts.insert(key.clone(), live.clone());
        let namespace = Some(Object::Namespace(Namespace::default()));
        put_kube(&mut accounts, key.clone(), Action::Update, &namespace);
        assert_eq!(accounts[&key], live);

        put_kube(&mut accounts, key.clone(), Action::Delete, &None);
        assert!(accounts.is_empty());
    }

    #[test]
    fn only_the_moved_customer_policy_changes_its_arn() {
        let moved = |arn: &str| moved_arn(arn, "view", "/", "/accessctl/");
        assert_cases(
            moved,
            &[
                (
                    "arn:aws:iam::111122223333:policy/view",
                    Some("arn:aws:iam::111122223333:policy/accessctl/view".into()),
                ),
                (
                    "arn:aws-cn:iam::111122223333:policy/view",
                    Some("arn:aws-cn:iam::111122223333:policy/accessctl/view".into()),
                ),
                // Another path, another name, an AWS-managed policy of the same name, not a
                // policy.
                ("arn:aws:iam::111122223333:policy/team/view", None),
                ("arn:aws:iam::111122223333:policy/preview", None),
                ("arn:aws:iam::aws:policy/view", None),
                ("arn:aws:iam::111122223333:role/view", None),
                ("policy/view", None),
            ],
        );
    }
}
