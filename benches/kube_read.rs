//! Kubernetes read benchmark: 3,000 RBAC objects and a 500-entry aws-auth on the in-memory API
//! server of the tests, read through kube-rs from its kubeconfig, then planned.
//!
//! The no-change plan must make one request per kind (six label-selected LISTs) plus the
//! aws-auth GET. Prints the median wall time of read + plan, the requests (from the server's
//! log) and the peak resident memory (VmHWM, which includes the in-process server's copy of
//! the objects). Run with `cargo bench --bench kube_read` (or `--profile dev` for a debug build).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

#[path = "../tests/support/kube_server/mod.rs"]
// `allow`, not `expect`: whether these fire depends on the build (clippy --all-targets compiles
// the server's `#[cfg(test)]` modules without a test harness, leaving their imports unused).
#[allow(
    dead_code,
    unused_imports,
    reason = "the benchmark uses a part of the test server's API and none of its unit tests"
)]
mod kube_server;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use accessctl::kube::apply::manifest;
use accessctl::kube::{ClusterClient, read_cluster};
use accessctl::model::{
    AwsAuth, AwsAuthEntry, Binding, Cluster, MANAGED_BY_LABEL, MANAGED_BY_VALUE, MapKind, Meta,
    Namespace, PolicyRule, RbacRole, RoleRef, RoleRefKind, State, Subject, SubjectKind,
};
use accessctl::plan::{Desired, Kind, Object, PlanOptions, plan};
use kube_server::KubeServer;
use serde_json::json;

const CLUSTER: &str = "bench";
const NAMESPACES: usize = 50;
/// Per kind: ClusterRoles, Roles, ClusterRoleBindings, RoleBindings.
const PER_KIND: usize = 750;
/// Entries accessctl manages.
const AWS_AUTH_ENTRIES: usize = 400;
/// Entries accessctl does not manage (node roles), on top of the managed ones: 500 in all.
const UNMANAGED: usize = 100;
const RUNS: usize = 5;

fn owned() -> Meta {
    Meta {
        labels: BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string())]),
        annotations: BTreeMap::new(),
    }
}

fn rules(index: usize) -> BTreeSet<PolicyRule> {
    BTreeSet::from([
        PolicyRule {
            api_groups: BTreeSet::from([String::new(), "apps".to_string()]),
            resources: BTreeSet::from(["pods".to_string(), format!("deployments-{index}")]),
            verbs: ["get", "list", "watch"].map(String::from).into(),
            ..PolicyRule::default()
        },
        PolicyRule {
            api_groups: BTreeSet::from(["batch".to_string()]),
            resources: BTreeSet::from(["jobs".to_string()]),
            resource_names: BTreeSet::from([format!("job-{index}")]),
            verbs: ["create", "delete"].map(String::from).into(),
            ..PolicyRule::default()
        },
    ])
}

fn binding(kind: RoleRefKind, role: String, index: usize) -> Binding {
    Binding {
        meta: owned(),
        role_ref: RoleRef { kind, name: role },
        subjects: BTreeSet::from([
            Subject {
                kind: SubjectKind::User,
                name: format!("user-{index}"),
                namespace: None,
            },
            Subject {
                kind: SubjectKind::Group,
                name: format!("group-{}", index % 20),
                namespace: None,
            },
        ]),
    }
}

/// The desired cluster; the live one is the same, seeded into the server.
fn desired_cluster() -> Cluster {
    let mut cluster = Cluster::default();
    for n in 0..NAMESPACES {
        cluster
            .namespaces
            .insert(format!("team-{n}"), Namespace { meta: owned() });
    }
    for i in 0..PER_KIND {
        let namespace = format!("team-{}", i % NAMESPACES);
        cluster.cluster_roles.insert(
            format!("reader-{i}"),
            RbacRole {
                meta: owned(),
                rules: rules(i),
                aggregation_rule: None,
            },
        );
        cluster.roles.insert(
            format!("{namespace}/deployer-{i}"),
            RbacRole {
                meta: owned(),
                rules: rules(i),
                aggregation_rule: None,
            },
        );
        cluster.cluster_role_bindings.insert(
            format!("reader-{i}"),
            binding(RoleRefKind::ClusterRole, format!("reader-{i}"), i),
        );
        cluster.role_bindings.insert(
            format!("{namespace}/deployer-{i}"),
            binding(RoleRefKind::Role, format!("deployer-{i}"), i),
        );
    }
    let mut aws_auth = AwsAuth::default();
    for i in 0..AWS_AUTH_ENTRIES {
        let entry = if i % 2 == 0 {
            AwsAuthEntry {
                kind: MapKind::MapRoles,
                arn: format!("arn:aws:iam::111122223333:role/role-{i}"),
                username: Some(format!("role-{i}:{{{{SessionName}}}}")),
                groups: vec![format!("group-{}", i % 20)],
            }
        } else {
            AwsAuthEntry {
                kind: MapKind::MapUsers,
                arn: format!("arn:aws:iam::111122223333:user/user-{i}"),
                username: Some(format!("user-{i}")),
                groups: vec!["system:masters".to_string()],
            }
        };
        aws_auth.managed.insert(entry.arn.clone());
        aws_auth.entries.push(entry);
    }
    cluster.aws_auth = Some(aws_auth);
    cluster
}

fn seed(server: &KubeServer, desired: &Cluster) {
    let put = |kind: Kind, namespace: Option<&str>, name: &str, object: Object| {
        let value = manifest(kind, namespace, name, &object).expect("manifest");
        server.seed(&value);
    };
    let split = |key: &str| -> (String, String) {
        let (namespace, name) = key.split_once('/').expect("namespace/name");
        (namespace.to_string(), name.to_string())
    };
    for (name, namespace) in &desired.namespaces {
        put(
            Kind::Namespace,
            None,
            name,
            Object::Namespace(namespace.clone()),
        );
    }
    for (name, role) in &desired.cluster_roles {
        put(
            Kind::ClusterRole,
            None,
            name,
            Object::RbacRole(role.clone()),
        );
    }
    for (key, role) in &desired.roles {
        let (namespace, name) = split(key);
        put(
            Kind::K8sRole,
            Some(&namespace),
            &name,
            Object::RbacRole(role.clone()),
        );
    }
    for (name, binding) in &desired.cluster_role_bindings {
        put(
            Kind::ClusterRoleBinding,
            None,
            name,
            Object::Binding(binding.clone()),
        );
    }
    for (key, binding) in &desired.role_bindings {
        let (namespace, name) = split(key);
        put(
            Kind::RoleBinding,
            Some(&namespace),
            &name,
            Object::Binding(binding.clone()),
        );
    }
    let aws_auth = desired.aws_auth.clone().unwrap_or_default();
    let mut roles = String::new();
    let mut users = String::new();
    for i in 0..UNMANAGED {
        roles.push_str(&format!(
            "# node group {i}\n- rolearn: arn:aws:iam::111122223333:role/nodes-{i}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n"
        ));
    }
    for entry in &aws_auth.entries {
        let text = accessctl::kube::aws_auth::render_entry(entry, 0);
        match entry.kind {
            MapKind::MapRoles => roles.push_str(&text),
            _ => users.push_str(&text),
        }
    }
    server.seed(&json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "aws-auth",
            "namespace": "kube-system",
            "annotations": {
                accessctl::model::AWS_AUTH_MANAGED_ANNOTATION:
                    serde_json::to_string(&aws_auth.managed).expect("json"),
            },
        },
        "data": {"mapRoles": roles, "mapUsers": users},
    }));
}

fn memory(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .map(|line| line[field.len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a".to_string())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let desired_cluster = desired_cluster();
        let server = KubeServer::start().await;
        seed(&server, &desired_cluster);
        let rbac = desired_cluster.cluster_roles.len()
            + desired_cluster.roles.len()
            + desired_cluster.cluster_role_bindings.len()
            + desired_cluster.role_bindings.len();
        let entries = desired_cluster
            .aws_auth
            .as_ref()
            .map_or(0, |auth| auth.entries.len())
            + UNMANAGED;
        println!(
            "kube_read: {rbac} RBAC objects, {} namespaces, {entries}-entry aws-auth ({UNMANAGED} unmanaged)",
            desired_cluster.namespaces.len()
        );
        println!("  after seeding: VmRSS {}", memory("VmRSS:"));
        let client = ClusterClient::connect_with_file(
            CLUSTER,
            &Cluster::default(),
            server.kubeconfig_path(),
        )
        .await
        .expect("connect");
        let desired = Desired {
            state: State {
                clusters: BTreeMap::from([(CLUSTER.to_string(), desired_cluster.clone())]),
                ..State::default()
            },
            ..Desired::default()
        };
        let mut times: Vec<(Duration, Duration)> = Vec::new();
        let mut requests = 0;
        for _ in 0..RUNS {
            server.clear_requests();
            let started = Instant::now();
            let live_cluster = read_cluster(&client, &desired_cluster, accessctl::model::ReadScope::Managed).await.expect("read");
            let read = started.elapsed();
            let live = State {
                clusters: BTreeMap::from([(CLUSTER.to_string(), live_cluster)]),
                ..State::default()
            };
            let planned = plan(&desired, &live, &PlanOptions::default()).expect("plan");
            let total = started.elapsed();
            assert!(
                planned.changes.is_empty(),
                "the no-change plan has changes: {:?}",
                planned.changes.first().map(|c| c.address.to_string())
            );
            requests = server.requests().len();
            assert_eq!(requests, 7, "one LIST per kind plus the aws-auth GET");
            times.push((read, total));
        }
        times.sort();
        let (read, total) = times[RUNS / 2];
        println!(
            "  no-change plan: median read {:.0} ms, read + plan {:.0} ms (min {:.0} ms over {RUNS} runs)",
            read.as_secs_f64() * 1000.0,
            total.as_secs_f64() * 1000.0,
            times[0].1.as_secs_f64() * 1000.0
        );
        println!("  requests per plan: {requests} (6 LISTs + 1 GET)");
        println!("  peak memory (VmHWM, server included): {}", memory("VmHWM:"));
    });
}
