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

/// A binding of ClusterRole `role` to one subject.
fn binding_to(role: &str, kind: SubjectKind, subject: &str) -> Binding {
    Binding {
        meta: Default::default(),
        role_ref: RoleRef {
            kind: RoleRefKind::ClusterRole,
            name: role.to_string(),
        },
        subjects: [Subject {
            kind,
            name: subject.to_string(),
            namespace: None,
        }]
        .into(),
    }
}

fn nobody() -> Identity {
    Identity {
        username: "nobody".to_string(),
        groups: Default::default(),
    }
}

fn allowed_in(
    cluster: &Cluster,
    identity: &Identity,
    policies: &BTreeMap<String, AccessScope>,
    request: &Request,
) -> bool {
    allowing(&grants(cluster, identity, policies), request).is_some()
}

#[test]
fn bootstrap_bindings_give_every_authenticated_user_discovery() {
    let cluster = Cluster::default();
    let none = BTreeMap::new();
    let ask = |identity: &Identity, verb, resource, namespace| {
        allowed_in(
            &cluster,
            identity,
            &none,
            &parse_request(verb, resource, None, namespace),
        )
    };
    // system:discovery, system:public-info-viewer and system:basic-user, bound to
    // system:authenticated by the API server.
    for url in [
        "/api",
        "/api/v1",
        "/apis",
        "/apis/apps/v1",
        "/version",
        "/healthz",
        "/livez",
    ] {
        assert!(ask(&nobody(), "get", url, None), "{url}");
    }
    assert!(!ask(&nobody(), "get", "/metrics", None));
    assert!(!ask(&nobody(), "post", "/api", None));
    assert!(ask(&nobody(), "create", "selfsubjectaccessreviews", None));
    assert!(ask(&nobody(), "create", "selfsubjectrulesreviews", None));
    assert!(!ask(&nobody(), "get", "pods", Some("default")));
    // A user in system:unauthenticated is not authenticated: only the public info.
    let anonymous = Identity {
        username: "someone".to_string(),
        groups: ["system:unauthenticated".to_string()].into(),
    };
    assert!(ask(&anonymous, "get", "/version", None));
    assert!(!ask(&anonymous, "get", "/api", None));
    // system:masters reaches cluster-admin through the bootstrap binding.
    let masters = Identity {
        username: "admin".to_string(),
        groups: [MASTERS_GROUP.to_string()].into(),
    };
    assert!(ask(&masters, "delete", "nodes", None));
    assert!(ask(&masters, "get", "/metrics", None));
    // The bootstrap RoleBindings are namespaced: kube-system's leader-election Role for the
    // scheduler.
    let scheduler = Identity {
        username: "system:kube-scheduler".to_string(),
        groups: Default::default(),
    };
    assert!(ask(
        &scheduler,
        "update",
        "configmaps/kube-scheduler",
        Some("kube-system")
    ));
    assert!(!ask(
        &scheduler,
        "update",
        "configmaps/kube-scheduler",
        Some("default")
    ));
    assert!(!ask(
        &scheduler,
        "update",
        "configmaps/other",
        Some("kube-system")
    ));
}

#[test]
fn builtin_roles_are_what_the_api_server_serves() {
    let bound_to = |role: &str| {
        let mut cluster = Cluster::default();
        cluster.cluster_role_bindings.insert(
            "b".to_string(),
            binding_to(role, SubjectKind::User, "nobody"),
        );
        cluster
    };
    let can = |role: &str, verb, resource, subresource: Option<&str>| {
        allowed_in(
            &bound_to(role),
            &nobody(),
            &BTreeMap::new(),
            &parse_request(verb, resource, subresource, Some("team")),
        )
    };
    // view: reads, never secrets; the status subresources it aggregates.
    assert!(can("view", "get", "pods", Some("status")));
    assert!(!can("view", "list", "leases.coordination.k8s.io", None));
    assert!(can("view", "list", "endpointslices.discovery.k8s.io", None));
    assert!(!can("view", "get", "secrets", None));
    // edit: writes, secrets, tokens and evictions, but no RBAC.
    assert!(can("edit", "create", "pods", Some("eviction")));
    assert!(can("edit", "create", "serviceaccounts", Some("token")));
    // (edit has leases since Kubernetes 1.29; the old approximation did not.)
    assert!(can("edit", "update", "leases.coordination.k8s.io", None));
    assert!(!can("edit", "create", "roles", None));
    // admin: edit, plus namespaced RBAC.
    assert!(can("admin", "create", "rolebindings", None));
    assert!(can("admin", "create", "localsubjectaccessreviews", None));
    // A system role in the served form: the node proxier watches endpoint slices.
    assert!(can(
        "system:node-proxier",
        "watch",
        "endpointslices.discovery.k8s.io",
        None
    ));
    assert!(!can(
        "system:node-proxier",
        "delete",
        "endpointslices.discovery.k8s.io",
        None
    ));
}

#[test]
fn aggregated_cluster_roles_take_the_rules_of_the_roles_their_selectors_match() {
    let mut cluster = Cluster::default();
    const MINE: &str = "example.com/aggregate-to-monitoring";
    let labelled = |label: &str, resource: &str, verb: &str| RbacRole {
        meta: crate::model::Meta {
            labels: [(label.to_string(), "true".to_string())].into(),
            annotations: Default::default(),
        },
        rules: [rule(&["example.com"], &[resource], &[verb])].into(),
        ..RbacRole::default()
    };
    // An add-on's role aggregated into the built-in `view` (and so into `edit` and `admin`).
    cluster.cluster_roles.insert(
        "widgets-view".to_string(),
        labelled(
            "rbac.authorization.k8s.io/aggregate-to-view",
            "widgets",
            "list",
        ),
    );
    // A role of the state with its own aggregation rule, and a role it selects.
    let selector = crate::model::LabelSelector {
        match_labels: [(MINE.to_string(), "true".to_string())].into(),
        match_expressions: Vec::new(),
    };
    cluster.cluster_roles.insert(
        "monitoring".to_string(),
        RbacRole {
            aggregation_rule: Some(crate::model::AggregationRule {
                cluster_role_selectors: vec![selector],
            }),
            // Rules the aggregation controller overwrites.
            rules: [rule(&[""], &["secrets"], &["get"])].into(),
            ..RbacRole::default()
        },
    );
    cluster
        .cluster_roles
        .insert("gadgets".to_string(), labelled(MINE, "gadgets", "watch"));
    for (name, role) in [
        ("viewers", "view"),
        ("admins", "admin"),
        ("monitors", "monitoring"),
    ] {
        cluster
            .cluster_role_bindings
            .insert(name.to_string(), binding_to(role, SubjectKind::Group, name));
    }
    let member = |group: &str| Identity {
        username: "u".to_string(),
        groups: [group.to_string()].into(),
    };
    let can = |group: &str, verb, resource| {
        allowed_in(
            &cluster,
            &member(group),
            &BTreeMap::new(),
            &parse_request(verb, resource, None, Some("team")),
        )
    };
    assert!(can("viewers", "list", "widgets.example.com"));
    assert!(can("admins", "list", "widgets.example.com"));
    assert!(!can("viewers", "delete", "widgets.example.com"));
    assert!(can("monitors", "watch", "gadgets.example.com"));
    assert!(!can("monitors", "get", "secrets"));
}

#[test]
fn non_resource_urls_and_resource_names_as_the_authorizer_matches_them() {
    let urls = |url: &str| PolicyRule {
        non_resource_urls: [url.to_string()].into(),
        verbs: ["get".to_string()].into(),
        ..PolicyRule::default()
    };
    let get = |url| parse_request("get", url, None, None);
    // The authorizer trims every trailing `*` and matches the rest as a prefix.
    assert!(rule_allows(&urls("/api**"), &get("/apis/apps")));
    assert!(rule_allows(&urls("/healthz/*"), &get("/healthz/etcd")));
    assert!(!rule_allows(&urls("/healthz/*"), &get("/healthz")));
    assert!(rule_allows(&urls("*"), &get("/anything")));
    assert!(!rule_allows(&urls("/hea*z"), &get("/healthz")));
    // A resource rule never allows a non-resource request, and the reverse.
    assert!(!rule_allows(
        &rule(&["*"], &["*"], &["get"]),
        &get("/healthz")
    ));
    assert!(!rule_allows(
        &urls("*"),
        &parse_request("get", "pods", None, Some("default"))
    ));
    // resourceNames: the rule applies to the names it lists, and to nothing unnamed.
    let named = rule_of(&[""], &["configmaps"], &["get", "list", "create"], &["a"]);
    assert!(rule_allows(
        &named,
        &parse_request("get", "configmaps/a", None, Some("x"))
    ));
    assert!(!rule_allows(
        &named,
        &parse_request("list", "configmaps", None, Some("x"))
    ));
    assert!(!rule_allows(
        &named,
        &parse_request("create", "configmaps", None, Some("x"))
    ));
}

#[test]
fn access_policies_are_the_documented_rules() {
    let policy = |name: &str, scope: AccessScope| {
        BTreeMap::from([(
            format!("arn:aws:eks::aws:cluster-access-policy/{name}"),
            scope,
        )])
    };
    let team = || AccessScope::Namespace {
        namespaces: ["team".to_string()].into(),
    };
    let can = |name: &str, scope: AccessScope, verb, resource, subresource, namespace| {
        allowed_in(
            &Cluster::default(),
            &Identity {
                username: "arn:aws:iam::1:role/x".to_string(),
                groups: Default::default(),
            },
            &policy(name, scope),
            &parse_request(verb, resource, subresource, namespace),
        )
    };
    // allowed? policy, scope (`*`: the cluster), verb, resource, subresource, namespace (`-`:
    // none).
    let cases = "
        yes AmazonEKSAdminViewPolicy * get secrets - x
        yes AmazonEKSAdminViewPolicy * list nodes - -
        no AmazonEKSAdminViewPolicy * create pods - x
        yes AmazonEKSSecretReaderPolicy team watch secrets - team
        no AmazonEKSSecretReaderPolicy team watch secrets - x
        yes AmazonEKSEditPolicy * create pods exec x
        no AmazonEKSEditPolicy * create serviceaccounts token x
        no AmazonEKSEditPolicy * create pods eviction x
        yes AmazonEKSViewPolicy * get jobs status x
        no AmazonEKSViewPolicy * get secrets - x
        yes AmazonEKSHybridPolicy * list nodes - -
        no AmazonEKSHybridPolicy * get nodes - -
        yes AmazonEKSClusterAdminPolicy * get /metrics - -
        no AmazonEKSAdminPolicy team get pods - -
        yes AmazonEKSAdminPolicy team create roles - team
        no AmazonEKSAutoNodePolicy * get pods - x
    ";
    // AmazonEKSAdminViewPolicy reads secrets; AmazonEKSEditPolicy is not the `edit`
    // ClusterRole (no service-account tokens, no evictions); a namespaced association never
    // reaches cluster-scoped resources or `-A`; a policy whose rules AWS does not publish
    // grants nothing known.
    let given = |word: &'static str| (word != "-").then_some(word);
    for case in cases.trim().lines() {
        let words: Vec<&'static str> = case.split_whitespace().collect();
        let [allowed, name, scope, verb, resource, subresource, namespace] = words[..] else {
            panic!("bad case {case}");
        };
        let scope = if scope == "*" {
            AccessScope::Cluster
        } else {
            team()
        };
        assert_eq!(
            can(
                name,
                scope,
                verb,
                resource,
                given(subresource),
                given(namespace)
            ),
            allowed == "yes",
            "{case}"
        );
    }
}
