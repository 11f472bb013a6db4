//! The IAM rules of issue 19: admin-equivalent statements (`NotAction` included), the classic
//! escalation methods, data exfiltration and resource exposure. Each rule fires on one case
//! and stays quiet on the closest benign one.

use super::tests::{fired, policy};
use super::*;

/// `NotAction` of one action on `*` allows everything else: admin-equivalent, reported as such,
/// and the escalation rules' "already admin" shortcut agrees (nothing is silent).
#[test]
fn not_action_on_every_resource_is_admin_equivalent() {
    for statement in [
        "{Effect: Allow, NotAction: s3:DeleteBucket, Resource: \"*\"}",
        "{Effect: Allow, NotAction: [iam:CreateUser], Resource: \"*\"}",
        "{Effect: Allow, NotAction: s3:DeleteBucket, NotResource: \"arn:aws:s3:::audit/*\"}",
    ] {
        assert_eq!(
            fired(&policy(statement)),
            [(WILDCARD_ADMIN, Severity::High)],
            "{statement}"
        );
    }
    // A `NotAction` that leaves some of IAM's policy-writing actions in (here: attaching) can
    // still grant itself everything.
    assert_eq!(
        fired(&policy(
            "{Effect: Allow, NotAction: [iam:PutUserPolicy, iam:PutGroupPolicy, iam:PutRolePolicy], Resource: \"*\"}"
        )),
        [(WILDCARD_ADMIN, Severity::High)]
    );
    // On one bucket only: not admin.
    assert_eq!(
        fired(&policy(
            "{Effect: Allow, NotAction: s3:DeleteBucket, Resource: \"arn:aws:s3:::logs/*\"}"
        )),
        []
    );
}
