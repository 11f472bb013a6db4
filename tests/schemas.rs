//! The JSON formats accessctl writes, checked against their published schemas: the live-state
//! snapshot (`specs/snapshot.schema.json`) and the plan (`specs/plan.schema.json`). Samples are
//! serialized from the real types, so a serde change that the schema does not follow fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use accessctl::insight::impact::{self, Direction, ImpactItem, WhoKind};
use accessctl::model::{
    AccessEntry, AccessScope, AuthenticationMode, AwsAuth, AwsAuthEntry, Binding, Caller, Cluster,
    DocumentKind, Group, Iam, MapKind, Meta, Namespace, OidcProvider, Policy, PolicyDocument,
    PolicyRule, RbacRole, Role, RoleRef, RoleRefKind, ServiceAccount, State, Subject, SubjectKind,
    User,
};
use accessctl::plan::{
    Action, Address, Change, DeletedWith, FieldChange, Kind, Note, Object, PLAN_FORMAT_VERSION,
    Plan, Summary,
};
use serde_json::{Value, json};

fn load_schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let schema: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
    if let Err(error) = jsonschema::meta::validate(&schema) {
        panic!("{name} is not a valid JSON Schema: {error}");
    }
    schema
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::draft202012::new(&load_schema(name))
        .unwrap_or_else(|error| panic!("{name} does not compile: {error}"))
}

fn problems(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

fn assert_valid(name: &str, instance: &Value) {
    let problems = problems(&validator(name), instance);
    assert!(
        problems.is_empty(),
        "{name} refuses the sample:\n{}\n{}",
        problems.join("\n"),
        serde_json::to_string_pretty(instance).unwrap_or_default()
    );
}

fn assert_invalid(name: &str, instance: &Value, expected: &str) {
    let problems = problems(&validator(name), instance);
    assert!(
        problems.iter().any(|problem| problem.contains(expected)),
        "{name} should refuse the document with `{expected}`, got {problems:?}"
    );
}

fn document(value: Value, kind: DocumentKind) -> PolicyDocument {
    PolicyDocument::from_value(&value, kind)
        .unwrap_or_else(|errors| panic!("sample document is invalid: {errors:?}"))
}

fn owned_tags() -> BTreeMap<String, String> {
    BTreeMap::from([("managed-by".to_string(), "accessctl".to_string())])
}

fn owned_meta() -> Meta {
    Meta {
        labels: BTreeMap::from([(
            "app.kubernetes.io/managed-by".to_string(),
            "accessctl".to_string(),
        )]),
        annotations: BTreeMap::new(),
    }
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";

fn admin_policy() -> Policy {
    Policy {
        path: "/".into(),
        description: Some("EKS administration".into()),
        document: document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["eks:*"], "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                 "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}}]}),
            DocumentKind::Identity,
        ),
        tags: owned_tags(),
    }
}

fn developers_group() -> Group {
    Group {
        path: "/accessctl/".into(),
        managed_policies: strings(&["arn:aws:iam::424432388155:policy/AmazonEKSViewNodesPolicy"]),
        inline_policies: BTreeMap::from([(
            "describe".to_string(),
            document(
                json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}}),
                DocumentKind::Identity,
            ),
        )]),
        members: BTreeSet::new(),
    }
}

fn developer_user() -> User {
    User {
        path: "/".into(),
        groups: strings(&["developers"]),
        managed_policies: BTreeSet::new(),
        inline_policies: BTreeMap::new(),
        permissions_boundary: Some("arn:aws:iam::424432388155:policy/boundary".into()),
        tags: owned_tags(),
    }
}

fn admin_role() -> Role {
    Role {
        path: "/".into(),
        description: Some("cluster administrators".into()),
        max_session_duration: 3600,
        trust: document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::424432388155:root"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        ),
        managed_policies: strings(&["arn:aws:iam::424432388155:policy/AmazonEKSAdminPolicy"]),
        inline_policies: BTreeMap::new(),
        permissions_boundary: None,
        tags: owned_tags(),
        role_id: Some("AROAEXAMPLEID1234567".into()),
    }
}

fn irsa_role() -> Role {
    Role {
        path: "/irsa/".into(),
        description: None,
        max_session_duration: 7200,
        trust: document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::424432388155:oidc-provider/{ISSUER}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{ISSUER}:aud"): "sts.amazonaws.com",
                    format!("{ISSUER}:sub"): "system:serviceaccount:apps:uploader"}}}]}),
            DocumentKind::Trust,
        ),
        managed_policies: BTreeSet::new(),
        inline_policies: BTreeMap::from([(
            "s3".to_string(),
            document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::uploads/*"}]}),
                DocumentKind::Identity,
            ),
        )]),
        permissions_boundary: None,
        tags: owned_tags(),
        role_id: None,
    }
}

fn view_rule() -> PolicyRule {
    PolicyRule {
        api_groups: strings(&["", "apps"]),
        resources: strings(&["pods", "deployments"]),
        resource_names: BTreeSet::new(),
        non_resource_urls: BTreeSet::new(),
        verbs: strings(&["get", "list", "watch"]),
    }
}

fn health_rule() -> PolicyRule {
    PolicyRule {
        api_groups: BTreeSet::new(),
        resources: BTreeSet::new(),
        resource_names: strings(&["x"]),
        non_resource_urls: strings(&["/healthz"]),
        verbs: strings(&["get"]),
    }
}

fn aws_auth_entry() -> AwsAuthEntry {
    AwsAuthEntry {
        kind: MapKind::MapUsers,
        arn: "arn:aws:iam::424432388155:user/developer".into(),
        username: Some("developer".into()),
        groups: vec!["reader".into()],
    }
}

fn admin_entry() -> AccessEntry {
    AccessEntry {
        kind: "STANDARD".into(),
        username: Some("admin".into()),
        groups: strings(&["admins"]),
        policies: BTreeMap::from([
            (
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy".to_string(),
                AccessScope::Cluster,
            ),
            (
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".to_string(),
                AccessScope::Namespace {
                    namespaces: strings(&["apps", "web"]),
                },
            ),
        ]),
        tags: owned_tags(),
        principal_id: Some("AROAEXAMPLEID1234567".into()),
    }
}

fn reader_binding() -> Binding {
    Binding {
        meta: owned_meta(),
        role_ref: RoleRef {
            kind: RoleRefKind::ClusterRole,
            name: "reader".into(),
        },
        subjects: BTreeSet::from([
            Subject {
                kind: SubjectKind::Group,
                name: "reader".into(),
                namespace: None,
            },
            Subject {
                kind: SubjectKind::User,
                name: "developer".into(),
                namespace: None,
            },
        ]),
    }
}

fn uploader_account() -> ServiceAccount {
    ServiceAccount {
        meta: Meta {
            labels: owned_meta().labels,
            annotations: BTreeMap::from([(
                "eks.amazonaws.com/role-arn".to_string(),
                "arn:aws:iam::424432388155:role/irsa/uploader".to_string(),
            )]),
        },
    }
}

/// A live state with every object kind, and each optional field set somewhere.
fn sample_state() -> State {
    let demo = Cluster {
        region: Some("us-east-1".into()),
        eks_name: Some("demo-cluster".into()),
        context: Some("arn:aws:eks:us-east-1:424432388155:cluster/demo-cluster".into()),
        authentication: AuthenticationMode::Both,
        oidc_issuer: Some(format!("https://{ISSUER}")),
        aws_auth: Some(AwsAuth {
            entries: vec![
                AwsAuthEntry {
                    kind: MapKind::MapRoles,
                    arn: "arn:aws:iam::424432388155:role/eks-node-group".into(),
                    username: Some("system:node:{{EC2PrivateDNSName}}".into()),
                    groups: vec!["system:bootstrappers".into(), "system:nodes".into()],
                },
                aws_auth_entry(),
                AwsAuthEntry {
                    kind: MapKind::MapAccounts,
                    arn: "111122223333".into(),
                    username: None,
                    groups: Vec::new(),
                },
            ],
            managed: strings(&["arn:aws:iam::424432388155:user/developer"]),
            resource_version: Some("48213".into()),
            warnings: Vec::new(),
            unreadable: BTreeSet::new(),
        }),
        access_entries: BTreeMap::from([
            (
                "arn:aws:iam::424432388155:role/eks-admin".to_string(),
                admin_entry(),
            ),
            (
                "arn:aws:iam::424432388155:role/eks-node-group".to_string(),
                AccessEntry {
                    kind: "EC2_LINUX".into(),
                    username: None,
                    groups: BTreeSet::new(),
                    policies: BTreeMap::new(),
                    tags: BTreeMap::new(),
                    principal_id: None,
                },
            ),
        ]),
        namespaces: BTreeMap::from([
            ("apps".to_string(), Namespace { meta: owned_meta() }),
            ("kube-system".to_string(), Namespace::default()),
        ]),
        cluster_roles: BTreeMap::from([(
            "reader".to_string(),
            RbacRole {
                meta: owned_meta(),
                rules: BTreeSet::from([view_rule(), health_rule()]),
                aggregation_rule: None,
            },
        )]),
        roles: BTreeMap::from([(
            "apps/deployer".to_string(),
            RbacRole {
                meta: owned_meta(),
                rules: BTreeSet::from([view_rule()]),
                aggregation_rule: None,
            },
        )]),
        cluster_role_bindings: BTreeMap::from([("reader".to_string(), reader_binding())]),
        role_bindings: BTreeMap::from([(
            "apps/deployer".to_string(),
            Binding {
                meta: Meta::default(),
                role_ref: RoleRef {
                    kind: RoleRefKind::Role,
                    name: "deployer".into(),
                },
                subjects: BTreeSet::from([Subject {
                    kind: SubjectKind::ServiceAccount,
                    name: "ci".into(),
                    namespace: Some("apps".into()),
                }]),
            },
        )]),
        service_accounts: BTreeMap::from([("apps/uploader".to_string(), uploader_account())]),
        pod_identity: BTreeMap::from([(
            "apps/uploader".to_string(),
            accessctl::model::PodIdentityAssociation {
                role_arn: "arn:aws:iam::424432388155:role/uploader".into(),
                tags: BTreeMap::from([("managed-by".to_string(), "accessctl".to_string())]),
                association_id: Some("a-abcdefghijklmnop1".into()),
            },
        )]),
    };
    State {
        format_version: 1,
        account: Some("424432388155".into()),
        partition: "aws".into(),
        caller: Some(Caller {
            account: "424432388155".into(),
            arn: "arn:aws:sts::424432388155:assumed-role/eks-admin/ci-session".into(),
        }),
        iam: Iam {
            policies: BTreeMap::from([("AmazonEKSAdminPolicy".to_string(), admin_policy())]),
            groups: BTreeMap::from([("developers".to_string(), developers_group())]),
            users: BTreeMap::from([("developer".to_string(), developer_user())]),
            roles: BTreeMap::from([
                ("eks-admin".to_string(), admin_role()),
                ("uploader".to_string(), irsa_role()),
            ]),
            oidc_providers: BTreeMap::from([(
                ISSUER.to_string(),
                OidcProvider {
                    client_ids: strings(&["sts.amazonaws.com"]),
                    tags: owned_tags(),
                },
            )]),
            access_keys: BTreeMap::from([("developer".to_string(), live_access_keys())]),
        },
        clusters: BTreeMap::from([
            ("demo".to_string(), demo),
            (
                "empty".to_string(),
                Cluster {
                    authentication: AuthenticationMode::AccessEntries,
                    ..Cluster::default()
                },
            ),
        ]),
        scope: accessctl::model::ReadScope::Everything,
    }
}

/// A user's keys as the live read finds them: ids masked, and what each destination holds.
fn live_access_keys() -> accessctl::model::AccessKeys {
    use accessctl::model::{AccessKey, AccessKeys, Destination, Held, KeyStatus};
    let key = |id: &str, status, age_days, unused_days: Option<u32>| AccessKey {
        id: id.to_string(),
        status,
        age_days,
        created: Some("2024-01-01T00:00:00Z".into()),
        last_used: unused_days.map(|_| "2024-03-01T00:00:00Z".to_string()),
        unused_days,
    };
    AccessKeys {
        rotation: None,
        keys: vec![
            key("AKIA…0001", KeyStatus::Inactive, 97, None),
            key("AKIA…0002", KeyStatus::Active, 3, Some(0)),
        ],
        held: vec![
            Held::holding(
                &Destination::Secret {
                    cluster: "demo".into(),
                    namespace: "ci".into(),
                    name: "developer-aws".into(),
                },
                "AKIA…0002",
            ),
            Held {
                destination: Destination::SecretsManager {
                    name: "ci/developer".into(),
                    region: Some("us-east-1".into()),
                },
                exists: false,
                key: None,
            },
        ],
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|error| panic!("cannot serialize: {error}"))
}

#[test]
fn snapshot_of_every_object_kind_matches_the_schema() {
    let state = sample_state();
    let text = accessctl::snapshot::to_string(&state).expect("written");
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_valid("snapshot.schema.json", &value);
    // And the snapshot reads back as the same state.
    let read = accessctl::snapshot::parse(&text).ok();
    assert_eq!(read.as_ref(), Some(&state));
}

#[test]
fn minimal_snapshot_matches_the_schema() {
    // `State::default()` leaves the partition empty; serde's default is `aws`.
    let value = to_json(&State {
        format_version: 1,
        partition: "aws".into(),
        ..State::default()
    });
    assert_valid("snapshot.schema.json", &value);
}

#[test]
fn snapshot_with_url_encoded_documents_matches_the_schema_and_reads() {
    // What a reader that stores IAM's raw answers would write.
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22eks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    let value = json!({
        "format_version": 1,
        "account": "424432388155",
        "iam": {"roles": {"eks-cluster": {"trust": encoded, "managed_policies": [
            "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]}}}
    });
    assert_valid("snapshot.schema.json", &value);
    let state = accessctl::snapshot::parse(&value.to_string()).ok();
    let trust = state
        .as_ref()
        .and_then(|state| state.iam.roles.get("eks-cluster"))
        .map(|role| role.trust.to_value());
    assert_eq!(
        trust,
        Some(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        )
    );
}

#[test]
fn wrong_snapshots_are_refused() {
    let mut value = to_json(&sample_state());
    if let Value::Object(map) = &mut value {
        map.remove("format_version");
    }
    assert_invalid(
        "snapshot.schema.json",
        &value,
        "\"format_version\" is a required property",
    );

    let mut value = to_json(&sample_state());
    value["format_version"] = json!(2);
    assert_invalid("snapshot.schema.json", &value, "/format_version");

    let mut value = to_json(&sample_state());
    value["iam"]["roles"]["eks-admin"]["trustPolicy"] = json!({});
    assert_invalid("snapshot.schema.json", &value, "trustPolicy");

    let mut value = to_json(&sample_state());
    value["clusters"]["demo"]["authentication"] = json!("API_AND_CONFIG_MAP");
    assert_invalid(
        "snapshot.schema.json",
        &value,
        "/clusters/demo/authentication",
    );

    let mut value = to_json(&sample_state());
    value["clusters"]["demo"]["aws_auth"]["entries"][0]["kind"] = json!("mapGroups");
    assert_invalid(
        "snapshot.schema.json",
        &value,
        "/clusters/demo/aws_auth/entries/0/kind",
    );

    let mut value = to_json(&sample_state());
    value["iam"]["policies"]["AmazonEKSAdminPolicy"]["document"]["Statement"][0]["Effect"] =
        json!("allow");
    assert_invalid(
        "snapshot.schema.json",
        &value,
        "/iam/policies/AmazonEKSAdminPolicy/document",
    );
}

fn change(
    address: Address,
    action: Action,
    before: Option<Object>,
    after: Option<Object>,
    fields: Vec<FieldChange>,
) -> Change {
    Change {
        address,
        action,
        reason: Some(format!("sample {action:?}")),
        before,
        after,
        fields,
    }
}

/// One change of each action, over a spread of object kinds and address forms.
fn sample_plan() -> Plan {
    let mut grown_role = admin_role();
    grown_role
        .managed_policies
        .insert("arn:aws:iam::aws:policy/ReadOnlyAccess".into());
    let mut moved_role = irsa_role();
    moved_role.path = "/workloads/".into();
    let unowned_binding = Binding {
        meta: Meta::default(),
        ..reader_binding()
    };
    let changes = vec![
        change(
            Address::iam(Kind::Policy, "AmazonEKSAdminPolicy"),
            Action::Create,
            None,
            Some(Object::Policy(admin_policy())),
            Vec::new(),
        ),
        change(
            Address::iam(Kind::Role, "eks-admin"),
            Action::Update,
            Some(Object::Role(admin_role())),
            Some(Object::Role(grown_role.clone())),
            vec![FieldChange {
                path: "managed_policies".into(),
                before: Some(to_json(&admin_role().managed_policies)),
                after: Some(to_json(&grown_role.managed_policies)),
            }],
        ),
        change(
            Address::iam(Kind::Role, "uploader"),
            Action::Replace,
            Some(Object::Role(irsa_role())),
            Some(Object::Role(moved_role)),
            vec![FieldChange {
                path: "path".into(),
                before: Some(json!("/irsa/")),
                after: Some(json!("/workloads/")),
            }],
        ),
        change(
            Address::cluster(
                Kind::AwsAuth,
                "demo",
                "arn:aws:iam::424432388155:user/developer",
            ),
            Action::Delete,
            Some(Object::AwsAuthEntry(aws_auth_entry())),
            None,
            Vec::new(),
        ),
        change(
            Address::cluster(Kind::ClusterRoleBinding, "demo", "reader"),
            Action::Adopt,
            Some(Object::Binding(unowned_binding)),
            Some(Object::Binding(reader_binding())),
            vec![FieldChange {
                path: "meta.labels.app.kubernetes.io/managed-by".into(),
                before: None,
                after: Some(json!("accessctl")),
            }],
        ),
        change(
            Address::cluster(
                Kind::AccessEntry,
                "demo",
                "arn:aws:iam::424432388155:role/eks-admin",
            ),
            Action::Create,
            None,
            Some(Object::AccessEntry(admin_entry())),
            Vec::new(),
        ),
        change(
            Address::cluster(Kind::ServiceAccount, "demo", "apps/uploader"),
            Action::Create,
            None,
            Some(Object::ServiceAccount(uploader_account())),
            Vec::new(),
        ),
    ];
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        changes,
        summary: Summary {
            add: 4,
            change: 1,
            destroy: 2,
            adopt: 1,
        },
        overrides: vec!["--allow-node-role-changes".into()],
        notes: vec![
            Note {
                address: Some(Address::cluster(Kind::Namespace, "demo", "kube-system")),
                message: "not managed by accessctl; kept".into(),
            },
            Note {
                address: None,
                message: "the caller keeps cluster access".into(),
            },
        ],
        deleted_with: vec![DeletedWith {
            address: Address::iam(Kind::User, "manager"),
            access_keys: vec!["AKIAIOSFODNN7EXAMPLE".into()],
            console_password: true,
            mfa_devices: vec!["arn:aws:iam::424432388155:mfa/manager".into()],
            ssh_public_keys: Vec::new(),
            signing_certificates: Vec::new(),
            service_specific_credentials: Vec::new(),
            unlisted: vec![
                "could not list service-specific credentials: `iam:ListServiceSpecificCredentials`: not an AWS response: HTTP 500".into(),
            ],
        }],
        access_impact: vec![
            ImpactItem {
                escalation: true,
                direction: Direction::Gains,
                kind: WhoKind::IamUser,
                who: "user/manager".into(),
                cluster: "demo".into(),
                namespace: None,
                access: impact::ADMIN_ACCESS.into(),
                rule: Some(PolicyRule {
                    api_groups: BTreeSet::from(["*".to_string()]),
                    resources: BTreeSet::from(["*".to_string()]),
                    verbs: BTreeSet::from(["*".to_string()]),
                    ..PolicyRule::default()
                }),
                via: "user/manager → role/eks-admin → aws-auth mapRoles (user eks-admin, groups system:masters) → ClusterRoleBinding cluster-admin (built-in) → ClusterRole cluster-admin".into(),
                possibly: true,
            },
            ImpactItem {
                escalation: false,
                direction: Direction::Loses,
                kind: WhoKind::ServiceAccount,
                who: "system:serviceaccount:ci:runner".into(),
                cluster: "demo".into(),
                namespace: Some("ci".into()),
                access: "get on secrets [core]".into(),
                rule: None,
                via: "RoleBinding ci/runner → Role secrets".into(),
                possibly: false,
            },
        ],
    }
}

#[test]
fn plan_with_each_action_matches_the_schema() {
    let plan = sample_plan();
    let value = to_json(&plan);
    let actions: BTreeSet<String> = plan
        .changes
        .iter()
        .map(|change| {
            to_json(&change.action)
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        actions,
        strings(&["adopt", "create", "delete", "replace", "update"]),
        "the sample covers every action"
    );
    assert_valid("plan.schema.json", &value);
    let read: Result<Plan, _> = serde_json::from_value(value);
    assert_eq!(read.ok(), Some(plan));
}

/// A user's access keys are one object, `iam.access-key.USER`, in every plan that creates,
/// rotates or deletes keys: the schema takes the address and the object (ids masked, no secret).
#[test]
fn an_access_key_change_matches_the_schema() {
    use accessctl::model::{AccessKey, AccessKeys, Destination, KeyRotation, KeyStatus};
    let mut plan = sample_plan();
    plan.changes.push(change(
        Address::iam(Kind::AccessKey, "eksuser"),
        Action::Create,
        None,
        Some(Object::AccessKeys(AccessKeys {
            rotation: Some(KeyRotation {
                rotate_after_days: 90,
                grace_days: 7,
                deliver_to: vec![Destination::SecretsManager {
                    name: "ci/eksuser".into(),
                    region: Some("us-east-1".into()),
                }],
            }),
            keys: vec![AccessKey {
                id: "(new)".into(),
                status: KeyStatus::Active,
                age_days: 0,
                created: None,
                last_used: None,
                unused_days: None,
            }],
            held: Vec::new(),
        })),
        Vec::new(),
    ));
    plan.summary.add += 1;
    let value = to_json(&plan);
    assert_eq!(
        value["changes"][plan.changes.len() - 1]["address"],
        "iam.access-key.eksuser"
    );
    assert_valid("plan.schema.json", &value);
}

#[test]
fn empty_plan_matches_the_schema() {
    let value = to_json(&Plan {
        format_version: PLAN_FORMAT_VERSION,
        changes: Vec::new(),
        summary: Summary::default(),
        overrides: Vec::new(),
        notes: Vec::new(),
        deleted_with: Vec::new(),
        access_impact: Vec::new(),
    });
    assert_valid("plan.schema.json", &value);
}

#[test]
fn every_address_form_matches_the_schema_pattern() {
    let validator = validator("plan.schema.json");
    let addresses = [
        Address::iam(Kind::User, "john.doe@example.com"),
        Address::iam(Kind::Group, "developers"),
        Address::iam(Kind::OidcProvider, ISSUER),
        Address::cluster(Kind::Namespace, "demo", "apps"),
        Address::cluster(Kind::ClusterRole, "demo", "system:aggregate-to-view"),
        Address::cluster(Kind::K8sRole, "demo", "apps/deployer"),
        Address::cluster(Kind::RoleBinding, "demo", "apps/deployer"),
        Address::cluster(Kind::AwsAuth, "demo", "111122223333"),
    ];
    for address in addresses {
        let note = json!({"format_version": 1, "changes": [], "summary": {"add": 0, "change": 0, "destroy": 0, "adopt": 0},
            "notes": [{"address": address.to_string(), "message": "x"}]});
        assert!(validator.is_valid(&note), "{address}");
    }
    for text in [
        "iam.nope.x",
        "iam.user.",
        "cluster.demo.user.x",
        "cluster.demo.aws-auth.arn",
        "cluster.demo.namespace.a[b]",
    ] {
        // What the schema refuses, the address parser refuses too.
        assert!(text.parse::<Address>().is_err(), "{text}");
        let note = json!({"format_version": 1, "changes": [], "summary": {"add": 0, "change": 0, "destroy": 0, "adopt": 0},
            "notes": [{"address": text, "message": "x"}]});
        assert!(!validator.is_valid(&note), "{text}");
    }
}

#[test]
fn wrong_plans_are_refused() {
    let mut value = to_json(&sample_plan());
    if let Value::Object(map) = &mut value {
        map.remove("format_version");
    }
    assert_invalid(
        "plan.schema.json",
        &value,
        "\"format_version\" is a required property",
    );

    let mut value = to_json(&sample_plan());
    value["changes"][0]["action"] = json!("destroy");
    assert_invalid("plan.schema.json", &value, "/changes/0/action");
    let read: Result<Plan, _> = serde_json::from_value(value);
    assert!(read.is_err(), "serde refuses it too");

    let mut value = to_json(&sample_plan());
    value["changes"][0]["address"] = json!("iam.widget.x");
    assert_invalid("plan.schema.json", &value, "/changes/0/address");

    let mut value = to_json(&sample_plan());
    value["changes"][3]["after"] = json!({"kind": "mapUsers"});
    assert_invalid("plan.schema.json", &value, "/changes/3/after");

    let mut value = to_json(&sample_plan());
    if let Value::Object(summary) = &mut value["summary"] {
        summary.remove("adopt");
    }
    assert_invalid(
        "plan.schema.json",
        &value,
        "\"adopt\" is a required property",
    );
}

/// The ```json examples in the documents are real: they validate, and accessctl reads them.
fn json_examples(doc: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(doc);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut examples = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                let value = serde_json::from_str(block)
                    .unwrap_or_else(|error| panic!("{doc}: example is not JSON: {error}\n{block}"));
                examples.push(value);
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    examples
}

#[test]
fn snapshot_doc_examples_are_valid() {
    let examples = json_examples("snapshot.md");
    assert!(!examples.is_empty());
    for example in examples {
        // Fragments (a single object) are marked by lacking format_version.
        if example.get("format_version").is_none() {
            continue;
        }
        assert_valid("snapshot.schema.json", &example);
        let read = accessctl::snapshot::parse(&example.to_string());
        assert!(read.is_ok(), "{example}");
    }
}

#[test]
fn plan_doc_examples_are_valid() {
    let examples = json_examples("plan-json.md");
    assert!(!examples.is_empty());
    for example in examples {
        if example.get("format_version").is_none() {
            continue;
        }
        assert_valid("plan.schema.json", &example);
        let read: Result<Plan, _> = serde_json::from_value(example.clone());
        assert!(read.is_ok(), "{example}: {read:?}");
    }
}

/// `specs/{name}` with its root pointed at `$defs/{definition}`: the root's own document moves
/// under `$defs/root`, still reachable through its `$anchor` (`plan`, `state`).
fn validator_of(name: &str, definition: &str) -> jsonschema::Validator {
    let mut schema = load_schema(name);
    let root = schema.as_object_mut().expect("an object");
    let mut document = serde_json::Map::new();
    for key in [
        "type",
        "properties",
        "required",
        "additionalProperties",
        "$anchor",
    ] {
        if let Some(value) = root.remove(key) {
            document.insert(key.to_string(), value);
        }
    }
    root.insert(
        "$ref".into(),
        Value::String(format!("#/$defs/{definition}")),
    );
    if let Some(Value::Object(definitions)) = root.get_mut("$defs") {
        definitions.insert("root".into(), Value::Object(document));
    }
    jsonschema::draft202012::new(&schema).unwrap_or_else(|error| {
        panic!("{name} with its root at {definition} does not compile: {error}")
    })
}

#[test]
fn a_snapshot_of_several_accounts_matches_the_schema() {
    let part = |account: &str, file: &str| {
        let mut state = sample_state();
        state.account = Some(account.to_string());
        accessctl::snapshot::AccountState {
            account: account.to_string(),
            file: file.to_string(),
            state,
        }
    };
    let accounts = vec![
        part("111111111111", "access/identity"),
        part("222222222222", "access/workload.yaml"),
    ];
    let text = accessctl::snapshot::accounts_to_string(&accounts).expect("written");
    let value: Value = serde_json::from_str(&text).expect("JSON");
    let several = validator_of("snapshot.schema.json", "snapshots");
    let found = problems(&several, &value);
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert_eq!(
        accessctl::snapshot::parse_accounts(&text).ok(),
        Some(accounts)
    );
    // One account's snapshot is not one of several, and the reverse.
    assert!(!several.is_valid(&value["accounts"][0]["state"]));
    assert_valid("snapshot.schema.json", &value["accounts"][0]["state"]);
    assert!(!validator("snapshot.schema.json").is_valid(&value));
    let mut wrong = value.clone();
    wrong["accounts"][0]["account"] = json!("identity");
    assert!(
        problems(&several, &wrong)
            .iter()
            .any(|problem| problem.contains("/accounts/0/account")),
        "{:?}",
        problems(&several, &wrong)
    );
}

#[test]
fn a_saved_plan_of_several_accounts_matches_the_schema() {
    use accessctl::planfile::{self, AccountPlan, SavedPlan, SavedPlans};
    let saved = |account: &str, file: &str| {
        let live = State {
            account: Some(account.to_string()),
            ..State::default()
        };
        let saved = SavedPlan::new(
            sample_plan(),
            planfile::Source::of(&accessctl::spec::Sources::from_text(
                Path::new(file),
                "version: 1\n".to_string(),
            )),
            &sample_state(),
            None,
            &live,
            planfile::Options::default(),
        )
        .expect("a saved plan");
        AccountPlan {
            account: account.to_string(),
            file: file.to_string(),
            saved,
        }
    };
    let plans = SavedPlans::new(vec![
        saved("111111111111", "identity.yaml"),
        saved("222222222222", "workload.yaml"),
    ]);
    let text = plans.to_text().expect("written");
    let value: Value = serde_json::from_str(&text).expect("JSON");
    let validator = validator_of("plan.schema.json", "saved_plans");
    let found = problems(&validator, &value);
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert_eq!(SavedPlans::parse("plan.json", &text).ok(), Some(plans));
    // Each account's part is a saved plan of one account; that is not a saved plan of several.
    let one = &value["accounts"][1]["saved_plan"];
    let saved_plan = validator_of("plan.schema.json", "saved_plan");
    let found = problems(&saved_plan, one);
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(!validator.is_valid(one));
    assert!(!saved_plan.is_valid(&value));
}
