//! Live IAM read benchmark against moto: 1,000 users, 1,000 roles, 200 groups and 500 customer
//! policies, all owned by accessctl, each principal with an attachment and an inline policy.
//!
//! Prints, for a no-change plan (accessctl's read + plan) and for a per-object read of the same
//! account (List* then per-object Get/List, as scripts do): wall time, IAM API calls and
//! memory. Figures are recorded in docs/performance.md.
//!
//! Run with `cargo bench --bench iam_read` (installs moto into `.venv` on first use).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

#[path = "../tests/moto/mod.rs"]
#[expect(
    dead_code,
    reason = "the test harness also resets servers; one fill needs no reset"
)]
mod moto;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

use accessctl::aws::{self, CallCounts, Clients, decode_document};
use accessctl::model::{Group, Iam, Policy, PolicyDocument, Role, State, User};
use accessctl::plan::{Desired, PlanOptions, plan};
use aws_sdk_iam::types::{PolicyScopeType, Tag};
use futures_util::{StreamExt, stream};

const ACCOUNT: &str = "123456789012";
const USERS: usize = 1_000;
const ROLES: usize = 1_000;
const GROUPS: usize = 200;
const POLICIES: usize = 500;
const GROUP_PATH: &str = "/accessctl/";
const POLICY_PATH: &str = "/accessctl/";
/// Requests in flight while filling moto and during the per-object read (the read's own
/// bound is 10 too).
const CONCURRENCY: usize = 10;

fn policy_document(index: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bucket-{index}","arn:aws:s3:::bucket-{index}/*"]}}]}}"#
    )
}

fn inline_document(index: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-{index}"}}]}}"#
    )
}

fn trust_document() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn document(text: &str) -> PolicyDocument {
    decode_document(text).unwrap_or_else(|error| panic!("benchmark document: {error}"))
}

fn owned() -> Tag {
    Tag::builder()
        .key("managed-by")
        .value("accessctl")
        .build()
        .expect("key and value set")
}

fn owned_tags() -> BTreeMap<String, String> {
    BTreeMap::from([("managed-by".to_string(), "accessctl".to_string())])
}

fn policy_arn(index: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy{POLICY_PATH}policy-{index:04}")
}

/// Runs `count` futures made by `make`, [`CONCURRENCY`] at a time.
async fn concurrently<F, Fut>(count: usize, make: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    stream::iter(0..count)
        .map(make)
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

/// Fills moto; returns the desired IAM that matches it exactly.
async fn fill(iam: &aws_sdk_iam::Client) -> Iam {
    concurrently(POLICIES, |index| async move {
        iam.create_policy()
            .policy_name(format!("policy-{index:04}"))
            .path(POLICY_PATH)
            .policy_document(policy_document(index))
            .tags(owned())
            .send()
            .await
            .expect("create policy");
    })
    .await;
    concurrently(GROUPS, |index| async move {
        let name = format!("group-{index:03}");
        iam.create_group()
            .group_name(&name)
            .path(GROUP_PATH)
            .send()
            .await
            .expect("create group");
        iam.attach_group_policy()
            .group_name(&name)
            .policy_arn(policy_arn(index % POLICIES))
            .send()
            .await
            .expect("attach to group");
    })
    .await;
    concurrently(USERS, |index| async move {
        let name = format!("user-{index:04}");
        iam.create_user()
            .user_name(&name)
            .tags(owned())
            .send()
            .await
            .expect("create user");
        iam.add_user_to_group()
            .user_name(&name)
            .group_name(format!("group-{:03}", index % GROUPS))
            .send()
            .await
            .expect("membership");
        iam.attach_user_policy()
            .user_name(&name)
            .policy_arn(policy_arn(index % POLICIES))
            .send()
            .await
            .expect("attach to user");
        iam.put_user_policy()
            .user_name(&name)
            .policy_name("inline")
            .policy_document(inline_document(index))
            .send()
            .await
            .expect("user inline");
    })
    .await;
    concurrently(ROLES, |index| async move {
        let name = format!("role-{index:04}");
        iam.create_role()
            .role_name(&name)
            .assume_role_policy_document(trust_document())
            .tags(owned())
            .send()
            .await
            .expect("create role");
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(policy_arn((index + 7) % POLICIES))
            .send()
            .await
            .expect("attach to role");
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("inline")
            .policy_document(inline_document(index))
            .send()
            .await
            .expect("role inline");
    })
    .await;

    let mut desired = Iam::default();
    for index in 0..POLICIES {
        desired.policies.insert(
            format!("policy-{index:04}"),
            Policy {
                path: POLICY_PATH.into(),
                description: None,
                document: document(&policy_document(index)),
                tags: owned_tags(),
            },
        );
    }
    for index in 0..GROUPS {
        desired.groups.insert(
            format!("group-{index:03}"),
            Group {
                path: GROUP_PATH.into(),
                managed_policies: BTreeSet::from([policy_arn(index % POLICIES)]),
                inline_policies: BTreeMap::new(),
                members: BTreeSet::new(),
            },
        );
    }
    for index in 0..USERS {
        desired.users.insert(
            format!("user-{index:04}"),
            User {
                path: "/".into(),
                groups: BTreeSet::from([format!("group-{:03}", index % GROUPS)]),
                managed_policies: BTreeSet::from([policy_arn(index % POLICIES)]),
                inline_policies: BTreeMap::from([(
                    "inline".to_string(),
                    document(&inline_document(index)),
                )]),
                permissions_boundary: None,
                tags: owned_tags(),
            },
        );
    }
    for index in 0..ROLES {
        desired.roles.insert(
            format!("role-{index:04}"),
            Role {
                path: "/".into(),
                description: None,
                max_session_duration: 3600,
                trust: document(&trust_document()),
                managed_policies: BTreeSet::from([policy_arn((index + 7) % POLICIES)]),
                inline_policies: BTreeMap::from([(
                    "inline".to_string(),
                    document(&inline_document(index)),
                )]),
                permissions_boundary: None,
                tags: owned_tags(),
                role_id: None,
            },
        );
    }
    desired
}

/// Peak and current resident memory of this process, in MiB (Linux `/proc/self/status`).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

struct Figures {
    wall: Duration,
    calls: CallCounts,
    rss_before: f64,
    rss_after: f64,
    peak: f64,
}

async fn measure<F, Fut>(clients: &Clients, run: F) -> Figures
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let (_, rss_before) = memory();
    let before = clients.counter.snapshot();
    let started = Instant::now();
    run().await;
    let wall = started.elapsed();
    let calls = clients.counter.snapshot().since(&before);
    let (peak, rss_after) = memory();
    Figures {
        wall,
        calls,
        rss_before,
        rss_after,
        peak,
    }
}

/// The per-object read a script would do; returns how many objects it saw.
async fn per_object_read(iam: &aws_sdk_iam::Client) -> usize {
    let mut users = Vec::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        users.extend(
            page.expect("ListUsers")
                .users()
                .iter()
                .map(|user| user.user_name().to_string()),
        );
    }
    let mut roles = Vec::new();
    let mut pages = iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        roles.extend(
            page.expect("ListRoles")
                .roles()
                .iter()
                .map(|role| role.role_name().to_string()),
        );
    }
    let mut groups = Vec::new();
    let mut pages = iam.list_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        groups.extend(
            page.expect("ListGroups")
                .groups()
                .iter()
                .map(|group| group.group_name().to_string()),
        );
    }
    let mut policies = Vec::new();
    let mut pages = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        policies.extend(page.expect("ListPolicies").policies().iter().map(|policy| {
            (
                policy.arn().unwrap_or_default().to_string(),
                policy.default_version_id().unwrap_or_default().to_string(),
            )
        }));
    }
    let seen = users.len() + roles.len() + groups.len() + policies.len();

    stream::iter(users)
        .map(|name| async move {
            iam.list_attached_user_policies()
                .user_name(&name)
                .send()
                .await
                .expect("ListAttachedUserPolicies");
            let inline = iam
                .list_user_policies()
                .user_name(&name)
                .send()
                .await
                .expect("ListUserPolicies");
            for policy in inline.policy_names() {
                iam.get_user_policy()
                    .user_name(&name)
                    .policy_name(policy)
                    .send()
                    .await
                    .expect("GetUserPolicy");
            }
            iam.list_groups_for_user()
                .user_name(&name)
                .send()
                .await
                .expect("ListGroupsForUser");
            iam.list_user_tags()
                .user_name(&name)
                .send()
                .await
                .expect("ListUserTags");
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    stream::iter(roles)
        .map(|name| async move {
            iam.list_attached_role_policies()
                .role_name(&name)
                .send()
                .await
                .expect("ListAttachedRolePolicies");
            let inline = iam
                .list_role_policies()
                .role_name(&name)
                .send()
                .await
                .expect("ListRolePolicies");
            for policy in inline.policy_names() {
                iam.get_role_policy()
                    .role_name(&name)
                    .policy_name(policy)
                    .send()
                    .await
                    .expect("GetRolePolicy");
            }
            iam.list_role_tags()
                .role_name(&name)
                .send()
                .await
                .expect("ListRoleTags");
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    stream::iter(groups)
        .map(|name| async move {
            iam.list_attached_group_policies()
                .group_name(&name)
                .send()
                .await
                .expect("ListAttachedGroupPolicies");
            let inline = iam
                .list_group_policies()
                .group_name(&name)
                .send()
                .await
                .expect("ListGroupPolicies");
            for policy in inline.policy_names() {
                iam.get_group_policy()
                    .group_name(&name)
                    .policy_name(policy)
                    .send()
                    .await
                    .expect("GetGroupPolicy");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    stream::iter(policies)
        .map(|(arn, version)| async move {
            iam.get_policy_version()
                .policy_arn(&arn)
                .version_id(&version)
                .send()
                .await
                .expect("GetPolicyVersion");
            iam.list_policy_tags()
                .policy_arn(&arn)
                .send()
                .await
                .expect("ListPolicyTags");
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    seen
}

fn print(label: &str, figures: &Figures) {
    println!(
        "{label:<22} {:>8.2} s  {:>6} IAM calls  {:>2} STS calls  RSS {:.0} -> {:.0} MiB (process peak {:.0} MiB)",
        figures.wall.as_secs_f64(),
        figures
            .calls
            .0
            .iter()
            .filter(|(operation, _)| operation.starts_with("iam:"))
            .map(|(_, count)| count)
            .sum::<u64>(),
        figures.calls.get("sts:GetCallerIdentity"),
        figures.rss_before,
        figures.rss_after,
        figures.peak,
    );
    println!("    {}", figures.calls);
}

#[tokio::main]
async fn main() {
    let server = moto::Moto::start();
    let clients = server.clients();
    let filling = Instant::now();
    let desired_iam = fill(&clients.iam).await;
    println!(
        "moto started in {:.1} s; filled {USERS} users, {ROLES} roles, {GROUPS} groups, {POLICIES} policies in {:.1} s ({})",
        server.started_in.as_secs_f64(),
        filling.elapsed().as_secs_f64(),
        clients.counter.snapshot()
    );

    let desired = Desired {
        state: State {
            account: Some(ACCOUNT.to_string()),
            iam: desired_iam,
            ..State::default()
        },
        assume_role: None,
        adopt: BTreeSet::new(),
        group_path: GROUP_PATH.to_string(),
        policy_path: POLICY_PATH.to_string(),
    };
    let mut changes = usize::MAX;
    let no_change = measure(&clients, || async {
        let (live, _) = aws::read_state(&clients).await.expect("live read");
        let planned = plan(&desired, &live, &PlanOptions::default()).expect("plan");
        changes = planned.changes.len();
    })
    .await;
    assert_eq!(changes, 0, "the no-change plan has changes");

    let mut seen = 0;
    let per_object = measure(&clients, || async {
        seen = per_object_read(&clients.iam).await;
    })
    .await;
    assert_eq!(seen, USERS + ROLES + GROUPS + POLICIES);

    println!();
    print("no-change plan", &no_change);
    print("per-object read", &per_object);
    let iam_calls = |figures: &Figures| {
        figures
            .calls
            .0
            .iter()
            .filter(|(operation, _)| operation.starts_with("iam:"))
            .map(|(_, count)| *count)
            .sum::<u64>()
    };
    let (plan_calls, object_calls) = (iam_calls(&no_change), iam_calls(&per_object));
    println!(
        "ratio: {:.1}x fewer IAM calls; of the plan's {plan_calls}, iam:ListPolicyTags {}",
        object_calls as f64 / plan_calls.max(1) as f64,
        no_change.calls.get("iam:ListPolicyTags")
    );
}
