use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AccessEntry, AccessScope, AuthenticationMode, AwsAuth, AwsAuthEntry, Cluster, MANAGED_BY_TAG,
    MANAGED_BY_VALUE, MapKind, PodIdentityAssociation, PolicyDocument, Role, State,
};
use crate::plan::{Action, Desired, Kind, Plan, PlanOptions, Problem, plan};
use crate::testing::assert_contains;

const ROLE: &str = "arn:aws:iam::111122223333:role/admin";

fn owned() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())])
}

fn entry(groups: &[&str]) -> AccessEntry {
    AccessEntry {
        kind: "STANDARD".into(),
        username: Some("admin".into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        policies: BTreeMap::from([(
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy".to_string(),
            AccessScope::Cluster,
        )]),
        tags: owned(),
        principal_id: None,
    }
}

fn role(id: Option<&str>) -> Role {
    Role {
        path: "/".into(),
        description: None,
        max_session_duration: 3600,
        trust: PolicyDocument::from_value(
            &serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}),
            crate::model::DocumentKind::Trust,
        )
        .expect("trust"),
        managed_policies: BTreeSet::new(),
        inline_policies: BTreeMap::new(),
        permissions_boundary: None,
        tags: owned(),
        role_id: id.map(str::to_string),
    }
}

fn state(mode: AuthenticationMode, cluster: Cluster) -> State {
    let mut state = State {
        account: Some("111122223333".into()),
        ..State::default()
    };
    state.clusters.insert(
        "demo".into(),
        Cluster {
            authentication: mode,
            ..cluster
        },
    );
    state
}

fn desired(mode: AuthenticationMode, cluster: Cluster) -> Desired {
    let mut state = state(mode, cluster);
    state.iam.roles.insert("admin".into(), role(None));
    Desired {
        state,
        ..Desired::default()
    }
}

#[test]
fn a_mode_the_cluster_cannot_serve_is_refused_with_the_fix() {
    let cases = [
        (
            AuthenticationMode::Both,
            AuthenticationMode::ConfigMap,
            "update-cluster-config",
        ),
        (
            AuthenticationMode::AccessEntries,
            AuthenticationMode::ConfigMap,
            "authenticationMode=API_AND_CONFIG_MAP",
        ),
        (
            AuthenticationMode::ConfigMap,
            AuthenticationMode::AccessEntries,
            "cannot switch a cluster back",
        ),
        (
            AuthenticationMode::Both,
            AuthenticationMode::AccessEntries,
            "set `authentication: access-entries`",
        ),
    ];
    for (wanted, actual, hint) in cases {
        let error = plan(
            &desired(wanted, Cluster::default()),
            &state(actual, Cluster::default()),
            &PlanOptions::default(),
        )
        .expect_err("refused");
        let [problem] = &error.problems[..] else {
            panic!("{error:?}");
        };
        assert!(
            matches!(problem, Problem::Authentication { .. }),
            "{problem:?}"
        );
        assert!(
            problem
                .message()
                .starts_with("cluster `demo` authenticates with"),
            "{}",
            problem.message()
        );
        assert!(problem.hint().contains(hint), "{}", problem.hint());
    }
    for (wanted, actual) in [
        (AuthenticationMode::ConfigMap, AuthenticationMode::Both),
        (AuthenticationMode::AccessEntries, AuthenticationMode::Both),
        (AuthenticationMode::Both, AuthenticationMode::Both),
        (
            AuthenticationMode::AccessEntries,
            AuthenticationMode::AccessEntries,
        ),
    ] {
        assert!(
            plan(
                &desired(wanted, Cluster::default()),
                &state(actual, Cluster::default()),
                &PlanOptions::default()
            )
            .is_ok(),
            "{wanted:?} on {actual:?}"
        );
    }
}

/// The plan from `want` and `live`, with the default options.
fn default_plan(want: &Desired, live: &State) -> Plan {
    plan(want, live, &PlanOptions::default()).expect("plan")
}

/// What each change is about and does, in plan order.
/// The plan takes the role's `role_action` first, then replaces the access entry of the new
/// role after it.
fn assert_entry_replaced_after_role(want: &Desired, live: &State, role_action: Action) {
    assert_eq!(
        actions(&default_plan(want, live).changes),
        [
            (Kind::Role, role_action),
            (Kind::AccessEntry, Action::Replace)
        ]
    );
}

fn actions(changes: &[crate::plan::Change]) -> Vec<(Kind, Action)> {
    changes
        .iter()
        .map(|change| (change.address.kind, change.action))
        .collect()
}

fn with_entry(entry: AccessEntry) -> Cluster {
    Cluster {
        access_entries: BTreeMap::from([(ROLE.to_string(), entry)]),
        ..Cluster::default()
    }
}

/// The file's access entry for `admin`, and live state holding it as made for the role whose
/// id was `principal_id`.
fn recorded_for(principal_id: &str) -> (Desired, State) {
    let want = desired(AuthenticationMode::AccessEntries, with_entry(entry(&[])));
    let mut recorded = entry(&[]);
    recorded.principal_id = Some(principal_id.into());
    let live = state(AuthenticationMode::AccessEntries, with_entry(recorded));
    (want, live)
}

#[test]
fn an_entry_of_a_recreated_role_is_replaced() {
    let (want, mut live) = recorded_for("AROAOLD");
    live.iam.roles.insert("admin".into(), role(Some("AROANEW")));
    let planned = default_plan(&want, &live);
    let [change] = &planned.changes[..] else {
        panic!("{:#?}", planned.changes);
    };
    assert_eq!(change.action, Action::Replace);
    assert_eq!(change.address.kind, Kind::AccessEntry);
    assert!(
        change
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("`AROAOLD`") && r.contains("`AROANEW`")),
        "{:?}",
        change.reason
    );

    // The same id: nothing to do.
    live.iam.roles.insert("admin".into(), role(Some("AROAOLD")));
    assert!(!default_plan(&want, &live).has_changes());

    // The role is gone and this plan creates it again: the entry is replaced after it.
    live.iam.roles.clear();
    assert_entry_replaced_after_role(&want, &live, Action::Create);
}

#[test]
fn in_both_mode_a_disagreeing_aws_auth_entry_is_noted() {
    let mut cluster = with_entry(entry(&["admins"]));
    cluster.aws_auth = Some(AwsAuth {
        entries: vec![AwsAuthEntry {
            kind: MapKind::MapRoles,
            arn: ROLE.into(),
            username: Some("admin".into()),
            groups: vec!["admins".into()],
        }],
        managed: BTreeSet::from([ROLE.to_string()]),
        resource_version: None,
        warnings: Vec::new(),
        unreadable: BTreeSet::new(),
    });
    let want = desired(AuthenticationMode::Both, cluster.clone());
    let mut live_cluster = cluster;
    if let Some(auth) = &mut live_cluster.aws_auth {
        auth.managed.clear();
        auth.entries[0].groups = vec!["system:masters".into()];
    }
    let mut live = state(AuthenticationMode::Both, live_cluster);
    live.iam.roles.insert("admin".into(), role(None));
    // The unmanaged aws-auth entry is adopted to make the plan; without it, refused.
    let options = PlanOptions {
        adopt_all: true,
        ..PlanOptions::default()
    };
    let planned = plan(&want, &live, &options).expect("plan");
    assert!(
        !planned.notes.iter().any(|n| n.message.contains("disagree")),
        "adopting makes them agree: {:#?}",
        planned.notes
    );
    // The live access entry says something else than aws-auth will: noted.
    let mut different = entry(&["viewers"]);
    different.tags.clear();
    let mut live = live.clone();
    if let Some(cluster) = live.clusters.get_mut("demo") {
        cluster.access_entries.insert(ROLE.into(), different);
    }
    let mut want = want;
    if let Some(cluster) = want.state.clusters.get_mut("demo") {
        cluster.access_entries.clear();
    }
    let planned = plan(&want, &live, &options).expect("plan");
    let note = planned
        .notes
        .iter()
        .find(|n| n.message.contains("disagree"))
        .expect("a note");
    assert_contains(&note.message, "groups `viewers` vs `admins`");
    assert!(
        note.message.ends_with("EKS uses the access entry"),
        "{}",
        note.message
    );
}

#[test]
fn pod_identity_associations_are_owned_by_tag() {
    let association = |role: &str, tags: BTreeMap<String, String>| PodIdentityAssociation {
        role_arn: role.into(),
        tags,
        association_id: None,
    };
    let want = desired(
        AuthenticationMode::ConfigMap,
        Cluster {
            pod_identity: BTreeMap::from([(
                "apps/uploader".to_string(),
                association(ROLE, owned()),
            )]),
            ..Cluster::default()
        },
    );
    let mut live = state(
        AuthenticationMode::ConfigMap,
        Cluster {
            pod_identity: BTreeMap::from([
                ("apps/old".to_string(), association(ROLE, owned())),
                (
                    "apps/theirs".to_string(),
                    association(ROLE, BTreeMap::new()),
                ),
            ]),
            ..Cluster::default()
        },
    );
    live.iam.roles.insert("admin".into(), role(Some("AROA1")));
    let planned = default_plan(&want, &live);
    let changes: Vec<String> = planned
        .changes
        .iter()
        .map(|c| format!("{} {}", c.action.symbol(), c.address))
        .collect();
    assert_eq!(
        changes,
        [
            "+ cluster.demo.pod-identity.apps/uploader",
            "- cluster.demo.pod-identity.apps/old",
        ]
    );
}

#[test]
fn diff_itself_decides_the_replace_of_an_entry_whose_role_was_recreated() {
    let (want, mut live) = recorded_for("AROAOLD");
    live.iam.roles.insert("admin".into(), role(Some("AROANEW")));
    let (changes, _) = super::super::diff::diff(&want, &live, &PlanOptions::default());
    assert_eq!(actions(&changes), [(Kind::AccessEntry, Action::Replace)]);
}

#[test]
fn an_entry_naming_the_new_arn_of_a_moved_role_is_replaced() {
    // The role moves from `/old/` to `/` (a replace: a new role, a new id); the live entry
    // for `role/admin` was made for an earlier role with that ARN and matches no one.
    let (want, mut live) = recorded_for("AROAGONE");
    let mut moved = role(Some("AROAOLD"));
    moved.path = "/old/".into();
    live.iam.roles.insert("admin".into(), moved);
    assert_entry_replaced_after_role(&want, &live, Action::Replace);
}

/// A Pod Identity role that is not the file's is checked against what EKS accepts, from the
/// live role: its account, its existence, and its trust of the Pod Identity agent.
#[test]
fn a_foreign_pod_identity_role_is_refused_when_eks_would_refuse_it() {
    const SHARED: &str = "arn:aws:iam::111122223333:role/team/shared";
    let association = |role: &str| PodIdentityAssociation {
        role_arn: role.into(),
        tags: owned(),
        association_id: None,
    };
    let want = |role: &str| {
        desired(
            AuthenticationMode::ConfigMap,
            Cluster {
                pod_identity: BTreeMap::from([("apps/uploader".to_string(), association(role))]),
                ..Cluster::default()
            },
        )
    };
    let live_with = |trust: serde_json::Value| {
        let mut live = state(AuthenticationMode::ConfigMap, Cluster::default());
        live.iam.roles.insert("admin".into(), role(Some("AROA1")));
        let mut shared = role(Some("AROASHARED"));
        shared.path = "/team/".into();
        shared.tags = BTreeMap::new();
        shared.trust =
            PolicyDocument::from_value(&trust, crate::model::DocumentKind::Trust).expect("trust");
        live.iam.roles.insert("shared".into(), shared);
        live
    };
    let agent = |actions: serde_json::Value| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": actions},
        ]})
    };
    let refusal = |want: &Desired, live: &State| {
        let error = plan(want, live, &PlanOptions::default()).expect_err("refused");
        let [problem] = &error.problems[..] else {
            panic!("{error:?}");
        };
        assert!(matches!(problem, Problem::Refused { .. }), "{problem:?}");
        assert_eq!(
            problem.address().map(ToString::to_string).as_deref(),
            Some("cluster.demo.pod-identity.apps/uploader")
        );
        (problem.message(), problem.hint())
    };

    // Trusted by the agent for both actions: planned.
    let good = live_with(agent(serde_json::json!([
        "sts:AssumeRole",
        "sts:TagSession"
    ])));
    let planned = plan(&want(SHARED), &good, &PlanOptions::default()).expect("plan");
    assert_eq!(planned.changes.len(), 1);

    // The agent may assume it but not tag the session.
    let (message, hint) = refusal(
        &want(SHARED),
        &live_with(agent(serde_json::json!("sts:AssumeRole"))),
    );
    assert_eq!(
        message,
        "the trust policy of the Pod Identity role `arn:aws:iam::111122223333:role/team/shared` does not allow `pods.eks.amazonaws.com` `sts:TagSession` (cluster `demo`, service account `apps/uploader`)"
    );
    assert!(
        hint.starts_with("EKS Pod Identity requires the role's trust policy to allow the service principal `pods.eks.amazonaws.com` both `sts:AssumeRole` and `sts:TagSession`"),
        "{hint}"
    );
    assert!(hint.contains("--role-name shared"), "{hint}");

    // Another principal entirely.
    let (message, _) = refusal(
        &want(SHARED),
        &live_with(serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        })),
    );
    assert!(
        message.contains("`sts:AssumeRole` and `sts:TagSession`"),
        "{message}"
    );

    // Another account.
    let (message, hint) = refusal(&want("arn:aws:iam::222233334444:role/team/shared"), &good);
    assert!(
        message.contains("is in account 222233334444, not in the cluster's account 111122223333"),
        "{message}"
    );
    assert!(
        hint.starts_with("EKS Pod Identity requires the role to be in the cluster's AWS account"),
        "{hint}"
    );

    // No such role (the path is part of the ARN).
    let (message, _) = refusal(&want("arn:aws:iam::111122223333:role/shared"), &good);
    assert!(message.contains("does not exist"), "{message}");

    // An association that already names the role is not judged again.
    let mut existing = live_with(agent(serde_json::json!("sts:AssumeRole")));
    if let Some(cluster) = existing.clusters.get_mut("demo") {
        cluster
            .pod_identity
            .insert("apps/uploader".into(), association(SHARED));
    }
    let planned = plan(&want(SHARED), &existing, &PlanOptions::default()).expect("plan");
    assert!(planned.changes.is_empty(), "{:?}", planned.changes);
}
