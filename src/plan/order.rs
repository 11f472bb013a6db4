//! The order apply runs changes in: revoke access first, then create and change in dependency
//! order with access granted last, then delete what remains with identities last.

use std::cmp::Reverse;

use super::{Action, Address, Change, Kind};

/// Which of the three passes a change belongs to.
fn pass(change: &Change) -> u8 {
    match change.action {
        Action::Delete if change.address.kind.is_access_mapping() => 0,
        Action::Delete => 2,
        Action::Create | Action::Update | Action::Replace | Action::Adopt => 1,
    }
}

/// Where a change goes: its stage (the pass, then the kind in dependency order, reversed for
/// deletes), then its address as written, so that the lines of one stage read sorted
/// (`cluster.demo-eu.…` before `cluster.demo.…`, as `sort` has it), then the address itself
/// to keep the order total.
fn key(change: &Change) -> (u8, Reverse<Option<Kind>>, Option<Kind>, String, Address) {
    let pass = pass(change);
    let kind = change.address.kind;
    let (descending, ascending) = if pass == 2 {
        (Reverse(Some(kind)), None)
    } else {
        (Reverse(None), Some(kind))
    };
    (
        pass,
        descending,
        ascending,
        change.address.to_string(),
        change.address.clone(),
    )
}

/// Sorts `changes` into apply order. Stable and total, so the plan is deterministic.
pub(super) fn sort(changes: &mut [Change]) {
    changes.sort_by_cached_key(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: Action, address: Address) -> Change {
        Change {
            address,
            action,
            reason: None,
            before: None,
            after: None,
            fields: Vec::new(),
        }
    }

    #[test]
    fn revoke_first_grant_last_identities_deleted_last() {
        let mut changes = vec![
            change(Action::Delete, Address::iam(Kind::User, "old-user")),
            change(
                Action::Create,
                Address::cluster(Kind::AwsAuth, "demo", "arn:b"),
            ),
            change(Action::Delete, Address::iam(Kind::Policy, "old-policy")),
            change(Action::Update, Address::iam(Kind::Role, "eks-admin")),
            change(
                Action::Delete,
                Address::cluster(Kind::AwsAuth, "demo", "arn:a"),
            ),
            change(Action::Create, Address::iam(Kind::Policy, "view")),
            change(
                Action::Delete,
                Address::cluster(Kind::Namespace, "demo", "old"),
            ),
            change(
                Action::Adopt,
                Address::cluster(Kind::ClusterRoleBinding, "demo", "reader"),
            ),
            change(
                Action::Delete,
                Address::cluster(Kind::AccessEntry, "demo", "arn:c"),
            ),
            change(
                Action::Replace,
                Address::cluster(Kind::RoleBinding, "demo", "ns/b"),
            ),
            change(Action::Delete, Address::iam(Kind::User, "another-old-user")),
            change(Action::Create, Address::iam(Kind::Group, "developers")),
        ];
        sort(&mut changes);
        let order: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {}", c.action.symbol(), c.address))
            .collect();
        assert_eq!(
            order,
            [
                "- cluster.demo.access-entry[arn:c]",
                "- cluster.demo.aws-auth[arn:a]",
                "+ iam.policy.view",
                "+ iam.group.developers",
                "~ iam.role.eks-admin",
                "<= cluster.demo.clusterrolebinding.reader",
                "-/+ cluster.demo.rolebinding.ns/b",
                "+ cluster.demo.aws-auth[arn:b]",
                "- cluster.demo.namespace.old",
                "- iam.user.another-old-user",
                "- iam.user.old-user",
                "- iam.policy.old-policy",
            ]
        );
    }

    #[test]
    fn within_a_stage_changes_follow_their_written_address() {
        let mut changes = vec![
            change(
                Action::Create,
                Address::cluster(Kind::Namespace, "demo", "b"),
            ),
            change(
                Action::Create,
                Address::cluster(Kind::Namespace, "demo_old", "a"),
            ),
            change(
                Action::Create,
                Address::cluster(Kind::Namespace, "demo-eu", "a"),
            ),
            change(
                Action::Create,
                Address::cluster(Kind::Namespace, "demo", "a"),
            ),
            change(Action::Create, Address::iam(Kind::User, "b")),
        ];
        sort(&mut changes);
        let order: Vec<String> = changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(
            order,
            [
                "iam.user.b",
                "cluster.demo-eu.namespace.a",
                "cluster.demo.namespace.a",
                "cluster.demo.namespace.b",
                "cluster.demo_old.namespace.a",
            ]
        );
    }
}
