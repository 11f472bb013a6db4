//! The planner's rules, one small hand-built state at a time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::*;
use crate::model::{
    AccessEntry, AccessScope, AwsAuth, AwsAuthEntry, Binding, Caller, Cluster, DocumentKind, Group,
    IRSA_ANNOTATION, MANAGED_BY_LABEL, MapKind, Meta, Namespace, Policy, PolicyDocument,
    PolicyRule, RbacRole, Role, RoleRef, RoleRefKind, ServiceAccount, State, Subject, SubjectKind,
    User,
};

const ACCOUNT: &str = "111122223333";
const CLUSTER: &str = "demo";
const POLICY_PATH: &str = "/accessctl/";

/// A policy allowing `action` on everything.
pub(super) fn document(action: &str) -> PolicyDocument {
    PolicyDocument::from_value(
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}),
        DocumentKind::Any,
    )
    .expect("a valid document")
}

fn trust() -> PolicyDocument {
    PolicyDocument::from_value(
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}}]}),
        DocumentKind::Any,
    )
    .expect("a valid document")
}

fn owned_tags() -> BTreeMap<String, String> {
    BTreeMap::from([("managed-by".to_string(), "accessctl".to_string())])
}

fn user(owned: bool) -> User {
    User {
        tags: if owned { owned_tags() } else { BTreeMap::new() },
        ..User::default()
    }
}

fn role(owned: bool) -> Role {
    Role {
        path: "/".into(),
        description: None,
        max_session_duration: 3600,
        trust: trust(),
        managed_policies: BTreeSet::new(),
        inline_policies: BTreeMap::new(),
        permissions_boundary: None,
        tags: if owned { owned_tags() } else { BTreeMap::new() },
        role_id: None,
    }
}

/// Owned: under the policy path, with the tag the loader adds (live state never has it).
fn policy(owned: bool) -> Policy {
    Policy {
        path: if owned { POLICY_PATH } else { "/" }.into(),
        description: Some("view".into()),
        document: document("eks:DescribeCluster"),
        tags: if owned { owned_tags() } else { BTreeMap::new() },
    }
}

fn policy_arn(path: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy{path}{name}")
}

fn group(path: &str) -> Group {
    Group {
        path: path.into(),
        managed_policies: BTreeSet::new(),
        inline_policies: BTreeMap::new(),
        members: BTreeSet::new(),
    }
}

fn meta(owned: bool) -> Meta {
    let mut meta = Meta::default();
    if owned {
        meta.labels
            .insert(MANAGED_BY_LABEL.into(), "accessctl".into());
    }
    meta
}

fn binding(owned: bool, role: &str, groups: &[&str]) -> Binding {
    Binding {
        meta: meta(owned),
        role_ref: RoleRef {
            kind: RoleRefKind::ClusterRole,
            name: role.into(),
        },
        subjects: groups
            .iter()
            .map(|group| Subject {
                kind: SubjectKind::Group,
                name: (*group).into(),
                namespace: None,
            })
            .collect(),
    }
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn entry(kind: MapKind, arn: &str, groups: &[&str]) -> AwsAuthEntry {
    AwsAuthEntry {
        kind,
        arn: arn.into(),
        username: Some(
            crate::model::IamArn::parse(arn)
                .and_then(|arn| arn.name().map(str::to_string))
                .unwrap_or_default(),
        ),
        groups: groups.iter().map(|g| (*g).into()).collect(),
    }
}

fn node_entry(name: &str) -> AwsAuthEntry {
    AwsAuthEntry {
        kind: MapKind::MapRoles,
        arn: role_arn(name),
        username: Some("system:node:{{EC2PrivateDNSName}}".into()),
        groups: vec!["system:bootstrappers".into(), "system:nodes".into()],
    }
}

fn access_entry(owned: bool, policies: &[&str]) -> AccessEntry {
    AccessEntry {
        kind: "STANDARD".into(),
        username: None,
        groups: BTreeSet::new(),
        policies: policies
            .iter()
            .map(|p| {
                (
                    format!("arn:aws:eks::aws:cluster-access-policy/{p}"),
                    AccessScope::Cluster,
                )
            })
            .collect(),
        tags: if owned { owned_tags() } else { BTreeMap::new() },
        principal_id: None,
    }
}

fn state() -> State {
    State {
        format_version: 1,
        account: Some(ACCOUNT.into()),
        partition: "aws".into(),
        ..State::default()
    }
}

fn live_state() -> State {
    State {
        caller: Some(Caller {
            account: ACCOUNT.into(),
            arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"),
        }),
        ..state()
    }
}

fn desired(state: State) -> Desired {
    Desired {
        state,
        adopt: BTreeSet::new(),
        group_path: "/accessctl/".into(),
        policy_path: POLICY_PATH.into(),
        assume_role: None,
    }
}

fn cluster(state: &mut State) -> &mut Cluster {
    state.clusters.entry(CLUSTER.into()).or_default()
}

fn aws_auth(state: &mut State) -> &mut AwsAuth {
    cluster(state).aws_auth.get_or_insert_with(AwsAuth::default)
}

fn ok(desired: &Desired, live: &State) -> Plan {
    plan(desired, live, &PlanOptions::default()).expect("a plan")
}

fn refused(desired: &Desired, live: &State) -> Vec<Problem> {
    plan(desired, live, &PlanOptions::default())
        .expect_err("a refusal")
        .problems
}

fn allowing(check: SafetyCheck) -> PlanOptions {
    PlanOptions {
        adopt_all: false,
        overrides: Overrides {
            allowed: BTreeSet::from([check]),
        },
    }
}

/// The problems of `desired`'s plan, refused by `check` alone, and the plan that overriding
/// it gives, whose overrides are `flag` alone.
fn refused_unless_allowed(
    desired: &Desired,
    live: &State,
    check: SafetyCheck,
    flag: &str,
) -> (Vec<Problem>, Plan) {
    let problems = refused(desired, live);
    assert_eq!(unsafe_checks(&problems), [check]);
    let plan = plan(desired, live, &allowing(check)).expect("a plan");
    assert_eq!(plan.overrides, [flag]);
    (problems, plan)
}

fn lines(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| format!("{} {}", c.action.symbol(), c.address))
        .collect()
}

/// Asserts that `plan` is one change, `line` (`-/+ iam.policy.view`), for `reason`.
#[track_caller]
fn assert_one_change(plan: &Plan, line: &str, reason: &str) {
    assert_eq!(lines(plan), [line]);
    assert_eq!(plan.changes[0].reason.as_deref(), Some(reason));
}

fn paths(change: &Change) -> Vec<&str> {
    change.fields.iter().map(|f| f.path.as_str()).collect()
}

fn unsafe_checks(problems: &[Problem]) -> Vec<SafetyCheck> {
    problems
        .iter()
        .filter_map(|p| match p {
            Problem::Unsafe { check, .. } => Some(*check),
            Problem::Unowned { .. } | Problem::Authentication { .. } | Problem::Refused { .. } => {
                None
            }
        })
        .collect()
}

// Ownership and actions.

#[test]
fn desired_only_is_created_with_its_marker() {
    let mut want = state();
    want.iam.users.insert("alice".into(), user(false));
    let plan = ok(&desired(want), &live_state());
    assert_eq!(lines(&plan), ["+ iam.user.alice"]);
    let change = &plan.changes[0];
    assert_eq!(change.reason.as_deref(), Some("not in live state"));
    assert!(change.fields.is_empty());
    assert_eq!(change.after, Some(Object::User(user(true))));
    assert_eq!(
        plan.summary,
        Summary {
            add: 1,
            ..Summary::default()
        }
    );
}

#[test]
fn owned_and_equal_is_nothing() {
    let mut want = state();
    want.iam.users.insert("alice".into(), user(true));
    want.iam.policies.insert("view".into(), policy(true));
    let mut live = live_state();
    live.iam = want.iam.clone();
    let plan = ok(&desired(want), &live);
    assert!(!plan.has_changes(), "{:?}", lines(&plan));
    assert_eq!(plan.summary, Summary::default());
}

#[test]
fn owned_and_different_is_updated_with_its_fields() {
    let mut want = user(true);
    want.groups.insert("developers".into());
    want.tags.insert("team".into(), "core".into());
    want.inline_policies
        .insert("assume-eks-admin".into(), document("sts:AssumeRole"));
    let mut desired_state = state();
    desired_state.iam.users.insert("alice".into(), want.clone());
    let mut live = live_state();
    live.iam.users.insert("alice".into(), user(true));
    let plan = ok(&desired(desired_state), &live);
    assert_eq!(lines(&plan), ["~ iam.user.alice"]);
    let change = &plan.changes[0];
    assert_eq!(
        change.reason.as_deref(),
        Some("differs from access.yaml: groups, inline, tags")
    );
    assert_eq!(
        paths(change),
        ["groups", "inline_policies.assume-eks-admin", "tags.team"]
    );
    assert_eq!(change.before, Some(Object::User(user(true))));
    assert_eq!(change.after, Some(Object::User(want)));
    assert_eq!(plan.summary.change, 1);
}

#[test]
fn declared_but_unowned_is_refused_naming_each() {
    let mut want = state();
    want.iam.users.insert("alice".into(), user(true));
    want.iam.roles.insert("admin".into(), role(true));
    let mut live = live_state();
    live.iam.users.insert("alice".into(), user(false));
    live.iam.roles.insert("admin".into(), role(false));
    let problems = refused(&desired(want), &live);
    assert_eq!(
        problems,
        [
            Problem::Unowned {
                address: Address::iam(Kind::User, "alice")
            },
            Problem::Unowned {
                address: Address::iam(Kind::Role, "admin")
            },
        ]
    );
}

#[test]
fn adopt_in_the_file_takes_over_and_shows_the_marker() {
    let mut want = state();
    want.iam.users.insert("alice".into(), user(true));
    let mut live = live_state();
    live.iam.users.insert("alice".into(), user(false));
    let mut desired = desired(want);
    desired.adopt.insert(Address::iam(Kind::User, "alice"));
    let plan = ok(&desired, &live);
    assert_eq!(lines(&plan), ["<= iam.user.alice"]);
    let change = &plan.changes[0];
    assert_eq!(
        change.reason.as_deref(),
        Some("exists unmanaged; adopted because of `adopt: true`")
    );
    assert_eq!(paths(change), ["tags.managed-by"]);
    assert_eq!(plan.summary.adopt, 1);
}

#[test]
fn adopt_flag_takes_over_every_declared_object() {
    let mut want = state();
    want.iam.users.insert("alice".into(), user(true));
    cluster(&mut want)
        .namespaces
        .insert("team-a".into(), Namespace { meta: meta(true) });
    let mut live = live_state();
    live.iam.users.insert("alice".into(), user(false));
    cluster(&mut live)
        .namespaces
        .insert("team-a".into(), Namespace::default());
    let options = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    let plan = plan(&desired(want), &live, &options).expect("a plan");
    assert_eq!(
        lines(&plan),
        ["<= iam.user.alice", "<= cluster.demo.namespace.team-a"]
    );
    assert!(
        plan.changes
            .iter()
            .all(|c| c.reason.as_deref() == Some("exists unmanaged; adopted because of `--adopt`"))
    );
    assert_eq!(
        paths(&plan.changes[1]),
        ["meta.labels.app.kubernetes.io/managed-by"]
    );
}

#[test]
fn owned_and_undeclared_is_deleted_unowned_is_left_alone() {
    let mut live = live_state();
    live.iam.users.insert("gone".into(), user(true));
    live.iam.users.insert("someone-else".into(), user(false));
    live.iam.policies.insert("gone".into(), policy(true));
    live.iam.groups.insert("gone".into(), group("/accessctl/"));
    live.iam.groups.insert("admins".into(), group("/"));
    let plan = ok(&desired(state()), &live);
    assert_eq!(
        lines(&plan),
        ["- iam.user.gone", "- iam.group.gone", "- iam.policy.gone"]
    );
    assert!(plan.changes.iter().all(
        |c| c.reason.as_deref() == Some("owned by accessctl and no longer in access.yaml")
    ));
    assert_eq!(plan.summary.destroy, 3);
}

#[test]
fn groups_are_owned_by_their_path() {
    let mut want = state();
    want.iam
        .groups
        .insert("developers".into(), group("/accessctl/"));
    let mut live = live_state();
    live.iam.groups.insert("developers".into(), group("/"));
    assert_eq!(
        refused(&desired(want.clone()), &live),
        [Problem::Unowned {
            address: Address::iam(Kind::Group, "developers")
        }]
    );
    let mut desired = desired(want);
    desired
        .adopt
        .insert(Address::iam(Kind::Group, "developers"));
    let plan = ok(&desired, &live);
    assert_eq!(lines(&plan), ["<= iam.group.developers"]);
    assert_eq!(paths(&plan.changes[0]), ["path"]);

    let mut custom = desired.clone();
    custom.group_path = "/teams/".into();
    custom
        .state
        .iam
        .groups
        .insert("developers".into(), group("/teams/"));
    live.iam
        .groups
        .insert("developers".into(), group("/teams/"));
    assert!(!ok(&custom, &live).has_changes());
}

#[test]
fn policies_are_owned_by_their_path_and_their_tags_are_never_compared() {
    let mut want = state();
    want.iam.policies.insert("view".into(), policy(true));
    let mut team = policy(true);
    team.path = "/accessctl/team/".into();
    want.iam.policies.insert("team".into(), team.clone());

    // Live state has no policy tags (IAM returns none in bulk): owned all the same, and the
    // tag the file writes is no difference.
    let mut live = live_state();
    for (name, policy) in &want.iam.policies {
        let mut read = policy.clone();
        read.tags.clear();
        live.iam.policies.insert(name.clone(), read);
    }
    let mut gone = policy(true);
    gone.path = "/accessctl/old/".into();
    gone.tags.clear();
    live.iam.policies.insert("gone".into(), gone);
    live.iam.policies.insert("console".into(), policy(false));
    let plan = ok(&desired(want.clone()), &live);
    assert_eq!(lines(&plan), ["- iam.policy.gone"]);

    // A document change updates; the fields and the reason do not mention the tags.
    let mut changed = want.clone();
    if let Some(view) = changed.iam.policies.get_mut("view") {
        view.document = document("eks:ListClusters");
    }
    let plan = ok(&desired(changed), &live);
    assert_eq!(lines(&plan), ["~ iam.policy.view", "- iam.policy.gone"]);
    assert_eq!(paths(&plan.changes[0]), ["document"]);
    assert_eq!(
        plan.changes[0].reason.as_deref(),
        Some("differs from access.yaml: document")
    );
    // The after object still carries the tag: apply writes it.
    let Some(Object::Policy(after)) = &plan.changes[0].after else {
        panic!("a policy change");
    };
    assert_eq!(after.tags, owned_tags());

    // The tag alone on a policy outside the path does not make it owned.
    let mut tagged_outside = policy(false);
    tagged_outside.tags = owned_tags();
    live.iam.policies.insert("view".into(), tagged_outside);
    assert_eq!(
        refused(&desired(want), &live),
        [Problem::Unowned {
            address: Address::iam(Kind::Policy, "view")
        }]
    );
}

#[test]
fn adopting_a_policy_outside_the_path_moves_it_and_its_attachments_follow() {
    let old_arn = policy_arn("/", "view");
    let new_arn = policy_arn(POLICY_PATH, "view");
    let mut want = state();
    want.iam.policies.insert("view".into(), policy(true));
    // alice keeps the policy, the developers group drops it, the unmanaged role is not ours.
    let mut alice = user(true);
    alice.managed_policies.insert(new_arn.clone());
    want.iam.users.insert("alice".into(), alice.clone());
    want.iam
        .groups
        .insert("developers".into(), group("/accessctl/"));

    let mut live = live_state();
    live.iam.policies.insert("view".into(), policy(false));
    let mut alice_live = alice.clone();
    alice_live.managed_policies = BTreeSet::from([old_arn.clone()]);
    live.iam.users.insert("alice".into(), alice_live);
    let mut developers = group("/accessctl/");
    developers.managed_policies.insert(old_arn.clone());
    live.iam.groups.insert("developers".into(), developers);
    let mut other = role(false);
    other.managed_policies.insert(old_arn.clone());
    live.iam.roles.insert("other".into(), other);

    let mut desired = desired(want);
    desired.adopt.insert(Address::iam(Kind::Policy, "view"));
    let plan = ok(&desired, &live);
    // alice already has the new ARN once the replace re-attached it: no change for her.
    assert_eq!(
        lines(&plan),
        ["-/+ iam.policy.view", "~ iam.group.developers"]
    );
    assert_eq!(
        plan.changes[0].reason.as_deref(),
        Some(
            "exists unmanaged; adopted because of `adopt: true`; `path` cannot be changed in place"
        )
    );
    // The group's change starts from what the replace leaves: the new ARN, which it detaches.
    let Some(Object::Group(before)) = &plan.changes[1].before else {
        panic!("a group change");
    };
    assert_eq!(before.managed_policies, BTreeSet::from([new_arn.clone()]));
    assert_eq!(paths(&plan.changes[1]), ["managed_policies"]);

    let after = project(&live, &plan.changes);
    assert_eq!(
        after.iam.roles["other"].managed_policies,
        BTreeSet::from([new_arn.clone()])
    );
    assert_eq!(
        after.iam.users["alice"].managed_policies,
        BTreeSet::from([new_arn])
    );
    assert!(after.iam.groups["developers"].managed_policies.is_empty());
    assert!(!ok(&desired, &after).has_changes());
}

// Replace.

#[test]
fn policy_description_or_path_change_is_a_replace() {
    let mut want = policy(true);
    want.description = Some("read only".into());
    let mut desired_state = state();
    desired_state
        .iam
        .policies
        .insert("view".into(), want.clone());
    let mut live = live_state();
    live.iam.policies.insert("view".into(), policy(true));
    let plan = ok(&desired(desired_state.clone()), &live);
    assert_one_change(
        &plan,
        "-/+ iam.policy.view",
        "`description` cannot be changed in place",
    );
    assert_eq!(paths(&plan.changes[0]), ["description"]);
    assert_eq!(
        plan.summary,
        Summary {
            add: 1,
            destroy: 1,
            ..Summary::default()
        }
    );

    want.path = "/accessctl/eks/".into();
    desired_state.iam.policies.insert("view".into(), want);
    let plan = ok(&desired(desired_state), &live);
    assert_one_change(
        &plan,
        "-/+ iam.policy.view",
        "`path` and `description` cannot be changed in place",
    );
}

#[test]
fn role_path_change_is_a_replace_without_the_old_id() {
    let mut want = role(true);
    want.path = "/eks/".into();
    let mut desired_state = state();
    desired_state.iam.roles.insert("admin".into(), want.clone());
    let mut live = live_state();
    let mut have = role(true);
    have.role_id = Some("AROA1".into());
    live.iam.roles.insert("admin".into(), have);
    let plan = ok(&desired(desired_state), &live);
    assert_one_change(
        &plan,
        "-/+ iam.role.admin",
        "`path` cannot be changed in place",
    );
    assert_eq!(plan.changes[0].after, Some(Object::Role(want)));
    assert_eq!(paths(&plan.changes[0]), ["path"]);
}

#[test]
fn binding_role_ref_change_is_a_replace() {
    let mut want = state();
    cluster(&mut want)
        .cluster_role_bindings
        .insert("reader".into(), binding(true, "view", &["reader"]));
    let mut live = live_state();
    cluster(&mut live)
        .cluster_role_bindings
        .insert("reader".into(), binding(true, "reader", &["reader"]));
    let plan = ok(&desired(want), &live);
    assert_one_change(
        &plan,
        "-/+ cluster.demo.clusterrolebinding.reader",
        "`roleRef` cannot be changed in place",
    );
}

#[test]
fn adopting_with_an_immutable_change_is_a_replace_that_says_both() {
    let mut want = policy(true);
    want.description = Some("other".into());
    let mut desired_state = state();
    desired_state.iam.policies.insert("view".into(), want);
    let mut live = live_state();
    live.iam.policies.insert("view".into(), policy(false));
    let options = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    let plan = plan(&desired(desired_state), &live, &options).expect("a plan");
    assert_one_change(
        &plan,
        "-/+ iam.policy.view",
        "exists unmanaged; adopted because of `--adopt`; `path` and `description` cannot be changed in place",
    );
}

// Fields the file does not control.

#[test]
fn role_id_and_principal_id_are_never_compared() {
    let mut want = state();
    want.iam.roles.insert("admin".into(), role(true));
    cluster(&mut want).access_entries.insert(
        role_arn("admin"),
        access_entry(true, &["AmazonEKSViewPolicy"]),
    );
    let mut live = live_state();
    let mut have = role(true);
    have.role_id = Some("AROA1".into());
    live.iam.roles.insert("admin".into(), have.clone());
    let mut have_entry = access_entry(true, &["AmazonEKSViewPolicy"]);
    have_entry.principal_id = Some("AROA1".into());
    cluster(&mut live)
        .access_entries
        .insert(role_arn("admin"), have_entry);
    assert!(!ok(&desired(want.clone()), &live).has_changes());

    // An update keeps the id: the object keeps existing.
    want.iam
        .roles
        .get_mut("admin")
        .expect("declared")
        .managed_policies
        .insert("arn:aws:iam::aws:policy/ReadOnlyAccess".into());
    let plan = ok(&desired(want), &live);
    assert_eq!(lines(&plan), ["~ iam.role.admin"]);
    let Some(Object::Role(after)) = &plan.changes[0].after else {
        panic!("a role");
    };
    assert_eq!(after.role_id.as_deref(), Some("AROA1"));
    assert_eq!(paths(&plan.changes[0]), ["managed_policies"]);
}

#[test]
fn only_standard_access_entries_are_owned() {
    let mut node = access_entry(true, &[]);
    node.kind = "EC2_LINUX".into();
    let mut live = live_state();
    cluster(&mut live)
        .access_entries
        .insert(role_arn("node"), node);
    let mut want = state();
    cluster(&mut want);
    // Tagged, undeclared, but not STANDARD: never deleted.
    assert!(!ok(&desired(want.clone()), &live).has_changes());

    cluster(&mut want)
        .access_entries
        .insert(role_arn("node"), access_entry(true, &[]));
    let (_, plan) = refused_unless_allowed(
        &desired(want),
        &live,
        SafetyCheck::NodeRole,
        "--allow-node-role-changes",
    );
    assert!(!plan.has_changes());
}

/// The file leaves `username` out: EKS's generated username is no difference; one set before
/// is replaced (only a new entry gets EKS's username back), the reason says so; a username in
/// the file is changed in place.
#[test]
fn an_unset_username_matches_the_one_eks_generated() {
    let user = user_arn("alice");
    let role = "arn:aws:iam::999988887777:role/team/ops".to_string();
    let mut want = state();
    for principal in [&user, &role] {
        cluster(&mut want)
            .access_entries
            .insert(principal.clone(), access_entry(true, &[]));
    }
    let live_with = |user_name: Option<&str>, role_name: Option<&str>| {
        let mut live = live_state();
        for (principal, username) in [(&user, user_name), (&role, role_name)] {
            let mut entry = access_entry(true, &[]);
            entry.username = username.map(str::to_string);
            cluster(&mut live)
                .access_entries
                .insert(principal.clone(), entry);
        }
        live
    };
    let generated_role = "arn:aws:sts::999988887777:assumed-role/ops/{{SessionName}}";
    for live in [
        live_with(Some(&user), Some(generated_role)),
        // A snapshot written without usernames.
        live_with(None, None),
    ] {
        let plan = ok(&desired(want.clone()), &live);
        assert!(!plan.has_changes(), "{:?}", lines(&plan));
    }

    let live = live_with(Some("alice"), Some(generated_role));
    let plan = ok(&desired(want.clone()), &live);
    assert_one_change(
        &plan,
        &format!("-/+ cluster.demo.access-entry[{user}]"),
        "username `alice` was set; only a new entry gets EKS's generated username",
    );
    assert_eq!(paths(&plan.changes[0]), ["username"]);
    let Some(Object::AccessEntry(after)) = &plan.changes[0].after else {
        panic!("an access entry");
    };
    assert_eq!(after.username, None);

    // The username in the file: updated in place, whatever EKS had made.
    cluster(&mut want)
        .access_entries
        .get_mut(&user)
        .expect("declared")
        .username = Some("alice".into());
    let live = live_with(Some(&user), Some(generated_role));
    let plan = ok(&desired(want), &live);
    assert_eq!(
        lines(&plan),
        [format!("~ cluster.demo.access-entry[{user}]")]
    );
    assert_eq!(paths(&plan.changes[0]), ["username"]);
}

#[test]
fn kubernetes_meta_compares_only_the_files_keys() {
    let mut want = state();
    let mut desired_meta = meta(true);
    desired_meta.labels.insert("team".into(), "a".into());
    cluster(&mut want).cluster_roles.insert(
        "reader".into(),
        RbacRole {
            meta: desired_meta.clone(),
            rules: BTreeSet::from([PolicyRule {
                verbs: BTreeSet::from(["get".into()]),
                ..PolicyRule::default()
            }]),
            ..RbacRole::default()
        },
    );
    let mut live = live_state();
    let mut live_role = want.clusters[CLUSTER].cluster_roles["reader"].clone();
    live_role
        .meta
        .labels
        .insert("helm.sh/chart".into(), "x".into());
    live_role.meta.annotations.insert(
        "kubectl.kubernetes.io/last-applied-configuration".into(),
        "{}".into(),
    );
    cluster(&mut live)
        .cluster_roles
        .insert("reader".into(), live_role.clone());
    assert!(!ok(&desired(want.clone()), &live).has_changes());

    cluster(&mut want)
        .cluster_roles
        .get_mut("reader")
        .expect("declared")
        .meta
        .labels
        .insert("team".into(), "b".into());
    let plan = ok(&desired(want), &live);
    assert_eq!(lines(&plan), ["~ cluster.demo.clusterrole.reader"]);
    assert_eq!(paths(&plan.changes[0]), ["meta.labels.team"]);
    let Some(Object::RbacRole(after)) = &plan.changes[0].after else {
        panic!("a cluster role");
    };
    assert_eq!(after.meta.labels["helm.sh/chart"], "x");
    assert_eq!(after.meta.labels["team"], "b");
    assert_eq!(after.meta.annotations.len(), 1);
}

#[test]
fn removing_iam_role_removes_the_irsa_annotation() {
    let mut want = state();
    cluster(&mut want)
        .service_accounts
        .insert("apps/uploader".into(), ServiceAccount { meta: meta(true) });
    let mut live = live_state();
    let mut have = ServiceAccount { meta: meta(true) };
    have.meta
        .annotations
        .insert(IRSA_ANNOTATION.into(), role_arn("uploader"));
    have.meta.annotations.insert("other".into(), "kept".into());
    cluster(&mut live)
        .service_accounts
        .insert("apps/uploader".into(), have);
    let plan = ok(&desired(want.clone()), &live);
    assert_eq!(
        lines(&plan),
        ["~ cluster.demo.serviceaccount.apps/uploader"]
    );
    assert_eq!(
        paths(&plan.changes[0]),
        ["meta.annotations.eks.amazonaws.com/role-arn"]
    );
    let after = project(&live, &plan.changes);
    let account = &after.clusters[CLUSTER].service_accounts["apps/uploader"];
    assert!(!account.meta.annotations.contains_key(IRSA_ANNOTATION));
    assert_eq!(account.meta.annotations["other"], "kept");
    assert!(!ok(&desired(want), &after).has_changes());
}

// aws-auth.

#[test]
fn aws_auth_entries_by_ownership() {
    let mut want = state();
    aws_auth(&mut want).entries = vec![
        entry(MapKind::MapUsers, &user_arn("new"), &["reader"]),
        entry(
            MapKind::MapUsers,
            &user_arn("changed"),
            &["reader", "writer"],
        ),
        entry(MapKind::MapUsers, &user_arn("same"), &["reader"]),
    ];
    let mut live = live_state();
    let live_auth = aws_auth(&mut live);
    live_auth.entries = vec![
        node_entry("nodes"),
        entry(MapKind::MapUsers, &user_arn("changed"), &["reader"]),
        entry(MapKind::MapUsers, &user_arn("same"), &["reader"]),
        entry(MapKind::MapUsers, &user_arn("gone"), &["reader"]),
        entry(MapKind::MapRoles, &role_arn("creator"), &["system:masters"]),
        AwsAuthEntry {
            kind: MapKind::MapUsers,
            arn: "not an arn".into(),
            username: None,
            groups: Vec::new(),
        },
    ];
    live_auth.managed = [user_arn("changed"), user_arn("same"), user_arn("gone")]
        .into_iter()
        .collect();
    let plan = ok(&desired(want.clone()), &live);
    assert_eq!(
        lines(&plan),
        [
            format!("- cluster.demo.aws-auth[{}]", user_arn("gone")),
            format!("~ cluster.demo.aws-auth[{}]", user_arn("changed")),
            format!("+ cluster.demo.aws-auth[{}]", user_arn("new")),
        ]
    );
    assert_eq!(paths(&plan.changes[1]), ["groups"]);
    assert!(
        plan.notes.iter().any(|n| n.message
            == "cluster `demo`: 3 aws-auth entries not managed by accessctl kept as they are"),
        "{:?}",
        plan.notes
    );

    let after = project(&live, &plan.changes);
    let auth = after.clusters[CLUSTER].aws_auth.as_ref().expect("aws-auth");
    assert_eq!(auth.entries[0], node_entry("nodes"));
    assert_eq!(auth.entries.len(), 6);
    assert!(auth.managed.contains(&user_arn("new")));
    assert!(!auth.managed.contains(&user_arn("gone")));
    assert!(!ok(&desired(want), &after).has_changes());
}

/// The merged aws-auth (the file's entries and the live ones it keeps) over Kubernetes' 1 MiB
/// ConfigMap limit is refused at plan time, naming the cluster, the size and the limit; a plan
/// that leaves aws-auth as it is, or shrinks it, is not.
#[test]
fn a_merged_aws_auth_over_the_config_map_limit_is_refused() {
    use crate::model::aws_auth::data_size;
    // Hand entries of about 1 KiB each, 900 of them: under 1 MiB alone.
    let group = "g".repeat(1000);
    let hand: Vec<AwsAuthEntry> = (0..900)
        .map(|i| {
            entry(
                MapKind::MapRoles,
                &role_arn(&format!("hand-{i}")),
                &[&group],
            )
        })
        .collect();
    assert!(data_size(&hand) < 1024 * 1024);
    let mut live = live_state();
    aws_auth(&mut live).entries = hand.clone();
    let file_entries = |count: usize| -> Vec<AwsAuthEntry> {
        (0..count)
            .map(|i| {
                entry(
                    MapKind::MapUsers,
                    &user_arn(&format!("file-{i}")),
                    &[&group],
                )
            })
            .collect()
    };
    // Enough of the file's entries to go over, each fine alone.
    let mut count = 1;
    while data_size(&[hand.clone(), file_entries(count)].concat()) <= 1024 * 1024 {
        count += 1;
    }
    let mut want = state();
    aws_auth(&mut want).entries = file_entries(count);
    let size = data_size(&[hand.clone(), file_entries(count)].concat());
    let problems = refused(&desired(want), &live);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let message = problems[0].message();
    assert!(
        message.starts_with(&format!(
            "the aws-auth ConfigMap of cluster `{CLUSTER}` after this plan is {} bytes: the file's {count} entries",
            super::super::spec::limits::thousands(size)
        )) && message.contains("and 900 live entries accessctl does not manage")
            && message.ends_with("Kubernetes quota `ConfigMap size` is 1,048,576 (not adjustable)"),
        "{message}"
    );
    assert!(
        problems[0].hint().contains("access entries"),
        "{}",
        problems[0].hint()
    );
    assert_eq!(
        problems[0].address().and_then(|a| a.cluster.as_deref()),
        Some(CLUSTER)
    );

    // One entry fewer fits.
    let mut want = state();
    aws_auth(&mut want).entries = file_entries(count - 1);
    ok(&desired(want), &live);

    // Already over (as accessctl sizes it): a plan that does not touch aws-auth, or shrinks
    // it, goes through.
    let mut over = live.clone();
    aws_auth(&mut over).entries = [hand.clone(), file_entries(count)].concat();
    aws_auth(&mut over).managed = file_entries(count).into_iter().map(|e| e.arn).collect();
    let mut same = state();
    aws_auth(&mut same).entries = file_entries(count);
    assert!(!ok(&desired(same), &over).has_changes());
    let mut fewer = state();
    aws_auth(&mut fewer).entries = file_entries(count - 1);
    assert!(ok(&desired(fewer), &over).has_changes());
}

#[test]
fn missing_desired_aws_auth_means_no_entries() {
    let mut want = state();
    cluster(&mut want);
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![entry(MapKind::MapUsers, &user_arn("a"), &["reader"])];
    aws_auth(&mut live).managed.insert(user_arn("a"));
    let plan = ok(&desired(want), &live);
    assert_eq!(
        lines(&plan),
        [format!("- cluster.demo.aws-auth[{}]", user_arn("a"))]
    );
}

#[test]
fn unmanaged_aws_auth_entries_are_adopted_or_refused() {
    let mut want = state();
    aws_auth(&mut want).entries = vec![entry(MapKind::MapUsers, &user_arn("a"), &["reader"])];
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![entry(MapKind::MapUsers, &user_arn("a"), &["old"])];
    let address = Address::cluster(Kind::AwsAuth, CLUSTER, user_arn("a"));
    assert_eq!(
        refused(&desired(want.clone()), &live),
        [Problem::Unowned {
            address: address.clone()
        }]
    );
    let mut desired = desired(want);
    desired.adopt.insert(address);
    let plan = ok(&desired, &live);
    assert_eq!(
        lines(&plan),
        [format!("<= cluster.demo.aws-auth[{}]", user_arn("a"))]
    );
    assert_eq!(paths(&plan.changes[0]), ["groups"]);
    let after = project(&live, &plan.changes);
    assert!(
        after.clusters[CLUSTER]
            .aws_auth
            .as_ref()
            .is_some_and(|auth| auth.managed.contains(&user_arn("a")))
    );
    assert!(!ok(&desired, &after).has_changes());
}

#[test]
fn duplicates_of_a_managed_arn_are_merged() {
    let wanted = entry(MapKind::MapUsers, &user_arn("a"), &["reader"]);
    let mut want = state();
    aws_auth(&mut want).entries = vec![wanted.clone()];
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![wanted.clone(), node_entry("nodes"), wanted.clone()];
    aws_auth(&mut live).managed.insert(user_arn("a"));
    let plan = ok(&desired(want.clone()), &live);
    assert_one_change(
        &plan,
        &format!("~ cluster.demo.aws-auth[{}]", user_arn("a")),
        "2 entries for this ARN are merged into one",
    );
    let after = project(&live, &plan.changes);
    let auth = after.clusters[CLUSTER].aws_auth.as_ref().expect("aws-auth");
    assert_eq!(auth.entries, [wanted, node_entry("nodes")]);
    assert!(!ok(&desired(want), &after).has_changes());
}

/// Of repeated live items for one ARN, EKS uses the last (aws-iam-authenticator's `saveMap`
/// keeps the last): that is the "before" of the change, so only the merge is new here.
#[test]
fn a_repeated_arn_is_before_as_eks_uses_it_the_last() {
    let wanted = entry(MapKind::MapUsers, &user_arn("a"), &["reader"]);
    let shadowed = entry(MapKind::MapUsers, &user_arn("a"), &["system:masters"]);
    let mut want = state();
    aws_auth(&mut want).entries = vec![wanted.clone()];
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![shadowed, wanted.clone()];
    aws_auth(&mut live).managed.insert(user_arn("a"));
    let plan = ok(&desired(want), &live);
    assert_eq!(
        plan.changes[0].before,
        Some(Object::AwsAuthEntry(wanted.clone()))
    );
    assert_eq!(paths(&plan.changes[0]), Vec::<&str>::new());
    assert_eq!(
        plan.changes[0].reason.as_deref(),
        Some("2 entries for this ARN are merged into one")
    );
}

/// A live list EKS cannot read (not YAML) maps nothing, and apply would not write into it:
/// plan refuses the entry there, before any write, rather than fail halfway through apply.
#[test]
fn an_entry_into_an_unreadable_live_list_is_refused() {
    let mut want = state();
    aws_auth(&mut want).entries = vec![
        entry(MapKind::MapRoles, &role_arn("admin"), &["admins"]),
        entry(MapKind::MapUsers, &user_arn("a"), &["reader"]),
    ];
    let mut live = live_state();
    aws_auth(&mut live).unreadable.insert(MapKind::MapRoles);
    let problems = refused(&desired(want), &live);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].address(),
        Some(&Address::cluster(Kind::AwsAuth, CLUSTER, role_arn("admin")))
    );
    assert_eq!(
        problems[0].message(),
        "the live aws-auth `mapRoles` of cluster `demo` does not parse: EKS maps nothing from it, and accessctl does not write into it"
    );
}

#[test]
fn node_role_entries_are_never_in_a_plan() {
    let node = node_entry("nodes");
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![node.clone()];

    // Declared for a node-role ARN: refused, even with adoption.
    let mut want = state();
    aws_auth(&mut want).entries = vec![entry(MapKind::MapRoles, &node.arn, &["reader"])];
    let options = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    let problems = plan(&desired(want.clone()), &live, &options)
        .expect_err("a refusal")
        .problems;
    assert_eq!(unsafe_checks(&problems), [SafetyCheck::NodeRole]);

    // A node-role mapping declared where none exists.
    let mut want_new = state();
    aws_auth(&mut want_new).entries = vec![node_entry("other-nodes")];
    assert_eq!(
        unsafe_checks(&refused(&desired(want_new), &live_state())),
        [SafetyCheck::NodeRole]
    );

    // A managed node-role entry that would be deleted.
    aws_auth(&mut live).managed.insert(node.arn.clone());
    let mut empty = state();
    cluster(&mut empty);
    // Overridden: the plan goes ahead, and the entry is still left as it is.
    let (_, plan) = refused_unless_allowed(
        &desired(empty),
        &live,
        SafetyCheck::NodeRole,
        "--allow-node-role-changes",
    );
    assert!(!plan.has_changes());
    assert!(plan.notes.iter().any(|n| {
        n.message
            .starts_with("allowed by `--allow-node-role-changes`")
            && n.message.ends_with("the entry is left as it is")
    }));
}

// Safety checks.

#[test]
fn account_mismatch_is_refused_unless_allowed() {
    let mut live = live_state();
    live.caller = Some(Caller {
        account: "999999999999".into(),
        arn: "arn:aws:iam::999999999999:user/ci".into(),
    });
    let (problems, _) = refused_unless_allowed(
        &desired(state()),
        &live,
        SafetyCheck::AccountMismatch,
        "--allow-account-mismatch",
    );
    assert_eq!(
        problems[0].message(),
        "access.yaml is for account `111122223333` but live state is from account `999999999999`"
    );
}

#[test]
fn without_a_caller_the_account_falls_back_and_a_note_says_so() {
    let mut live = state();
    live.account = Some("999999999999".into());
    assert_eq!(
        unsafe_checks(&refused(&desired(state()), &live)),
        [SafetyCheck::AccountMismatch]
    );
    live.account = None;
    let plan = ok(&desired(state()), &live);
    let notes: Vec<&str> = plan.notes.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(
        notes,
        [
            "live state names no account: the account check could not run",
            "live state names no caller: the self-lockout check could not run",
        ]
    );
}

#[test]
fn removing_the_callers_own_mapping_is_refused() {
    // The caller is a session of role `deployer`; aws-auth names the role with a path.
    let mut live = live_state();
    let mine = format!("arn:aws:iam::{ACCOUNT}:role/ci/deployer");
    aws_auth(&mut live).entries = vec![
        entry(MapKind::MapRoles, &mine, &["deployers"]),
        entry(MapKind::MapRoles, &role_arn("admin"), &["system:masters"]),
    ];
    aws_auth(&mut live).managed.insert(mine.clone());
    let mut want = state();
    cluster(&mut want);
    let (_, plan) = refused_unless_allowed(
        &desired(want.clone()),
        &live,
        SafetyCheck::SelfLockout,
        "--allow-self-lockout",
    );
    assert_eq!(lines(&plan), [format!("- cluster.demo.aws-auth[{mine}]")]);

    // Changing its groups is refused too; leaving them is fine.
    aws_auth(&mut want).entries = vec![entry(MapKind::MapRoles, &mine, &["readers"])];
    assert_eq!(
        unsafe_checks(&refused(&desired(want.clone()), &live)),
        [SafetyCheck::SelfLockout]
    );
    aws_auth(&mut want).entries = vec![entry(MapKind::MapRoles, &mine, &["deployers"])];
    assert!(!ok(&desired(want), &live).has_changes());
}

#[test]
fn changing_the_callers_access_entry_is_refused() {
    let mut live = live_state();
    cluster(&mut live).access_entries.insert(
        role_arn("deployer"),
        access_entry(true, &["AmazonEKSAdminPolicy"]),
    );
    let mut want = state();
    cluster(&mut want).access_entries.insert(
        role_arn("deployer"),
        access_entry(true, &["AmazonEKSViewPolicy"]),
    );
    assert_eq!(
        unsafe_checks(&refused(&desired(want), &live)),
        [SafetyCheck::SelfLockout]
    );
}

#[test]
fn deleting_the_callers_own_identity_is_refused() {
    let mut live = live_state();
    live.iam.roles.insert("deployer".into(), role(true));
    assert_eq!(
        unsafe_checks(&refused(&desired(state()), &live)),
        [SafetyCheck::SelfLockout]
    );

    let mut live = live_state();
    live.caller = Some(Caller {
        account: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/ops/alice"),
    });
    let mut alice = user(true);
    alice.path = "/ops/".into();
    live.iam.users.insert("alice".into(), alice);
    live.iam.users.insert("bob".into(), user(true));
    let problems = refused(&desired(state()), &live);
    assert_eq!(
        problems,
        [Problem::Unsafe {
            check: SafetyCheck::SelfLockout,
            address: Some(Address::iam(Kind::User, "alice")),
            message: format!(
                "`iam.user.alice` is the IAM identity of the caller `arn:aws:iam::{ACCOUNT}:user/ops/alice`: this plan would delete it and lock the caller out"
            ),
        }]
    );
}

#[test]
fn leaving_a_cluster_without_admin_is_refused() {
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![
        node_entry("nodes"),
        entry(MapKind::MapRoles, &role_arn("admin"), &["system:masters"]),
    ];
    aws_auth(&mut live).managed.insert(role_arn("admin"));
    let mut want = state();
    cluster(&mut want);
    refused_unless_allowed(
        &desired(want.clone()),
        &live,
        SafetyCheck::NoClusterAdmin,
        "--allow-no-cluster-admin",
    );

    // Another admin through an access entry keeps the cluster administrable.
    cluster(&mut want).access_entries.insert(
        role_arn("platform"),
        access_entry(true, &["AmazonEKSClusterAdminPolicy"]),
    );
    assert!(ok(&desired(want), &live).has_changes());
}

#[test]
fn cluster_admin_through_a_binding_counts() {
    let mut live = live_state();
    aws_auth(&mut live).entries = vec![entry(MapKind::MapUsers, &user_arn("ops"), &["ops"])];
    aws_auth(&mut live).managed.insert(user_arn("ops"));
    cluster(&mut live)
        .cluster_role_bindings
        .insert("ops-admin".into(), binding(true, "cluster-admin", &["ops"]));
    let mut want = state();
    aws_auth(&mut want).entries = vec![entry(MapKind::MapUsers, &user_arn("ops"), &["ops"])];
    // Deleting the binding leaves the mapping without admin rights.
    assert_eq!(
        unsafe_checks(&refused(&desired(want.clone()), &live)),
        [SafetyCheck::NoClusterAdmin]
    );
    cluster(&mut want)
        .cluster_role_bindings
        .insert("ops-admin".into(), binding(true, "cluster-admin", &["ops"]));
    assert!(!ok(&desired(want), &live).has_changes());
}

#[test]
fn namespace_deletion_is_refused_unless_allowed() {
    let mut live = live_state();
    cluster(&mut live)
        .namespaces
        .insert("team-a".into(), Namespace { meta: meta(true) });
    let mut want = state();
    cluster(&mut want);
    let (_, plan) = refused_unless_allowed(
        &desired(want),
        &live,
        SafetyCheck::NamespaceDeletion,
        "--allow-namespace-deletion",
    );
    assert_eq!(lines(&plan), ["- cluster.demo.namespace.team-a"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut live = live_state();
    live.account = None;
    live.caller = Some(Caller {
        account: "999999999999".into(),
        arn: "arn:aws:sts::999999999999:assumed-role/deployer/x".into(),
    });
    live.iam.users.insert("alice".into(), user(false));
    cluster(&mut live)
        .namespaces
        .insert("team-a".into(), Namespace { meta: meta(true) });
    let mut want = state();
    want.iam.users.insert("alice".into(), user(true));
    cluster(&mut want);
    let problems = refused(&desired(want.clone()), &live);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(matches!(problems[0], Problem::Unowned { .. }));
    assert_eq!(
        unsafe_checks(&problems),
        [SafetyCheck::AccountMismatch, SafetyCheck::NamespaceDeletion]
    );
    // Overriding one leaves the others.
    let problems = plan(
        &desired(want),
        &live,
        &allowing(SafetyCheck::NamespaceDeletion),
    )
    .expect_err("a refusal")
    .problems;
    assert_eq!(problems.len(), 2);
}

// Order and simulation.

#[test]
fn changes_run_revoke_first_grant_last_identities_deleted_last() {
    let mut want = state();
    want.iam.policies.insert("view".into(), policy(true));
    want.iam
        .groups
        .insert("developers".into(), group("/accessctl/"));
    want.iam.users.insert("developer".into(), user(true));
    cluster(&mut want)
        .namespaces
        .insert("team-a".into(), Namespace { meta: meta(true) });
    aws_auth(&mut want).entries = vec![entry(
        MapKind::MapUsers,
        &user_arn("developer"),
        &["reader"],
    )];
    let mut live = live_state();
    live.iam.users.insert("old".into(), user(true));
    live.iam.policies.insert("old".into(), policy(true));
    cluster(&mut live).cluster_roles.insert(
        "old".into(),
        RbacRole {
            meta: meta(true),
            rules: BTreeSet::new(),
            aggregation_rule: None,
        },
    );
    aws_auth(&mut live).entries = vec![entry(MapKind::MapUsers, &user_arn("old"), &["reader"])];
    aws_auth(&mut live).managed.insert(user_arn("old"));
    let plan = ok(&desired(want.clone()), &live);
    assert_eq!(
        lines(&plan),
        [
            format!("- cluster.demo.aws-auth[{}]", user_arn("old")),
            "+ iam.policy.view".to_string(),
            "+ iam.group.developers".to_string(),
            "+ iam.user.developer".to_string(),
            "+ cluster.demo.namespace.team-a".to_string(),
            format!("+ cluster.demo.aws-auth[{}]", user_arn("developer")),
            "- cluster.demo.clusterrole.old".to_string(),
            "- iam.user.old".to_string(),
            "- iam.policy.old".to_string(),
        ]
    );
    let after = project(&live, &plan.changes);
    assert!(!ok(&desired(want), &after).has_changes());
}

#[test]
fn the_projection_merges_kubernetes_metadata_into_the_live_object() {
    let mut live = live_state();
    let mut have = meta(true);
    have.labels.insert("extra".into(), "kept".into());
    cluster(&mut live)
        .namespaces
        .insert("team-a".into(), Namespace { meta: have });
    let mut after_meta = meta(true);
    after_meta.labels.insert("team".into(), "a".into());
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        changes: vec![Change {
            address: Address::cluster(Kind::Namespace, CLUSTER, "team-a"),
            action: Action::Update,
            reason: None,
            before: None,
            after: Some(Object::Namespace(Namespace { meta: after_meta })),
            fields: Vec::new(),
        }],
        summary: Summary::default(),
        overrides: Vec::new(),
        notes: Vec::new(),
        deleted_with: Vec::new(),
        access_impact: Vec::new(),
    };
    let after = project(&live, &plan.changes);
    let labels = &after.clusters[CLUSTER].namespaces["team-a"].meta.labels;
    assert_eq!(labels["extra"], "kept");
    assert_eq!(labels["team"], "a");
    assert_eq!(labels[MANAGED_BY_LABEL], "accessctl");
}

#[test]
fn clusters_only_in_live_state_are_left_alone() {
    let mut live = live_state();
    live.clusters.insert(
        "other".into(),
        Cluster {
            namespaces: BTreeMap::from([("x".into(), Namespace { meta: meta(true) })]),
            ..Cluster::default()
        },
    );
    let plan = ok(&desired(state()), &live);
    assert!(!plan.has_changes());
    assert_eq!(
        plan.notes[0].message,
        "cluster `other` is in live state but not in access.yaml: nothing in it is planned"
    );
}

fn oidc_provider(owned: bool, client_ids: &[&str]) -> crate::model::OidcProvider {
    crate::model::OidcProvider {
        client_ids: client_ids.iter().map(|id| id.to_string()).collect(),
        tags: if owned { owned_tags() } else { BTreeMap::new() },
    }
}

const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";

#[test]
fn an_unowned_oidc_provider_that_serves_irsa_is_used_as_it_is() {
    let mut want = state();
    want.iam
        .oidc_providers
        .insert(ISSUER.into(), oidc_provider(true, &["sts.amazonaws.com"]));
    let mut have = live_state();
    have.iam.oidc_providers.insert(
        ISSUER.into(),
        oidc_provider(false, &["sts.amazonaws.com", "other"]),
    );
    let plan = ok(&desired(want), &have);
    assert!(plan.changes.is_empty(), "{:?}", lines(&plan));
    assert!(
        plan.notes
            .iter()
            .any(|note| note.message.contains("used as it is")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn an_unowned_oidc_provider_without_the_sts_audience_must_be_adopted() {
    let mut want = state();
    want.iam
        .oidc_providers
        .insert(ISSUER.into(), oidc_provider(true, &["sts.amazonaws.com"]));
    let mut have = live_state();
    have.iam
        .oidc_providers
        .insert(ISSUER.into(), oidc_provider(false, &["other"]));
    let problems = refused(&desired(want.clone()), &have);
    assert_eq!(
        problems,
        vec![Problem::Unowned {
            address: Address::iam(Kind::OidcProvider, ISSUER)
        }]
    );
    let mut adopting = desired(want);
    adopting
        .adopt
        .insert(Address::iam(Kind::OidcProvider, ISSUER));
    let plan = ok(&adopting, &have);
    assert_eq!(lines(&plan), [format!("<= iam.oidc-provider.{ISSUER}")]);
}

#[test]
fn reordered_aws_auth_groups_are_no_change() {
    let arn = user_arn("alice");
    let mut want = state();
    let mut desired_entry = entry(MapKind::MapUsers, &arn, &["a", "b"]);
    desired_entry.username = Some("alice".into());
    aws_auth(&mut want).entries.push(desired_entry.clone());
    aws_auth(&mut want).managed.insert(arn.clone());
    let mut have = live_state();
    let mut live_entry = desired_entry.clone();
    live_entry.groups = vec!["b".into(), "a".into()];
    aws_auth(&mut have).entries.push(live_entry.clone());
    aws_auth(&mut have).managed.insert(arn.clone());
    let plan = ok(&desired(want.clone()), &have);
    assert!(plan.changes.is_empty(), "{:?}", lines(&plan));

    // A real difference still shows, and keeps the live order of the groups it keeps.
    aws_auth(&mut want).entries[0].groups = vec!["a".into(), "c".into()];
    let plan = ok(&desired(want), &have);
    assert_eq!(lines(&plan), [format!("~ cluster.demo.aws-auth[{arn}]")]);
}

// Membership of owned groups.

fn member_of(owned: bool, groups: &[&str]) -> User {
    let mut user = user(owned);
    user.groups = groups.iter().map(|g| (*g).to_string()).collect();
    user
}

fn admins_estate() -> (Desired, State) {
    // Groups `admins` and `deployers`, and `alice` in `admins`: declared, and live with
    // `alice` owned.
    let estate = |state: &mut State, alice_owned: bool| {
        for name in ["admins", "deployers"] {
            state.iam.groups.insert(name.into(), group("/accessctl/"));
        }
        state
            .iam
            .users
            .insert("alice".into(), member_of(alice_owned, &["admins"]));
    };
    let mut want = state();
    estate(&mut want, false);
    let mut live = live_state();
    estate(&mut live, true);
    (desired(want), live)
}

fn replans_to_nothing(desired: &Desired, live: &State, plan: &Plan) -> State {
    let after = project(live, &plan.changes);
    let again = ok(desired, &after);
    assert!(!again.has_changes(), "{:?}", lines(&again));
    after
}

#[test]
fn an_unowned_member_of_an_owned_group_is_removed_and_the_user_left_alone() {
    let (desired, mut live) = admins_estate();
    live.iam
        .users
        .insert("mallory".into(), member_of(false, &["admins", "deployers"]));
    // A console group: its members are none of accessctl's business.
    live.iam.groups.insert("console".into(), group("/"));
    live.iam
        .users
        .get_mut("mallory")
        .expect("mallory")
        .groups
        .insert("console".into());
    let plan = ok(&desired, &live);
    assert_eq!(
        lines(&plan),
        ["~ iam.group.admins", "~ iam.group.deployers"]
    );
    let change = &plan.changes[0];
    assert_eq!(
        change.reason.as_deref(),
        Some("member not declared in access.yaml")
    );
    assert_eq!(paths(change), ["members"]);
    assert_eq!(change.fields[0].before, Some(json!(["alice", "mallory"])));
    assert_eq!(change.fields[0].after, Some(json!(["alice"])));
    assert_eq!(plan.summary.change, 2);

    let after = replans_to_nothing(&desired, &live, &plan);
    let mallory = &after.iam.users["mallory"];
    assert_eq!(mallory.groups, BTreeSet::from(["console".to_string()]));
    assert_eq!(mallory.tags, live.iam.users["mallory"].tags);
}

#[test]
fn a_user_moved_between_owned_groups_is_one_change() {
    let (mut desired, live) = admins_estate();
    desired
        .state
        .iam
        .users
        .insert("alice".into(), member_of(false, &["deployers"]));
    let plan = ok(&desired, &live);
    assert_eq!(lines(&plan), ["~ iam.user.alice"]);
    assert_eq!(paths(&plan.changes[0]), ["groups"]);
    replans_to_nothing(&desired, &live, &plan);
}

#[test]
fn an_owned_user_dropped_from_the_file_leaves_its_groups_by_its_deletion() {
    let (desired, mut live) = admins_estate();
    live.iam
        .users
        .insert("gone".into(), member_of(true, &["admins"]));
    let plan = ok(&desired, &live);
    assert_eq!(lines(&plan), ["- iam.user.gone"]);
    replans_to_nothing(&desired, &live, &plan);
}

#[test]
fn adopting_a_group_takes_over_its_membership() {
    let (mut desired, mut live) = admins_estate();
    live.iam.groups.insert("admins".into(), group("/"));
    live.iam
        .users
        .insert("mallory".into(), member_of(false, &["admins"]));
    desired.adopt.insert(Address::iam(Kind::Group, "admins"));
    let plan = ok(&desired, &live);
    assert_eq!(lines(&plan), ["<= iam.group.admins"]);
    assert_eq!(paths(&plan.changes[0]), ["path", "members"]);
    replans_to_nothing(&desired, &live, &plan);
}

#[test]
fn removing_the_caller_from_its_only_route_is_self_lockout() {
    let (desired, mut live) = admins_estate();
    live.caller = Some(Caller {
        account: ACCOUNT.into(),
        arn: user_arn("ops"),
    });
    let mut admins = group("/accessctl/");
    admins
        .managed_policies
        .insert("arn:aws:iam::aws:policy/IAMFullAccess".into());
    live.iam.groups.insert("admins".into(), admins.clone());
    let mut want = desired.clone();
    want.state.iam.groups.insert("admins".into(), admins);
    live.iam
        .users
        .insert("ops".into(), member_of(false, &["admins"]));
    let (problems, _) = refused_unless_allowed(
        &want,
        &live,
        SafetyCheck::SelfLockout,
        "--allow-self-lockout",
    );
    let message = problems[0].message();
    assert!(
        message.contains("`iam.group.admins`")
            && message.contains("IAM write access")
            && message.contains("IAMFullAccess"),
        "{message}"
    );

    // With another route (its own policy), taking it out of the group locks nothing.
    live.iam
        .users
        .get_mut("ops")
        .expect("ops")
        .managed_policies
        .insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
    let plan = ok(&want, &live);
    assert_eq!(lines(&plan), ["~ iam.group.admins"]);
}

#[test]
fn removing_the_caller_from_the_group_that_reaches_the_cluster_is_self_lockout() {
    let (mut desired, mut live) = admins_estate();
    live.caller = Some(Caller {
        account: ACCOUNT.into(),
        arn: user_arn("ops"),
    });
    let mut deployers = group("/accessctl/");
    deployers
        .inline_policies
        .insert("assume".into(), document("sts:AssumeRole"));
    live.iam
        .groups
        .insert("deployers".into(), deployers.clone());
    desired
        .state
        .iam
        .groups
        .insert("deployers".into(), deployers);
    live.iam.roles.insert("eks-admin".into(), role(false));
    live.iam
        .users
        .insert("ops".into(), member_of(false, &["deployers"]));
    aws_auth(&mut live).entries.push(entry(
        MapKind::MapRoles,
        &role_arn("eks-admin"),
        &["system:masters"],
    ));
    let problems = refused(&desired, &live);
    assert_eq!(unsafe_checks(&problems), [SafetyCheck::SelfLockout]);
    let message = problems[0].message();
    assert!(
        message.contains("`iam.group.deployers`")
            && message.contains("cluster `demo`")
            && message.contains("role/eks-admin"),
        "{message}"
    );
}
