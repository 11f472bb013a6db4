//! The builder against the seeds: seed 001 (users, roles and aws-auth) and seed 003 (IRSA)
//! written as access.yaml build exactly the objects the runbooks create by hand.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::super::{Facts, load_text};
use crate::model::Desired;
use crate::model::{
    AccessScope, AwsAuth, AwsAuthEntry, Binding, Cluster as LiveCluster, DEFAULT_GROUP_PATH,
    DocumentKind, Group, IRSA_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE,
    MapKind, Meta, PolicyDocument, PolicyRule, RbacRole, RoleRef, RoleRefKind, State as LiveState,
    Subject, SubjectKind, User,
};

/// Seed 001 (IAM user and role on EKS through aws-auth), as access.yaml.
const SEED_001: &str = r#"
version: 1
account: "424432388155"
iam:
  policies:
    AmazonEKSViewNodesAndWorkloadsPolicy:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [eks:DescribeNodegroup, eks:ListNodegroups, eks:DescribeCluster, eks:ListClusters,
                     eks:AccessKubernetesApi, ssm:GetParameter, eks:ListUpdates, eks:ListFargateProfiles]
            Resource: "*"
    AmazonEKSAdminPolicy:
      document:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: ["eks:*"], Resource: "*"}
          - Effect: Allow
            Action: iam:PassRole
            Resource: "*"
            Condition: {StringEquals: {iam:PassedToService: eks.amazonaws.com}}
    AmazonEKSAssumeEKSAdminPolicy:
      document:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: [sts:AssumeRole], Resource: role:eks-admin}]
  groups:
    developers: {policies: [AmazonEKSViewNodesAndWorkloadsPolicy]}
  users:
    developer: {groups: [developers]}
    manager: {policies: [AmazonEKSAssumeEKSAdminPolicy]}
  roles:
    eks-admin:
      trust: {accounts: ["424432388155"]}
      policies: [AmazonEKSAdminPolicy]
clusters:
  demo:
    region: us-east-1
    access:
      - {user: developer, username: developer, groups: [reader]}
      - {role: eks-admin, username: eks-admin, groups: ["system:masters"]}
    clusterRoles:
      reader:
        rules:
          - apiGroups: ["*"]
            resources: ["deployments", "configmaps", "pods", "secrets", "services"]
            verbs: ["get", "list", "watch"]
    bindings:
      reader: {clusterRole: reader, groups: [reader]}
"#;

fn load(text: &str) -> Desired {
    match load_text("access.yaml", text, &Facts::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("{}", super::super::Diagnostics(diagnostics)),
    }
}

fn document(value: serde_json::Value, kind: DocumentKind) -> PolicyDocument {
    PolicyDocument::from_value(&value, kind).expect("a valid document")
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn seed_001_builds_its_iam_objects() {
    let desired = load(SEED_001);
    let iam = &desired.state.iam;
    assert_eq!(desired.group_path, DEFAULT_GROUP_PATH);
    assert_eq!(desired.state.account.as_deref(), Some("424432388155"));
    let managed = BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]);
    assert_eq!(
        iam.groups["developers"],
        Group {
            path: DEFAULT_GROUP_PATH.to_string(),
            managed_policies: strings(&[
                "arn:aws:iam::424432388155:policy/accessctl/AmazonEKSViewNodesAndWorkloadsPolicy"
            ]),
            inline_policies: BTreeMap::new(),
            members: BTreeSet::new(),
        }
    );
    assert_eq!(
        iam.users["developer"],
        User {
            path: "/".into(),
            groups: strings(&["developers"]),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            permissions_boundary: None,
            tags: managed.clone(),
        }
    );
    assert_eq!(
        iam.users["manager"].managed_policies,
        strings(&["arn:aws:iam::424432388155:policy/accessctl/AmazonEKSAssumeEKSAdminPolicy"])
    );
    let assume = &iam.policies["AmazonEKSAssumeEKSAdminPolicy"];
    assert_eq!(assume.tags, managed);
    assert_eq!(
        assume.document,
        document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": "arn:aws:iam::424432388155:role/eks-admin"}]}),
            DocumentKind::Identity
        )
    );
    let role = &iam.roles["eks-admin"];
    assert_eq!(
        role.trust,
        document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::424432388155:root"},
                "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust
        )
    );
    assert_eq!(
        role.managed_policies,
        strings(&["arn:aws:iam::424432388155:policy/accessctl/AmazonEKSAdminPolicy"])
    );
    assert_eq!(role.max_session_duration, 3600);
    assert_eq!(role.tags, managed);
    assert!(iam.oidc_providers.is_empty());
}

#[test]
fn seed_001_builds_its_cluster_objects() {
    let desired = load(SEED_001);
    let cluster = &desired.state.clusters["demo"];
    assert_eq!(cluster.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        cluster.authentication,
        crate::model::AuthenticationMode::ConfigMap
    );
    assert!(cluster.access_entries.is_empty());
    let aws_auth = cluster.aws_auth.as_ref().expect("aws-auth");
    assert_eq!(
        aws_auth.entries,
        vec![
            AwsAuthEntry {
                kind: MapKind::MapUsers,
                arn: "arn:aws:iam::424432388155:user/developer".into(),
                username: Some("developer".into()),
                groups: vec!["reader".into()],
            },
            AwsAuthEntry {
                kind: MapKind::MapRoles,
                arn: "arn:aws:iam::424432388155:role/eks-admin".into(),
                username: Some("eks-admin".into()),
                groups: vec!["system:masters".into()],
            },
        ]
    );
    assert_eq!(
        aws_auth.managed,
        strings(&[
            "arn:aws:iam::424432388155:role/eks-admin",
            "arn:aws:iam::424432388155:user/developer"
        ])
    );
    let owned = Meta {
        labels: BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string())]),
        annotations: BTreeMap::new(),
    };
    assert_eq!(
        cluster.cluster_roles["reader"],
        RbacRole {
            meta: owned.clone(),
            rules: BTreeSet::from([PolicyRule {
                api_groups: strings(&["*"]),
                resources: strings(&["configmaps", "deployments", "pods", "secrets", "services"]),
                verbs: strings(&["get", "list", "watch"]),
                ..PolicyRule::default()
            }]),
            aggregation_rule: None,
        }
    );
    assert_eq!(
        cluster.cluster_role_bindings["reader"],
        Binding {
            meta: owned,
            role_ref: RoleRef {
                kind: RoleRefKind::ClusterRole,
                name: "reader".into()
            },
            subjects: BTreeSet::from([Subject {
                kind: SubjectKind::Group,
                name: "reader".into(),
                namespace: None
            }]),
        }
    );
    assert!(desired.adopt.is_empty());
}

const SEED_003: &str = r#"
version: 1
account: "204393242335"
iam:
  roles:
    connections-role-test:
      description: testing sa role for pod
      trust:
        serviceAccounts: [demo/devops-aurora-1/connections-serviceaccount-s3]
      policies: ["aws:AmazonS3FullAccess"]
clusters:
  demo:
    region: ca-central-1
    namespaces: [devops-aurora-1]
    serviceAccounts:
      devops-aurora-1/connections-serviceaccount-s3: {iamRole: connections-role-test}
"#;

const SEED_003_ISSUER: &str =
    "https://oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";

fn seed_003_trust() -> PolicyDocument {
    // Seed 003's statement, as IAM holds it (`trust`'s tests check the statement alone).
    let statement: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/seed-003-irsa-statement.json"
    ))
    .expect("seed JSON");
    document(
        json!({"Version": "2012-10-17", "Statement": [statement]}),
        DocumentKind::Trust,
    )
}

fn check_seed_003(desired: &Desired) {
    let role = &desired.state.iam.roles["connections-role-test"];
    assert_eq!(role.trust, seed_003_trust());
    assert_eq!(
        role.managed_policies,
        strings(&["arn:aws:iam::aws:policy/AmazonS3FullAccess"])
    );
    let provider = &desired.state.iam.oidc_providers["oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B"];
    assert_eq!(provider.client_ids, strings(&["sts.amazonaws.com"]));
    assert_eq!(provider.tags[MANAGED_BY_TAG], MANAGED_BY_VALUE);
    let account = &desired.state.clusters["demo"].service_accounts["devops-aurora-1/connections-serviceaccount-s3"];
    assert_eq!(
        account.meta.annotations[IRSA_ANNOTATION],
        "arn:aws:iam::204393242335:role/connections-role-test"
    );
}

#[test]
fn irsa_trust_from_the_file_issuer_is_seed_003s() {
    let text = SEED_003.replace(
        "region: ca-central-1",
        &format!("region: ca-central-1\n    oidcIssuer: {SEED_003_ISSUER}"),
    );
    let desired = load(&text);
    check_seed_003(&desired);
    assert_eq!(
        desired.state.clusters["demo"].oidc_issuer.as_deref(),
        Some(SEED_003_ISSUER)
    );
}

#[test]
fn irsa_trust_from_the_live_issuer_is_seed_003s() {
    let live = LiveState {
        clusters: BTreeMap::from([(
            "demo".to_string(),
            LiveCluster {
                oidc_issuer: Some(SEED_003_ISSUER.to_string()),
                ..LiveCluster::default()
            },
        )]),
        ..LiveState::default()
    };
    let facts = Facts { live: Some(&live) };
    let desired = load_text("access.yaml", SEED_003, &facts).expect("loads");
    check_seed_003(&desired);
    // The file did not set it: it is not copied from live state.
    assert_eq!(desired.state.clusters["demo"].oidc_issuer, None);
}

#[test]
fn irsa_without_any_issuer_uses_a_placeholder_or_fails_with_live_state() {
    let desired = load(SEED_003);
    let placeholder = "oidc.accessctl.invalid/unknown-issuer/demo";
    assert!(desired.state.iam.oidc_providers.contains_key(placeholder));
    let live = LiveState::default();
    let errors = load_text("access.yaml", SEED_003, &Facts { live: Some(&live) })
        .expect_err("no issuer anywhere");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message,
        "cannot generate the IRSA trust policy: cluster `demo` has no OIDC issuer in the live state, and access.yaml sets no `oidcIssuer`"
    );
    let hint = errors[0].hint.as_deref().unwrap_or_default();
    assert!(hint.contains("`clusters.demo.oidcIssuer`"), "{hint}");
    assert!(
        hint.contains("aws eks describe-cluster --name demo"),
        "{hint}"
    );
}

#[test]
fn access_entries_and_adoption() {
    let desired = load(
        r#"
version: 1
account: "111122223333"
iam:
  roles:
    admin:
      path: /team/
      trust: {accounts: ["111122223333"]}
      adopt: true
  users:
    alice: {adopt: true}
clusters:
  prod:
    authentication: both
    namespaces: {team-a: {labels: {team: a}, adopt: true}}
    access:
      - role: admin
        groups: [admins, admins]
        accessPolicies:
          - {policy: AmazonEKSClusterAdminPolicy}
          - {policy: AmazonEKSEditPolicy, namespaces: [team-a]}
          - {policy: AmazonEKSEditPolicy, namespaces: [default]}
        adopt: true
      - {account: "444455556666", adopt: true}
    serviceAccounts:
      team-a/app: {iamRole: admin}
  api:
    authentication: access-entries
    access:
      - {user: alice, username: alice}
"#,
    );
    let prod = &desired.state.clusters["prod"];
    let role_arn = "arn:aws:iam::111122223333:role/team/admin";
    let entry = &prod.access_entries[role_arn];
    assert_eq!(entry.kind, "STANDARD");
    assert_eq!(entry.groups, strings(&["admins"]));
    assert_eq!(
        entry.policies,
        BTreeMap::from([
            (
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy".to_string(),
                AccessScope::Cluster
            ),
            (
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy".to_string(),
                AccessScope::Namespace {
                    namespaces: strings(&["default", "team-a"])
                }
            ),
        ])
    );
    assert_eq!(entry.tags[MANAGED_BY_TAG], MANAGED_BY_VALUE);
    // aws-auth never matches a role ARN with a path: its entry is written without it.
    let aws_auth = prod.aws_auth.as_ref().expect("aws-auth in both mode");
    assert_eq!(
        aws_auth.entries[0].arn,
        "arn:aws:iam::111122223333:role/admin"
    );
    assert_eq!(aws_auth.entries[0].groups, vec!["admins".to_string()]);
    assert_eq!(aws_auth.entries[1].kind, MapKind::MapAccounts);
    assert_eq!(aws_auth.entries[1].arn, "444455556666");
    assert!(!prod.access_entries.contains_key("444455556666"));
    assert_eq!(
        prod.service_accounts["team-a/app"].meta.annotations[IRSA_ANNOTATION],
        role_arn
    );
    assert_eq!(prod.namespaces["team-a"].meta.labels["team"], "a");
    let api = &desired.state.clusters["api"];
    assert_eq!(api.aws_auth, Some(AwsAuth::default()));
    assert!(
        api.access_entries
            .contains_key("arn:aws:iam::111122223333:user/alice")
    );
    let adopt: Vec<String> = desired.adopt.iter().map(ToString::to_string).collect();
    assert_eq!(
        adopt,
        vec![
            "iam.user.alice",
            "iam.role.admin",
            "cluster.prod.namespace.team-a",
            "cluster.prod.access-entry[arn:aws:iam::111122223333:role/team/admin]",
            "cluster.prod.aws-auth[444455556666]",
            "cluster.prod.aws-auth[arn:aws:iam::111122223333:role/admin]",
        ]
    );
}

#[test]
fn role_bindings_and_service_account_subjects() {
    let desired = load(
        r#"
version: 1
account: "111122223333"
clusters:
  demo:
    namespaces: [team-a]
    roles:
      team-a/deployer: {rules: [{apiGroups: [apps], resources: [deployments], verbs: [get]}]}
    bindings:
      team-a/deployers: {role: deployer, users: [bob], serviceAccounts: [ci, kube-system/builder]}
"#,
    );
    let cluster = &desired.state.clusters["demo"];
    let binding = &cluster.role_bindings["team-a/deployers"];
    assert_eq!(binding.role_ref.kind, RoleRefKind::Role);
    let subjects: Vec<(SubjectKind, &str, Option<&str>)> = binding
        .subjects
        .iter()
        .map(|s| (s.kind, s.name.as_str(), s.namespace.as_deref()))
        .collect();
    assert_eq!(
        subjects,
        vec![
            (SubjectKind::User, "bob", None),
            (SubjectKind::ServiceAccount, "builder", Some("kube-system")),
            (SubjectKind::ServiceAccount, "ci", Some("team-a")),
        ]
    );
    assert!(cluster.roles.contains_key("team-a/deployer"));
}

#[test]
fn policies_are_created_under_the_policy_path_and_referenced_there() {
    let text = |policy_path: &str, path: &str| {
        format!(
            r#"
version: 1
account: "424432388155"
iam:
  {policy_path}
  policies:
    view:
      document: {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: "eks:List*", Resource: "*"}}]}}
    {path}
  users:
    alice: {{policies: [view]}}
"#
        )
    };
    let desired = load(&text("", ""));
    assert_eq!(desired.policy_path, crate::model::DEFAULT_POLICY_PATH);
    assert_eq!(desired.state.iam.policies["view"].path, "/accessctl/");
    assert_eq!(
        desired.state.iam.users["alice"].managed_policies,
        strings(&["arn:aws:iam::424432388155:policy/accessctl/view"])
    );

    let team = r#"team: {path: /platform/team/, document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "eks:Describe*", Resource: "*"}]}}"#;
    let desired = load(&text("policyPath: /platform/", team));
    assert_eq!(desired.policy_path, "/platform/");
    assert_eq!(desired.state.iam.policies["view"].path, "/platform/");
    assert_eq!(desired.state.iam.policies["team"].path, "/platform/team/");
    assert_eq!(
        desired.state.iam.users["alice"].managed_policies,
        strings(&["arn:aws:iam::424432388155:policy/platform/view"])
    );
}

#[test]
fn a_policy_path_outside_the_policy_path_is_refused_with_a_hint() {
    let text = r#"
version: 1
account: "424432388155"
iam:
  policyPath: accessctl
  policies:
    view:
      path: /team/
      document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "eks:List*", Resource: "*"}]}
"#;
    let Err(diagnostics) = load_text("access.yaml", text, &Facts::default()) else {
        panic!("loads despite the paths");
    };
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["invalid policy path `accessctl`: must start and end with `/`"]
    );

    let text = text.replace("policyPath: accessctl", "policyPath: /accessctl/");
    let Err(diagnostics) = load_text("access.yaml", &text, &Facts::default()) else {
        panic!("loads despite the path");
    };
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].message,
        "the policy path `/team/` is not under `policyPath` (`/accessctl/`)"
    );
    assert_eq!((diagnostics[0].line, diagnostics[0].column), (8, 13));
    assert!(
        diagnostics[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("`/accessctl/team/`")),
        "{:?}",
        diagnostics[0].hint
    );
}

/// An aws-auth ConfigMap over Kubernetes' 1 MiB object limit is refused when the file is
/// loaded, at the cluster, naming the limit; the same entries a little under it load.
#[test]
fn an_aws_auth_over_the_config_map_limit_is_an_error_at_the_cluster() {
    // Each item maps a role into one group of 1,000 characters: about 1 KiB rendered.
    let group = "g".repeat(1000);
    let file = |items: usize| {
        let mut text = String::from(
            "version: 1\naccount: \"111122223333\"\nclusters:\n  demo:\n    region: us-east-1\n    access:\n",
        );
        for i in 0..items {
            text.push_str(&format!(
                "      - arn: arn:aws:iam::111122223333:role/r{i}\n        groups: [{group}]\n"
            ));
        }
        text
    };
    let size = |items: usize| {
        let desired = load(&file(items));
        let aws_auth = desired.state.clusters["demo"].aws_auth.clone();
        crate::model::aws_auth::data_size(&aws_auth.expect("aws-auth").entries)
    };
    // Longer role names further down make later items a few bytes longer: start safely
    // under, and add items while the file still loads.
    let per_item = size(2) - size(1);
    let mut under = (1024 * 1024 - size(1)) / per_item - 10;
    while load_text("access.yaml", &file(under + 1), &Facts::default()).is_ok() {
        under += 1;
    }
    assert!(size(under) <= 1024 * 1024);
    assert!(size(under) > 1024 * 1024 - per_item);
    let over = under + 1;
    match load_text("access.yaml", &file(over), &Facts::default()) {
        Ok(_) => panic!("{over} items loaded"),
        Err(diagnostics) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            let shown = super::super::Diagnostics(diagnostics).to_string();
            assert!(
                shown.contains(
                    "the aws-auth ConfigMap of cluster `demo` (the file's own entries) is"
                ) && shown.contains("ConfigMap size")
                    && shown.contains("access entries"),
                "{shown}"
            );
            assert!(shown.contains("access.yaml:4:3"), "{shown}");
        }
    }
}
