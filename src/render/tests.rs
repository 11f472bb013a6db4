//! Snapshot tests of the three views on hand-built plans.

use std::collections::{BTreeMap, BTreeSet};

use insta::assert_snapshot;
use serde_json::{Value, json};

use super::*;
use crate::model::{
    AccessEntry, AccessScope, AwsAuthEntry, Binding, DocumentKind, MapKind, Meta, PolicyDocument,
    PolicyRule, RbacRole, Role, RoleRef, RoleRefKind, Subject, SubjectKind, User,
};
use crate::plan::{
    Action, Address, Change, FieldChange, Kind, Note, Object, PLAN_FORMAT_VERSION, Plan, Summary,
};

const PLAIN: TextOptions = TextOptions { color: false };
const COLOR: TextOptions = TextOptions { color: true };

fn document(value: Value) -> PolicyDocument {
    PolicyDocument::from_value(&value, DocumentKind::Any).expect("a valid document")
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_string()).collect()
}

fn managed_tag() -> BTreeMap<String, String> {
    BTreeMap::from([("managed-by".to_string(), "accessctl".to_string())])
}

fn managed_label() -> Meta {
    Meta {
        labels: BTreeMap::from([(
            "app.kubernetes.io/managed-by".to_string(),
            "accessctl".to_string(),
        )]),
        annotations: BTreeMap::new(),
    }
}

fn user(groups: &[&str], tags: BTreeMap<String, String>) -> User {
    User {
        path: "/".to_string(),
        groups: strings(groups),
        managed_policies: BTreeSet::new(),
        inline_policies: BTreeMap::new(),
        permissions_boundary: None,
        tags,
    }
}

fn trust(principal_arns: &[&str]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeFromAccount",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arns},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            }
        ]
    })
}

fn describe_clusters() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["eks:DescribeCluster", "eks:ListClusters"],
                "Resource": "*"
            }
        ]
    })
}

fn role(trust_document: Value) -> Role {
    Role {
        path: "/".to_string(),
        description: Some("Administers the EKS clusters".to_string()),
        max_session_duration: 3600,
        trust: document(trust_document),
        managed_policies: strings(&["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]),
        inline_policies: BTreeMap::from([(
            "describe-clusters".to_string(),
            document(describe_clusters()),
        )]),
        permissions_boundary: None,
        tags: managed_tag(),
        role_id: None,
    }
}

fn binding(kind: RoleRefKind, name: &str) -> Binding {
    Binding {
        meta: managed_label(),
        role_ref: RoleRef {
            kind,
            name: name.to_string(),
        },
        subjects: BTreeSet::from([Subject {
            kind: SubjectKind::Group,
            name: "developers".to_string(),
            namespace: None,
        }]),
    }
}

fn change(
    address: Address,
    action: Action,
    reason: Option<&str>,
    before: Option<Object>,
    after: Option<Object>,
    fields: Vec<FieldChange>,
) -> Change {
    Change {
        address,
        action,
        reason: reason.map(str::to_string),
        before,
        after,
        fields,
    }
}

fn field(path: &str, before: Option<Value>, after: Option<Value>) -> FieldChange {
    FieldChange {
        path: path.to_string(),
        before,
        after,
    }
}

/// A plan of `changes`, summarised as the planner summarises them.
fn plan(changes: Vec<Change>) -> Plan {
    let summary = crate::plan::summarize(&changes);
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        changes,
        summary,
        overrides: Vec::new(),
        notes: Vec::new(),
        deleted_with: Vec::new(),
        access_impact: Vec::new(),
    }
}

/// A plan of one update known only by its field changes (no objects before and after).
fn one_update(address: Address, reason: &str, fields: Vec<FieldChange>) -> Plan {
    plan(vec![change(
        address,
        Action::Update,
        Some(reason),
        None,
        None,
        fields,
    )])
}

fn create_developer() -> Change {
    change(
        Address::iam(Kind::User, "developer"),
        Action::Create,
        None,
        None,
        Some(Object::User(user(&["developers"], managed_tag()))),
        Vec::new(),
    )
}

fn update_eks_admin_trust() -> Change {
    let before = trust(&["arn:aws:iam::424432388155:root"]);
    let after = trust(&[
        "arn:aws:iam::424432388155:root",
        "arn:aws:iam::424432388155:role/ci-deployer",
    ]);
    change(
        Address::iam(Kind::Role, "eks-admin"),
        Action::Update,
        Some("differs from access.yaml: trust"),
        Some(Object::Role(role(before.clone()))),
        Some(Object::Role(role(after.clone()))),
        vec![field("trust", Some(before), Some(after))],
    )
}

fn replace_binding() -> Change {
    let before = binding(RoleRefKind::Role, "a");
    let after = binding(RoleRefKind::ClusterRole, "view");
    change(
        Address::cluster(Kind::RoleBinding, "demo", "ns/b"),
        Action::Replace,
        Some("`roleRef` cannot be changed in place"),
        Some(Object::Binding(before)),
        Some(Object::Binding(after)),
        vec![field(
            "role_ref",
            Some(json!({"kind": "Role", "name": "a"})),
            Some(json!({"kind": "ClusterRole", "name": "view"})),
        )],
    )
}

fn delete_former() -> Change {
    change(
        Address::iam(Kind::User, "former"),
        Action::Delete,
        Some("owned by accessctl and no longer in access.yaml"),
        Some(Object::User(user(&[], managed_tag()))),
        None,
        Vec::new(),
    )
}

fn adopt_ops() -> Change {
    change(
        Address::iam(Kind::User, "ops"),
        Action::Adopt,
        Some("exists unmanaged; adopted because of `adopt: true`"),
        Some(Object::User(user(&["ops"], BTreeMap::new()))),
        Some(Object::User(user(&["ops"], managed_tag()))),
        vec![field("tags.managed-by", None, Some(json!("accessctl")))],
    )
}

/// The example of the brief: one change of each action.
fn every_action() -> Plan {
    plan(vec![
        create_developer(),
        update_eks_admin_trust(),
        replace_binding(),
        delete_former(),
        adopt_ops(),
    ])
}

/// Every action, one safety override used, and a note on `legacy-admin`.
fn every_action_with_override_and_note(note: &str) -> Plan {
    let mut plan = every_action();
    plan.overrides = vec!["--allow-namespace-deletion".to_string()];
    plan.notes = vec![Note {
        address: Some(Address::iam(Kind::User, "legacy-admin")),
        message: note.to_string(),
    }];
    plan
}

fn has_escape_codes(text: &str) -> bool {
    text.contains('\u{1b}')
}

#[test]
fn text_every_action() {
    assert_snapshot!(text(&every_action(), PLAIN));
}

#[test]
fn text_create_role_shows_documents_as_pretty_json() {
    let plan = plan(vec![change(
        Address::iam(Kind::Role, "eks-admin"),
        Action::Create,
        None,
        None,
        Some(Object::Role(role(trust(&[
            "arn:aws:iam::424432388155:root",
        ])))),
        Vec::new(),
    )]);
    let output = text(&plan, PLAIN);
    assert!(output.contains("      + trust\n"), "{output}");
    assert!(
        output.contains("      + inline.describe-clusters\n"),
        "{output}"
    );
    assert!(!output.contains("role_id"), "{output}");
    assert_snapshot!(output);
}

#[test]
fn text_create_cluster_objects() {
    let rules = BTreeSet::from([
        PolicyRule {
            api_groups: strings(&[""]),
            resources: strings(&["configmaps", "pods", "pods/log", "services"]),
            verbs: strings(&["get", "list", "watch"]),
            ..PolicyRule::default()
        },
        PolicyRule {
            api_groups: strings(&["apps"]),
            resources: strings(&["deployments", "replicasets", "statefulsets"]),
            verbs: strings(&["get", "list", "watch"]),
            ..PolicyRule::default()
        },
    ]);
    let plan = plan(vec![
        change(
            Address::cluster(Kind::ClusterRole, "demo", "read-workloads"),
            Action::Create,
            None,
            None,
            Some(Object::RbacRole(RbacRole {
                meta: managed_label(),
                rules,
                aggregation_rule: None,
            })),
            Vec::new(),
        ),
        change(
            Address::cluster(
                Kind::AccessEntry,
                "demo",
                "arn:aws:iam::424432388155:role/eks-admin",
            ),
            Action::Create,
            None,
            None,
            Some(Object::AccessEntry(AccessEntry {
                kind: "STANDARD".to_string(),
                username: Some("eks-admin".to_string()),
                groups: BTreeSet::new(),
                policies: BTreeMap::from([(
                    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
                        .to_string(),
                    AccessScope::Cluster,
                )]),
                tags: managed_tag(),
                principal_id: None,
            })),
            Vec::new(),
        ),
        change(
            Address::cluster(
                Kind::AwsAuth,
                "demo",
                "arn:aws:iam::424432388155:user/developer",
            ),
            Action::Create,
            None,
            None,
            Some(Object::AwsAuthEntry(AwsAuthEntry {
                kind: MapKind::MapUsers,
                arn: "arn:aws:iam::424432388155:user/developer".to_string(),
                username: Some("developer".to_string()),
                groups: vec!["developers".to_string()],
            })),
            Vec::new(),
        ),
    ]);
    assert_snapshot!(text(&plan, PLAIN));
}

/// A long policy with one statement changed: only that part and its context are shown.
#[test]
fn text_policy_update_shows_only_the_changed_hunk() {
    let statement = |sid: &str, action: &str| {
        json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": action,
            "Resource": "*"
        })
    };
    let before = json!({
        "Version": "2012-10-17",
        "Statement": [
            statement("One", "eks:DescribeCluster"),
            statement("Two", "eks:ListClusters"),
            statement("Three", "eks:ListNodegroups"),
            statement("Four", "eks:ListAddons"),
            statement("Five", "eks:ListAccessEntries"),
        ]
    });
    let mut after = before.clone();
    after["Statement"][2]["Action"] = json!("eks:DescribeNodegroup");
    let plan = one_update(
        Address::iam(Kind::Policy, "eks-read"),
        "differs from access.yaml: document",
        vec![field("document", Some(before), Some(after))],
    );
    let output = text(&plan, PLAIN);
    assert!(
        output.contains("          -       \"Action\": \"eks:ListNodegroups\",\n"),
        "{output}"
    );
    assert!(
        output.contains("          +       \"Action\": \"eks:DescribeNodegroup\",\n"),
        "{output}"
    );
    assert!(!output.contains("\"One\""), "{output}");
    assert!(!output.contains("\"Five\""), "{output}");
    assert_snapshot!(output);
}

#[test]
fn text_long_lists_and_maps_show_element_differences() {
    let policies = |extra: &[&str]| {
        let mut arns = vec![
            "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            "arn:aws:iam::aws:policy/AmazonEKSServicePolicy",
            "arn:aws:iam::424432388155:policy/eks-read",
        ];
        arns.extend_from_slice(extra);
        arns.sort_unstable();
        json!(arns)
    };
    let plan = one_update(
        Address::iam(Kind::Role, "eks-admin"),
        "differs from access.yaml: policies, tags",
        vec![
            field(
                "managed_policies",
                Some(policies(&[])),
                Some(policies(&["arn:aws:iam::424432388155:policy/eks-write"])),
            ),
            field(
                "tags",
                Some(json!({
                    "managed-by": "accessctl",
                    "team": "platform",
                    "cost-center": "engineering-shared-services"
                })),
                Some(json!({
                    "managed-by": "accessctl",
                    "team": "platform-infrastructure",
                    "cost-center": "engineering-shared-services"
                })),
            ),
        ],
    );
    assert_snapshot!(text(&plan, PLAIN));
}

#[test]
fn text_no_changes() {
    let plan = plan(Vec::new());
    assert_eq!(
        text(&plan, PLAIN),
        "No changes. Live state matches access.yaml.\n"
    );
}

#[test]
fn text_overrides_and_notes() {
    let mut plan = plan(vec![delete_former()]);
    plan.overrides = vec!["--allow-namespace-deletion".to_string()];
    plan.notes = vec![
        Note {
            address: Some(Address::iam(Kind::User, "legacy-admin")),
            message: "exists but is not managed by accessctl; left alone".to_string(),
        },
        Note {
            address: None,
            message: "cluster `prod` was not reachable; its objects were not read".to_string(),
        },
    ];
    let output = text(&plan, PLAIN);
    assert!(
        output.contains("warning: safety override used: --allow-namespace-deletion\n"),
        "{output}"
    );
    assert_snapshot!(output);
}

#[test]
fn text_no_changes_still_shows_notes() {
    let mut plan = plan(Vec::new());
    plan.notes = vec![Note {
        address: Some(Address::iam(Kind::Role, "AWSServiceRoleForAmazonEKS")),
        message: "service-linked role, never managed".to_string(),
    }];
    assert_snapshot!(text(&plan, PLAIN));
}

#[test]
fn summary_line_mentions_adopt_only_when_there_is_some() {
    let mut summary = Summary {
        add: 1,
        change: 2,
        destroy: 3,
        adopt: 0,
    };
    assert_eq!(
        summary_line(&summary),
        "Plan: 1 to add, 2 to change, 3 to destroy."
    );
    summary.adopt = 4;
    assert_eq!(
        summary_line(&summary),
        "Plan: 1 to add, 2 to change, 3 to destroy, 4 to adopt."
    );
}

#[test]
fn colour_on_uses_escape_codes() {
    let mut plan = every_action();
    plan.overrides = vec!["--allow-namespace-deletion".to_string()];
    let output = text(&plan, COLOR);
    assert!(has_escape_codes(&output));
    for painted in [
        "\u{1b}[32m  +\u{1b}[0m \u{1b}[1miam.user.developer\u{1b}[0m",
        "\u{1b}[31m  -\u{1b}[0m",
        "\u{1b}[35m-/+\u{1b}[0m",
        "\u{1b}[36m <=\u{1b}[0m",
        "\u{1b}[33m  ~\u{1b}[0m",
        // A removed line of the trust diff, whole line red.
        "\u{1b}[31m-           \"arn:aws:iam::424432388155:root\"\u{1b}[0m",
    ] {
        assert!(output.contains(painted), "{painted:?} not in {output}");
    }
}

#[test]
fn colour_off_has_no_escape_codes_even_from_data() {
    let mut plan = every_action();
    plan.changes[0].reason = Some("evil \u{1b}[2J reason".to_string());
    plan.changes[4]
        .fields
        .push(field("tags.note", None, Some(json!("\u{1b}]0;title\u{7}"))));
    plan.notes = vec![Note {
        address: None,
        message: "bell \u{7} and escape \u{1b}".to_string(),
    }];
    plan.overrides = vec!["--allow-\u{1b}[31m".to_string()];
    let output = text(&plan, PLAIN);
    assert!(!has_escape_codes(&output), "{output:?}");
    assert!(!output.contains('\u{7}'), "{output:?}");
    // Colour on must not let data through either: every escape is one of ours.
    let colored = text(&plan, COLOR);
    assert!(!colored.contains("\u{1b}[2J"), "{colored:?}");
    assert!(!colored.contains("\u{1b}]0"), "{colored:?}");
}

#[test]
fn json_round_trips() {
    let plan = every_action_with_override_and_note("left alone");
    let output = json(&plan).expect("written");
    assert!(output.ends_with("}\n"));
    let parsed: Plan = serde_json::from_str(&output).expect("plan JSON parses");
    assert_eq!(parsed, plan);
    assert_eq!(
        json(&parsed).expect("written"),
        output,
        "rendering is deterministic"
    );
}

#[test]
fn json_every_action() {
    assert_snapshot!(json(&every_action()).expect("written"));
}

#[test]
fn markdown_every_action() {
    let plan =
        every_action_with_override_and_note("exists but is not managed by accessctl; left alone");
    let output = markdown(&plan);
    assert!(output.contains(
        "<details><summary><code>cluster.demo.rolebinding.ns/b</code> replace</summary>"
    ));
    assert_snapshot!(output);
}

#[test]
fn markdown_no_changes() {
    let output = markdown(&plan(Vec::new()));
    assert!(output.contains("No changes. Live state matches access.yaml."));
    assert!(!output.contains("| Action |"));
    assert_snapshot!(output);
}

#[test]
fn markdown_escapes_table_cells_and_summaries() {
    let mut evil = create_developer();
    evil.reason = Some("a | b <script>alert(1)</script> `code`".to_string());
    evil.address = Address::iam(Kind::User, "a|b<i>`x`");
    let plan = plan(vec![evil]);
    let output = markdown(&plan);
    assert!(!output.contains("<script>"), "{output}");
    let row = output
        .lines()
        .find(|line| line.starts_with("| `+`"))
        .expect("a table row");
    assert_eq!(
        row,
        r"| `+` create | `` iam.user.a\|b<i>`x` `` | a \| b &lt;script&gt;alert(1)&lt;/script&gt; `code` |"
    );
    // The row has exactly the three cells of the header: no `|` left unescaped.
    let cells = row.replace(r"\|", "").matches('|').count();
    assert_eq!(cells, 4, "{row}");
    assert!(
        output.contains(
            "<details><summary><code>iam.user.a&#124;b&lt;i&gt;&#96;x&#96;</code> create</summary>"
        ),
        "{output}"
    );
}

#[test]
fn markdown_fence_is_longer_than_backticks_in_the_body() {
    let mut plan = plan(vec![adopt_ops()]);
    plan.changes[0]
        .fields
        .push(field("tags.owner", None, Some(json!("````"))));
    let output = markdown(&plan);
    assert!(output.contains("\n`````diff\n"), "{output}");
    assert!(output.contains("\n`````\n\n</details>"), "{output}");
}

fn many_changes(count: usize) -> Plan {
    let changes = (0..count)
        .map(|index| {
            let mut change = create_developer();
            change.address = Address::iam(Kind::User, format!("developer-{index:04}"));
            change.reason = Some(format!("declared in access.yaml under users[{index}]"));
            change
        })
        .collect();
    plan(changes)
}

#[test]
fn markdown_truncates_large_plans() {
    let total = 3_000;
    let mut plan = many_changes(total);
    plan.overrides = vec!["--allow-namespace-deletion".to_string()];
    let output = markdown(&plan);
    assert!(output.len() <= MARKDOWN_LIMIT, "{}", output.len());
    let rows = output
        .lines()
        .filter(|line| line.starts_with("| `+`"))
        .count();
    let details = output.matches("<details>").count();
    assert!(rows > 0 && rows < total, "{rows}");
    assert_eq!(details, 0, "details go before table rows");
    let left_out = total - rows;
    assert!(
        output.contains(&format!("{left_out} of {total} changes were left out")),
        "{}",
        &output[output.len() - 400..]
    );
    assert!(output.contains("The full plan is in the job log, and in `accessctl plan -o json`."));
    assert!(output.contains("safety override used: `--allow-namespace-deletion`"));
    // The rows kept are the first ones, and the last kept row is whole.
    assert!(output.contains("`iam.user.developer-0000`"));
    assert!(!output.contains(&format!("`iam.user.developer-{:04}`", total - 1)));
}

#[test]
fn markdown_drops_details_before_rows() {
    let plan = many_changes(20);
    let full = markdown::render_within(&plan, usize::MAX);
    assert_eq!(full.matches("<details>").count(), 20);
    assert!(!full.contains("shortened"));
    let limit = full.len() / 2;
    let output = markdown::render_within(&plan, limit);
    assert!(output.len() <= limit);
    let details = output.matches("<details>").count();
    let rows = output
        .lines()
        .filter(|line| line.starts_with("| `+`"))
        .count();
    assert_eq!(rows, 20);
    assert!(details < 20, "{output}");
    // The details kept are the first ones.
    assert!(output.contains("<code>iam.user.developer-0000</code>"));
    assert!(output.contains(&format!(
        "{} changes are listed without details",
        20 - details
    )));
}

#[test]
fn markdown_never_exceeds_the_limit() {
    let mut plan = many_changes(50);
    plan.notes = (0..50)
        .map(|index| Note {
            address: None,
            message: format!("note number {index}"),
        })
        .collect();
    for limit in [0, 10, 200, 600, 1_000, 3_000, 10_000] {
        let output = markdown::render_within(&plan, limit);
        assert!(
            output.len() <= limit.max(markdown_minimum()),
            "{limit}: {}",
            output.len()
        );
    }
}

/// The hard cut keeps the end marker even when the limit is absurdly small.
fn markdown_minimum() -> usize {
    "\n…\n".len()
}

#[test]
fn markdown_shortened_comment() {
    let mut plan = many_changes(8);
    plan.overrides = vec!["--allow-self-lockout".to_string()];
    plan.notes = vec![Note {
        address: None,
        message: "cluster `prod` was not reachable".to_string(),
    }];
    let output = markdown::render_within(&plan, 1_400);
    assert!(output.len() <= 1_400, "{}", output.len());
    assert_snapshot!(output);
}

#[test]
fn text_inline_policies_added_and_removed() {
    let plan = one_update(
        Address::iam(Kind::User, "developer"),
        "differs from access.yaml: inline, permissionsBoundary",
        vec![
            field(
                "inline_policies.describe-clusters",
                None,
                Some(describe_clusters()),
            ),
            field(
                "inline_policies.legacy",
                Some(json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
                })),
                None,
            ),
            field(
                "permissions_boundary",
                Some(json!("arn:aws:iam::424432388155:policy/boundary")),
                None,
            ),
        ],
    );
    let output = text(&plan, PLAIN);
    assert!(
        output.contains("      + inline.describe-clusters\n"),
        "{output}"
    );
    assert!(output.contains("      - inline.legacy\n"), "{output}");
    assert_snapshot!(output);
    let comment = markdown(&plan);
    assert!(
        comment.contains(&format!("\n+{}\"eks:DescribeCluster\",\n", " ".repeat(14))),
        "{comment}"
    );
    assert!(
        comment.contains(&format!("\n-{}\"Action\": \"s3:*\",\n", " ".repeat(12))),
        "{comment}"
    );
}

/// Names a plan shows that access.yaml has no key for: the AWS or Kubernetes name of a field
/// that only exists live or that access.yaml writes another way.
const LIVE_NAMES: [&str; 6] = [
    // IAM's name for an OIDC provider's audiences (access.yaml writes `oidcIssuer` only).
    "ClientIDList",
    // IAM's name for a user's keys (ids masked, status, age): live only.
    "AccessKeyMetadata",
    // Kubernetes' names for what a binding's `clusterRole`/`role` and `users`/`groups`/
    // `serviceAccounts` become.
    "roleRef",
    "subjects",
    // EKS's name for an access entry's type (`STANDARD`), which access.yaml does not write.
    "type",
    // EKS's name for the role of a Pod Identity association (a service account's `podIdentity`).
    "roleArn",
];

/// Every key access.yaml has, from its JSON Schema.
fn access_yaml_keys() -> BTreeSet<String> {
    fn walk(value: &Value, keys: &mut BTreeSet<String>) {
        match value {
            Value::Object(entries) => {
                if let Some(Value::Object(properties)) = entries.get("properties") {
                    keys.extend(properties.keys().cloned());
                }
                entries.values().for_each(|inner| walk(inner, keys));
            }
            Value::Array(items) => items.iter().for_each(|inner| walk(inner, keys)),
            _ => {}
        }
    }
    let schema: Value = serde_json::from_str(include_str!("../../specs/access.schema.json"))
        .expect("the schema is JSON");
    let mut keys = BTreeSet::new();
    walk(&schema, &mut keys);
    keys
}

/// One object of each kind with every field set, so that every field name shows.
fn every_field(kind: Kind) -> Value {
    let document = describe_clusters();
    let meta = json!({"labels": {"team": "a"}, "annotations": {"note": "b"}});
    let rules = json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]);
    match kind {
        Kind::Policy => {
            json!({"path": "/accessctl/", "description": "d", "document": document, "tags": {"team": "a"}})
        }
        Kind::Group => json!({
            "path": "/accessctl/",
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "inline_policies": {"list": document},
        }),
        Kind::User => json!({
            "path": "/",
            "groups": ["developers"],
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "inline_policies": {"list": document},
            "permissions_boundary": "arn:aws:iam::aws:policy/PowerUserAccess",
            "tags": {"team": "a"},
        }),
        Kind::Role => json!({
            "path": "/",
            "description": "d",
            "max_session_duration": 7200,
            "trust": trust(&["arn:aws:iam::424432388155:root"]),
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "inline_policies": {"list": document},
            "permissions_boundary": "arn:aws:iam::aws:policy/PowerUserAccess",
            "tags": {"team": "a"},
            "role_id": "AROAEXAMPLE",
        }),
        Kind::OidcProvider => json!({"client_ids": ["sts.amazonaws.com"], "tags": {"team": "a"}}),
        Kind::AccessKey => json!({
            "rotation": {
                "rotate_after_days": 90,
                "grace_days": 7,
                "deliver_to": [
                    {"secret": {"cluster": "demo", "namespace": "ci", "name": "eksuser-aws"}},
                    {"secretsManager": {"name": "ci/eksuser", "region": "us-east-1"}},
                ],
            },
            "keys": [{"id": "AKIA…WXYZ", "status": "Active", "age_days": 97, "created": "2024-01-01T00:00:00Z", "last_used": "2024-02-01T00:00:00Z"}],
        }),
        Kind::AwsAuth => json!({
            "kind": "mapRoles",
            "arn": "arn:aws:iam::424432388155:role/a",
            "username": "a",
            "groups": ["readers"],
        }),
        Kind::AccessEntry => json!({
            "type": "STANDARD",
            "username": "a",
            "groups": ["readers"],
            "policies": {"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy": {"type": "cluster"}},
            "tags": {"team": "a"},
            "principal_id": "AROAEXAMPLE",
        }),
        Kind::Namespace | Kind::ServiceAccount => json!({"meta": meta}),
        Kind::ClusterRole | Kind::K8sRole => json!({"meta": meta, "rules": rules}),
        Kind::ClusterRoleBinding | Kind::RoleBinding => json!({
            "meta": meta,
            "role_ref": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "readers"}],
        }),
        Kind::PodIdentity => json!({
            "role_arn": "arn:aws:iam::424432388155:role/a",
            "tags": {"team": "a"},
            "association_id": "a-1",
        }),
    }
}

/// The field paths of an object's JSON form, as the planner writes them.
fn field_paths(value: &Value) -> Vec<(String, Value)> {
    let mut paths = Vec::new();
    for (key, inner) in value.as_object().expect("an object") {
        if key == "meta" {
            for (part, meta) in inner.as_object().expect("meta is an object") {
                paths.push((format!("meta.{part}"), meta.clone()));
            }
        } else {
            paths.push((key.clone(), inner.clone()));
        }
    }
    paths
}

/// The names on the field lines of a text plan (`+ name = …`, `~ name`).
fn shown_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("      ") else {
            continue;
        };
        let Some(body) = ["+ ", "- ", "~ "]
            .iter()
            .find_map(|marker| rest.strip_prefix(marker))
        else {
            continue;
        };
        if body.starts_with(' ') {
            continue;
        }
        let name = body.split(" = ").next().unwrap_or_default().trim_end();
        names.insert(name.split('.').next().unwrap_or_default().to_string());
    }
    names
}

#[test]
fn every_field_name_the_text_view_shows_is_an_access_yaml_key() {
    let keys = access_yaml_keys();
    let mut changes = Vec::new();
    for kind in Kind::ALL {
        let value = every_field(kind);
        let object = Object::from_value(kind, value).expect("a valid object");
        // Every field of the model is set: a new field cannot escape this test.
        let full = object.to_value();
        for (key, inner) in full.as_object().expect("an object") {
            assert!(
                !value::is_empty(inner),
                "{kind:?}: `{key}` is empty in the sample"
            );
        }
        let address = match kind {
            kind if kind.is_iam() => Address::iam(kind, "a"),
            _ => Address::cluster(kind, "demo", "ns/a"),
        };
        let fields = field_paths(&full)
            .into_iter()
            .map(|(path, after)| field(&path, None, Some(after)))
            .collect();
        changes.push(change(
            address.clone(),
            Action::Create,
            None,
            None,
            Some(object.clone()),
            Vec::new(),
        ));
        changes.push(change(
            address,
            Action::Update,
            None,
            Some(object.clone()),
            Some(object),
            fields,
        ));
    }
    let shown = text(&plan(changes), PLAIN);
    let names = shown_names(&shown);
    // The check sees the names of every kind (a broken parser would pass vacuously).
    for expected in [
        "policies",
        "inline",
        "labels",
        "roleRef",
        "accessPolicies",
        "ClientIDList",
    ] {
        assert!(names.contains(expected), "`{expected}` not shown:\n{shown}");
    }
    for name in &names {
        assert!(
            keys.contains(name) || LIVE_NAMES.contains(&name.as_str()),
            "the plan shows `{name}`, which is neither a key of access.yaml nor a listed AWS/Kubernetes name:\n{shown}"
        );
    }
}

/// Two accounts planned and one failed, as `plan -f … -f … -f …` reports them.
mod several_accounts {
    use super::*;
    use crate::render::accounts::{self, AccountPlan, Failure, Outcome, Tally};

    fn report<'p>(changed: &'p Plan, unchanged: &'p Plan) -> Vec<AccountPlan<'p>> {
        vec![
            AccountPlan {
                file: "accounts/identity".to_string(),
                account: Some("111111111111".to_string()),
                outcome: Outcome::Done(changed),
            },
            AccountPlan {
                file: "accounts/workload".to_string(),
                account: Some("222222222222".to_string()),
                outcome: Outcome::Done(unchanged),
            },
            AccountPlan {
                file: "accounts/broken".to_string(),
                account: Some("333333333333".to_string()),
                outcome: Outcome::Error(Failure {
                    message: "`sts:AssumeRole` failed for role arn:aws:iam::333333333333:role/accessctl: cannot assume the role".to_string(),
                    details: None,
                    hint: Some("the base credentials must be allowed to assume the role".to_string()),
                }),
            },
        ]
    }

    #[test]
    fn the_tally_counts_changes_and_failures() {
        let (changed, unchanged) = (every_action(), plan(Vec::new()));
        assert_eq!(
            accounts::tally(&report(&changed, &unchanged)),
            Tally {
                accounts: 3,
                with_changes: 1,
                failed: 1
            }
        );
    }

    #[test]
    fn text_has_a_section_per_account_and_the_tally() {
        let (changed, unchanged) = (every_action(), plan(Vec::new()));
        assert_snapshot!(accounts::text(&report(&changed, &unchanged), PLAIN));
    }

    #[test]
    fn json_has_each_accounts_plan_or_error() {
        let (changed, unchanged) = (every_action(), plan(Vec::new()));
        let text = accounts::json(&report(&changed, &unchanged)).expect("JSON");
        let value: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["accounts"].as_array().map(Vec::len), Some(3));
        assert_eq!(value["accounts"][0]["account"], "111111111111");
        assert_eq!(
            value["accounts"][0]["plan"],
            serde_json::from_str::<Value>(&json(&changed).expect("JSON")).expect("valid")
        );
        assert!(value["accounts"][1]["plan"].is_object());
        assert!(value["accounts"][2]["plan"].is_null());
        assert_eq!(
            value["accounts"][2]["error"]["message"]
                .as_str()
                .map(|m| m.starts_with("`sts:AssumeRole` failed")),
            Some(true)
        );
        assert_eq!(
            value["summary"],
            json!({"accounts": 3, "with_changes": 1, "failed": 1})
        );
    }

    #[test]
    fn markdown_has_a_collapsible_section_per_account() {
        let (changed, unchanged) = (every_action(), plan(Vec::new()));
        assert_snapshot!(accounts::markdown(&report(&changed, &unchanged)));
    }

    #[test]
    fn markdown_stays_within_the_limit_and_says_what_was_cut() {
        let (changed, unchanged) = (every_action(), plan(Vec::new()));
        let accounts = report(&changed, &unchanged);
        let whole = accounts::markdown(&accounts);
        let limit = whole.len() / 2;
        let cut = accounts::markdown_within(&accounts, limit);
        assert!(cut.len() <= limit, "{} > {limit}", cut.len());
        assert!(cut.contains("222222222222") && cut.contains("333333333333"));
        assert!(cut.contains("left out"), "{cut}");
    }
}
