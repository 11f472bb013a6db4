//! Insight over the live estate: `who-can --live`, `can-i --live` and `explain --live` on a
//! cluster with 3,000 RBAC objects and an account with 5,000 IAM principals.
//!
//! Fills the in-memory API server of the tests with ClusterRoles (one in ten aggregated by
//! label), Roles, ClusterRoleBindings and RoleBindings whose subjects are users, groups and
//! service accounts (half of them not accessctl's), the bootstrap `cluster-admin` binding, and an
//! aws-auth mapping a few hundred of the principals; fills moto with users and roles (half not
//! accessctl's), groups and customer policies, some of which allow `sts:AssumeRole` on ranges of
//! roles that trust the account.
//!
//! Measures apart, through the library functions the commands call:
//! - the live read (`live::read` with `ReadScope::Everything`): wall time, AWS calls, Kubernetes
//!   requests;
//! - the answer after the read: `who-can` (principals and subjects) for several requests,
//!   `can-i` and `explain`, each the median of several runs;
//!
//! then runs the real binary (`who-can --live`) once for the end-to-end figure. Prints the peak
//! resident memory (VmHWM: moto runs in its own process; the API server's copy of the objects
//! is included). Sizes come from the environment, to try small first:
//! `INSIGHT_USERS` (2,500), `INSIGHT_ROLES` (2,500), `INSIGHT_RBAC` (3,000),
//! `INSIGHT_AWS_AUTH` (300), `INSIGHT_RUNS` (5).
//!
//! Run with `cargo bench --bench insight` (installs moto into `.venv` on first use). Figures are
//! recorded in docs/performance.md.

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

#[path = "../tests/support/kube_server/mod.rs"]
// `allow`, not `expect`: whether these fire depends on the build (clippy --all-targets compiles
// the server's `#[cfg(test)]` modules without a test harness, leaving their imports unused).
#[allow(
    dead_code,
    unused_imports,
    reason = "the benchmark uses a part of the test server's API and none of its unit tests"
)]
mod kube_server;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accessctl::insight::chain::{self, resolve_principal};
use accessctl::insight::iam_eval::Analysis;
use accessctl::insight::reach::Reach;
use accessctl::insight::{explain, rbac, who_can};
use accessctl::kube::ClusterClient;
use accessctl::live::{self, Connections};
use accessctl::model::{Cluster, ReadScope, State};
use aws_sdk_iam::types::Tag;
use futures_util::{StreamExt, stream};
use kube_server::KubeServer;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const CLUSTER: &str = "bench";
const REGION: &str = "us-east-1";
const GROUPS: usize = 50;
const POLICIES: usize = 200;
const NAMESPACES: usize = 50;
const SERVICE_ACCOUNTS: usize = 200;
/// Requests in flight while filling moto (as the other benchmarks).
const CONCURRENCY: usize = 10;

/// The sizes, from the environment.
struct Sizes {
    users: usize,
    roles: usize,
    rbac: usize,
    aws_auth: usize,
    runs: usize,
}

impl Sizes {
    fn from_env() -> Self {
        let read = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        Sizes {
            users: read("INSIGHT_USERS", 2_500),
            roles: read("INSIGHT_ROLES", 2_500),
            rbac: read("INSIGHT_RBAC", 3_000),
            aws_auth: read("INSIGHT_AWS_AUTH", 300),
            runs: read("INSIGHT_RUNS", 5).max(1),
        }
    }
}

// ---- IAM ----

/// Policy `index`: S3 reads; one in five also allows `sts:AssumeRole` on the hundred roles
/// `role-NN..` (NN = index % 25); one in seven denies `iam:*` without MFA (a condition).
fn policy_document(index: usize) -> String {
    let mut statements = vec![format!(
        r#"{{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bucket-{index}","arn:aws:s3:::bucket-{index}/*"]}}"#
    )];
    if index.is_multiple_of(5) {
        statements.push(format!(
            r#"{{"Sid":"Assume","Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{ACCOUNT}:role/role-{:02}*"}}"#,
            index % 25
        ));
    }
    if index.is_multiple_of(7) {
        statements.push(
            r#"{"Sid":"NoMfa","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}"#
                .to_string(),
        );
    }
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

/// Role `index` trusts the account; one in ten only with an external id (a condition).
fn trust_document(index: usize) -> String {
    let condition = if index.is_multiple_of(10) {
        format!(r#","Condition":{{"StringEquals":{{"sts:ExternalId":"ext-{index}"}}}}"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"{condition}}}]}}"#
    )
}

fn policy_arn(index: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/accessctl/policy-{index:03}")
}

/// Even-numbered principals are accessctl's (tagged), odd ones were made by hand.
fn tags(index: usize) -> Vec<Tag> {
    if index % 2 == 1 {
        return Vec::new();
    }
    vec![
        Tag::builder()
            .key("managed-by")
            .value("accessctl")
            .build()
            .expect("key and value set"),
    ]
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

async fn fill_iam(iam: &aws_sdk_iam::Client, sizes: &Sizes) {
    concurrently(POLICIES, |index| async move {
        iam.create_policy()
            .policy_name(format!("policy-{index:03}"))
            .path("/accessctl/")
            .policy_document(policy_document(index))
            .send()
            .await
            .expect("create policy");
    })
    .await;
    concurrently(GROUPS, |index| async move {
        let name = format!("group-{index:02}");
        iam.create_group()
            .group_name(&name)
            .path("/accessctl/")
            .send()
            .await
            .expect("create group");
        iam.attach_group_policy()
            .group_name(&name)
            .policy_arn(policy_arn(index * 5 % POLICIES))
            .send()
            .await
            .expect("attach to group");
    })
    .await;
    concurrently(sizes.users, |index| async move {
        let name = format!("user-{index:04}");
        iam.create_user()
            .user_name(&name)
            .set_tags(Some(tags(index)))
            .send()
            .await
            .expect("create user");
        iam.add_user_to_group()
            .user_name(&name)
            .group_name(format!("group-{:02}", index % GROUPS))
            .send()
            .await
            .expect("membership");
        iam.attach_user_policy()
            .user_name(&name)
            .policy_arn(policy_arn(index % POLICIES))
            .send()
            .await
            .expect("attach to user");
    })
    .await;
    concurrently(sizes.roles, |index| async move {
        let name = format!("role-{index:04}");
        iam.create_role()
            .role_name(&name)
            .assume_role_policy_document(trust_document(index))
            .set_tags(Some(tags(index)))
            .send()
            .await
            .expect("create role");
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(policy_arn((index + 7) % POLICIES))
            .send()
            .await
            .expect("attach to role");
    })
    .await;
}

// ---- Kubernetes ----

fn metadata(name: &str, namespace: Option<&str>, index: usize, extra: &[(&str, String)]) -> Value {
    let mut labels = serde_json::Map::new();
    if index.is_multiple_of(2) {
        labels.insert("app.kubernetes.io/managed-by".into(), "accessctl".into());
    }
    for (key, value) in extra {
        labels.insert((*key).to_string(), value.clone().into());
    }
    let mut metadata = json!({"name": name, "labels": labels});
    if let Some(namespace) = namespace {
        metadata["namespace"] = namespace.into();
    }
    metadata
}

/// Rules of role `index`: reads of pods and deployments, deletes of one named job; one in
/// forty adds `delete nodes`, one in thirty `get pods/log`, one in fifty `get /metrics*`.
fn rules(index: usize, cluster_scoped: bool) -> Value {
    let mut rules = vec![
        json!({"apiGroups": ["", "apps"], "resources": ["pods", format!("deployments-{index}")], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": ["batch"], "resources": ["jobs"], "resourceNames": [format!("job-{index}")], "verbs": ["create", "delete"]}),
    ];
    if index.is_multiple_of(40) {
        rules.push(json!({"apiGroups": [""], "resources": ["nodes"], "verbs": ["delete"]}));
    }
    if index.is_multiple_of(30) {
        rules.push(json!({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}));
    }
    if cluster_scoped && index.is_multiple_of(50) {
        rules.push(json!({"nonResourceURLs": ["/metrics*"], "verbs": ["get"]}));
    }
    Value::Array(rules)
}

/// Subjects of binding `index`: a user, a group and a service account.
fn subjects(index: usize) -> Value {
    json!([
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{index:04}")},
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": format!("team-{:02}", index % 20)},
        {"kind": "ServiceAccount", "name": format!("sa-{}", index % SERVICE_ACCOUNTS), "namespace": format!("team-{}", index % NAMESPACES)},
    ])
}

/// Seeds `rbac` RBAC objects (20% ClusterRoles, 30% Roles, 20% ClusterRoleBindings, 30%
/// RoleBindings, the bootstrap `cluster-admin` pair among them), service accounts and aws-auth.
fn seed_cluster(server: &KubeServer, sizes: &Sizes) -> usize {
    const RBAC_GROUP: &str = "rbac.authorization.k8s.io/v1";
    let mut seeded = 0;
    let mut put = |object: Value| {
        server.seed(&object);
        seeded += 1;
    };
    for index in 0..NAMESPACES {
        server.seed(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("team-{index}")}}));
    }
    let bootstrap = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    put(json!({
        "apiVersion": RBAC_GROUP, "kind": "ClusterRole",
        "metadata": {"name": "cluster-admin", "labels": bootstrap},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    }));
    put(json!({
        "apiVersion": RBAC_GROUP, "kind": "ClusterRoleBinding",
        "metadata": {"name": "cluster-admin", "labels": bootstrap},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:masters"}],
    }));
    let rest = sizes.rbac.saturating_sub(2);
    let cluster_roles = rest / 5;
    let roles = rest * 3 / 10;
    let cluster_bindings = rest / 5;
    let role_bindings = rest - cluster_roles - roles - cluster_bindings;
    for index in 0..cluster_roles {
        // One in ten aggregates the nine after it (by label).
        let aggregate = index / 10 * 10;
        let role = if index.is_multiple_of(10) {
            json!({
                "apiVersion": RBAC_GROUP, "kind": "ClusterRole",
                "metadata": metadata(&format!("reader-{index}"), None, index, &[]),
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"bench/aggregate-to": format!("reader-{aggregate}")}}]},
                "rules": [],
            })
        } else {
            json!({
                "apiVersion": RBAC_GROUP, "kind": "ClusterRole",
                "metadata": metadata(&format!("reader-{index}"), None, index, &[("bench/aggregate-to", format!("reader-{aggregate}"))]),
                "rules": rules(index, true),
            })
        };
        put(role);
    }
    for index in 0..roles {
        let namespace = format!("team-{}", index % NAMESPACES);
        put(json!({
            "apiVersion": RBAC_GROUP, "kind": "Role",
            "metadata": metadata(&format!("deployer-{index}"), Some(&namespace), index, &[]),
            "rules": rules(index, false),
        }));
    }
    for index in 0..cluster_bindings {
        put(json!({
            "apiVersion": RBAC_GROUP, "kind": "ClusterRoleBinding",
            "metadata": metadata(&format!("reader-{index}"), None, index, &[]),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("reader-{}", index % cluster_roles.max(1))},
            "subjects": subjects(index),
        }));
    }
    for index in 0..role_bindings {
        let namespace = format!("team-{}", index % NAMESPACES);
        // Every third binds a ClusterRole in the namespace.
        let role_ref = if index.is_multiple_of(3) {
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("reader-{}", index % cluster_roles.max(1))})
        } else {
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("deployer-{}", index % roles.max(1))})
        };
        put(json!({
            "apiVersion": RBAC_GROUP, "kind": "RoleBinding",
            "metadata": metadata(&format!("deployer-{index}"), Some(&namespace), index, &[]),
            "roleRef": role_ref,
            "subjects": subjects(index),
        }));
    }
    let rbac = seeded;
    for index in 0..SERVICE_ACCOUNTS {
        server.seed(&json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": format!("sa-{index}"), "namespace": format!("team-{}", index % NAMESPACES)},
        }));
    }
    // aws-auth: two thirds roles, one third users; one in fifty into system:masters.
    let mut map_roles = String::new();
    let mut map_users = String::new();
    for index in 0..sizes.aws_auth {
        let group = if index.is_multiple_of(50) {
            "system:masters".to_string()
        } else {
            format!("team-{:02}", index % 20)
        };
        if index % 3 == 2 {
            let user = index % sizes.users.max(1);
            map_users.push_str(&format!(
                "- userarn: arn:aws:iam::{ACCOUNT}:user/user-{user:04}\n  username: user-{user:04}\n  groups:\n  - {group}\n"
            ));
        } else {
            let role = index % sizes.roles.max(1);
            map_roles.push_str(&format!(
                "- rolearn: arn:aws:iam::{ACCOUNT}:role/role-{role:04}\n  username: role-{role:04}:{{{{SessionName}}}}\n  groups:\n  - {group}\n"
            ));
        }
    }
    server.seed(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapRoles": map_roles, "mapUsers": map_users},
    }));
    rbac
}

// ---- measuring ----

/// Peak resident memory of this process (Linux `/proc/self/status`).
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .map(|rest| rest.trim().to_string())
        })
        .unwrap_or_else(|| "n/a".to_string())
}

/// Median and minimum of `runs` runs of `run`, and its last result.
fn timed<T>(runs: usize, mut run: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(run());
        times.push(started.elapsed());
    }
    times.sort();
    (times[runs / 2], times[0], last.expect("at least one run"))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn access_yaml() -> String {
    format!(
        "version: 1\naccount: \"{ACCOUNT}\"\nclusters:\n  {CLUSTER}:\n    region: {REGION}\n    authentication: config-map\n"
    )
}

fn desired() -> State {
    let mut desired = State {
        account: Some(ACCOUNT.to_string()),
        ..State::default()
    };
    desired.clusters.insert(
        CLUSTER.to_string(),
        Cluster {
            region: Some(REGION.to_string()),
            ..Cluster::default()
        },
    );
    desired
}

/// A question: (label, verb, resource, subresource, namespace).
type Question = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const QUESTIONS: [Question; 5] = [
    ("delete nodes", "delete", "nodes", None, None),
    ("get pods -n team-3", "get", "pods", None, Some("team-3")),
    (
        "get pods/log -n team-0",
        "get",
        "pods",
        Some("log"),
        Some("team-0"),
    ),
    (
        "create jobs -n team-7",
        "create",
        "jobs",
        None,
        Some("team-7"),
    ),
    (
        "get /metrics/cadvisor",
        "get",
        "/metrics/cadvisor",
        None,
        None,
    ),
];

fn main() {
    let sizes = Sizes::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let moto = moto::Moto::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]);
    let server = runtime.block_on(KubeServer::start());
    let clients = moto.clients();
    let filling = Instant::now();
    runtime.block_on(async {
        moto.create_eks_cluster(ACCOUNT, CLUSTER, REGION).await;
        fill_iam(&clients.iam, &sizes).await;
    });
    let rbac = seed_cluster(&server, &sizes);
    println!(
        "insight: {} users + {} roles ({} principals), {GROUPS} groups, {POLICIES} policies; {rbac} RBAC objects, {SERVICE_ACCOUNTS} service accounts, {}-entry aws-auth; filled in {:.1} s",
        sizes.users,
        sizes.roles,
        sizes.users + sizes.roles,
        sizes.aws_auth,
        filling.elapsed().as_secs_f64()
    );

    // The live read, as `--live` does it (`live::read`, everything of the cluster).
    let desired = desired();
    let connections = runtime.block_on(async {
        let client = ClusterClient::connect_with_file(
            CLUSTER,
            &desired.clusters[CLUSTER],
            server.kubeconfig_path(),
        )
        .await
        .expect("connect");
        Connections {
            aws: clients.clone(),
            sdk: moto.sdk_config(),
            clusters: BTreeMap::from([(CLUSTER.to_string(), client)]),
            now: 0,
        }
    });
    let mut read_times = Vec::new();
    let mut live_state = None;
    let mut calls = None;
    let mut requests = 0;
    for _ in 0..sizes.runs {
        server.clear_requests();
        let started = Instant::now();
        let (state, counted) = runtime
            .block_on(live::read(&connections, &desired, ReadScope::Everything))
            .expect("live read");
        read_times.push(started.elapsed());
        requests = server.requests().len();
        live_state = Some(state);
        calls = Some(counted);
    }
    read_times.sort();
    let state = live_state.expect("read at least once");
    let calls = calls.expect("read at least once");
    let cluster = &state.clusters[CLUSTER];
    let read_objects = cluster.cluster_roles.len()
        + cluster.roles.len()
        + cluster.cluster_role_bindings.len()
        + cluster.role_bindings.len();
    assert_eq!(read_objects, rbac, "the read holds every RBAC object");
    assert_eq!(
        state.iam.users.len() + state.iam.roles.len(),
        sizes.users + sizes.roles,
        "the read holds every principal"
    );
    println!(
        "live read: median {:.0} ms (min {:.0} ms over {} runs); {} AWS calls ({calls}); {requests} Kubernetes requests",
        ms(read_times[read_times.len() / 2]),
        ms(read_times[0]),
        sizes.runs,
        calls.0.values().sum::<u64>(),
    );

    // Where a `who-can` goes: the index of the state (built once per question by the
    // command), the answers of every principal over it, the Kubernetes subjects.
    let (index_median, index_min, _) = timed(sizes.runs, || {
        std::hint::black_box(Reach::new(&state));
    });
    println!(
        "index (Reach::new: mappings and grants per cluster, who may assume each role that leads to one): {:.0} ms (min {:.0} ms)",
        ms(index_median),
        ms(index_min)
    );
    let reach = Reach::new(&state);
    for (label, verb, resource, subresource, namespace) in QUESTIONS {
        let request = rbac::parse_request(verb, resource, subresource, namespace);
        let (principals, _, _) = timed(sizes.runs, || {
            std::hint::black_box(who_can::who_can_in(&reach, &request, None).len())
        });
        let (subjects, _, _) = timed(sizes.runs, || {
            std::hint::black_box(who_can::subjects(&state, &request, None).len())
        });
        println!(
            "  who-can {label:<24} over the index: principals {:>6.0} ms, subjects {:>6.0} ms",
            ms(principals),
            ms(subjects)
        );
    }
    drop(reach);

    // The answers after the read, through the functions the commands call.
    println!("answers after the read (median of {} runs):", sizes.runs);
    for (label, verb, resource, subresource, namespace) in QUESTIONS {
        let request = rbac::parse_request(verb, resource, subresource, namespace);
        let (median, min, (holders, subjects)) = timed(sizes.runs, || {
            let holders = who_can::who_can(&state, &request, None);
            let subjects = who_can::subjects(&state, &request, None);
            let text = who_can::render_who_can_text(&holders, &subjects, &request);
            std::hint::black_box(text);
            (holders.len(), subjects.len())
        });
        println!(
            "  who-can {label:<24} {:>7.0} ms (min {:>6.0} ms)  {holders} principals, {subjects} subjects",
            ms(median),
            ms(min)
        );
    }
    let request = rbac::parse_request("delete", "nodes", None, None);
    for asking in ["user/user-0002", "role/role-0000"] {
        let principal = resolve_principal(&state, asking).expect("principal");
        let (median, min, answer) = timed(sizes.runs, || {
            let analysis = Analysis::new(&state);
            let answers = chain::can(&analysis, &principal, &request, None);
            who_can::overall(&answers)
        });
        println!(
            "  can-i delete nodes --as {asking:<15} {:>4.0} ms (min {:>6.0} ms)  {}",
            ms(median),
            ms(min),
            answer.as_str()
        );
        let (median, min, routes) = timed(sizes.runs, || {
            explain::explain(&state, &principal, None)
                .clusters
                .values()
                .map(Vec::len)
                .sum::<usize>()
        });
        println!(
            "  explain --principal {asking:<15} {:>4.0} ms (min {:>6.0} ms)  {routes} routes",
            ms(median),
            ms(min)
        );
    }
    println!(
        "peak memory (VmHWM, API server included): {}",
        peak_memory()
    );

    // End to end: the real binary, once.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("access.yaml"), access_yaml()).expect("access.yaml");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_accessctl"))
        .args(["who-can", "delete", "nodes", "--live"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("KUBECONFIG", server.kubeconfig_path())
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("accessctl runs");
    let wall = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "binary: `accessctl who-can delete nodes --live` {:.0} ms end to end ({} lines of answer)",
        ms(wall),
        String::from_utf8_lossy(&output.stdout).lines().count()
    );
}
