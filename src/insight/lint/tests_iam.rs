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

const ACCOUNT_ARN: &str = "arn:aws:iam::111122223333";

/// A user `u` holding policy `P` with these statements, plus more of the file (`extra`, under
/// `iam:`).
fn holder(statements: &[&str], extra: &str) -> String {
    let statements: Vec<String> = statements
        .iter()
        .map(|statement| format!("          - {statement}\n"))
        .collect();
    format!(
        "iam:\n  policies:\n    P:\n      document:\n        Version: \"2012-10-17\"\n        Statement:\n{}  users:\n    u:\n      policies: [P]\n{extra}",
        statements.concat()
    )
}

fn rules(body: &str) -> Vec<&'static str> {
    fired(body).into_iter().map(|(rule, _)| rule).collect()
}

#[test]
fn self_attach_through_aws_username_is_on_itself() {
    assert_eq!(
        rules(&holder(
            &[&format!(
                "{{Effect: Allow, Action: iam:PutUserPolicy, Resource: \"{ACCOUNT_ARN}:user/${{aws:username}}\"}}"
            )],
            ""
        )),
        [ESCALATION_SELF_ATTACH]
    );
    // Its own keys and password are not an escalation.
    assert_eq!(
        rules(&holder(
            &[&format!(
                "{{Effect: Allow, Action: [iam:CreateAccessKey, iam:CreateLoginProfile, iam:UpdateLoginProfile], Resource: \"{ACCOUNT_ARN}:user/${{aws:username}}\"}}"
            )],
            ""
        )),
        [] as [&str; 0]
    );
}

#[test]
fn policy_versions_of_its_own_policies() {
    for action in ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"] {
        assert_eq!(
            fired(&holder(
                &[&format!(
                    "{{Effect: Allow, Action: {action}, Resource: \"{ACCOUNT_ARN}:policy/*\"}}"
                )],
                ""
            )),
            [(ESCALATION_POLICY_VERSION, Severity::High)],
            "{action}"
        );
    }
    // A policy not attached to it.
    assert_eq!(
        rules(&holder(
            &[&format!(
                "{{Effect: Allow, Action: iam:CreatePolicyVersion, Resource: \"{ACCOUNT_ARN}:policy/Other\"}}"
            )],
            ""
        )),
        [] as [&str; 0]
    );
}

/// `intern` holds nothing `u` lacks; `admin` holds everything.
const USERS: &str = "    intern: {}\n    admin:\n      policies: [aws:AdministratorAccess]\n";

#[test]
fn credentials_of_a_richer_user() {
    for (action, rule) in [
        ("iam:CreateAccessKey", ESCALATION_ACCESS_KEYS),
        ("iam:CreateLoginProfile", ESCALATION_LOGIN_PROFILE),
        ("iam:UpdateLoginProfile", ESCALATION_LOGIN_PROFILE),
    ] {
        let on = |user: &str| {
            holder(
                &[&format!(
                    "{{Effect: Allow, Action: {action}, Resource: \"{ACCOUNT_ARN}:user/{user}\"}}"
                )],
                USERS,
            )
        };
        assert_eq!(fired(&on("admin")), [(rule, Severity::High)], "{action}");
        // A user holding nothing more is lateral movement, not an escalation.
        assert_eq!(rules(&on("intern")), [] as [&str; 0], "{action}");
    }
    // A condition keeps it quiet.
    assert_eq!(
        rules(&holder(
            &[
                "{Effect: Allow, Action: iam:CreateLoginProfile, Resource: \"*\", Condition: {StringEquals: {aws:ResourceTag/team: web}}}"
            ],
            USERS
        )),
        [] as [&str; 0]
    );
}

#[test]
fn permissions_of_a_role_it_can_assume() {
    let role = "  roles:\n    r:\n      trust: {accounts: [\"111122223333\"]}\n";
    let attach = format!(
        "{{Effect: Allow, Action: iam:AttachRolePolicy, Resource: \"{ACCOUNT_ARN}:role/r\"}}"
    );
    let assume =
        format!("{{Effect: Allow, Action: sts:AssumeRole, Resource: \"{ACCOUNT_ARN}:role/r\"}}");
    assert_eq!(
        fired(&holder(&[&attach, &assume], role)),
        [(ESCALATION_ASSUMABLE_ROLE, Severity::High)]
    );
    // Without `sts:AssumeRole` it cannot use what it attaches.
    assert_eq!(rules(&holder(&[&attach], role)), [] as [&str; 0]);
}

#[test]
fn joining_a_richer_group() {
    let groups =
        "  groups:\n    admins:\n      policies: [aws:AdministratorAccess]\n    readers: {}\n";
    let add = |group: &str| {
        holder(
            &[&format!(
                "{{Effect: Allow, Action: iam:AddUserToGroup, Resource: \"{ACCOUNT_ARN}:group/accessctl/{group}\"}}"
            )],
            groups,
        )
    };
    assert_eq!(
        fired(&add("admins")),
        [(ESCALATION_GROUP_MEMBERSHIP, Severity::High)]
    );
    assert_eq!(rules(&add("readers")), [] as [&str; 0]);
}

#[test]
fn rewriting_the_trust_of_a_richer_role() {
    let roles = "  roles:\n    admin:\n      trust: {accounts: [\"111122223333\"]}\n      policies: [aws:AdministratorAccess]\n    low:\n      trust: {accounts: [\"111122223333\"]}\n";
    let on = |role: &str| {
        holder(
            &[&format!(
                "{{Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: \"{ACCOUNT_ARN}:role/{role}\"}}"
            )],
            roles,
        )
    };
    assert_eq!(fired(&on("admin")), [(ESCALATION_TRUST, Severity::High)]);
    assert_eq!(rules(&on("low")), [] as [&str; 0]);
}

#[test]
fn passing_a_richer_role_to_compute() {
    let role = |service: &str, policies: &str| {
        format!(
            "  roles:\n    runner:\n      trust: {{services: [{service}]}}\n      policies: [{policies}]\n"
        )
    };
    let pass =
        format!("{{Effect: Allow, Action: iam:PassRole, Resource: \"{ACCOUNT_ARN}:role/runner\"}}");
    let cases: [(&str, &[&str]); 5] = [
        ("ec2.amazonaws.com", &["ec2:RunInstances"]),
        (
            "lambda.amazonaws.com",
            &["lambda:CreateFunction", "lambda:InvokeFunction"],
        ),
        ("glue.amazonaws.com", &["glue:CreateDevEndpoint"]),
        (
            "cloudformation.amazonaws.com",
            &["cloudformation:CreateStack"],
        ),
        (
            "codebuild.amazonaws.com",
            &["codebuild:CreateProject", "codebuild:StartBuild"],
        ),
    ];
    for (service, actions) in cases {
        let run = format!(
            "{{Effect: Allow, Action: [{}], Resource: \"*\"}}",
            actions.join(", ")
        );
        assert_eq!(
            fired(&holder(
                &[&pass, &run],
                &role(service, "aws:AdministratorAccess")
            )),
            [(ESCALATION_PASSROLE_COMPUTE, Severity::High)],
            "{service}"
        );
        // A role holding nothing more, or trusting another service: no escalation.
        assert_eq!(
            rules(&holder(&[&pass, &run], &role(service, ""))),
            [] as [&str; 0]
        );
        assert_eq!(
            rules(&holder(
                &[&pass, &run],
                &role("ecs-tasks.amazonaws.com", "aws:AdministratorAccess")
            )),
            [] as [&str; 0],
            "{service}"
        );
    }
    // Half of Lambda's pair is not enough; `iam:PassedToService` keeps it quiet.
    assert_eq!(
        rules(&holder(
            &[
                &pass,
                "{Effect: Allow, Action: lambda:CreateFunction, Resource: \"*\"}"
            ],
            &role("lambda.amazonaws.com", "aws:AdministratorAccess")
        )),
        [] as [&str; 0]
    );
    assert_eq!(
        rules(&holder(
            &[
                &format!(
                    "{{Effect: Allow, Action: iam:PassRole, Resource: \"{ACCOUNT_ARN}:role/runner\", Condition: {{StringEquals: {{iam:PassedToService: ec2.amazonaws.com}}}}}}"
                ),
                "{Effect: Allow, Action: ec2:RunInstances, Resource: \"*\"}"
            ],
            &role("ec2.amazonaws.com", "aws:AdministratorAccess")
        )),
        [] as [&str; 0]
    );
}

#[test]
fn code_injected_into_any_function_or_endpoint() {
    for resource in [
        "*",
        "arn:aws:lambda:*:111122223333:function:*",
        "arn:aws:lambda:eu-west-1:111122223333:function:*",
    ] {
        assert_eq!(
            fired(&holder(
                &[&format!(
                    "{{Effect: Allow, Action: lambda:UpdateFunctionCode, Resource: \"{resource}\"}}"
                )],
                ""
            )),
            [(ESCALATION_COMPUTE_INJECTION, Severity::High)],
            "{resource}"
        );
    }
    assert_eq!(
        fired(&holder(
            &["{Effect: Allow, Action: glue:UpdateDevEndpoint, Resource: \"*\"}"],
            ""
        )),
        [(ESCALATION_COMPUTE_INJECTION, Severity::High)]
    );
    // One named function.
    assert_eq!(
        rules(&holder(
            &[
                "{Effect: Allow, Action: lambda:UpdateFunctionCode, Resource: \"arn:aws:lambda:us-east-1:111122223333:function:app\"}"
            ],
            ""
        )),
        [] as [&str; 0]
    );
}

#[test]
fn data_exfiltration_by_width() {
    let secret = "secretsmanager:GetSecretValue";
    // Action, resource, condition (appended to the statement), and the severity it fires at.
    let cases: [(&str, &str, &str, Option<Severity>); 11] = [
        (secret, "*", "", Some(Severity::High)),
        (
            secret,
            "arn:aws:secretsmanager:*:111122223333:secret:*",
            "",
            Some(Severity::Medium),
        ),
        (
            secret,
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-*",
            "",
            None,
        ),
        ("ssm:GetParametersByPath", "*", "", Some(Severity::High)),
        ("kms:Decrypt", "*", "", Some(Severity::High)),
        ("s3:GetObject", "*", "", Some(Severity::Medium)),
        ("s3:GetObject", "arn:aws:s3:::*", "", Some(Severity::Low)),
        ("s3:GetObject", "arn:aws:s3:::logs/*", "", None),
        // A condition on what it reaches keeps it quiet; one on how the request is made does not.
        (
            secret,
            "*",
            ", Condition: {StringEquals: {aws:ResourceTag/team: web}}",
            None,
        ),
        (
            secret,
            "*",
            ", Condition: {Bool: {aws:SecureTransport: \"true\"}}",
            Some(Severity::High),
        ),
        (
            secret,
            "*",
            ", Condition: {StringNotEquals: {aws:ResourceTag/team: web}}",
            Some(Severity::High),
        ),
    ];
    for (action, resource, condition, severity) in cases {
        let statement =
            format!("{{Effect: Allow, Action: {action}, Resource: \"{resource}\"{condition}}}");
        let expected: Vec<_> = severity
            .map(|severity| (DATA_EXFILTRATION, severity))
            .into_iter()
            .collect();
        assert_eq!(fired(&policy(&statement)), expected, "{statement}");
    }
}

#[test]
fn resource_exposure_by_width() {
    let put = |action: &str, resource: &str| {
        policy(&format!(
            "{{Effect: Allow, Action: {action}, Resource: \"{resource}\"}}"
        ))
    };
    for action in [
        "s3:PutBucketPolicy",
        "kms:PutKeyPolicy",
        "secretsmanager:PutResourcePolicy",
    ] {
        assert_eq!(
            fired(&put(action, "*")),
            [(RESOURCE_EXPOSURE, Severity::High)],
            "{action}"
        );
    }
    assert_eq!(
        fired(&put("s3:PutBucketPolicy", "arn:aws:s3:::*")),
        [(RESOURCE_EXPOSURE, Severity::Medium)]
    );
    assert_eq!(
        fired(&put("s3:PutBucketPolicy", "arn:aws:s3:::my-bucket")),
        []
    );
    assert_eq!(
        fired(&put(
            "kms:PutKeyPolicy",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )),
        []
    );
}

/// An escalation finding names the method and the target, and points at the statement that
/// allows it (file:line), not at the principal.
#[test]
fn an_escalation_finding_points_at_its_statement() {
    let text = format!(
        "version: 1\naccount: \"111122223333\"\n{}",
        holder(
            &[
                "{Effect: Allow, Action: s3:ListBucket, Resource: \"*\"}",
                "{Effect: Allow, Action: iam:CreateAccessKey, Resource: \"*\"}"
            ],
            USERS
        )
    );
    let desired = match crate::spec::load_text("access.yaml", &text, &Default::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    let findings = lint(&desired.state, &crate::spec::locations::index(&text));
    let found: Vec<(&str, usize, &str)> = findings
        .iter()
        .map(|f| (f.rule, f.line, f.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            ESCALATION_ACCESS_KEYS,
            10,
            "user/u can create an access key for arn:aws:iam::111122223333:user/admin, which holds rights it does not (`iam:CreateAccessKey`, policy P (user/u) statement 1): it can act as that user"
        )]
    );
}

/// A trust's message names who can really assume it: a `sub` condition on another issuer's key
/// does not narrow a GitHub trust (any repository can assume it), and the message says
/// repositories, not service accounts.
#[test]
fn trust_messages_fit_the_provider() {
    let github = "token.actions.githubusercontent.com";
    let eks = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
    let text = format!(
        "version: 1\naccount: \"111122223333\"\niam:\n  roles:\n    r:\n      trust:\n        document:\n          Version: \"2012-10-17\"\n          Statement:\n            - {{Effect: Allow, Principal: {{Federated: \"arn:aws:iam::111122223333:oidc-provider/{github}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringEquals: {{\"{eks}:sub\": \"system:serviceaccount:app:web\"}}}}}}\n"
    );
    let desired = match crate::spec::load_text("access.yaml", &text, &Default::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    let findings = lint(&desired.state, &Locations::new());
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.rule, f.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            FEDERATED_WITHOUT_SUB,
            "the web-identity trust of role r has no `sub` condition: any GitHub Actions workflow of any repository can assume it"
        )]
    );
}
