//! The order apply runs changes in: revoke access first, then create and change in dependency
//! order with access granted last, then delete what remains with identities last.

use std::cmp::{Ordering, Reverse};

use super::{Action, Change};

/// Which of the three passes a change belongs to.
fn pass(change: &Change) -> u8 {
    match change.action {
        Action::Delete if change.address.kind.is_access_mapping() => 0,
        Action::Delete => 2,
        Action::Create | Action::Update | Action::Replace | Action::Adopt => 1,
    }
}

fn compare(left: &Change, right: &Change) -> Ordering {
    let left_pass = pass(left);
    left_pass.cmp(&pass(right)).then_with(|| {
        if left_pass == 2 {
            Reverse(left.address.kind)
                .cmp(&Reverse(right.address.kind))
                .then_with(|| left.address.cmp(&right.address))
        } else {
            // Addresses order by kind first, so this is Kind order with ties by address.
            left.address.cmp(&right.address)
        }
    })
}

/// Sorts `changes` into apply order. Stable and total, so the plan is deterministic.
pub(super) fn sort(changes: &mut [Change]) {
    changes.sort_by(compare);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Address, Kind};

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
}
