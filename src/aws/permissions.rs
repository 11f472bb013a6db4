//! The IAM permissions accessctl needs: one table of every AWS operation it calls (in IAM
//! action spelling, `service:Operation`, as the [`CallCounter`](super::CallCounter) records
//! them), each with the phase that calls it, and the least-privilege policy document built
//! from it (`accessctl iam-policy`).
//!
//! The table cannot drift from the code unnoticed: a unit test finds every action literal the
//! calls of `src/aws` name (each call names its action for errors and retries) and requires
//! the table to hold exactly those; another checks each phase against the access level of the
//! Service Authorization Reference catalogue; the integration tests check every call a plan
//! and an apply of the combined example recorded against the generated policy.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::policy::VERSION_2012;

/// When accessctl calls an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Reading live state: `plan`, `drift`, `snapshot`, `import`, and the `--live` insight
    /// commands (and `apply`, which plans first).
    Read,
    /// Changing it: `apply` only.
    Write,
}

use Phase::{Read, Write};

/// Every AWS operation accessctl calls, sorted, with the phase that calls it.
pub const OPERATIONS: &[(&str, Phase)] = &[
    ("eks:AssociateAccessPolicy", Write),
    ("eks:CreateAccessEntry", Write),
    ("eks:CreatePodIdentityAssociation", Write),
    ("eks:DeleteAccessEntry", Write),
    ("eks:DeletePodIdentityAssociation", Write),
    ("eks:DescribeAccessEntry", Read),
    ("eks:DescribeCluster", Read),
    ("eks:DescribePodIdentityAssociation", Read),
    ("eks:DisassociateAccessPolicy", Write),
    ("eks:ListAccessEntries", Read),
    ("eks:ListAssociatedAccessPolicies", Read),
    ("eks:ListPodIdentityAssociations", Read),
    ("eks:TagResource", Write),
    ("eks:UntagResource", Write),
    ("eks:UpdateAccessEntry", Write),
    ("eks:UpdatePodIdentityAssociation", Write),
    ("iam:AddClientIDToOpenIDConnectProvider", Write),
    ("iam:AddUserToGroup", Write),
    ("iam:AttachGroupPolicy", Write),
    ("iam:AttachRolePolicy", Write),
    ("iam:AttachUserPolicy", Write),
    ("iam:CreateAccessKey", Write),
    ("iam:CreateGroup", Write),
    ("iam:CreateOpenIDConnectProvider", Write),
    ("iam:CreatePolicy", Write),
    ("iam:CreatePolicyVersion", Write),
    ("iam:CreateRole", Write),
    ("iam:CreateUser", Write),
    ("iam:DeactivateMFADevice", Write),
    ("iam:DeleteAccessKey", Write),
    ("iam:DeleteGroup", Write),
    ("iam:DeleteGroupPolicy", Write),
    ("iam:DeleteLoginProfile", Write),
    ("iam:DeleteOpenIDConnectProvider", Write),
    ("iam:DeletePolicy", Write),
    ("iam:DeletePolicyVersion", Write),
    ("iam:DeleteRole", Write),
    ("iam:DeleteRolePermissionsBoundary", Write),
    ("iam:DeleteRolePolicy", Write),
    ("iam:DeleteSSHPublicKey", Write),
    ("iam:DeleteServiceSpecificCredential", Write),
    ("iam:DeleteSigningCertificate", Write),
    ("iam:DeleteUser", Write),
    ("iam:DeleteUserPermissionsBoundary", Write),
    ("iam:DeleteUserPolicy", Write),
    ("iam:DeleteVirtualMFADevice", Write),
    ("iam:DetachGroupPolicy", Write),
    ("iam:DetachRolePolicy", Write),
    ("iam:DetachUserPolicy", Write),
    ("iam:GetAccessKeyLastUsed", Read),
    ("iam:GetAccountAuthorizationDetails", Read),
    ("iam:GetGroup", Read),
    ("iam:GetLoginProfile", Read),
    ("iam:GetOpenIDConnectProvider", Read),
    ("iam:GetPolicy", Read),
    ("iam:GetRole", Read),
    ("iam:ListAccessKeys", Read),
    ("iam:ListAttachedGroupPolicies", Read),
    ("iam:ListAttachedRolePolicies", Read),
    ("iam:ListAttachedUserPolicies", Read),
    ("iam:ListEntitiesForPolicy", Read),
    ("iam:ListGroupPolicies", Read),
    ("iam:ListGroupsForUser", Read),
    ("iam:ListInstanceProfilesForRole", Read),
    ("iam:ListMFADevices", Read),
    ("iam:ListOpenIDConnectProviders", Read),
    ("iam:ListPolicyVersions", Read),
    ("iam:ListRolePolicies", Read),
    ("iam:ListRoles", Read),
    ("iam:ListSSHPublicKeys", Read),
    ("iam:ListServiceSpecificCredentials", Read),
    ("iam:ListSigningCertificates", Read),
    ("iam:ListUserPolicies", Read),
    ("iam:PutGroupPolicy", Write),
    ("iam:PutRolePermissionsBoundary", Write),
    ("iam:PutRolePolicy", Write),
    ("iam:PutUserPermissionsBoundary", Write),
    ("iam:PutUserPolicy", Write),
    ("iam:RemoveClientIDFromOpenIDConnectProvider", Write),
    ("iam:RemoveRoleFromInstanceProfile", Write),
    ("iam:RemoveUserFromGroup", Write),
    ("iam:TagOpenIDConnectProvider", Write),
    ("iam:TagPolicy", Write),
    ("iam:TagRole", Write),
    ("iam:TagUser", Write),
    ("iam:UntagOpenIDConnectProvider", Write),
    ("iam:UntagPolicy", Write),
    ("iam:UntagRole", Write),
    ("iam:UntagUser", Write),
    ("iam:UpdateAccessKey", Write),
    ("iam:UpdateAssumeRolePolicy", Write),
    ("iam:UpdateGroup", Write),
    ("iam:UpdateRole", Write),
    ("iam:UpdateUser", Write),
    ("secretsmanager:CreateSecret", Write),
    ("secretsmanager:DescribeSecret", Read),
    ("secretsmanager:PutSecretValue", Write),
    ("secretsmanager:RestoreSecret", Write),
    ("secretsmanager:TagResource", Write),
    // `assumeRole` (several accounts): the base credentials assume each account's role before
    // reading it. In the base identity's policy, narrow its `Resource` to those roles.
    ("sts:AssumeRole", Read),
    ("sts:GetCallerIdentity", Read),
];

/// The actions a command of `phase` needs: `Read` only the reads, `Write` everything.
pub fn actions(phase: Phase) -> impl Iterator<Item = &'static str> {
    OPERATIONS
        .iter()
        .filter(move |(_, needed)| *needed <= phase)
        .map(|(action, _)| *action)
}

/// The least-privilege identity policy for `phase`: one `Allow` statement per service (Sid
/// the service's name), actions sorted, on `Resource: "*"` (accessctl manages objects of any
/// name and path a file declares, so no narrower resource is sound for every file).
pub fn policy(phase: Phase) -> Value {
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for action in actions(phase) {
        let service = action
            .split_once(':')
            .map_or(action, |(service, _)| service);
        by_service.entry(service).or_default().push(action);
    }
    let statements: Vec<Value> = by_service
        .into_iter()
        .map(|(service, mut actions)| {
            actions.sort_unstable();
            json!({
                "Sid": sid(service, phase),
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
            })
        })
        .collect();
    json!({ "Version": VERSION_2012, "Statement": statements })
}

/// `AccessctlIamRead`, `AccessctlSecretsmanagerWrite`: alphanumeric, as IAM requires of a Sid.
fn sid(service: &str, phase: Phase) -> String {
    let mut chars = service.chars();
    let service: String = chars
        .next()
        .map(|first| first.to_ascii_uppercase())
        .into_iter()
        .chain(chars)
        .collect();
    let phase = match phase {
        Read => "Read",
        Write => "Apply",
    };
    format!("Accessctl{service}{phase}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::model::policy::catalogue::{AccessLevel, catalogue};
    use crate::model::policy::{DocumentKind, Effect, PolicyDocument};

    /// The action literals (`"iam:GetRole"`) in the non-test code of `dir`, recursively, but
    /// for this file's.
    fn action_literals(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                action_literals(&path, found);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            // The table itself names every action: it is what is checked, not evidence.
            if !name.ends_with(".rs") || name.starts_with("tests") || name == "permissions.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for piece in code.split('"').skip(1).step_by(2) {
                let action = piece.split_once(':').is_some_and(|(service, name)| {
                    ["iam", "sts", "eks", "secretsmanager"].contains(&service)
                        && !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphabetic())
                });
                if action {
                    found.insert(piece.to_string());
                }
            }
        }
    }

    #[test]
    fn the_table_holds_exactly_the_operations_the_aws_code_calls() {
        let mut called = BTreeSet::new();
        action_literals(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws"),
            &mut called,
        );
        let table: BTreeSet<String> = OPERATIONS.iter().map(|(a, _)| a.to_string()).collect();
        let missing: Vec<_> = called.difference(&table).collect();
        let unused: Vec<_> = table.difference(&called).collect();
        assert!(
            missing.is_empty() && unused.is_empty(),
            "called but not in OPERATIONS: {missing:?}; in OPERATIONS but never called: {unused:?}"
        );
    }

    #[test]
    fn the_table_is_sorted_without_duplicates() {
        let names: Vec<&str> = OPERATIONS.iter().map(|(a, _)| *a).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    /// A read is what the Service Authorization Reference calls List or Read; everything
    /// else (Write, Permissions management, Tagging) is a write. Unknown actions fail too.
    #[test]
    fn each_phase_agrees_with_the_catalogue_access_level() {
        for (action, phase) in OPERATIONS {
            let level = catalogue()
                .action(action)
                .unwrap_or_else(|| panic!("{action} is not an IAM action"))
                .access_level();
            // Assuming an account's role is how reading it starts, though it creates a session
            // (a Write in the catalogue).
            let read = matches!(level, AccessLevel::List | AccessLevel::Read)
                || *action == "sts:AssumeRole";
            assert_eq!(*phase == Read, read, "{action}: {level:?}");
        }
    }

    #[test]
    fn the_plan_policy_allows_no_write_and_the_apply_policy_everything() {
        let plan = PolicyDocument::from_value(&policy(Read), DocumentKind::Identity).unwrap();
        let apply = PolicyDocument::from_value(&policy(Write), DocumentKind::Identity).unwrap();
        let allows = |document: &PolicyDocument, action: &str| {
            document.statements().iter().any(|statement| {
                statement.effect() == Effect::Allow
                    && statement.matches_action(action)
                    && statement.matches_resource("*")
            })
        };
        for (action, phase) in OPERATIONS {
            assert!(allows(&apply, action), "apply policy lacks {action}");
            assert_eq!(
                allows(&plan, action),
                *phase == Read,
                "plan policy and {action}"
            );
        }
        // Nothing else: every action either policy names is in the table.
        for document in [&plan, &apply] {
            for statement in document.statements() {
                for action in statement.actions().unwrap() {
                    assert!(OPERATIONS.iter().any(|(a, _)| *a == action), "{action}");
                }
            }
        }
    }

    #[test]
    fn the_policy_groups_by_service_with_a_sid_each() {
        let document = policy(Read);
        let sids: Vec<&str> = document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|statement| statement["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(
            sids,
            [
                "AccessctlEksRead",
                "AccessctlIamRead",
                "AccessctlSecretsmanagerRead",
                "AccessctlStsRead"
            ]
        );
        assert_eq!(document["Version"], "2012-10-17");
    }
}
