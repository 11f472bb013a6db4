use super::builtins::rule;
use super::*;
use crate::model::{Binding, RbacRole, RoleRef, Subject};

fn rule_of(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
    let mut rule = rule(groups, resources, verbs);
    rule.resource_names = names.iter().map(|n| n.to_string()).collect();
    rule
}

#[test]
fn rule_matching_follows_kubectl_auth_can_i() {
    let pods_log = parse_request("get", "pods", Some("log"), Some("default"));
    let cases = [
        (
            rule_of(&[""], &["pods"], &["get"], &[]),
            parse_request("get", "pods", None, Some("default")),
            true,
        ),
        (
            rule_of(&[""], &["pods"], &["get"], &[]),
            parse_request("create", "pods", None, Some("default")),
            false,
        ),
        (
            rule_of(&[""], &["pods"], &["*"], &[]),
            parse_request("delete", "pods", None, Some("default")),
            true,
        ),
        // Groups: deployments live in `apps`, not in the core group.
        (
            rule_of(&[""], &["deployments"], &["get"], &[]),
            parse_request("get", "deployments", None, Some("default")),
            false,
        ),
        (
            rule_of(&["*"], &["deployments"], &["get"], &[]),
            parse_request("get", "deployments", None, Some("default")),
            true,
        ),
        (
            rule_of(&["apps"], &["deployments"], &["get"], &[]),
            parse_request("get", "deployments.apps", None, Some("default")),
            true,
        ),
        // Subresources need their own grant, `*` or `*/log`.
        (
            rule_of(&[""], &["pods"], &["get"], &[]),
            pods_log.clone(),
            false,
        ),
        (
            rule_of(&[""], &["pods/log"], &["get"], &[]),
            pods_log.clone(),
            true,
        ),
        (
            rule_of(&[""], &["*/log"], &["get"], &[]),
            pods_log.clone(),
            true,
        ),
        (rule_of(&[""], &["*"], &["get"], &[]), pods_log, true),
        // resourceNames: only requests for that name.
        (
            rule_of(&[""], &["secrets"], &["get"], &["token"]),
            parse_request("get", "secrets/token", None, Some("default")),
            true,
        ),
        (
            rule_of(&[""], &["secrets"], &["get"], &["token"]),
            parse_request("get", "secrets/other", None, Some("default")),
            false,
        ),
        (
            rule_of(&[""], &["secrets"], &["get"], &["token"]),
            parse_request("get", "secrets", None, Some("default")),
            false,
        ),
        // Short names resolve.
        (
            rule_of(&["apps"], &["deployments"], &["patch"], &[]),
            parse_request("patch", "deploy", None, Some("default")),
            true,
        ),
    ];
    for (rule, request, expected) in cases {
        assert_eq!(
            rule_allows(&rule, &request),
            expected,
            "{rule:?} / {request:?}"
        );
    }
    let url = PolicyRule {
        non_resource_urls: ["/healthz*".to_string()].into(),
        verbs: ["get".to_string()].into(),
        ..PolicyRule::default()
    };
    assert!(rule_allows(
        &url,
        &parse_request("get", "/healthz/ready", None, None)
    ));
    assert!(!rule_allows(
        &url,
        &parse_request("get", "/metrics", None, None)
    ));
}

fn cluster() -> Cluster {
    let subject = |kind, name: &str| Subject {
        kind,
        name: name.to_string(),
        namespace: None,
    };
    let mut cluster = Cluster::default();
    cluster.cluster_roles.insert(
        "pod-reader".to_string(),
        RbacRole {
            rules: [rule(&[""], &["pods"], &["get"])].into(),
            ..RbacRole::default()
        },
    );
    cluster.roles.insert(
        "team/deployer".to_string(),
        RbacRole {
            rules: [rule(&["apps"], &["deployments"], &["patch"])].into(),
            ..RbacRole::default()
        },
    );
    cluster.role_bindings.insert(
        "team/pod-reader".to_string(),
        Binding {
            meta: Default::default(),
            role_ref: RoleRef {
                kind: RoleRefKind::ClusterRole,
                name: "pod-reader".to_string(),
            },
            subjects: [subject(SubjectKind::Group, "readers")].into(),
        },
    );
    cluster.role_bindings.insert(
        "team/deployer".to_string(),
        Binding {
            meta: Default::default(),
            role_ref: RoleRef {
                kind: RoleRefKind::Role,
                name: "deployer".to_string(),
            },
            subjects: [subject(SubjectKind::User, "ci")].into(),
        },
    );
    cluster.cluster_role_bindings.insert(
        "everyone-views".to_string(),
        Binding {
            meta: Default::default(),
            role_ref: RoleRef {
                kind: RoleRefKind::ClusterRole,
                name: "view".to_string(),
            },
            subjects: [subject(SubjectKind::Group, AUTHENTICATED_GROUP)].into(),
        },
    );
    cluster
}

fn can(identity: &Identity, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let grants = grants(&cluster(), identity, &BTreeMap::new());
    allowing(&grants, &parse_request(verb, resource, None, namespace)).is_some()
}

#[test]
fn bindings_and_their_scope() {
    let reader = Identity {
        username: "someone".to_string(),
        groups: ["readers".to_string()].into(),
    };
    let ci = Identity {
        username: "ci".to_string(),
        groups: Default::default(),
    };
    // A ClusterRole bound by a RoleBinding applies in that namespace only.
    assert!(can(&reader, "get", "pods", Some("team")));
    assert!(!can(&reader, "delete", "pods", Some("team")));
    assert!(can(&ci, "patch", "deployments", Some("team")));
    assert!(!can(&ci, "patch", "deployments", Some("other")));
    assert!(!can(&ci, "patch", "deployments", None));
    // system:authenticated reaches the built-in `view` everywhere, but never secrets.
    assert!(can(&ci, "list", "services", Some("other")));
    assert!(!can(&ci, "get", "secrets", Some("other")));
    let masters = Identity {
        username: "admin".to_string(),
        groups: [MASTERS_GROUP.to_string()].into(),
    };
    assert!(can(&masters, "escalate", "clusterroles", None));
    assert!(can(&masters, "get", "/healthz", None));
}

#[test]
fn access_policies_by_scope() {
    let identity = Identity {
        username: "arn:aws:iam::1:role/x".to_string(),
        groups: Default::default(),
    };
    let view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".to_string();
    let edit = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy".to_string();
    let policies = BTreeMap::from([
        (view, AccessScope::Cluster),
        (
            edit,
            AccessScope::Namespace {
                namespaces: ["apps".to_string()].into(),
            },
        ),
    ]);
    let grants = grants(&Cluster::default(), &identity, &policies);
    let allowed = |verb, resource, namespace: Option<&str>| {
        allowing(&grants, &parse_request(verb, resource, None, namespace)).is_some()
    };
    assert!(allowed("get", "pods", Some("kube-system")));
    assert!(!allowed("create", "pods", Some("kube-system")));
    assert!(allowed("create", "pods", Some("apps")));
    assert!(allowed("update", "secrets", Some("apps")));
    assert!(!allowed("create", "roles", Some("apps")));
}
