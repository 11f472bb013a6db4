//! The index against the forward search it replaces: on generated states (users, roles with
//! trust policies naming the account, a role, a user or anyone, with and without conditions,
//! denies, paths, groups, customer and AWS-managed policies, several clusters with aws-auth
//! entries of every kind and access entries, bindings), every route, every `can-i` answer and
//! every `who-can` answer is the same as the old per-principal forward computation's.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::json;

use super::Reach;
use crate::insight::chain::{self, Answer, Certainty, MAX_HOPS, Reached, Route};
use crate::insight::iam_eval::{Analysis, Principal};
use crate::insight::rbac::{self, Request};
use crate::insight::who_can;
use crate::model::{
    AccessEntry, AccessScope, AuthenticationMode, AwsAuth, AwsAuthEntry, Binding, Cluster,
    DocumentKind, Group, MapKind, Meta, Policy, PolicyDocument, Role, RoleRef, RoleRefKind, State,
    Subject, SubjectKind, User,
};

/// The forward computation as it was before the index: a search from each principal through
/// every role, the mappings of every identity reached, the grants of each mapping.
mod oracle {
    use super::*;

    pub fn reachable_at_least(
        analysis: &Analysis<'_>,
        start: &Principal,
        floor: Certainty,
    ) -> Vec<Reached> {
        let state = analysis.state();
        let mut reached: Vec<Reached> = vec![Reached {
            principal: start.clone(),
            hops: Vec::new(),
            certainty: Certainty::Yes,
        }];
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        seen.insert(start.arn.clone(), 0);
        // Only a role whose trust has an unconditional `Allow` can be surely assumed: when only
        // sure hops count, the others are not asked about at all.
        let candidates: BTreeSet<&str> = state
            .iam
            .roles
            .iter()
            .filter(|(_, role)| {
                floor > Certainty::Yes
                    || role.trust.statements().iter().any(|statement| {
                        statement.effect() == crate::model::policy::Effect::Allow
                            && !statement.has_condition()
                            && statement.matches_action("sts:AssumeRole")
                    })
            })
            .map(|(name, _)| name.as_str())
            .collect();
        let mut queue = VecDeque::from([0_usize]);
        while let Some(index) = queue.pop_front() {
            let current = reached[index].clone();
            if current.hops.len() >= MAX_HOPS {
                continue;
            }
            // Every role asked, not the screened list of `Analysis::assumable`.
            let assumable: Vec<(&str, crate::insight::iam_eval::Decision)> = state
                .iam
                .roles
                .keys()
                .map(|role| (role.as_str(), analysis.can_assume(&current.principal, role)))
                .filter(|(_, decision)| decision.may_allow())
                .collect();
            for (role_name, decision) in assumable
                .iter()
                .filter(|(role_name, _)| candidates.contains(role_name))
            {
                let Some(role) = Principal::role(state, role_name) else {
                    continue;
                };
                let certainty = Certainty::of(decision);
                if certainty == Certainty::No || certainty > floor {
                    continue;
                }
                let total = current.certainty.and(certainty);
                if let Some(&known) = seen.get(&role.arn) {
                    // Breadth first: a later find is never shorter; take it only when surer.
                    let existing = &mut reached[known];
                    if known != 0
                        && total < existing.certainty
                        && existing.hops.len() == current.hops.len() + 1
                    {
                        let mut hops = current.hops.clone();
                        hops.push(chain::hop(&current.principal, &role, certainty, decision));
                        existing.hops = hops;
                        existing.certainty = total;
                    }
                    continue;
                }
                let mut hops = current.hops.clone();
                hops.push(chain::hop(&current.principal, &role, certainty, decision));
                seen.insert(role.arn.clone(), reached.len());
                queue.push_back(reached.len());
                reached.push(Reached {
                    principal: role,
                    hops,
                    certainty: total,
                });
            }
        }
        reached
    }

    /// Every route from `start` into the clusters of the state (or just `only`).
    pub fn routes(analysis: &Analysis<'_>, start: &Principal, only: Option<&str>) -> Vec<Route> {
        let state = analysis.state();
        let reached = reachable_at_least(analysis, start, Certainty::Possibly);
        let mut routes = Vec::new();
        for (name, cluster) in &state.clusters {
            if only.is_some_and(|wanted| wanted != name) {
                continue;
            }
            for found in &reached {
                for mapping in chain::mappings(cluster, &found.principal) {
                    let grants = rbac::grants(cluster, &mapping.identity, &mapping.access_policies);
                    let grants = chain::marked(cluster, &mapping, grants).into();
                    routes.push(Route {
                        cluster: name.clone(),
                        principal: found.principal.clone(),
                        hops: found.hops.clone(),
                        certainty: found.certainty,
                        mapping,
                        grants,
                    });
                }
            }
        }
        routes
    }

    /// Answers per cluster (only the one asked when `only` is set).
    pub fn can(
        analysis: &Analysis<'_>,
        start: &Principal,
        request: &Request,
        only: Option<&str>,
    ) -> Vec<Answer> {
        let state = analysis.state();
        let routes = routes(analysis, start, only);
        let mut answers = Vec::new();
        for name in state.clusters.keys() {
            if only.is_some_and(|wanted| wanted != name) {
                continue;
            }
            let mut best: Option<Answer> = None;
            for route in routes.iter().filter(|route| &route.cluster == name) {
                let Some((marked, rule)) = route.grants.iter().find_map(|marked| {
                    rbac::allowing(std::slice::from_ref(&marked.grant), request)
                        .map(|(_, rule)| (marked, rule))
                }) else {
                    continue;
                };
                let certainty = route.certainty;
                let better = match &best {
                    None => true,
                    Some(current) => {
                        let current_hops =
                            current.route.as_ref().map_or(usize::MAX, |r| r.hops.len());
                        (certainty, route.hops.len()) < (current.certainty, current_hops)
                    }
                };
                if better {
                    best = Some(Answer {
                        cluster: name.clone(),
                        certainty,
                        grant: Some(marked.grant.source.clone()),
                        grant_unmanaged: marked.unmanaged,
                        rule: Some(rbac::describe_rule(rule)),
                        route: Some(route.clone()),
                    });
                }
            }
            answers.push(best.unwrap_or(Answer {
                cluster: name.clone(),
                certainty: Certainty::No,
                route: None,
                grant: None,
                grant_unmanaged: false,
                rule: None,
            }));
        }
        answers
    }

    /// `who-can` as it was: every principal asked on its own.
    pub fn who_can(state: &State, request: &Request, only: Option<&str>) -> Vec<who_can::Holder> {
        let analysis = Analysis::new(state);
        let mut holders: Vec<who_can::Holder> = chain::all_principals(state)
            .into_iter()
            .flat_map(|principal| {
                can(&analysis, &principal, request, only)
                    .into_iter()
                    .filter(|answer| answer.certainty != Certainty::No)
                    .map(move |answer| who_can::Holder {
                        principal: principal.clone(),
                        answer,
                    })
            })
            .collect();
        holders.sort_by(|a, b| {
            (a.answer.certainty, &a.answer.cluster, &a.principal).cmp(&(
                b.answer.certainty,
                &b.answer.cluster,
                &b.principal,
            ))
        });
        holders
    }
}

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn document(statements: Vec<serde_json::Value>) -> PolicyDocument {
    PolicyDocument::from_value(
        &json!({"Version": "2012-10-17", "Statement": statements}),
        DocumentKind::Any,
    )
    .expect("a valid document")
}

/// The path of role or user `index`: every third is under `/team/`.
fn path(index: usize) -> &'static str {
    if index.is_multiple_of(3) {
        "/team/"
    } else {
        "/"
    }
}

fn role_arn(index: usize, with_path: bool) -> String {
    let path = if with_path { path(index) } else { "/" };
    format!("arn:aws:iam::{ACCOUNT}:role{path}r{index}")
}

fn user_arn(index: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user{}u{index}", path(index))
}

/// A generated trust statement: (effect allow, principal choice, condition, action choice).
type TrustSpec = (bool, u8, bool, u8);
/// A generated identity statement: (effect allow, resource choice, condition, action choice).
type PolicySpec = (bool, u8, bool, u8);

fn trust_statement(spec: TrustSpec, roles: usize, users: usize) -> serde_json::Value {
    let (allow, principal, condition, action) = spec;
    let principal = match principal % 7 {
        0 | 1 => json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}),
        2 => json!({"AWS": role_arn(usize::from(principal) % roles.max(1), principal % 2 == 0)}),
        3 => json!({"AWS": user_arn(usize::from(principal) % users.max(1))}),
        4 => json!({"AWS": "*"}),
        5 => json!({"AWS": ACCOUNT}),
        _ => json!({"AWS": format!("arn:aws:iam::{OTHER}:root")}),
    };
    let action = match action % 4 {
        0 | 1 => "sts:AssumeRole",
        2 => "sts:*",
        _ => "sts:TagSession",
    };
    let mut statement = json!({
        "Effect": if allow { "Allow" } else { "Deny" },
        "Principal": principal,
        "Action": action,
    });
    if condition {
        statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": "x"}});
    }
    statement
}

fn policy_statement(spec: PolicySpec, roles: usize) -> serde_json::Value {
    let (allow, resource, condition, action) = spec;
    let resource = match resource % 5 {
        0 => json!("*"),
        1 => json!(format!("arn:aws:iam::{ACCOUNT}:role/*")),
        2 => json!(format!("arn:aws:iam::{ACCOUNT}:role/team/*")),
        _ => json!(role_arn(usize::from(resource) % roles.max(1), true)),
    };
    let action = match action % 4 {
        0 | 1 => "sts:AssumeRole",
        2 => "sts:*",
        _ => "s3:GetObject",
    };
    let mut statement = json!({
        "Effect": if allow { "Allow" } else { "Deny" },
        "Action": action,
        "Resource": resource,
    });
    if condition {
        statement["Condition"] = json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}});
    }
    statement
}

/// A generated aws-auth entry: (kind, who, username, group).
type EntrySpec = (u8, u8, bool, u8);
/// A generated binding: (cluster-wide, role choice, subject kind, subject choice).
type BindingSpec = (bool, u8, u8, u8);
/// A generated cluster: (authentication mode, aws-auth entries, access entries (who, policy,
/// group), bindings).
type ClusterSpec = (u8, Vec<EntrySpec>, Vec<(u8, u8, u8)>, Vec<BindingSpec>);

const GROUPS: [&str; 4] = ["system:masters", "team-a", "team-b", "viewers"];

#[derive(Debug, Clone)]
struct Spec {
    roles: Vec<(Vec<TrustSpec>, Vec<PolicySpec>, bool)>,
    users: Vec<(Vec<PolicySpec>, u8, bool)>,
    groups: Vec<Vec<PolicySpec>>,
    clusters: Vec<ClusterSpec>,
    /// A ladder: role `i` may assume role `i + 1` for `i` below it (some hops only under a
    /// condition), and the first cluster maps the top role: chains of every length.
    ladder: (usize, u8),
}

fn spec() -> impl Strategy<Value = Spec> {
    let flag = any::<bool>();
    let statement = (
        prop::bool::weighted(0.85),
        any::<u8>(),
        prop::bool::weighted(0.2),
        any::<u8>(),
    );
    let role = (
        prop::collection::vec(statement, 1..3),
        prop::collection::vec(statement, 0..3),
        flag,
    );
    let user = (prop::collection::vec(statement, 0..3), any::<u8>(), flag);
    let group = prop::collection::vec(statement, 0..2);
    let entry = (any::<u8>(), any::<u8>(), flag, any::<u8>());
    let access_entry = (any::<u8>(), any::<u8>(), any::<u8>());
    let binding = (flag, any::<u8>(), any::<u8>(), any::<u8>());
    let cluster = (
        any::<u8>(),
        prop::collection::vec(entry, 0..5),
        prop::collection::vec(access_entry, 0..3),
        prop::collection::vec(binding, 0..4),
    );
    (
        prop::collection::vec(role, 1..9),
        prop::collection::vec(user, 0..5),
        prop::collection::vec(group, 0..3),
        prop::collection::vec(cluster, 1..3),
        (0..8_usize, any::<u8>()),
    )
        .prop_map(|(roles, users, groups, clusters, ladder)| Spec {
            roles,
            users,
            groups,
            clusters,
            ladder,
        })
}

fn tags(managed: bool) -> BTreeMap<String, String> {
    if managed {
        BTreeMap::from([("managed-by".to_string(), "accessctl".to_string())])
    } else {
        BTreeMap::new()
    }
}

fn build(spec: &Spec) -> State {
    let (roles, users) = (spec.roles.len(), spec.users.len());
    let mut state = State {
        account: Some(ACCOUNT.to_string()),
        ..State::default()
    };
    state.iam.policies.insert(
        "assume-team".to_string(),
        Policy {
            path: "/".to_string(),
            description: None,
            document: document(vec![policy_statement((true, 2, false, 0), roles)]),
            tags: BTreeMap::new(),
        },
    );
    for (index, statements) in spec.groups.iter().enumerate() {
        let mut group = Group::default();
        if !statements.is_empty() {
            let statements = statements
                .iter()
                .map(|s| policy_statement(*s, roles))
                .collect();
            group
                .inline_policies
                .insert("p".to_string(), document(statements));
        }
        if index == 1 {
            group
                .managed_policies
                .insert(format!("arn:aws:iam::{ACCOUNT}:policy/assume-team"));
        }
        state.iam.groups.insert(format!("g{index}"), group);
    }
    let (ladder, doubts) = (spec.ladder.0.min(roles - 1), spec.ladder.1);
    for (index, (trust, policy, managed)) in spec.roles.iter().enumerate() {
        let mut trust: Vec<serde_json::Value> = trust
            .iter()
            .map(|s| trust_statement(*s, roles, users))
            .collect();
        let mut policy: Vec<serde_json::Value> =
            policy.iter().map(|s| policy_statement(*s, roles)).collect();
        if index < ladder {
            policy.push(json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn(index + 1, true)}));
        }
        if index > 0 && index <= ladder {
            trust.push(trust_statement(
                (true, 0, doubts & (1 << index) != 0, 0),
                roles,
                users,
            ));
        }
        let mut inline = BTreeMap::new();
        if !policy.is_empty() {
            inline.insert("p".to_string(), document(policy));
        }
        state.iam.roles.insert(
            format!("r{index}"),
            Role {
                path: path(index).to_string(),
                description: None,
                max_session_duration: 3600,
                trust: document(trust),
                managed_policies: BTreeSet::new(),
                inline_policies: inline,
                permissions_boundary: None,
                tags: tags(*managed),
                role_id: None,
            },
        );
    }
    for (index, (policy, extra, managed)) in spec.users.iter().enumerate() {
        let mut user = User {
            path: path(index).to_string(),
            tags: tags(*managed),
            ..User::default()
        };
        if !policy.is_empty() {
            let statements = policy.iter().map(|s| policy_statement(*s, roles)).collect();
            user.inline_policies
                .insert("p".to_string(), document(statements));
        }
        if !spec.groups.is_empty() {
            user.groups
                .insert(format!("g{}", usize::from(*extra) % spec.groups.len()));
        }
        match extra % 5 {
            0 => {
                user.managed_policies
                    .insert("arn:aws:iam::aws:policy/AdministratorAccess".to_string());
            }
            1 => {
                user.managed_policies
                    .insert(format!("arn:aws:iam::{ACCOUNT}:policy/not-read"));
            }
            2 => {
                user.permissions_boundary =
                    Some(format!("arn:aws:iam::{ACCOUNT}:policy/assume-team"));
            }
            _ => {}
        }
        state.iam.users.insert(format!("u{index}"), user);
    }
    for (index, (mode, entries, access, bindings)) in spec.clusters.iter().enumerate() {
        let mut cluster = Cluster {
            authentication: match mode % 3 {
                0 => AuthenticationMode::ConfigMap,
                1 => AuthenticationMode::AccessEntries,
                _ => AuthenticationMode::Both,
            },
            ..Cluster::default()
        };
        let mut aws_auth = AwsAuth::default();
        for &(kind, who, named, group) in entries {
            let group = GROUPS[usize::from(group) % GROUPS.len()].to_string();
            let (kind, arn) = match kind % 5 {
                0 | 1 => (
                    MapKind::MapRoles,
                    role_arn(usize::from(who) % roles, who % 2 == 0),
                ),
                2 => (
                    MapKind::MapUsers,
                    if users == 0 || who % 4 == 0 {
                        format!("arn:aws:iam::{ACCOUNT}:user/outsider")
                    } else {
                        user_arn(usize::from(who) % users)
                    },
                ),
                3 => (
                    MapKind::MapRoles,
                    format!("arn:aws:iam::{OTHER}:role/partner"),
                ),
                _ => (MapKind::MapAccounts, ACCOUNT.to_string()),
            };
            if who % 3 == 0 {
                aws_auth.managed.insert(arn.clone());
            }
            aws_auth.entries.push(AwsAuthEntry {
                kind,
                arn,
                username: named.then(|| format!("name-{who}")),
                groups: vec![group],
            });
        }
        if index == 0 && ladder > 0 {
            aws_auth.entries.push(AwsAuthEntry {
                kind: MapKind::MapRoles,
                arn: role_arn(ladder, false),
                username: None,
                groups: vec![GROUPS[usize::from(doubts) % GROUPS.len()].to_string()],
            });
        }
        cluster.aws_auth = Some(aws_auth);
        for &(who, policy, group) in access {
            let arn = match who % 3 {
                0 => role_arn(usize::from(who) % roles, true),
                1 if users > 0 => user_arn(usize::from(who) % users),
                _ => format!("arn:aws:iam::{OTHER}:role/auditor"),
            };
            let mut entry = AccessEntry {
                kind: "STANDARD".to_string(),
                username: (who % 2 == 0).then(|| format!("entry-{who}")),
                groups: BTreeSet::from([GROUPS[usize::from(group) % GROUPS.len()].to_string()]),
                policies: BTreeMap::new(),
                tags: tags(group % 2 == 0),
                principal_id: None,
            };
            let policy_arn = |name: &str| format!("arn:aws:eks::aws:cluster-access-policy/{name}");
            match policy % 3 {
                0 => {
                    entry
                        .policies
                        .insert(policy_arn("AmazonEKSViewPolicy"), AccessScope::Cluster);
                }
                1 => {
                    entry.policies.insert(
                        policy_arn("AmazonEKSEditPolicy"),
                        AccessScope::Namespace {
                            namespaces: BTreeSet::from(["a".to_string()]),
                        },
                    );
                }
                _ => {}
            }
            cluster.access_entries.insert(arn, entry);
        }
        for (position, &(wide, role, kind, who)) in bindings.iter().enumerate() {
            let role = ["view", "edit", "cluster-admin", "admin"][usize::from(role) % 4];
            let subject = match kind % 3 {
                0 => Subject {
                    kind: SubjectKind::Group,
                    name: GROUPS[usize::from(who) % GROUPS.len()].to_string(),
                    namespace: None,
                },
                1 => Subject {
                    kind: SubjectKind::User,
                    name: format!("name-{who}"),
                    namespace: None,
                },
                _ => Subject {
                    kind: SubjectKind::User,
                    name: role_arn(usize::from(who) % roles, false),
                    namespace: None,
                },
            };
            let mut meta = Meta::default();
            if who % 2 == 0 {
                meta.labels.insert(
                    crate::model::MANAGED_BY_LABEL.to_string(),
                    crate::model::MANAGED_BY_VALUE.to_string(),
                );
            }
            let binding = Binding {
                meta,
                role_ref: RoleRef {
                    kind: RoleRefKind::ClusterRole,
                    name: role.to_string(),
                },
                subjects: BTreeSet::from([subject]),
            };
            if wide {
                cluster
                    .cluster_role_bindings
                    .insert(format!("b{position}"), binding);
            } else {
                cluster
                    .role_bindings
                    .insert(format!("a/b{position}"), binding);
            }
        }
        state.clusters.insert(format!("c{index}"), cluster);
    }
    state
}

fn requests() -> Vec<Request> {
    vec![
        rbac::parse_request("delete", "nodes", None, None),
        rbac::parse_request("get", "pods", None, Some("a")),
        rbac::parse_request("create", "deployments.apps", None, Some("b")),
        rbac::parse_request("get", "/healthz", None, None),
        rbac::parse_request("list", "secrets", None, None),
    ]
}

fn as_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("serializable")
}

/// Principals to ask: every one of the state, and one outside it that assumes roles.
fn asked(state: &State) -> Vec<Principal> {
    let mut principals = chain::all_principals(state);
    principals.push(Principal::external(
        "stranger",
        &format!("arn:aws:iam::{OTHER}:user/stranger"),
    ));
    principals
}

fn check(state: &State) {
    let reach = Reach::new(state);
    let analysis = Analysis::new(state);
    let mut onlies: Vec<Option<&str>> = vec![None];
    onlies.extend(state.clusters.keys().map(|name| Some(name.as_str())));
    for principal in asked(state) {
        let label = principal.label();
        for floor in [Certainty::Possibly, Certainty::Yes] {
            assert_eq!(
                chain::reachable_at_least(&analysis, &principal, floor),
                oracle::reachable_at_least(&analysis, &principal, floor),
                "reachable from {label} at least {floor:?}"
            );
        }
        for only in &onlies {
            let routes: Vec<Route> = reach.routes(&principal, *only);
            assert_eq!(
                routes,
                oracle::routes(&analysis, &principal, *only),
                "routes of {label}"
            );
            assert_eq!(
                chain::routes(&analysis, &principal, *only),
                routes,
                "routes of {label}, unindexed"
            );
            for request in requests() {
                let answers: Vec<Answer> = reach.can(&principal, &request, *only);
                let expected = oracle::can(&analysis, &principal, &request, *only);
                assert_eq!(
                    as_json(&answers),
                    as_json(&expected),
                    "can {label} {request:?}"
                );
                assert_eq!(
                    as_json(&chain::can(&analysis, &principal, &request, *only)),
                    as_json(&expected),
                    "can {label} {request:?}, unindexed"
                );
            }
        }
    }
    for only in &onlies {
        for request in requests() {
            assert_eq!(
                as_json(&who_can::who_can_in(&reach, &request, *only)),
                as_json(&oracle::who_can(state, &request, *only)),
                "who-can {request:?} in {only:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_index_answers_as_the_forward_search(spec in spec()) {
        let state = build(&spec);
        check(&state);
    }
}

/// The generator makes states where chains matter: some principal reaches a cluster through
/// two hops or more, and some answer is only "possibly".
#[test]
fn generated_states_have_long_and_doubtful_chains() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut long, mut doubtful, mut answered) = (0, 0, 0);
    for _ in 0..64 {
        let spec = spec().new_tree(&mut runner).expect("a state").current();
        let state = build(&spec);
        let reach = Reach::new(&state);
        for request in requests() {
            for (_, answer) in reach.who_can(&request, None) {
                answered += 1;
                let hops = answer.route.as_ref().map_or(0, |route| route.hops.len());
                long += usize::from(hops >= 2);
                doubtful += usize::from(answer.certainty == Certainty::Possibly);
            }
        }
    }
    assert!(
        long > 0 && doubtful > 0 && answered > 50,
        "{long} {doubtful} {answered}"
    );
}
