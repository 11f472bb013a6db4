//! Properties of the planner over random live and desired states: applying a plan leaves
//! nothing to do, node-role entries and objects of others are never touched, and the same
//! input always gives the same plan.

use std::collections::{BTreeMap, BTreeSet};

use accessctl::model::{
    AccessEntry, AccessKey, AccessKeys, AccessScope, AuthenticationMode, AwsAuth, AwsAuthEntry,
    Binding, Caller, Cluster, Destination, DocumentKind, Group, Held, IRSA_ANNOTATION, Iam,
    KeyRotation, KeyStatus, MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE, MapKind, Meta,
    Namespace, OidcProvider, PodIdentityAssociation, Policy, PolicyDocument, PolicyRule, RbacRole,
    Role, RoleRef, RoleRefKind, ServiceAccount, State, Subject, SubjectKind, User,
};
use accessctl::plan::{
    Action, Address, Desired, Kind, Object, Overrides, PlanOptions, Problem, SafetyCheck, plan,
};
use proptest::prelude::*;

use crate::support::oracle::simulate;
use proptest::sample::subsequence;

const ACCOUNT: &str = "111122223333";
const GROUP_PATH: &str = "/accessctl/";
const POLICY_PATH: &str = "/accessctl/";
const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const CLUSTERS: [&str; 2] = ["blue", "green"];

fn document(action: &str, principal: bool) -> PolicyDocument {
    let statement = if principal {
        serde_json::json!({"Effect": "Allow", "Action": action, "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}})
    } else {
        serde_json::json!({"Effect": "Allow", "Action": action, "Resource": "*"})
    };
    PolicyDocument::from_value(
        &serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}),
        DocumentKind::Any,
    )
    .unwrap_or_else(|errors| panic!("test document: {errors:?}"))
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(&NAMES[..]).prop_map(str::to_string)
}

fn names() -> impl Strategy<Value = BTreeSet<String>> {
    subsequence(&NAMES[..], 0..=2).prop_map(|v| v.into_iter().map(str::to_string).collect())
}

/// AWS-managed policies, and customer policy `a` inside and outside the policy path (so that
/// moving it under the path has attachments to carry).
fn policy_arns() -> impl Strategy<Value = BTreeSet<String>> {
    subsequence(
        &[
            "aws:policy/ReadOnlyAccess",
            "aws:policy/AmazonS3FullAccess",
            "aws:policy/AmazonEKSClusterPolicy",
            "ACCOUNT:policy/a",
            "ACCOUNT:policy/accessctl/a",
        ][..],
        0..=2,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|p| format!("arn:aws:iam::{}", p.replace("ACCOUNT", ACCOUNT)))
            .collect()
    })
}

fn action() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["s3:GetObject", "eks:DescribeCluster", "sts:AssumeRole"][..])
}

fn inline() -> impl Strategy<Value = BTreeMap<String, PolicyDocument>> {
    prop::collection::btree_map(
        prop::sample::select(&["assume", "read"][..]).prop_map(str::to_string),
        action().prop_map(|a| document(a, false)),
        0..=2,
    )
}

/// Tags: owned or not, maybe with a tag of the file's own.
fn tags() -> impl Strategy<Value = BTreeMap<String, String>> {
    (
        any::<bool>(),
        prop::option::of(prop::sample::select(&["x", "y"][..])),
    )
        .prop_map(|(owned, team)| {
            let mut tags = BTreeMap::new();
            if owned {
                tags.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
            }
            if let Some(team) = team {
                tags.insert("team".to_string(), team.to_string());
            }
            tags
        })
}

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(&["/", "/eks/"][..]).prop_map(str::to_string)
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(&["/", "/eks/", POLICY_PATH, "/accessctl/eks/"][..])
            .prop_map(str::to_string),
        prop::option::of(prop::sample::select(&["view", "edit"][..])),
        action(),
        tags(),
    )
        .prop_map(|(path, description, action, tags)| Policy {
            path,
            description: description.map(str::to_string),
            document: document(action, false),
            tags,
        })
}

fn group() -> impl Strategy<Value = Group> {
    (
        prop::sample::select(&["/", GROUP_PATH][..]),
        policy_arns(),
        inline(),
    )
        .prop_map(|(path, managed_policies, inline_policies)| Group {
            path: path.to_string(),
            managed_policies,
            inline_policies,
            members: Default::default(),
        })
}

fn user() -> impl Strategy<Value = User> {
    (path(), names(), policy_arns(), inline(), tags()).prop_map(
        |(path, groups, managed_policies, inline_policies, tags)| User {
            path,
            groups,
            managed_policies,
            inline_policies,
            permissions_boundary: None,
            tags,
        },
    )
}

fn role() -> impl Strategy<Value = Role> {
    (
        path(),
        prop::sample::select(&[3600u32, 7200][..]),
        policy_arns(),
        inline(),
        tags(),
        prop::option::of("AROA[0-9]{3}"),
    )
        .prop_map(
            |(path, max_session_duration, managed_policies, inline_policies, tags, role_id)| Role {
                path,
                description: None,
                max_session_duration,
                trust: document("sts:AssumeRole", true),
                managed_policies,
                inline_policies,
                permissions_boundary: None,
                tags,
                role_id,
            },
        )
}

fn oidc_provider() -> impl Strategy<Value = OidcProvider> {
    (any::<bool>(), tags()).prop_map(|(sts, tags)| OidcProvider {
        client_ids: if sts {
            BTreeSet::from(["sts.amazonaws.com".to_string()])
        } else {
            BTreeSet::new()
        },
        tags,
    })
}

/// Where the generated users' keys are delivered.
fn key_destination() -> Destination {
    Destination::SecretsManager {
        name: "ci/key".to_string(),
        region: None,
    }
}

/// A user's access keys: up to two in IAM (any status, age and last use) and a rotation the
/// file may declare; `live_state` keeps the keys, `desired_state` the rotation.
fn access_keys() -> impl Strategy<Value = AccessKeys> {
    let key = (
        prop::sample::select(&[KeyStatus::Active, KeyStatus::Inactive][..]),
        prop::sample::select(&[0u32, 3, 7, 8, 30, 89, 90, 200][..]),
        prop::option::of(prop::sample::select(&[0u32, 1, 6, 7, 100][..])),
    );
    (
        prop::collection::vec(key, 0..=2),
        prop::sample::select(&[1u32, 30, 90][..]),
        prop::sample::select(&[1u32, 7, 30][..]),
        // What the destination holds, read back: unread, missing, a key of the user, another.
        prop::sample::select(&[None, Some(None), Some(Some(0)), Some(Some(7))][..]),
    )
        .prop_map(|(keys, rotate_after_days, grace_days, held)| AccessKeys {
            rotation: Some(KeyRotation {
                rotate_after_days,
                grace_days,
                deliver_to: vec![key_destination()],
            }),
            held: held
                .map(|key: Option<u32>| Held {
                    destination: key_destination(),
                    exists: key.is_some(),
                    key: key.map(|n| format!("AKIA…000{n}")),
                })
                .into_iter()
                .collect(),
            keys: keys
                .into_iter()
                .enumerate()
                .map(|(n, (status, age_days, unused_days))| AccessKey {
                    id: format!("AKIA…000{n}"),
                    status,
                    age_days,
                    created: None,
                    last_used: unused_days.map(|days| format!("{days} days ago")),
                    unused_days: unused_days.map(|days| days.min(age_days)),
                })
                .collect(),
        })
}

fn iam() -> impl Strategy<Value = Iam> {
    (
        prop::collection::btree_map(name(), policy(), 0..=3),
        prop::collection::btree_map(name(), group(), 0..=3),
        prop::collection::btree_map(name(), user(), 0..=3),
        prop::collection::btree_map(name(), role(), 0..=3),
        prop::collection::btree_map(
            prop::sample::select(&["oidc.eks.us-east-1.amazonaws.com/id/A"][..])
                .prop_map(str::to_string),
            oidc_provider(),
            0..=1,
        ),
        prop::collection::btree_map(name(), access_keys(), 0..=2),
    )
        .prop_map(
            |(policies, groups, users, roles, oidc_providers, access_keys)| Iam {
                policies,
                groups,
                users,
                roles,
                oidc_providers,
                access_keys,
            },
        )
}

/// Principals mappings name: users, roles (one with a path) and node roles.
fn principal() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "user/a",
            "user/b",
            "role/a",
            "role/b",
            "role/ci/deployer",
            "role/nodes",
            "role/other-nodes",
        ][..],
    )
    .prop_map(|resource| format!("arn:aws:iam::{ACCOUNT}:{resource}"))
}

/// Mostly ordinary groups; now and then the groups of a node role.
fn k8s_groups() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        5 => subsequence(&["reader", "ops", "system:masters"][..], 0..=2),
        1 => Just(vec!["system:bootstrappers", "system:nodes"]),
    ]
    .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn aws_auth_entry() -> impl Strategy<Value = AwsAuthEntry> {
    (
        principal(),
        prop::option::of(name()),
        k8s_groups(),
        prop::sample::select(&[MapKind::MapRoles, MapKind::MapUsers][..]),
    )
        .prop_map(|(arn, username, groups, kind)| AwsAuthEntry {
            kind,
            arn,
            username,
            groups,
        })
}

fn live_aws_auth() -> impl Strategy<Value = AwsAuth> {
    (
        prop::collection::vec(aws_auth_entry(), 0..=8),
        prop::collection::vec(any::<bool>(), 10),
        prop::option::of(principal()),
        any::<bool>(),
        prop::option::of((any::<prop::sample::Index>(), k8s_groups())),
    )
        .prop_map(|(mut entries, mask, stale, odd, duplicate)| {
            // Mostly ARNs that have entries, sometimes one whose entry is gone.
            let mut managed: BTreeSet<String> = entries
                .iter()
                .zip(mask)
                .filter(|(_, managed)| *managed)
                .map(|(entry, _)| entry.arn.clone())
                .collect();
            managed.extend(stale);
            // The same ARN twice, as hand edits leave it.
            if let Some((index, groups)) = duplicate
                && !entries.is_empty()
            {
                let mut copy = entries[index.index(entries.len())].clone();
                copy.groups = groups;
                entries.push(copy);
            }
            if odd {
                entries.push(AwsAuthEntry {
                    kind: MapKind::MapAccounts,
                    arn: "not-an-account".to_string(),
                    username: None,
                    groups: Vec::new(),
                });
            }
            AwsAuth {
                entries,
                managed,
                resource_version: Some("1".to_string()),
                warnings: Vec::new(),
                unreadable: BTreeSet::new(),
            }
        })
}

fn desired_aws_auth() -> impl Strategy<Value = AwsAuth> {
    prop::collection::btree_map(principal(), aws_auth_entry(), 0..=5).prop_map(|entries| AwsAuth {
        entries: entries
            .into_iter()
            .map(|(arn, entry)| AwsAuthEntry { arn, ..entry })
            .collect(),
        managed: BTreeSet::new(),
        resource_version: None,
        warnings: Vec::new(),
        unreadable: BTreeSet::new(),
    })
}

fn access_entry() -> impl Strategy<Value = AccessEntry> {
    (
        prop::sample::select(&["STANDARD", "STANDARD", "EC2_LINUX"][..]),
        prop::option::of(name()),
        subsequence(&["reader", "ops"][..], 0..=2),
        prop::collection::btree_map(
            prop::sample::select(&["AmazonEKSClusterAdminPolicy", "AmazonEKSViewPolicy"][..])
                .prop_map(|p| format!("arn:aws:eks::aws:cluster-access-policy/{p}")),
            prop_oneof![
                Just(AccessScope::Cluster),
                Just(AccessScope::Namespace {
                    namespaces: BTreeSet::from(["a".to_string()])
                }),
            ],
            0..=2,
        ),
        tags(),
        prop::option::of("AIDA[0-9]{3}"),
    )
        .prop_map(
            |(kind, username, groups, policies, tags, principal_id)| AccessEntry {
                kind: kind.to_string(),
                username,
                groups: groups.into_iter().map(str::to_string).collect(),
                policies,
                tags,
                principal_id,
            },
        )
}

fn pod_identity() -> impl Strategy<Value = PodIdentityAssociation> {
    (
        prop::sample::select(&["a", "b"][..]),
        tags(),
        prop::option::of("a-[0-9]{17}"),
    )
        .prop_map(|(role, tags, association_id)| PodIdentityAssociation {
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
            tags,
            association_id,
        })
}

/// Labels and annotations, owned or not, with keys the file may or may not set.
fn meta() -> impl Strategy<Value = Meta> {
    (
        any::<bool>(),
        prop::option::of(prop::sample::select(&["x", "y"][..])),
        prop::option::of(prop::sample::select(&["x", "y"][..])),
        prop::option::of(prop::sample::select(&["role/a", "role/b"][..])),
    )
        .prop_map(|(owned, team, note, irsa)| {
            let mut meta = Meta::default();
            if owned {
                meta.labels
                    .insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
            }
            if let Some(team) = team {
                meta.labels.insert("team".to_string(), team.to_string());
            }
            if let Some(note) = note {
                meta.annotations
                    .insert("note".to_string(), note.to_string());
            }
            if let Some(irsa) = irsa {
                meta.annotations.insert(
                    IRSA_ANNOTATION.to_string(),
                    format!("arn:aws:iam::{ACCOUNT}:{irsa}"),
                );
            }
            meta
        })
}

fn rules() -> impl Strategy<Value = BTreeSet<PolicyRule>> {
    subsequence(&["get", "list", "watch"][..], 1..=3).prop_map(|verbs| {
        BTreeSet::from([PolicyRule {
            api_groups: BTreeSet::from([String::new()]),
            resources: BTreeSet::from(["pods".to_string()]),
            verbs: verbs.into_iter().map(str::to_string).collect(),
            ..PolicyRule::default()
        }])
    })
}

fn binding() -> impl Strategy<Value = Binding> {
    (
        meta(),
        prop::sample::select(&["cluster-admin", "reader", "view"][..]),
        subsequence(&["reader", "ops", "a"][..], 0..=2),
    )
        .prop_map(|(meta, role, subjects)| Binding {
            meta,
            role_ref: RoleRef {
                kind: RoleRefKind::ClusterRole,
                name: role.to_string(),
            },
            subjects: subjects
                .into_iter()
                .map(|name| Subject {
                    kind: if name == "a" {
                        SubjectKind::User
                    } else {
                        SubjectKind::Group
                    },
                    name: name.to_string(),
                    namespace: None,
                })
                .collect(),
        })
}

fn namespaced() -> impl Strategy<Value = String> {
    prop::sample::select(&["a/x", "a/y", "b/x"][..]).prop_map(str::to_string)
}

fn cluster(live: bool) -> impl Strategy<Value = Cluster> {
    (
        prop::sample::select(
            &[
                AuthenticationMode::ConfigMap,
                AuthenticationMode::AccessEntries,
                AuthenticationMode::Both,
            ][..],
        ),
        prop::option::weighted(
            0.8,
            if live {
                live_aws_auth().boxed()
            } else {
                desired_aws_auth().boxed()
            },
        ),
        prop::collection::btree_map(principal(), access_entry(), 0..=3),
        prop::collection::btree_map(name(), meta().prop_map(|meta| Namespace { meta }), 0..=2),
        prop::collection::btree_map(
            prop::sample::select(&["reader", "view"][..]).prop_map(str::to_string),
            (meta(), rules()).prop_map(|(meta, rules)| RbacRole {
                meta,
                rules,
                aggregation_rule: None,
            }),
            0..=2,
        ),
        prop::collection::btree_map(
            namespaced(),
            (meta(), rules()).prop_map(|(meta, rules)| RbacRole {
                meta,
                rules,
                aggregation_rule: None,
            }),
            0..=2,
        ),
        prop::collection::btree_map(name(), binding(), 0..=3),
        prop::collection::btree_map(namespaced(), binding(), 0..=2),
        prop::collection::btree_map(
            namespaced(),
            meta().prop_map(|meta| ServiceAccount { meta }),
            0..=2,
        ),
        prop::collection::btree_map(namespaced(), pod_identity(), 0..=2),
    )
        .prop_map(
            move |(
                authentication,
                aws_auth,
                access_entries,
                namespaces,
                cluster_roles,
                roles,
                cluster_role_bindings,
                role_bindings,
                service_accounts,
                pod_identity,
            )| Cluster {
                // A live cluster in `both` mode serves any file; the planner refuses a file
                // the cluster's mode cannot serve.
                authentication: if live {
                    AuthenticationMode::Both
                } else {
                    authentication
                },
                aws_auth,
                access_entries,
                namespaces,
                cluster_roles,
                roles,
                cluster_role_bindings,
                role_bindings,
                service_accounts,
                pod_identity,
                ..Cluster::default()
            },
        )
}

fn clusters(live: bool) -> impl Strategy<Value = BTreeMap<String, Cluster>> {
    prop::collection::btree_map(
        prop::sample::select(&CLUSTERS[..]).prop_map(str::to_string),
        cluster(live),
        1..=2,
    )
}

fn caller() -> impl Strategy<Value = Option<Caller>> {
    prop::option::of((
        prop::sample::select(&[ACCOUNT, "999999999999"][..]),
        prop::sample::select(
            &[
                "arn:aws:sts::ACCOUNT:assumed-role/deployer/ci",
                "arn:aws:sts::ACCOUNT:assumed-role/a/session",
                "arn:aws:iam::ACCOUNT:user/b",
            ][..],
        ),
    ))
    .prop_map(|caller| {
        caller.map(|(account, arn)| Caller {
            account: account.to_string(),
            arn: arn.replace("ACCOUNT", account),
        })
    })
}

fn live_state() -> impl Strategy<Value = State> {
    (iam(), clusters(true), caller()).prop_map(|(mut iam, clusters, caller)| {
        // IAM holds keys, never a declaration.
        iam.access_keys
            .values_mut()
            .for_each(|keys| keys.rotation = None);
        State {
            account: caller.as_ref().map(|c| c.account.clone()),
            caller,
            iam,
            clusters,
            ..State::default()
        }
    })
}

fn own_tags(tags: &mut BTreeMap<String, String>) {
    tags.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
}

fn own_meta(meta: &mut Meta) {
    meta.labels
        .insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
}

/// What the spec loader produces: every object carries its marker, ids are absent, access
/// entries are `STANDARD`.
fn desired_state() -> impl Strategy<Value = Desired> {
    (iam(), clusters(false)).prop_map(|(mut iam, mut clusters)| {
        for policy in iam.policies.values_mut() {
            own_tags(&mut policy.tags);
            if !policy.path.starts_with(POLICY_PATH) {
                policy.path = format!("{POLICY_PATH}{}", &policy.path[1..]);
            }
        }
        iam.groups
            .values_mut()
            .for_each(|g| g.path = GROUP_PATH.to_string());
        // A user of the file names only groups of the file (the loader refuses others).
        let declared: BTreeSet<String> = iam.groups.keys().cloned().collect();
        for user in iam.users.values_mut() {
            own_tags(&mut user.tags);
            user.groups.retain(|group| declared.contains(group));
        }
        for role in iam.roles.values_mut() {
            own_tags(&mut role.tags);
            role.role_id = None;
        }
        iam.oidc_providers
            .values_mut()
            .for_each(|p| own_tags(&mut p.tags));
        // The file declares rotation and destinations, never keys nor what destinations hold.
        iam.access_keys.values_mut().for_each(|keys| {
            keys.keys.clear();
            keys.held.clear();
        });
        for cluster in clusters.values_mut() {
            for entry in cluster.access_entries.values_mut() {
                entry.kind = "STANDARD".to_string();
                entry.principal_id = None;
                own_tags(&mut entry.tags);
            }
            for association in cluster.pod_identity.values_mut() {
                association.association_id = None;
                own_tags(&mut association.tags);
            }
            cluster
                .namespaces
                .values_mut()
                .for_each(|o| own_meta(&mut o.meta));
            cluster
                .cluster_roles
                .values_mut()
                .for_each(|o| own_meta(&mut o.meta));
            cluster
                .roles
                .values_mut()
                .for_each(|o| own_meta(&mut o.meta));
            cluster
                .cluster_role_bindings
                .values_mut()
                .for_each(|o| own_meta(&mut o.meta));
            cluster
                .role_bindings
                .values_mut()
                .for_each(|o| own_meta(&mut o.meta));
            cluster
                .service_accounts
                .values_mut()
                .for_each(|o| own_meta(&mut o.meta));
        }
        // A Pod Identity role EKS would refuse is refused by the planner, whatever is allowed:
        // the file declares the roles it hands to Pod Identity (foreign roles, checked against
        // their live trust, are the unit tests' concern).
        let handed: BTreeSet<String> = clusters
            .values()
            .flat_map(|cluster| cluster.pod_identity.values())
            .filter_map(|association| association.role_arn.rsplit_once('/'))
            .map(|(_, name)| name.to_string())
            .collect();
        for name in handed {
            let role = iam.roles.entry(name).or_insert_with(|| Role {
                path: "/".to_string(),
                description: None,
                max_session_duration: 3600,
                trust: document("sts:AssumeRole", true),
                managed_policies: BTreeSet::new(),
                inline_policies: BTreeMap::new(),
                permissions_boundary: None,
                tags: BTreeMap::new(),
                role_id: None,
            });
            role.path = "/".to_string();
            own_tags(&mut role.tags);
        }
        Desired {
            state: State {
                account: Some(ACCOUNT.to_string()),
                iam,
                clusters,
                ..State::default()
            },
            assume_role: None,
            adopt: BTreeSet::new(),
            group_path: GROUP_PATH.to_string(),
            policy_path: POLICY_PATH.to_string(),
        }
    })
}

fn everything_allowed() -> PlanOptions {
    PlanOptions {
        adopt_all: true,
        overrides: Overrides {
            allowed: [
                SafetyCheck::AccountMismatch,
                SafetyCheck::SelfLockout,
                SafetyCheck::NodeRole,
                SafetyCheck::NoClusterAdmin,
                SafetyCheck::NamespaceDeletion,
            ]
            .into_iter()
            .collect(),
        },
    }
}

fn tagged(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Whether the live object at `address` exists, and if so whether accessctl owns it.
fn live_owned(live: &State, address: &Address) -> Option<bool> {
    let name = &address.name;
    let cluster = address.cluster.as_ref().and_then(|c| live.clusters.get(c));
    match address.kind {
        Kind::Policy => live
            .iam
            .policies
            .get(name)
            .map(|o| o.path.starts_with(POLICY_PATH)),
        Kind::Group => live.iam.groups.get(name).map(|o| o.path == GROUP_PATH),
        Kind::User => live.iam.users.get(name).map(|o| tagged(&o.tags)),
        Kind::Role => live.iam.roles.get(name).map(|o| tagged(&o.tags)),
        Kind::OidcProvider => live.iam.oidc_providers.get(name).map(|o| tagged(&o.tags)),
        // A user's keys are accessctl's exactly when the user declares `accessKeys`.
        // IAM holds keys for it: a user without any has nothing to own yet.
        Kind::AccessKey => live
            .iam
            .access_keys
            .get(name)
            .filter(|keys| !keys.keys.is_empty())
            .map(|_| true),
        Kind::Namespace => cluster?.namespaces.get(name).map(|o| o.meta.is_owned()),
        Kind::ClusterRole => cluster?.cluster_roles.get(name).map(|o| o.meta.is_owned()),
        Kind::K8sRole => cluster?.roles.get(name).map(|o| o.meta.is_owned()),
        Kind::ClusterRoleBinding => cluster?
            .cluster_role_bindings
            .get(name)
            .map(|o| o.meta.is_owned()),
        Kind::RoleBinding => cluster?.role_bindings.get(name).map(|o| o.meta.is_owned()),
        Kind::ServiceAccount => cluster?
            .service_accounts
            .get(name)
            .map(|o| o.meta.is_owned()),
        Kind::PodIdentity => cluster?.pod_identity.get(name).map(|o| tagged(&o.tags)),
        Kind::AccessEntry => cluster?
            .access_entries
            .get(name)
            .map(|o| o.kind == "STANDARD" && tagged(&o.tags)),
        Kind::AwsAuth => {
            let auth = cluster?.aws_auth.as_ref()?;
            auth.entries
                .iter()
                .any(|e| &e.arn == name)
                .then(|| auth.managed.contains(name))
        }
    }
}

fn declared(desired: &Desired, address: &Address) -> bool {
    let state = &desired.state;
    let name = &address.name;
    let Some(cluster) = address.cluster.as_ref() else {
        return match address.kind {
            Kind::Policy => state.iam.policies.contains_key(name),
            Kind::Group => state.iam.groups.contains_key(name),
            Kind::User => state.iam.users.contains_key(name),
            Kind::Role => state.iam.roles.contains_key(name),
            Kind::OidcProvider => state.iam.oidc_providers.contains_key(name),
            _ => false,
        };
    };
    let Some(cluster) = state.clusters.get(cluster) else {
        return false;
    };
    match address.kind {
        Kind::Namespace => cluster.namespaces.contains_key(name),
        Kind::ClusterRole => cluster.cluster_roles.contains_key(name),
        Kind::K8sRole => cluster.roles.contains_key(name),
        Kind::ClusterRoleBinding => cluster.cluster_role_bindings.contains_key(name),
        Kind::RoleBinding => cluster.role_bindings.contains_key(name),
        Kind::ServiceAccount => cluster.service_accounts.contains_key(name),
        Kind::PodIdentity => cluster.pod_identity.contains_key(name),
        Kind::AccessEntry => cluster.access_entries.contains_key(name),
        Kind::AwsAuth => cluster
            .aws_auth
            .as_ref()
            .is_some_and(|auth| auth.entries.iter().any(|e| &e.arn == name)),
        _ => false,
    }
}

fn is_node_role(object: Option<&Object>) -> bool {
    matches!(object, Some(Object::AwsAuthEntry(entry)) if entry.is_node_role())
}

/// Live state as apply leaves it for `desired`: with the ids IAM and EKS assign, labels and
/// annotations others add, and aws-auth entries of others.
fn live_matching(desired: &Desired) -> State {
    let mut live = desired.state.clone();
    live.caller = Some(Caller {
        account: ACCOUNT.to_string(),
        arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"),
    });
    for (name, role) in &mut live.iam.roles {
        role.role_id = Some(format!("AROA{name}"));
    }
    // Every user that declares `accessKeys` holds the one fresh active key apply delivered,
    // and every destination holds it.
    for keys in live.iam.access_keys.values_mut() {
        let held = keys
            .rotation
            .iter()
            .flat_map(|rotation| &rotation.deliver_to)
            .map(|to| Held::holding(to, "AKIA…0001"))
            .collect();
        *keys = AccessKeys {
            rotation: None,
            held,
            keys: vec![AccessKey {
                id: "AKIA…0001".to_string(),
                status: KeyStatus::Active,
                age_days: 0,
                created: Some("2026-01-01T00:00:00Z".to_string()),
                last_used: Some("2026-01-01T00:00:00Z".to_string()),
                unused_days: Some(0),
            }],
        };
    }
    // Someone else's group and its member: not accessctl's membership to keep.
    live.iam.groups.insert(
        "console".to_string(),
        Group {
            path: "/".to_string(),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            members: BTreeSet::new(),
        },
    );
    live.iam.users.insert(
        "console-user".to_string(),
        User {
            path: "/".to_string(),
            groups: BTreeSet::from(["console".to_string()]),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            permissions_boundary: None,
            tags: BTreeMap::new(),
        },
    );
    let others = |meta: &mut Meta| {
        meta.labels
            .insert("helm.sh/chart".to_string(), "x".to_string());
        meta.annotations.insert(
            "kubectl.kubernetes.io/last-applied-configuration".to_string(),
            "{}".to_string(),
        );
    };
    for cluster in live.clusters.values_mut() {
        for (arn, entry) in &mut cluster.access_entries {
            // EKS recorded the id of the role the entry names, when it is one of the file's.
            entry.principal_id = Some(format!("AIDA{}", arn.len()));
            if let Some((path, name)) = arn
                .strip_prefix(&format!("arn:aws:iam::{ACCOUNT}:role"))
                .and_then(|rest| rest.rsplit_once('/'))
                && desired
                    .state
                    .iam
                    .roles
                    .get(name)
                    .is_some_and(|role| role.path == format!("{path}/"))
            {
                entry.principal_id = Some(format!("AROA{name}"));
            }
        }
        for association in cluster.pod_identity.values_mut() {
            association.association_id = Some("a-00000000000000001".to_string());
        }
        cluster
            .namespaces
            .values_mut()
            .for_each(|o| others(&mut o.meta));
        cluster
            .cluster_roles
            .values_mut()
            .for_each(|o| others(&mut o.meta));
        cluster.roles.values_mut().for_each(|o| others(&mut o.meta));
        cluster
            .cluster_role_bindings
            .values_mut()
            .for_each(|o| others(&mut o.meta));
        cluster
            .role_bindings
            .values_mut()
            .for_each(|o| others(&mut o.meta));
        cluster
            .service_accounts
            .values_mut()
            .for_each(|o| others(&mut o.meta));
        let auth = cluster.aws_auth.get_or_insert_with(AwsAuth::default);
        auth.managed = auth.entries.iter().map(|e| e.arn.clone()).collect();
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
        auth.resource_version = Some("7".to_string());
    }
    live
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn applying_a_plan_leaves_nothing_to_do(desired in desired_state(), live in live_state()) {
        let options = everything_allowed();
        let first = plan(&desired, &live, &options);
        prop_assert!(first.is_ok(), "refused: {:?}", first);
        let Ok(first) = first else { unreachable!() };

        let mut after = simulate(&live, &first);
        // A cluster apply wrote to is read back with its real mode; `both` serves any file.
        for (name, cluster) in &mut after.clusters {
            if !live.clusters.contains_key(name) {
                cluster.authentication = AuthenticationMode::Both;
            }
        }
        // Every user that declares `accessKeys` ends with one active key, two at most.
        for (user, declared) in &desired.state.iam.access_keys {
            let keys = after.iam.access_keys.get(user).map(|k| k.keys.as_slice()).unwrap_or(&[]);
            let active = keys.iter().filter(|k| k.status == KeyStatus::Active).count();
            prop_assert!(declared.rotation.is_some());
            prop_assert!(keys.len() <= 2 && active == 1, "{user}: {keys:?}");
        }
        let second = plan(&desired, &after, &options);
        prop_assert!(second.is_ok(), "refused after apply: {:?}", second);
        let Ok(second) = second else { unreachable!() };
        prop_assert!(
            !second.has_changes(),
            "left to do after apply: {:#?}\nfirst plan: {:#?}",
            second.changes,
            first.changes
        );
    }

    #[test]
    fn the_planners_projection_agrees_with_the_oracle(
        desired in desired_state(),
        live in live_state(),
    ) {
        let Ok(first) = plan(&desired, &live, &everything_allowed()) else {
            return Ok(());
        };
        prop_assert_eq!(
            accessctl::plan::project(&live, &first.changes),
            simulate(&live, &first),
            "plan: {:#?}",
            first.changes
        );
    }

    #[test]
    fn a_live_state_matching_the_file_plans_nothing(desired in desired_state()) {
        let live = live_matching(&desired);
        let plan = plan(&desired, &live, &everything_allowed());
        prop_assert!(plan.as_ref().is_ok_and(|plan| !plan.has_changes()), "{:#?}", plan);
    }

    #[test]
    fn node_roles_and_objects_of_others_are_never_changed(
        desired in desired_state(),
        live in live_state(),
    ) {
        let Ok(plan) = plan(&desired, &live, &everything_allowed()) else {
            return Err(TestCaseError::fail("refused with every override"));
        };
        for change in &plan.changes {
            let address = &change.address;
            prop_assert!(!is_node_role(change.before.as_ref()), "{address}");
            prop_assert!(!is_node_role(change.after.as_ref()), "{address}");
            let cluster = address.cluster.as_ref().and_then(|c| live.clusters.get(c));
            if address.kind == Kind::AwsAuth {
                let live_node = cluster
                    .and_then(|c| c.aws_auth.as_ref())
                    .is_some_and(|auth| {
                        auth.entries.iter().any(|e| e.arn == address.name && e.is_node_role())
                    });
                prop_assert!(!live_node, "node-role entry changed: {address}");
            }
            if address.kind == Kind::AccessKey {
                // Only the keys of a user that declares `accessKeys` are accessctl's.
                let declares = desired
                    .state
                    .iam
                    .access_keys
                    .get(&address.name)
                    .is_some_and(|keys| keys.rotation.is_some());
                prop_assert!(declares, "keys of a user that declares none: {address}");
            }
            if address.kind == Kind::AccessEntry {
                let foreign = cluster
                    .and_then(|c| c.access_entries.get(&address.name))
                    .is_some_and(|entry| entry.kind != "STANDARD");
                prop_assert!(!foreign, "non-STANDARD access entry changed: {address}");
            }
            match live_owned(&live, address) {
                None => prop_assert_eq!(change.action, Action::Create, "{}", address),
                Some(true) => prop_assert!(
                    matches!(change.action, Action::Update | Action::Replace | Action::Delete),
                    "{} {:?}", address, change.action
                ),
                Some(false) => {
                    // Unowned: only ever taken over because it is declared and adopted.
                    prop_assert!(declared(&desired, address), "undeclared unowned: {address}");
                    prop_assert!(
                        matches!(change.action, Action::Adopt | Action::Replace),
                        "{} {:?}", address, change.action
                    );
                }
            }
            if change.action == Action::Delete {
                prop_assert!(!declared(&desired, address), "declared but deleted: {address}");
            }
            // An update always has something to show: a field, or merged aws-auth duplicates.
            if change.action == Action::Update {
                let merged = change.reason.as_deref().is_some_and(|r| r.contains("merged"));
                prop_assert!(!change.fields.is_empty() || merged, "empty update: {address}");
            }
        }
    }

    #[test]
    fn without_adoption_unowned_objects_are_refused_not_changed(
        desired in desired_state(),
        live in live_state(),
    ) {
        let options = PlanOptions { adopt_all: false, ..everything_allowed() };
        match plan(&desired, &live, &options) {
            Ok(plan) => prop_assert!(plan.changes.iter().all(|c| c.action != Action::Adopt)),
            Err(error) => {
                for problem in &error.problems {
                    let Problem::Unowned { address } = problem else {
                        return Err(TestCaseError::fail(format!("not overridden: {problem:?}")));
                    };
                    prop_assert!(declared(&desired, address), "{address}");
                    prop_assert_eq!(live_owned(&live, address), Some(false), "{}", address);
                }
            }
        }
    }

    #[test]
    fn the_same_input_gives_the_same_plan(desired in desired_state(), live in live_state()) {
        for options in [PlanOptions::default(), everything_allowed()] {
            let first = plan(&desired, &live, &options);
            let second = plan(&desired, &live, &options);
            prop_assert_eq!(&first, &second);
            if let (Ok(first), Ok(second)) = (first, second) {
                let first = serde_json::to_string(&first).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let second = serde_json::to_string(&second).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(first, second);
            }
        }
    }
}

/// The generators reach every action and every override, so the properties above are not
/// vacuous.
#[test]
fn generators_reach_every_action_and_override() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut actions = BTreeSet::new();
    let mut overrides = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    // Members the file does not declare, taken out of the groups accessctl owns.
    let mut membership_removals = 0;
    for _ in 0..128 {
        let (Ok(desired), Ok(live)) = (
            desired_state().new_tree(&mut runner),
            live_state().new_tree(&mut runner),
        ) else {
            panic!("generators failed");
        };
        let Ok(plan) = plan(&desired.current(), &live.current(), &everything_allowed()) else {
            panic!("refused with every override");
        };
        for change in &plan.changes {
            actions.insert(change.action);
            kinds.insert(change.address.kind);
            if change.address.kind == Kind::Group
                && change.fields.iter().any(|field| field.path == "members")
            {
                membership_removals += 1;
            }
        }
        overrides.extend(plan.overrides);
    }
    assert!(membership_removals > 0, "no group lost a member");
    assert_eq!(actions.len(), 5, "{actions:?}");
    assert_eq!(kinds.len(), Kind::ALL.len(), "{kinds:?}");
    assert_eq!(overrides.len(), 5, "{overrides:?}");
}
