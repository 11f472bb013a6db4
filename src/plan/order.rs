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

    /// `lines` (plan lines, `+ iam.user.b`) sorted, as plan lines again.
    fn sorted(lines: &[&str]) -> Vec<String> {
        let mut changes: Vec<Change> = lines.iter().map(|line| Change::from_line(line)).collect();
        sort(&mut changes);
        changes
            .iter()
            .map(|c| format!("{} {}", c.action.symbol(), c.address))
            .collect()
    }

    #[test]
    fn revoke_first_grant_last_identities_deleted_last() {
        let order = sorted(&[
            "- iam.user.old-user",
            "+ cluster.demo.aws-auth[arn:b]",
            "- iam.policy.old-policy",
            "~ iam.role.eks-admin",
            "- cluster.demo.aws-auth[arn:a]",
            "+ iam.policy.view",
            "- cluster.demo.namespace.old",
            "<= cluster.demo.clusterrolebinding.reader",
            "- cluster.demo.access-entry[arn:c]",
            "-/+ cluster.demo.rolebinding.ns/b",
            "- iam.user.another-old-user",
            "+ iam.group.developers",
        ]);
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
        let order = sorted(&[
            "+ cluster.demo.namespace.b",
            "+ cluster.demo_old.namespace.a",
            "+ cluster.demo-eu.namespace.a",
            "+ cluster.demo.namespace.a",
            "+ iam.user.b",
        ]);
        assert_eq!(
            order,
            [
                "+ iam.user.b",
                "+ cluster.demo-eu.namespace.a",
                "+ cluster.demo.namespace.a",
                "+ cluster.demo.namespace.b",
                "+ cluster.demo_old.namespace.a",
            ]
        );
    }
}
