use serde_json::json;

use super::*;
use crate::model::{DocumentKind, PolicyDocument, Role, User};

const ACCOUNT: &str = "111122223333";

fn document(statements: serde_json::Value) -> PolicyDocument {
    PolicyDocument::from_value(
        &json!({"Version": "2012-10-17", "Statement": statements}),
        DocumentKind::Any,
    )
    .expect("a valid document")
}

fn state_with_user(inline: serde_json::Value, managed: &[&str]) -> State {
    let mut state = State {
        account: Some(ACCOUNT.to_string()),
        ..State::default()
    };
    state.iam.users.insert(
        "alice".to_string(),
        User {
            managed_policies: managed.iter().map(|m| m.to_string()).collect(),
            inline_policies: [("p".to_string(), document(inline))].into(),
            ..User::default()
        },
    );
    state
}

fn decide(inline: serde_json::Value, action: &str, resource: &str) -> Decision {
    let state = state_with_user(inline, &[]);
    let alice = Principal::user(&state, "alice").expect("alice");
    Analysis::new(&state).evaluate(&alice, action, resource)
}

fn kind(decision: &Decision) -> &'static str {
    match decision {
        Decision::Allowed { .. } => "allowed",
        Decision::Denied { .. } => "denied",
        Decision::ImplicitDeny => "implicit-deny",
        Decision::Possibly { .. } => "possibly",
    }
}

#[test]
fn evaluation_table() {
    let bucket = "arn:aws:s3:::reports/2024/q1.csv";
    let cases = [
        // (statements, action, resource, expected)
        (
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
            "s3:PutObject",
            bucket,
            "implicit-deny",
        ),
        // Action names are case-insensitive, wildcards in the name.
        (
            json!([{"Effect": "Allow", "Action": "S3:get*", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Allow", "Action": "s3:?etObject", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
            "iam:CreateUser",
            "*",
            "allowed",
        ),
        // Resource wildcards are case-sensitive.
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::Reports/*"}]),
            "s3:GetObject",
            bucket,
            "implicit-deny",
        ),
        // Explicit deny wins, whatever the order.
        (
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "denied",
        ),
        (
            json!([{"Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*"}, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "denied",
        ),
        (
            json!([{"Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::other/*"}, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        // NotAction allows all but the listed actions.
        (
            json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]),
            "iam:CreateUser",
            "*",
            "implicit-deny",
        ),
        (
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]),
            "iam:CreateUser",
            "*",
            "denied",
        ),
        // NotResource.
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::reports/*"}]),
            "s3:GetObject",
            bucket,
            "implicit-deny",
        ),
        // Conditions cannot be evaluated: possibly, never yes or no.
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
            "s3:GetObject",
            bucket,
            "possibly",
        ),
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]),
            "s3:GetObject",
            bucket,
            "possibly",
        ),
        // An unconditional allow beats a conditional one; a conditional deny does not matter
        // when nothing allows.
        (
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
            "s3:GetObject",
            bucket,
            "allowed",
        ),
        (
            json!([{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
            "s3:GetObject",
            bucket,
            "implicit-deny",
        ),
    ];
    for (statements, action, resource, expected) in cases {
        let decision = decide(statements.clone(), action, resource);
        assert_eq!(
            kind(&decision),
            expected,
            "{statements} / {action} on {resource}: {decision:?}"
        );
    }
}

#[test]
fn aws_managed_policies_of_the_table_and_unknown_ones() {
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let s3 = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
    let eks = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
    let unknown = "arn:aws:iam::aws:policy/SomethingNew";
    let case = |managed: &str, action: &str| {
        let state = state_with_user(
            json!([{"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}]),
            &[managed],
        );
        let alice = Principal::user(&state, "alice").expect("alice");
        kind(&Analysis::new(&state).evaluate(&alice, action, "*"))
    };
    assert_eq!(case(admin, "iam:CreateUser"), "allowed");
    assert_eq!(case(admin, "iam:DeleteUser"), "denied");
    assert_eq!(case(s3, "s3:PutObject"), "allowed");
    assert_eq!(case(s3, "sts:AssumeRole"), "implicit-deny");
    assert_eq!(case(eks, "eks:DescribeCluster"), "possibly");
    assert_eq!(case(eks, "iam:CreateUser"), "implicit-deny");
    assert_eq!(case(unknown, "sts:AssumeRole"), "possibly");
    // A customer policy ARN the state does not hold.
    assert_eq!(
        case("arn:aws:iam::111122223333:policy/Gone", "s3:GetObject"),
        "possibly"
    );
}

fn role(trust: serde_json::Value) -> Role {
    Role {
        path: "/".to_string(),
        description: None,
        max_session_duration: 3600,
        trust: document(trust),
        managed_policies: Default::default(),
        inline_policies: Default::default(),
        permissions_boundary: None,
        tags: Default::default(),
        role_id: None,
    }
}

#[test]
fn trust_and_identity_together_decide_assumption() {
    let assume_admin = json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::111122223333:role/admin"}]);
    let nothing = json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]);
    let root_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]);
    let direct_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "sts:AssumeRole"}]);
    let other_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]);
    let conditional_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]);
    let deny_identity = json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, {"Effect": "Deny", "Action": "sts:*", "Resource": "*"}]);
    let cases = [
        (assume_admin.clone(), root_trust.clone(), "allowed"),
        // The account root delegates: the identity policy must allow too.
        (nothing.clone(), root_trust.clone(), "implicit-deny"),
        // Named directly in the same account: the trust policy is enough.
        (nothing.clone(), direct_trust.clone(), "allowed"),
        (assume_admin.clone(), other_trust, "implicit-deny"),
        (assume_admin.clone(), conditional_trust, "possibly"),
        (deny_identity, direct_trust, "denied"),
    ];
    for (identity, trust, expected) in cases {
        let mut state = state_with_user(identity.clone(), &[]);
        state
            .iam
            .roles
            .insert("admin".to_string(), role(trust.clone()));
        let alice = Principal::user(&state, "alice").expect("alice");
        let decision = Analysis::new(&state).can_assume(&alice, "admin");
        assert_eq!(
            kind(&decision),
            expected,
            "{identity} / {trust}: {decision:?}"
        );
    }
}

/// [`Analysis::assumable`] gives exactly what asking [`Analysis::can_assume`] of every role
/// gives (the roles it may assume, in name order, with the same decisions), whatever names the
/// trust (the account, `*`, another account, the principal by ARN with or without a path, a
/// `NotPrincipal`, a condition, a deny) and whatever the identity policies allow (nothing, a
/// range of roles, a deny, an AWS-managed policy, an unknown external principal).
#[test]
fn assumable_roles_are_what_each_role_answers() {
    let mut state = State {
        account: Some(ACCOUNT.to_string()),
        ..State::default()
    };
    let trust = |principal: serde_json::Value, extra: serde_json::Value| {
        let mut statement =
            json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal});
        if let (Some(statement), Some(extra)) = (statement.as_object_mut(), extra.as_object()) {
            statement.extend(extra.clone());
        }
        document(json!([statement]))
    };
    let trusts = [
        trust(
            json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}),
            json!({}),
        ),
        trust(json!({"AWS": ACCOUNT}), json!({})),
        trust(json!({"AWS": "*"}), json!({})),
        trust(json!({"AWS": "arn:aws:iam::999999999999:root"}), json!({})),
        trust(
            json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:user/alice")}),
            json!({}),
        ),
        trust(
            json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:user/team/bob")}),
            json!({}),
        ),
        trust(
            json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}),
            json!({"Condition": {"StringEquals": {"sts:ExternalId": "x"}}}),
        ),
        trust(json!({"Service": "ec2.amazonaws.com"}), json!({})),
        document(
            json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/carol")}}]),
        ),
        document(json!([
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}},
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/alice")}},
        ])),
        trust(
            json!({"AWS": "arn:aws:iam::999999999999:role/outside"}),
            json!({}),
        ),
    ];
    for (index, trust) in trusts.into_iter().enumerate() {
        state.iam.roles.insert(
            format!("r{index:02}"),
            Role {
                path: "/".into(),
                description: None,
                max_session_duration: 3600,
                trust,
                managed_policies: Default::default(),
                inline_policies: [(
                    "p".to_string(),
                    document(json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/r0*"}])),
                )]
                .into(),
                permissions_boundary: None,
                tags: Default::default(),
                role_id: None,
            },
        );
    }
    let users = [
        (
            "alice",
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            "",
        ),
        (
            "bob",
            json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/r0*"}]),
            "/team/",
        ),
        (
            "carol",
            json!([{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}, {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*r03"}]),
            "",
        ),
        (
            "dave",
            json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
            "",
        ),
        (
            "erin",
            json!([{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}]),
            "",
        ),
    ];
    for (name, inline, path) in users {
        state.iam.users.insert(
            name.to_string(),
            User {
                path: if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                },
                inline_policies: [("p".to_string(), document(inline))].into(),
                ..User::default()
            },
        );
    }
    state.iam.users.insert(
        "frank".to_string(),
        User {
            managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess".to_string()].into(),
            ..User::default()
        },
    );
    let analysis = Analysis::new(&state);
    let mut principals = iam_principals(&state);
    principals.push(Principal::external(
        "outside",
        "arn:aws:iam::999999999999:role/outside",
    ));
    principals.push(Principal::external(
        "alice-elsewhere",
        "arn:aws:iam::999999999999:user/alice",
    ));
    let mut some = 0;
    for principal in &principals {
        let asked: Vec<(&str, Decision)> = state
            .iam
            .roles
            .keys()
            .map(|role| (role.as_str(), analysis.can_assume(principal, role)))
            .filter(|(_, decision)| decision.may_allow())
            .collect();
        some += asked.len();
        assert_eq!(
            *analysis.assumable(principal),
            asked,
            "{}",
            principal.label()
        );
        // Asked again: the kept answer.
        assert_eq!(
            *analysis.assumable(principal),
            asked,
            "{}",
            principal.label()
        );
    }
    assert!(some > 20, "the table exercises assumable roles: {some}");
}
