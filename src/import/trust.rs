//! Folding a live trust policy back into access.yaml's trust sugar (`accounts`, `services`,
//! `roles`, `users`, `serviceAccounts`) when it has exactly the shape the sugar generates.
//!
//! This only proposes: the caller loads the file with the sugar and keeps it only when the
//! loader's own generation gives back a document equal to the live one.

use crate::model::policy::{Condition, Effect, Statement, VERSION_2012};
use crate::model::{AccountId, IamArn, PolicyDocument, issuer_host_path};

const ASSUME_ROLE: &str = "sts:AssumeRole";
const WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";
const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// The sugar keys of one role's trust.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sugar {
    pub accounts: Vec<String>,
    pub services: Vec<String>,
    pub roles: Vec<String>,
    pub users: Vec<String>,
    pub service_accounts: Vec<String>,
}

/// What the sugar may refer to.
pub struct Context<'a> {
    /// The cluster being imported and its OIDC issuer, when it has one the sugar may use.
    pub cluster: &'a str,
    pub issuer: Option<&'a str>,
    pub partition: &'a str,
    pub account: &'a str,
    /// ARN → name, for roles and users of the file.
    pub role_name: &'a dyn Fn(&str) -> Option<String>,
    pub user_name: &'a dyn Fn(&str) -> Option<String>,
}

/// The sugar that would generate `document`, or `None` when no sugar has its shape.
pub fn fold(document: &PolicyDocument, context: &Context<'_>) -> Option<Sugar> {
    if document.version() != VERSION_2012 || document.id().is_some() {
        return None;
    }
    let statements = document.statements();
    let mut sugar = Sugar::default();
    let mut assume_statements = 0;
    for statement in statements {
        // The sugar writes `Effect`, one `Action`, `Principal` and (for IRSA) a `Condition`:
        // nothing else.
        let plain = statement.effect() == Effect::Allow
            && statement.sid().is_none()
            && statement.not_principals().is_none()
            && statement.not_actions().is_none()
            && statement.resources().is_none()
            && statement.not_resources().is_none();
        if !plain {
            return None;
        }
        let action = single(statement.actions()?)?;
        let principals: Vec<(&str, &str)> = statement.principals()?.collect();
        if action == ASSUME_ROLE && !statement.has_condition() {
            assume_statements += 1;
            for (kind, value) in principals {
                match kind {
                    "Service" => sugar.services.push(value.to_string()),
                    "AWS" => aws_principal(value, context, &mut sugar)?,
                    _ => return None,
                }
            }
        } else if action == WEB_IDENTITY && statement.has_condition() {
            sugar
                .service_accounts
                .push(service_account(statement, &principals, context)?);
        } else {
            return None;
        }
    }
    // The sugar makes at most one sts:AssumeRole statement.
    if assume_statements > 1 || statements.is_empty() {
        return None;
    }
    Some(sugar)
}

/// The one item of a list, or `None`.
fn single<'a>(mut items: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let first = items.next()?;
    items.next().is_none().then_some(first)
}

fn aws_principal(value: &str, context: &Context<'_>, sugar: &mut Sugar) -> Option<()> {
    if AccountId::is_valid(value) {
        sugar.accounts.push(value.to_string());
        return Some(());
    }
    let arn = IamArn::parse(value)?;
    if arn.partition() != context.partition {
        return None;
    }
    match arn {
        IamArn::AccountRoot { account, .. } => sugar.accounts.push(account),
        IamArn::Role { .. } => sugar
            .roles
            .push((context.role_name)(value).unwrap_or_else(|| value.to_string())),
        IamArn::User { .. } => sugar
            .users
            .push((context.user_name)(value).unwrap_or_else(|| value.to_string())),
        _ => return None,
    }
    Some(())
}

/// Seed 003's IRSA statement for the imported cluster's issuer → `cluster/namespace/name`.
fn service_account(
    statement: &Statement,
    principals: &[(&str, &str)],
    context: &Context<'_>,
) -> Option<String> {
    let issuer = issuer_host_path(context.issuer?);
    let provider = crate::model::arn::oidc_provider(context.partition, context.account, issuer);
    if principals != [("Federated", provider.as_str())] {
        return None;
    }
    let conditions: Vec<Condition<'_>> = statement.conditions().collect();
    let equals = conditions.len() == 2
        && conditions
            .iter()
            .all(|condition| condition.operator == "StringEquals");
    if !equals {
        return None;
    }
    let lookup = |suffix: &str| {
        conditions
            .iter()
            .find(|condition| {
                condition
                    .key
                    .eq_ignore_ascii_case(&format!("{issuer}:{suffix}"))
            })
            .and_then(|condition| single(condition.values()))
    };
    if lookup("aud")? != STS_AUDIENCE {
        return None;
    }
    let subject = lookup("sub")?.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = subject.split_once(':')?;
    if namespace.is_empty() || name.is_empty() || name.contains(':') {
        return None;
    }
    Some(format!("{}/{namespace}/{name}", context.cluster))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::DocumentKind;

    fn fold_value(value: Value) -> Option<Sugar> {
        let document = PolicyDocument::from_value(&value, DocumentKind::Any).expect("document");
        let role_name = |arn: &str| {
            (arn == "arn:aws:iam::111122223333:role/team/admin").then(|| "admin".to_string())
        };
        let user_name = |_: &str| None;
        fold(
            &document,
            &Context {
                cluster: "demo",
                issuer: Some("https://oidc.eks.us-east-1.amazonaws.com/id/ABC"),
                partition: "aws",
                account: "111122223333",
                role_name: &role_name,
                user_name: &user_name,
            },
        )
    }

    #[test]
    fn accounts_services_and_principals_fold() {
        let sugar = fold_value(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {
                    "AWS": [
                        "arn:aws:iam::111122223333:root",
                        "arn:aws:iam::111122223333:role/team/admin",
                        "arn:aws:iam::444455556666:user/ci"
                    ],
                    "Service": "ec2.amazonaws.com"
                }
            }]
        }))
        .expect("sugar");
        assert_eq!(sugar.accounts, ["111122223333"]);
        assert_eq!(sugar.roles, ["admin"]);
        assert_eq!(sugar.users, ["arn:aws:iam::444455556666:user/ci"]);
        assert_eq!(sugar.services, ["ec2.amazonaws.com"]);
    }

    #[test]
    fn irsa_folds_for_this_clusters_issuer_only() {
        let statement = |issuer: &str| {
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{issuer}")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{issuer}:aud"): "sts.amazonaws.com",
                        format!("{issuer}:sub"): "system:serviceaccount:apps:web"
                    }}
                }]
            })
        };
        let sugar =
            fold_value(statement("oidc.eks.us-east-1.amazonaws.com/id/ABC")).expect("sugar");
        assert_eq!(sugar.service_accounts, ["demo/apps/web"]);
        assert!(fold_value(statement("oidc.eks.us-east-1.amazonaws.com/id/OTHER")).is_none());
    }

    #[test]
    fn other_shapes_stay_raw() {
        for document in [
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            }]}),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}},
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}
            ]}),
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Principal": {"Service": "ec2.amazonaws.com"}
            }]}),
            json!({"Version": "2008-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}
            }]}),
        ] {
            assert!(fold_value(document.clone()).is_none(), "{document}");
        }
    }
}
