//! EKS reads at scale: a cluster with many access entries and Pod Identity associations, read
//! while the endpoint throttles (`429 ThrottlingException` on every n-th request). The per-item
//! reads run concurrently; throttling is answered with backoff by the same retry engine as the
//! writes, and what is read (and so the plan) is the same as without throttling.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use accessctl::aws::RetryPolicy;
use accessctl::aws::eks::{self, ReadOptions};
use accessctl::model::AuthenticationMode;
use aws_sdk_eks::types::{AccessScope, AccessScopeType};

use crate::eks_server::{ACCOUNT, EksServer};
use crate::moto::Moto;
use crate::support::binary;
use crate::support::kube_server::KubeServer;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

/// Fills cluster `demo` through the SDK: `entries` tagged access entries with a username,
/// two groups and a namespaced view policy each, and `associations` Pod Identity associations.
async fn fill(server: &EksServer, entries: usize, associations: usize) {
    let eks = server.client("us-east-1");
    for index in 0..entries {
        let principal = format!("arn:aws:iam::{ACCOUNT}:role/team-{index:03}");
        eks.create_access_entry()
            .cluster_name("demo")
            .principal_arn(&principal)
            .username(format!("team-{index:03}"))
            .kubernetes_groups("viewers")
            .kubernetes_groups(format!("team-{index:03}"))
            .tags("managed-by", "accessctl")
            .send()
            .await
            .expect("create entry");
        eks.associate_access_policy()
            .cluster_name("demo")
            .principal_arn(&principal)
            .policy_arn(VIEW)
            .access_scope(
                AccessScope::builder()
                    .r#type(AccessScopeType::Namespace)
                    .namespaces(format!("ns-{index:03}"))
                    .build(),
            )
            .send()
            .await
            .expect("associate");
    }
    for index in 0..associations {
        eks.create_pod_identity_association()
            .cluster_name("demo")
            .namespace("apps")
            .service_account(format!("worker-{index:03}"))
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/worker-{index:03}"))
            .tags("managed-by", "accessctl")
            .send()
            .await
            .expect("create association");
    }
}

#[tokio::test]
async fn a_throttled_read_retries_and_reads_the_same_in_key_order() {
    let server = EksServer::start().await;
    server.add_cluster("demo", "us-east-1", Some("API"), Some(ISSUER));
    fill(&server, 60, 20).await;
    // Without the SDK's own retries: what is retried is retried by accessctl's engine.
    let eks = server.client_without_retries("us-east-1");
    let sequential = ReadOptions {
        concurrency: 1,
        retry: RetryPolicy::none(),
    };
    let calm = eks::read_access(&eks, "demo", AuthenticationMode::AccessEntries, &sequential)
        .await
        .expect("unthrottled read");
    assert_eq!(calm.access_entries.len(), 60);
    assert_eq!(calm.pod_identity.len(), 20);
    let entry = &calm.access_entries[&format!("arn:aws:iam::{ACCOUNT}:role/team-042")];
    assert_eq!(entry.username.as_deref(), Some("team-042"));
    assert_eq!(
        entry.groups.iter().collect::<Vec<_>>(),
        ["team-042", "viewers"]
    );
    assert_eq!(entry.policies.len(), 1);

    // Every 3rd request throttled (the listings included): same result, in the same order.
    server.throttle_every(3);
    let concurrent = ReadOptions {
        retry: RetryPolicy::fast(Duration::from_secs(30)),
        ..ReadOptions::default()
    };
    let throttled = eks::read_access(&eks, "demo", AuthenticationMode::AccessEntries, &concurrent)
        .await
        .expect("throttled read");
    assert!(server.throttled() > 40, "{}", server.throttled());
    assert_eq!(throttled, calm);
    let order = |access: &eks::EksAccess| -> Vec<String> {
        access
            .access_entries
            .keys()
            .chain(access.pod_identity.keys())
            .cloned()
            .collect()
    };
    let mut sorted = order(&calm);
    sorted[..60].sort();
    sorted[60..].sort();
    assert_eq!(order(&throttled), sorted);

    // Without retries, the same throttling is an error that says so.
    server.throttle_every(2);
    let refused = eks::read_access(&eks, "demo", AuthenticationMode::AccessEntries, &sequential)
        .await
        .expect_err("throttled, no retries");
    assert_eq!(
        refused.kind,
        accessctl::aws::ErrorKind::Throttled,
        "{refused}"
    );
}

/// `accessctl ARGS` against moto (IAM), `eks` (EKS) and `kubeconfig`.
fn run(moto: &Moto, eks: &str, kubeconfig: &Path, args: &[&str]) -> Output {
    let mut command = binary::command(&moto.endpoint(), kubeconfig);
    command.env("AWS_ENDPOINT_URL_EKS", eks);
    binary::run(command, args)
}

/// The file: `teams` roles, each with an access item; `changed` gets another group.
fn access_yaml(teams: usize, changed: usize) -> String {
    let mut text = format!("version: 1\naccount: \"{ACCOUNT}\"\niam:\n  roles:\n");
    for index in 0..teams {
        text.push_str(&format!(
            "    team-{index:02}:\n      trust: {{accounts: [\"{ACCOUNT}\"]}}\n"
        ));
    }
    text.push_str(
        "clusters:\n  demo:\n    region: us-east-1\n    authentication: access-entries\n    access:\n",
    );
    for index in 0..teams {
        let groups = if index == changed {
            "[viewers, auditors]"
        } else {
            "[viewers]"
        };
        text.push_str(&format!(
            "      - role: team-{index:02}\n        username: team-{index:02}\n        groups: {groups}\n        accessPolicies: [{{policy: AmazonEKSViewPolicy, namespaces: [team-{index:02}]}}]\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_against_a_throttling_endpoint_with_many_entries_is_the_right_plan() {
    const TEAMS: usize = 20;
    /// Entries accessctl does not manage (node roles), read and left alone.
    const NODES: usize = 100;
    let eks = EksServer::start().await;
    eks.add_cluster("demo", "us-east-1", Some("API"), Some(ISSUER));
    for index in 0..NODES {
        let node = format!("arn:aws:iam::{ACCOUNT}:role/nodes-{index:03}");
        eks.add_entry("demo", &node, "EC2_LINUX", &[]);
    }
    let kube = KubeServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    let file_arg = file.display().to_string();
    let kubeconfig = kube.kubeconfig_path().to_path_buf();
    let endpoint = eks.endpoint().to_string();
    let moto =
        tokio::task::spawn_blocking(|| Moto::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]))
            .await
            .expect("moto starts");
    let run =
        |args: &[&str]| tokio::task::block_in_place(|| run(&moto, &endpoint, &kubeconfig, args));
    // No index matches: nothing changed.
    std::fs::write(&file, access_yaml(TEAMS, usize::MAX)).expect("write access.yaml");
    let applied = run(&["apply", "-f", &file_arg, "--auto-approve"]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        binary::shown(&applied)
    );
    assert_eq!(eks.entries("demo").len(), TEAMS + NODES);

    // Every 3rd request is throttled from now on: a no-change plan is still a no-change plan…
    eks.throttle_every(3);
    let plan = ["plan", "-f", &file_arg, "--detailed-exitcode"];
    let unchanged = run(&plan);
    assert_eq!(
        unchanged.status.code(),
        Some(0),
        "{}",
        binary::shown(&unchanged)
    );
    let throttled = eks.throttled();
    assert!(throttled >= 60, "{throttled}");

    // …and one changed item is exactly one change.
    std::fs::write(&file, access_yaml(TEAMS, 7)).expect("write access.yaml");
    let changed = run(&plan);
    assert!(eks.throttled() >= throttled + 60, "{}", eks.throttled());
    insta::assert_snapshot!(
        "plan-throttled-one-change",
        binary::transcript(
            &["plan", "-f", "access.yaml", "--detailed-exitcode"],
            &changed
        )
        .replace(&file_arg, "access.yaml")
    );
}
