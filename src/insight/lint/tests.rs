use super::*;
use crate::model::{AccessKey, KeyStatus};
use crate::spec::{Facts, load_text};
use crate::testing::{assert_cases, assert_contains};

const HEAD: &str = "version: 1\naccount: \"111122223333\"\n";

/// The rule ids (with severities) that fire on a file.
pub(super) fn fired(body: &str) -> Vec<(&'static str, Severity)> {
    let text = format!("{HEAD}{body}");
    let desired = match load_text("access.yaml", &text, &Facts::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    lint(&desired.state, &Locations::new())
        .into_iter()
        .map(|finding| (finding.rule, finding.severity))
        .collect()
}

pub(super) fn policy(statement: &str) -> String {
    format!(
        "iam:\n  policies:\n    P:\n      document:\n        Version: \"2012-10-17\"\n        Statement:\n          - {statement}\n  users:\n    u:\n      policies: [P]\n"
    )
}

pub(super) fn role_trust(document_statement: &str) -> String {
    format!(
        "iam:\n  roles:\n    r:\n      trust:\n        document:\n          Version: \"2012-10-17\"\n          Statement:\n            - {document_statement}\n"
    )
}

#[test]
fn wildcard_admin() {
    assert_eq!(
        fired(&policy("{Effect: Allow, Action: \"*\", Resource: \"*\"}")),
        [(WILDCARD_ADMIN, Severity::High)]
    );
    // `s3:*` on `*` is not admin: what it does risk is reading every object and opening any
    // bucket (issue 19's data rules).
    assert_eq!(
        fired(&policy(
            "{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}"
        )),
        [
            (DATA_EXFILTRATION, Severity::Medium),
            (RESOURCE_EXPOSURE, Severity::High)
        ]
    );
    assert_eq!(
        fired(&policy("{Effect: Deny, Action: \"*\", Resource: \"*\"}")),
        []
    );
}

#[test]
fn passrole_on_every_role() {
    assert_eq!(
        fired(&policy(
            "{Effect: Allow, Action: iam:PassRole, Resource: \"*\"}"
        )),
        [(PASSROLE_WILDCARD, Severity::High)]
    );
    assert!(
        fired(&policy(
            "{Effect: Allow, Action: \"iam:*\", Resource: \"arn:aws:iam::111122223333:role/*\"}"
        ))
        .contains(&(PASSROLE_WILDCARD, Severity::High))
    );
    assert_eq!(
        fired(&policy(
            "{Effect: Allow, Action: iam:PassRole, Resource: \"*\", Condition: {StringEquals: {iam:PassedToService: eks.amazonaws.com}}}"
        )),
        [(PASSROLE_WILDCARD, Severity::Low)]
    );
    assert_eq!(
        fired(&policy(
            "{Effect: Allow, Action: iam:PassRole, Resource: \"arn:aws:iam::111122223333:role/app\"}"
        )),
        []
    );
}

#[test]
fn open_trust() {
    assert_eq!(
        fired(&role_trust(
            "{Effect: Allow, Principal: \"*\", Action: sts:AssumeRole}"
        )),
        [(TRUST_OPEN, Severity::High)]
    );
    assert_eq!(
        fired("iam:\n  roles:\n    r:\n      trust: {accounts: [\"999988887777\"]}\n"),
        [(TRUST_OPEN, Severity::Medium)]
    );
    // A condition, the own account, or a named role: no finding.
    assert_eq!(
        fired(&role_trust(
            "{Effect: Allow, Principal: {AWS: \"999988887777\"}, Action: sts:AssumeRole, Condition: {StringEquals: {sts:ExternalId: x}}}"
        )),
        []
    );
    assert_eq!(
        fired("iam:\n  roles:\n    r:\n      trust: {accounts: [\"111122223333\"]}\n"),
        []
    );
    assert_eq!(
        fired(&role_trust(
            "{Effect: Allow, Principal: {AWS: \"arn:aws:iam::999988887777:role/ci\"}, Action: sts:AssumeRole}"
        )),
        []
    );
}

#[test]
fn irsa_trust_without_sub() {
    let provider =
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    let issuer = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
    assert_eq!(
        fired(&role_trust(&format!(
            "{{Effect: Allow, Principal: {{Federated: \"{provider}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringEquals: {{\"{issuer}:aud\": sts.amazonaws.com}}}}}}"
        ))),
        [(IRSA_WITHOUT_SUB, Severity::High)]
    );
    assert_eq!(
        fired(&role_trust(&format!(
            "{{Effect: Allow, Principal: {{Federated: \"{provider}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringLike: {{\"{issuer}:sub\": \"system:serviceaccount:*\"}}}}}}"
        ))),
        [(IRSA_WITHOUT_SUB, Severity::Medium)]
    );
    assert_eq!(
        fired(&role_trust(&format!(
            "{{Effect: Allow, Principal: {{Federated: \"{provider}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringEquals: {{\"{issuer}:sub\": \"system:serviceaccount:app:web\"}}}}}}"
        ))),
        []
    );
    // The sugar always writes `sub`.
    assert_eq!(
        fired(
            "iam:\n  roles:\n    r:\n      trust: {serviceAccounts: [demo/app/web]}\nclusters:\n  demo:\n    oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/ABC\n    namespaces: [app]\n"
        ),
        []
    );
}

/// A GitHub, GitLab or any other OIDC (non-EKS) web-identity trust without a `sub` condition:
/// any repository (any project, any subject of the provider) can assume the role. The IRSA rule
/// is for EKS issuers only: one mistake, one finding.
#[test]
fn federated_trust_without_sub() {
    const RULE: &str = "federated-trust-without-sub";
    let web_identity = |host: &str, condition: &str| {
        role_trust(&format!(
            "{{Effect: Allow, Principal: {{Federated: \"arn:aws:iam::111122223333:oidc-provider/{host}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {condition}}}"
        ))
    };
    let github = "token.actions.githubusercontent.com";
    assert_eq!(
        fired(&web_identity(
            github,
            &format!("{{StringEquals: {{\"{github}:aud\": sts.amazonaws.com}}}}")
        )),
        [(RULE, Severity::High)]
    );
    // A negated `sub` condition does not say who may assume it.
    assert_eq!(
        fired(&web_identity(
            github,
            &format!(
                "{{StringNotEquals: {{\"{github}:sub\": \"repo:org/other:ref:refs/heads/main\"}}}}"
            )
        )),
        [(RULE, Severity::High)]
    );
    assert_eq!(
        fired(&web_identity(
            "gitlab.example.com",
            "{StringEquals: {\"gitlab.example.com:aud\": \"https://gitlab.example.com\"}}"
        )),
        [(RULE, Severity::High)]
    );
    assert_eq!(
        fired(&web_identity(
            github,
            &format!("{{StringLike: {{\"{github}:sub\": \"repo:org/*\"}}}}")
        )),
        [(RULE, Severity::Medium)]
    );
    assert_eq!(
        fired(&web_identity(
            github,
            &format!(
                "{{StringEquals: {{\"{github}:sub\": \"repo:org/app:ref:refs/heads/main\"}}}}"
            )
        )),
        []
    );
    // The sugar always writes `sub` and `aud`.
    assert_eq!(
        fired(
            "iam:\n  roles:\n    r:\n      trust:\n        githubActions: [{repo: org/app, environment: prod}]\n        gitlab: [{project: group/app, ref: main}]\n"
        ),
        []
    );
}

const MAPPED: &str = "iam:\n  users:\n    u: {}\nclusters:\n  demo:\n    access:\n      - user: u\n        username: u\n";

#[test]
fn system_masters_mappings() {
    assert_eq!(
        fired(&format!("{MAPPED}        groups: [\"system:masters\"]\n")),
        [(SYSTEM_MASTERS, Severity::Medium)]
    );
    assert_eq!(fired(&format!("{MAPPED}        groups: [admins]\n")), []);
}

fn cluster_role(rules: &str, binding: &str) -> String {
    format!(
        "clusters:\n  demo:\n    namespaces: [app]\n    clusterRoles:\n      c:\n        rules:\n          - {rules}\n    bindings:\n      {binding}\n"
    )
}

#[test]
fn wildcard_cluster_roles_bound_cluster_wide() {
    let wildcard = "{apiGroups: [\"\"], resources: [\"*\"], verbs: [get]}";
    // (`get` on every core resource includes every secret, and `pods/exec` over WebSockets.)
    assert_eq!(
        fired(&cluster_role(wildcard, "c: {clusterRole: c, groups: [g]}")),
        [
            (ESCALATION_EXEC, Severity::High),
            (SECRETS_CLUSTER_WIDE, Severity::High),
            (WILDCARD_CLUSTER_ROLE, Severity::Medium)
        ]
    );
    // Bound in one namespace only, or without wildcards: no finding.
    assert_eq!(
        fired(&cluster_role(
            wildcard,
            "app/c: {clusterRole: c, groups: [g]}"
        )),
        []
    );
    assert_eq!(
        fired(&cluster_role(
            "{apiGroups: [\"\"], resources: [pods], verbs: [get]}",
            "c: {clusterRole: c, groups: [g]}"
        )),
        []
    );
    // The built-in cluster-admin is a wildcard role too.
    assert_eq!(
        fired(
            "clusters:\n  demo:\n    bindings:\n      admins: {clusterRole: cluster-admin, groups: [admins]}\n"
        ),
        [(WILDCARD_CLUSTER_ROLE, Severity::Medium)]
    );
}

#[test]
fn rbac_escalation_through_bind() {
    let binder = "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings, clusterroles], verbs: [create, bind]}";
    assert_eq!(
        fired(&cluster_role(binder, "c: {clusterRole: c, users: [x]}")),
        [(ESCALATION_BIND, Severity::High)]
    );
    // Bound in one namespace, `create` on clusterrolebindings creates nothing there.
    assert_eq!(
        fired(&cluster_role(binder, "app/c: {clusterRole: c, users: [x]}")),
        []
    );
    let escalate = "{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings, roles], verbs: [create, escalate]}";
    assert_eq!(
        fired(&cluster_role(
            escalate,
            "app/c: {clusterRole: c, users: [x]}"
        )),
        [(ESCALATION_BIND, Severity::High)]
    );
    // Creating bindings without bind/escalate is checked by the API server: no finding.
    let creator =
        "{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}";
    assert_eq!(
        fired(&cluster_role(
            creator,
            "app/c: {clusterRole: c, users: [x]}"
        )),
        []
    );
    // Not bound: nobody holds it.
    assert_eq!(
        fired(&format!(
            "clusters:\n  demo:\n    clusterRoles:\n      c:\n        rules:\n          - {binder}\n"
        )),
        []
    );
}

#[test]
fn iam_escalation_paths() {
    let cases: [(&str, &[(&str, Severity)]); 8] = [
        (
            "{Effect: Allow, Action: iam:PutUserPolicy, Resource: \"user:u\"}",
            &[(ESCALATION_SELF_ATTACH, Severity::High)],
        ),
        (
            "{Effect: Allow, Action: \"iam:Attach*\", Resource: \"*\"}",
            &[(ESCALATION_SELF_ATTACH, Severity::High)],
        ),
        // On someone else only, or only its own access keys: no self-attach, no key-maker.
        (
            "{Effect: Allow, Action: iam:PutUserPolicy, Resource: \"arn:aws:iam::111122223333:user/other\"}",
            &[],
        ),
        (
            "{Effect: Allow, Action: iam:CreateAccessKey, Resource: \"arn:aws:iam::111122223333:user/${aws:username}\"}",
            &[],
        ),
        (
            "{Effect: Allow, Action: iam:CreateAccessKey, Resource: \"*\"}",
            &[(ESCALATION_ACCESS_KEYS, Severity::High)],
        ),
        (
            "{Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: \"*\"}",
            &[(ESCALATION_TRUST, Severity::High)],
        ),
        (
            "{Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: \"*\", Condition: {Bool: {aws:MultiFactorAuthPresent: \"true\"}}}",
            &[],
        ),
        // A principal allowed everything already has it all: only iam-wildcard-admin.
        (
            "{Effect: Allow, Action: \"*\", Resource: \"*\"}",
            &[(WILDCARD_ADMIN, Severity::High)],
        ),
    ];
    assert_cases(|statement| fired(&policy(statement)), &cases);
}

#[test]
fn a_finding_points_at_the_statement_it_comes_from() {
    // Two statements with the same action and effect: the finding is the second one's,
    // the one that allows `iam:PassRole` on every role.
    let text = format!(
        "{HEAD}iam:\n  policies:\n    P:\n      document:\n        Version: \"2012-10-17\"\n        Statement:\n          - {{Effect: Allow, Action: iam:PassRole, Resource: \"arn:aws:iam::111122223333:role/app\"}}\n          - {{Effect: Allow, Action: iam:PassRole, Resource: \"*\"}}\n  users:\n    u:\n      policies: [P]\n"
    );
    let desired = match load_text("access.yaml", &text, &Facts::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    let located: Vec<(&str, usize, usize)> =
        lint(&desired.state, &crate::spec::locations::index(&text))
            .iter()
            .map(|finding| (finding.rule, finding.line, finding.column))
            .collect();
    assert_eq!(located, [(PASSROLE_WILDCARD, 10, 13)]);
}

#[test]
fn rules_have_unique_ids() {
    let ids: std::collections::BTreeSet<&str> = RULES.iter().map(|rule| rule.id).collect();
    assert_eq!(ids.len(), RULES.len());
}

/// Seed 000's `eksuser`, with `accessKeys` and `policies`.
fn key_user(policies: &str, extra: &str) -> String {
    format!(
        "iam:\n{extra}  users:\n    eksuser:\n      policies: {policies}\n      accessKeys:\n        deliverTo:\n          - secretsManager: {{name: ci/eksuser}}\n"
    )
}

#[test]
fn long_lived_ci_key() {
    let seed_000 = "[aws:AmazonEKSClusterPolicy, aws:AmazonEKSWorkerNodePolicy, aws:AmazonEKSServicePolicy, aws:AmazonElasticContainerRegistryPublicFullAccess, aws:AmazonEC2ContainerRegistryFullAccess]";
    assert_eq!(
        fired(&key_user(seed_000, "")),
        [(LONG_LIVED_CI_KEY, Severity::Medium)]
    );
    // The same user without `accessKeys`: its keys are not accessctl's.
    assert_eq!(
        fired("iam:\n  users:\n    eksuser:\n      policies: [aws:AmazonEKSClusterPolicy]\n"),
        []
    );
    // Any other AWS-managed policy is not CI-like.
    assert_eq!(
        fired(&key_user(
            "[aws:AmazonEKSClusterPolicy, aws:AmazonSNSFullAccess]",
            ""
        )),
        []
    );
    // No policy at all says nothing about what the key is for.
    assert_eq!(fired(&key_user("[]", "")), []);
    // Customer documents are read through the policy model.
    let customer = |statement: &str| {
        key_user(
            "[Push]",
            &format!(
                "  policies:\n    Push:\n      document:\n        Version: \"2012-10-17\"\n        Statement:\n          - {statement}\n"
            ),
        )
    };
    let cases: [(&str, &[(&str, Severity)]); 5] = [
        (
            "{Effect: Allow, Action: [\"ecr:*\", \"ecr-public:Get*\", \"eks:DescribeCluster\", sts:GetCallerIdentity], Resource: \"*\"}",
            &[(LONG_LIVED_CI_KEY, Severity::Medium)],
        ),
        // Not CI-like; reading every object is the data rule's.
        (
            "{Effect: Allow, Action: [\"ecr:*\", s3:GetObject], Resource: \"*\"}",
            &[(DATA_EXFILTRATION, Severity::Medium)],
        ),
        (
            "{Effect: Allow, Action: [sts:AssumeRole], Resource: \"*\"}",
            &[],
        ),
        // Not CI-like; everything but IAM (not admin: no policy writing) is read, exposed and
        // injected by the data and escalation rules.
        (
            "{Effect: Allow, NotAction: [\"iam:*\"], Resource: \"*\"}",
            &[
                (DATA_EXFILTRATION, Severity::High),
                (ESCALATION_COMPUTE_INJECTION, Severity::High),
                (RESOURCE_EXPOSURE, Severity::High),
            ],
        ),
        // A Deny narrows, it does not widen: still CI-like.
        (
            "{Effect: Allow, Action: \"ecr:*\", Resource: \"*\"}\n          - {Effect: Deny, Action: [\"s3:*\"], Resource: \"*\"}",
            &[(LONG_LIVED_CI_KEY, Severity::Medium)],
        ),
    ];
    assert_cases(|statement| fired(&customer(statement)), &cases);
    // Inline documents count, and so do the user's groups' policies.
    let inline = "iam:\n  users:\n    eksuser:\n      inline:\n        push:\n          Version: \"2012-10-17\"\n          Statement:\n            - {Effect: Allow, Action: \"ecr:*\", Resource: \"*\"}\n      accessKeys:\n        deliverTo:\n          - secretsManager: {name: ci/eksuser}\n";
    assert_eq!(fired(inline), [(LONG_LIVED_CI_KEY, Severity::Medium)]);
    let grouped = "iam:\n  groups:\n    ops:\n      policies: [aws:AmazonS3FullAccess]\n  users:\n    eksuser:\n      groups: [ops]\n      policies: [aws:AmazonEC2ContainerRegistryPowerUser]\n      accessKeys:\n        deliverTo:\n          - secretsManager: {name: ci/eksuser}\n";
    assert_eq!(fired(grouped), []);
}

#[test]
fn long_lived_ci_key_names_the_trust_sugar() {
    let text = format!(
        "{HEAD}{}",
        key_user("[aws:AmazonEC2ContainerRegistryReadOnly]", "")
    );
    let desired = match load_text("access.yaml", &text, &Facts::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    let findings = lint(&desired.state, &crate::spec::locations::index(&text));
    let [finding] = findings.as_slice() else {
        panic!("one finding expected: {findings:?}");
    };
    assert_eq!(finding.rule, LONG_LIVED_CI_KEY);
    assert_contains(&finding.message, "user eksuser");
    assert_contains(&finding.hint, "trust: {githubActions:");
    // It points at `accessKeys`.
    assert_eq!((finding.line, finding.column), (7, 7));
}

fn key(id: &str, status: KeyStatus, age_days: u32, unused_days: Option<u32>) -> AccessKey {
    AccessKey::as_read(id, status, age_days, unused_days)
}

/// The findings on a user with `accessKeys: {rotateAfterDays: 60}` whose live keys are `keys`.
fn stale(keys: Vec<AccessKey>) -> Vec<(&'static str, Severity, String)> {
    let text = format!(
        "{HEAD}iam:\n  users:\n    deployer:\n      policies: [aws:AmazonS3ReadOnlyAccess]\n      accessKeys:\n        rotateAfterDays: 60\n        deliverTo:\n          - secretsManager: {{name: ci/deployer}}\n"
    );
    let desired = match load_text("access.yaml", &text, &Facts::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    let mut live = desired.state.clone();
    live.iam.access_keys.insert(
        "deployer".to_string(),
        crate::model::AccessKeys {
            keys,
            ..crate::model::AccessKeys::default()
        },
    );
    let locations = crate::spec::locations::index(&text);
    // Without live state, nothing is known of the keys.
    assert_eq!(
        lint(&live, &locations)
            .iter()
            .filter(|finding| finding.rule == STALE_ACCESS_KEY)
            .count(),
        0
    );
    lint_live(&desired.state, Some(&live), &locations)
        .into_iter()
        .map(|finding| {
            assert_eq!((finding.line, finding.column), (8, 9), "rotateAfterDays");
            (finding.rule, finding.severity, finding.message)
        })
        .collect()
}

#[test]
fn stale_access_key() {
    use KeyStatus::{Active, Inactive};
    assert_eq!(stale(vec![key("AKIA…WXYZ", Active, 59, Some(1))]), []);
    assert_eq!(
        stale(vec![key("AKIA…WXYZ", Active, 61, Some(0))]),
        [(
            STALE_ACCESS_KEY,
            Severity::Medium,
            "access key AKIA…WXYZ of user deployer is 61 days old, rotateAfterDays 60".to_string()
        )]
    );
    assert_eq!(
        stale(vec![key("AKIA…ABCD", Active, 30, Some(95))]),
        [(
            STALE_ACCESS_KEY,
            Severity::Medium,
            "access key AKIA…ABCD of user deployer is 30 days old and was last used 95 days ago"
                .to_string()
        )]
    );
    assert_eq!(
        stale(vec![key("AKIA…ABCD", Active, 120, None)]),
        [(
            STALE_ACCESS_KEY,
            Severity::Medium,
            "access key AKIA…ABCD of user deployer is 120 days old, rotateAfterDays 60, and was never used"
                .to_string()
        )]
    );
    // Never used but young: nothing yet.
    assert_eq!(stale(vec![key("AKIA…ABCD", Active, 10, None)]), []);
    // A deactivated key cannot sign a request: the plan deletes it after its grace.
    assert_eq!(stale(vec![key("AKIA…ABCD", Inactive, 200, None)]), []);
    // A full key id in a hand-written snapshot is shown masked.
    let findings = stale(vec![key("AKIAIOSFODNN7EXAMPLE", Active, 100, Some(1))]);
    assert_eq!(findings.len(), 1);
    assert_contains(&findings[0].2, "AKIA…MPLE");
    assert!(!findings[0].2.contains("AKIAIOSFODNN7EXAMPLE"));
}

/// docs/insight.md's rule table is the rules' reference (and SARIF's `helpUri` points at its
/// rows): one row per rule, in the order of [`RULES`], with the rule's anchor, its severity
/// first in the severity column, and its `description` as the `fires on` column.
#[test]
fn the_rule_table_of_the_docs_is_the_rules() {
    let doc = include_str!("../../../docs/insight.md");
    let rows: Vec<(&str, &str, &str)> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("| <a id=\""))
        .filter_map(|rest| {
            let (id, rest) = rest.split_once("\"></a>")?;
            let mut cells = rest.splitn(3, " | ");
            let _shown = cells.next()?;
            let severity = cells.next()?;
            let description = cells.next()?.strip_suffix(" |")?;
            Some((id, severity, description))
        })
        .collect();
    let ids: Vec<&str> = rows.iter().map(|(id, _, _)| *id).collect();
    let rules: Vec<&str> = RULES.iter().map(|rule| rule.id).collect();
    assert_eq!(ids, rules, "docs/insight.md's rule table and RULES differ");
    for (rule, (id, severity, description)) in RULES.iter().zip(&rows) {
        assert!(
            severity.starts_with(rule.severity.as_str()),
            "{id}: docs say {severity}, the rule is {}",
            rule.severity.as_str()
        );
        assert_eq!(*description, rule.description, "{id}");
        assert_eq!(rule.help_uri(), format!("docs/insight.md#{id}"));
    }
}
