//! What EKS refuses in access entries and Pod Identity associations, decided and worded once:
//! `validate` checks the file with these, `plan` checks live roles with them, and apply's hints
//! name the same rules.

use super::policy::Effect;
use super::{IamArn, PolicyDocument};

/// The service principal of the EKS Pod Identity agent.
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";
/// What the agent does with the role: both must be allowed to it.
pub const POD_IDENTITY_ACTIONS: [&str; 2] = ["sts:AssumeRole", "sts:TagSession"];
/// EKS's rule for the trust of a Pod Identity role, as hints quote it.
pub const POD_IDENTITY_TRUST_RULE: &str = "EKS Pod Identity requires the role's trust policy to allow the service principal `pods.eks.amazonaws.com` both `sts:AssumeRole` and `sts:TagSession`";
/// EKS's rule for the account of a Pod Identity role, as hints quote it.
pub const POD_IDENTITY_ACCOUNT_RULE: &str =
    "EKS Pod Identity requires the role to be in the cluster's AWS account";
/// EKS's rule for service-linked roles, as hints quote it (EKS User Guide, access entries).
pub const SERVICE_LINKED_RULE: &str = "EKS: \"Access entries do not support service linked roles\" (their ARNs look like `arn:aws:iam::*:role/aws-service-role/*`)";

/// The path IAM puts every service-linked role under.
const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

/// Whether `principal` is the ARN of a service-linked role: EKS creates no access entry for one.
pub fn is_service_linked_role(principal: &str) -> bool {
    matches!(
        IamArn::parse(principal),
        Some(IamArn::Role { path, .. }) if path.starts_with(SERVICE_LINKED_PATH)
    )
}

/// The actions of [`POD_IDENTITY_ACTIONS`] that `trust` does not allow the Pod Identity agent,
/// in that order: empty when EKS accepts the role. An action is allowed when an `Allow`
/// statement names the agent's service principal and covers it, and no unconditional `Deny`
/// naming the agent (or everyone) covers it.
pub fn pod_identity_trust_gaps(trust: &PolicyDocument) -> Vec<&'static str> {
    let names_agent = |statement: &super::policy::Statement, or_everyone: bool| {
        statement.principals().is_some_and(|mut principals| {
            principals.any(|(kind, name)| {
                (kind == "Service" && name == POD_IDENTITY_SERVICE) || (or_everyone && name == "*")
            })
        })
    };
    POD_IDENTITY_ACTIONS
        .into_iter()
        .filter(|action| {
            let allowed = trust.statements().iter().any(|statement| {
                statement.effect() == Effect::Allow
                    && names_agent(statement, false)
                    && statement.matches_action(action)
            });
            let denied = trust.statements().iter().any(|statement| {
                statement.effect() == Effect::Deny
                    && !statement.has_condition()
                    && names_agent(statement, true)
                    && statement.matches_action(action)
            });
            !allowed || denied
        })
        .collect()
}

/// "`sts:TagSession`", "`sts:AssumeRole` and `sts:TagSession`": the gaps, for a message.
pub fn list_actions(actions: &[&str]) -> String {
    actions
        .iter()
        .map(|action| format!("`{action}`"))
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::DocumentKind;

    fn trust(statements: serde_json::Value) -> PolicyDocument {
        let document = json!({"Version": "2012-10-17", "Statement": statements});
        PolicyDocument::from_value(&document, DocumentKind::Trust)
            .unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    fn agent(action: serde_json::Value) -> serde_json::Value {
        json!({"Effect": "Allow", "Principal": {"Service": POD_IDENTITY_SERVICE}, "Action": action})
    }

    #[test]
    fn the_agent_needs_both_actions() {
        let both = trust(json!([agent(json!(["sts:AssumeRole", "sts:TagSession"]))]));
        assert!(pod_identity_trust_gaps(&both).is_empty());
        let assume = trust(json!([agent(json!("sts:AssumeRole"))]));
        assert_eq!(pod_identity_trust_gaps(&assume), ["sts:TagSession"]);
        // Across statements, by wildcard, in any case: what IAM reads.
        let split = trust(json!([
            agent(json!("STS:AssumeRole")),
            agent(json!("sts:Tag*"))
        ]));
        assert!(pod_identity_trust_gaps(&split).is_empty());
        let everything = trust(json!([agent(json!("sts:*"))]));
        assert!(pod_identity_trust_gaps(&everything).is_empty());
    }

    #[test]
    fn another_principal_or_a_deny_does_not_count() {
        let ec2 = trust(json!([{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }]));
        assert_eq!(
            pod_identity_trust_gaps(&ec2),
            ["sts:AssumeRole", "sts:TagSession"]
        );
        let denied = trust(json!([
            agent(json!(["sts:AssumeRole", "sts:TagSession"])),
            {"Effect": "Deny", "Principal": "*", "Action": "sts:TagSession"},
        ]));
        assert_eq!(pod_identity_trust_gaps(&denied), ["sts:TagSession"]);
        // A conditional deny leaves room: EKS's own requests may not match it.
        let conditional = trust(json!([
            agent(json!(["sts:AssumeRole", "sts:TagSession"])),
            {"Effect": "Deny", "Principal": "*", "Action": "sts:TagSession",
             "Condition": {"StringNotEquals": {"aws:SourceAccount": "111122223333"}}},
        ]));
        assert!(pod_identity_trust_gaps(&conditional).is_empty());
    }

    #[test]
    fn service_linked_roles_are_told_by_their_path() {
        assert!(is_service_linked_role(
            "arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
        ));
        assert!(is_service_linked_role(
            "arn:aws-cn:iam::111122223333:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
        ));
        assert!(!is_service_linked_role(
            "arn:aws:iam::111122223333:role/service-role/x"
        ));
        assert!(!is_service_linked_role(
            "arn:aws:iam::111122223333:role/aws-service-role"
        ));
        assert!(!is_service_linked_role(
            "arn:aws:iam::111122223333:user/aws-service-role/x"
        ));
    }

    #[test]
    fn actions_are_listed_for_messages() {
        assert_eq!(list_actions(&["sts:TagSession"]), "`sts:TagSession`");
        assert_eq!(
            list_actions(&POD_IDENTITY_ACTIONS),
            "`sts:AssumeRole` and `sts:TagSession`"
        );
    }
}
