//! The large synthetic state of the benchmarks: 5,000 IAM principals (users + roles), 2,000
//! customer policies, 3,000 RBAC objects, aws-auth and access entries (`desired_state`), and
//! the live state the planner benchmark compares it with (`live_state`). Shared by
//! `benches/planner.rs` and `benches/lint.rs`.

use std::collections::{BTreeMap, BTreeSet};

use accessctl::model::{
    AccessEntry, AccessScope, AuthenticationMode, AwsAuth, AwsAuthEntry, Binding, Caller, Cluster,
    DocumentKind, Group, MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE, MapKind, Meta,
    Namespace, Policy, PolicyDocument, PolicyRule, RbacRole, Role, RoleRef, RoleRefKind,
    ServiceAccount, State, Subject, SubjectKind, User,
};
use accessctl::plan::Desired;
use serde_json::json;

pub const ACCOUNT: &str = "111122223333";
pub const POLICY_PATH: &str = "/accessctl/";
pub const USERS: usize = 2_500;
pub const ROLES: usize = 2_500;
pub const POLICIES: usize = 2_000;
pub const GROUPS: usize = 100;

fn document(value: serde_json::Value) -> PolicyDocument {
    match PolicyDocument::from_value(&value, DocumentKind::Any) {
        Ok(document) => document,
        Err(errors) => panic!("benchmark document is invalid: {errors:?}"),
    }
}

fn identity_document(index: usize) -> PolicyDocument {
    document(json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [format!("arn:aws:s3:::bucket-{index}"), format!("arn:aws:s3:::bucket-{index}/*")]},
            {"Sid": "Describe", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"},
            {"Sid": "Deny", "Effect": "Deny", "Action": "iam:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
        ]
    }))
}

fn trust_document(index: usize) -> PolicyDocument {
    document(json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Condition": {"StringEquals": {"sts:ExternalId": format!("ext-{index}")}}}]
    }))
}

fn owned_tags(index: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
        ("team".to_string(), format!("team-{}", index % 20)),
    ])
}

fn owned_meta(index: usize) -> Meta {
    Meta {
        labels: BTreeMap::from([
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string()),
            ("team".to_string(), format!("team-{}", index % 20)),
        ]),
        annotations: BTreeMap::new(),
    }
}

fn policy_arn(index: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy{POLICY_PATH}policy-{index}")
}

fn rules(index: usize) -> BTreeSet<PolicyRule> {
    BTreeSet::from([
        PolicyRule {
            api_groups: BTreeSet::from(["apps".to_string()]),
            resources: BTreeSet::from(["deployments".to_string(), "replicasets".to_string()]),
            verbs: BTreeSet::from(["get".to_string(), "list".to_string(), "watch".to_string()]),
            ..PolicyRule::default()
        },
        PolicyRule {
            api_groups: BTreeSet::from([String::new()]),
            resources: BTreeSet::from(["configmaps".to_string()]),
            resource_names: BTreeSet::from([format!("config-{index}")]),
            verbs: BTreeSet::from(["get".to_string()]),
            ..PolicyRule::default()
        },
    ])
}

fn binding(index: usize, role: RoleRef) -> Binding {
    Binding {
        meta: owned_meta(index),
        role_ref: role,
        subjects: BTreeSet::from([
            Subject {
                kind: SubjectKind::Group,
                name: format!("group-{}", index % 50),
                namespace: None,
            },
            Subject {
                kind: SubjectKind::User,
                name: format!("user-{index}"),
                namespace: None,
            },
        ]),
    }
}

pub fn desired_state() -> Desired {
    let mut state = State {
        account: Some(ACCOUNT.to_string()),
        ..State::default()
    };
    let iam = &mut state.iam;
    for index in 0..POLICIES {
        iam.policies.insert(
            format!("policy-{index}"),
            Policy {
                path: POLICY_PATH.to_string(),
                description: Some(format!("policy number {index}")),
                document: identity_document(index),
                tags: owned_tags(index),
            },
        );
    }
    for index in 0..GROUPS {
        iam.groups.insert(
            format!("group-{index}"),
            Group {
                path: "/accessctl/".to_string(),
                managed_policies: BTreeSet::from([policy_arn(index)]),
                inline_policies: BTreeMap::new(),
                members: BTreeSet::new(),
            },
        );
    }
    for index in 0..USERS {
        iam.users.insert(
            format!("user-{index}"),
            User {
                path: "/".to_string(),
                groups: BTreeSet::from([format!("group-{}", index % GROUPS)]),
                managed_policies: BTreeSet::from([policy_arn(index % POLICIES)]),
                inline_policies: BTreeMap::from([("inline".to_string(), identity_document(index))]),
                permissions_boundary: None,
                tags: owned_tags(index),
            },
        );
    }
    for index in 0..ROLES {
        iam.roles.insert(
            format!("role-{index}"),
            Role {
                path: "/".to_string(),
                description: None,
                max_session_duration: 3600,
                trust: trust_document(index),
                managed_policies: BTreeSet::from([
                    policy_arn((index + 7) % POLICIES),
                    "arn:aws:iam::aws:policy/ReadOnlyAccess".to_string(),
                ]),
                inline_policies: BTreeMap::new(),
                permissions_boundary: None,
                tags: owned_tags(index),
                role_id: None,
            },
        );
    }

    let mut cluster = Cluster {
        region: Some("us-east-1".to_string()),
        authentication: AuthenticationMode::Both,
        ..Cluster::default()
    };
    // 3,000 RBAC objects: 300 namespaces, 400 ClusterRoles, 800 Roles, 400 ClusterRoleBindings,
    // 700 RoleBindings, 400 ServiceAccounts.
    for index in 0..300 {
        cluster.namespaces.insert(
            format!("ns-{index}"),
            Namespace {
                meta: owned_meta(index),
            },
        );
    }
    for index in 0..400 {
        cluster.cluster_roles.insert(
            format!("clusterrole-{index}"),
            RbacRole {
                meta: owned_meta(index),
                rules: rules(index),
                aggregation_rule: None,
            },
        );
        cluster.cluster_role_bindings.insert(
            format!("clusterrolebinding-{index}"),
            binding(
                index,
                RoleRef {
                    kind: RoleRefKind::ClusterRole,
                    name: format!("clusterrole-{index}"),
                },
            ),
        );
        cluster.service_accounts.insert(
            format!("ns-{}/sa-{index}", index % 300),
            ServiceAccount {
                meta: Meta {
                    annotations: BTreeMap::from([(
                        "eks.amazonaws.com/role-arn".to_string(),
                        format!("arn:aws:iam::{ACCOUNT}:role/role-{index}"),
                    )]),
                    ..owned_meta(index)
                },
            },
        );
    }
    for index in 0..800 {
        cluster.roles.insert(
            format!("ns-{}/role-{index}", index % 300),
            RbacRole {
                meta: owned_meta(index),
                rules: rules(index),
                aggregation_rule: None,
            },
        );
    }
    for index in 0..700 {
        cluster.role_bindings.insert(
            format!("ns-{}/rolebinding-{index}", index % 300),
            binding(
                index,
                RoleRef {
                    kind: RoleRefKind::Role,
                    name: format!("role-{index}"),
                },
            ),
        );
    }
    let mut aws_auth = AwsAuth::default();
    for index in 0..1_000 {
        aws_auth.entries.push(AwsAuthEntry {
            kind: MapKind::MapRoles,
            arn: format!("arn:aws:iam::{ACCOUNT}:role/role-{index}"),
            username: Some(format!("role-{index}")),
            groups: vec![if index == 0 {
                "system:masters".to_string()
            } else {
                format!("group-{}", index % 50)
            }],
        });
    }
    cluster.aws_auth = Some(aws_auth);
    for index in 1_000..1_500 {
        cluster.access_entries.insert(
            format!("arn:aws:iam::{ACCOUNT}:role/role-{index}"),
            AccessEntry {
                kind: "STANDARD".to_string(),
                username: None,
                groups: BTreeSet::new(),
                policies: BTreeMap::from([(
                    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".to_string(),
                    AccessScope::Namespace {
                        namespaces: BTreeSet::from([format!("ns-{}", index % 300)]),
                    },
                )]),
                tags: owned_tags(index),
                principal_id: None,
            },
        );
    }
    state.clusters.insert("prod".to_string(), cluster);
    Desired {
        state,
        adopt: BTreeSet::new(),
        group_path: "/accessctl/".to_string(),
        policy_path: POLICY_PATH.to_string(),
        assume_role: None,
    }
}

/// Live state: the desired state as applied (ids, others' labels, node roles), then drifted in
/// a few hundred places.
pub fn live_state(desired: &Desired) -> State {
    let mut live = desired.state.clone();
    live.caller = Some(Caller {
        account: ACCOUNT.to_string(),
        arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/role-0/bench"),
    });
    for (index, role) in live.iam.roles.values_mut().enumerate() {
        role.role_id = Some(format!("AROA{index:016}"));
    }
    let iam = &mut live.iam;
    // The live read returns no policy tags: ownership is the path.
    for policy in iam.policies.values_mut() {
        policy.tags.clear();
    }
    // 100 users with another group, 50 roles with another policy.
    for index in (0..USERS).step_by(25) {
        if let Some(user) = iam.users.get_mut(&format!("user-{index}")) {
            user.groups = BTreeSet::from(["group-99".to_string()]);
        }
    }
    for index in (0..ROLES).step_by(50) {
        if let Some(role) = iam.roles.get_mut(&format!("role-{index}")) {
            role.managed_policies.insert(policy_arn(1));
        }
    }
    // 30 policies with another document, 20 with another description (replace).
    for index in 0..30 {
        if let Some(policy) = iam.policies.get_mut(&format!("policy-{index}")) {
            policy.document = identity_document(index + 10_000);
        }
    }
    for index in 30..50 {
        if let Some(policy) = iam.policies.get_mut(&format!("policy-{index}")) {
            policy.description = Some("old".to_string());
        }
    }
    // 50 users to create, 50 owned users to delete, 200 unowned users left alone.
    for index in 0..50 {
        iam.users.remove(&format!("user-{}", index * 37 + 1));
    }
    for index in 0..250 {
        let mut user = iam.users.values().next().cloned().unwrap_or_else(|| {
            panic!("benchmark state has users");
        });
        if index >= 50 {
            user.tags.clear();
        }
        iam.users.insert(format!("extra-user-{index}"), user);
    }

    if let Some(cluster) = live.clusters.get_mut("prod") {
        for (index, role) in cluster.cluster_roles.values_mut().enumerate() {
            // Labels others add: never a difference.
            role.meta
                .labels
                .insert("helm.sh/chart".to_string(), "x".to_string());
            if index % 20 == 0 {
                role.rules = rules(index + 5_000);
            }
        }
        for (index, binding) in cluster.role_bindings.values_mut().enumerate() {
            if index % 70 == 0 {
                binding.role_ref.name = "old-role".to_string();
            }
        }
        for (index, account) in cluster.service_accounts.values_mut().enumerate() {
            if index % 40 == 0 {
                account.meta.annotations.clear();
            }
        }
        for (index, entry) in cluster.access_entries.values_mut().enumerate() {
            entry.principal_id = Some(format!("AROA{index:016}"));
        }
        if let Some(auth) = cluster.aws_auth.as_mut() {
            auth.managed = auth.entries.iter().map(|e| e.arn.clone()).collect();
            for entry in auth.entries.iter_mut().skip(1).step_by(50) {
                entry.groups = vec!["old".to_string()];
            }
            auth.entries.insert(
                0,
                AwsAuthEntry {
                    kind: MapKind::MapRoles,
                    arn: format!("arn:aws:iam::{ACCOUNT}:role/eks-nodes"),
                    username: Some("system:node:{{EC2PrivateDNSName}}".to_string()),
                    groups: vec![
                        "system:bootstrappers".to_string(),
                        "system:nodes".to_string(),
                    ],
                },
            );
        }
    }
    live
}
