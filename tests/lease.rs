//! Concurrent applies on one cluster (issue 17.3): the binary takes the cluster's Lease
//! `kube-system/accessctl` before reading it, refuses while another holder's Lease is fresh,
//! takes over an expired one, skips it with `--no-lock`, and releases it at its end.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::rbac::v1::ClusterRole;

use accessctl::kube::ClusterClient;
use accessctl::kube::lease::{self, LockOptions};
use accessctl::retry::RetryClock;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::{Fault, KubeServer};
use crate::support::target::{AwsTarget, KubeTarget};

const ACCOUNT: &str = "123456789012";

fn access_yaml() -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  roles:
    lease-admin:
      trust: {{accounts: ["{ACCOUNT}"]}}
clusters:
  demo:
    region: us-east-1
    context: test
    authentication: config-map
    access:
      - role: lease-admin
        username: lease-admin
        groups: ["system:masters"]
"#
    )
}

fn hand_lease(holder: &str, renewed: &str, seconds: i32) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "accessctl", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": seconds,
            "acquireTime": renewed,
            "renewTime": renewed,
        },
    })
}

/// `accessctl ARGS` started in the background, its output captured.
fn spawn(moto: &Moto, kubeconfig: &Path, args: &[&str]) -> Child {
    binary::command(&moto.endpoint(), kubeconfig)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("accessctl starts")
}

async fn finished(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("accessctl ends"))
        .await
        .expect("waited")
}

const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/accessctl";

/// A test API server, moto with cluster `demo`, and access.yaml in a temporary directory.
struct Setup {
    server: KubeServer,
    moto: Moto,
    kubeconfig: PathBuf,
    file: String,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start() -> Setup {
        let server = KubeServer::start().await;
        let kubeconfig = server.kubeconfig_path().to_path_buf();
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("access.yaml");
        std::fs::write(&file, access_yaml()).expect("write access.yaml");
        let moto =
            tokio::task::spawn_blocking(|| Moto::with_eks_cluster(ACCOUNT, "demo", "us-east-1"))
                .await
                .expect("moto starts");
        Setup {
            server,
            moto,
            kubeconfig,
            file: file.display().to_string(),
            _dir: dir,
        }
    }

    fn spawn(&self, extra: &[&str]) -> Child {
        let mut args = vec!["apply", "-f", &self.file, "--auto-approve"];
        args.extend_from_slice(extra);
        spawn(&self.moto, &self.kubeconfig, &args)
    }

    async fn apply(&self, extra: &[&str]) -> Output {
        finished(self.spawn(extra)).await
    }

    fn lease(&self) -> serde_json::Value {
        stored_lease(&self.server)
    }

    /// The Lease as a finished apply leaves it: nobody holds it.
    fn assert_released(&self) {
        let lease = self.lease();
        assert_eq!(lease["spec"].get("holderIdentity"), None, "{lease:#}");
        assert_eq!(lease["spec"]["leaseDurationSeconds"], 1, "{lease:#}");
    }
}

fn skipped() -> bool {
    KubeTarget::from_env().skip_if_external("lease: the Lease and faults are the test's")
        || AwsTarget::from_env().skip_if_external("lease: needs moto's EKS")
}

fn now_micro() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_lock_timeout_the_second_apply_waits_for_the_first_and_both_complete() {
    if skipped() {
        return;
    }
    let setup = Setup::start().await;
    let server = &setup.server;
    // The first apply stops at its first cluster write (creating aws-auth), holding the Lease.
    let mut gate = server.hold("POST", "/namespaces/kube-system/configmaps");
    let first = setup.spawn(&[]);
    gate.arrived().await;
    let lease = setup.lease();
    let holder = lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        holder.ends_with(&format!("/{}", first.id())),
        "held as HOST/PID: {lease:#}"
    );

    // Without --lock-timeout, a second apply refuses at once, naming the holder.
    let refused = setup.apply(&[]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains(&format!("cluster demo is being applied by {holder} since ")),
        "{}",
        shown(&refused)
    );

    // With --lock-timeout 60s it waits: the first is let through only once the waiting run
    // has read the Lease (the server's request log says so, no clock involved).
    let reads = server.count("GET", LEASE_PATH);
    let mut second = setup.spawn(&["--lock-timeout", "60s"]);
    while server.count("GET", LEASE_PATH) == reads {
        if let Some(status) = second.try_wait().expect("try_wait") {
            panic!("the waiting apply ended before it read the Lease: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    gate.open();
    let first = finished(first).await;
    assert_eq!(first.status.code(), Some(0), "{}", shown(&first));
    let second = finished(second).await;
    assert_eq!(second.status.code(), Some(0), "{}", shown(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "cluster demo is being applied by {holder}; waiting up to 1m for its Lease"
        )),
        "{}",
        shown(&second)
    );
    // One after the other: the second planned from what the first applied.
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("No changes."),
        "{}",
        shown(&second)
    );
    assert_eq!(
        server.count("POST", "/api/v1/namespaces/kube-system/configmaps"),
        1
    );
    setup.assert_released();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_lock_applies_while_another_holds_the_lease_and_leaves_it_alone() {
    if skipped() {
        return;
    }
    let setup = Setup::start().await;
    let server = &setup.server;
    server.seed(&hand_lease("other-host/4242", &now_micro(), 3600));
    let before = setup.lease();
    server.clear_requests();
    let applied = setup.apply(&["--no-lock"]).await;
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    assert!(
        String::from_utf8_lossy(&applied.stderr).contains(
            "warning: --no-lock: applying without the clusters' Leases; another apply may interleave its writes"
        ),
        "{}",
        shown(&applied)
    );
    assert!(
        server
            .raw_object::<k8s_openapi::api::core::v1::ConfigMap>(Some("kube-system"), "aws-auth")
            .is_some(),
        "applied"
    );
    assert_eq!(setup.lease(), before, "the other's Lease is untouched");
    let lease_requests: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|request| request.path.contains("/leases"))
        .collect();
    assert!(lease_requests.is_empty(), "{lease_requests:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_apply_releases_the_lease() {
    if skipped() {
        return;
    }
    let setup = Setup::start().await;
    // Every attempt to create aws-auth loses its connection: the apply fails.
    setup.server.inject(
        Fault::drop_connection(100)
            .method("POST")
            .path_contains("/namespaces/kube-system/configmaps"),
    );
    let failed = setup.apply(&[]).await;
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("apply failed: "),
        "{}",
        shown(&failed)
    );
    setup.assert_released();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_refuses_an_expired_one_is_taken_over_and_it_is_released() {
    if skipped() {
        return;
    }
    let setup = Setup::start().await;
    let server = &setup.server;
    // Held by another run, renewed a moment ago for an hour.
    let fresh = now_micro();
    server.seed(&hand_lease("other-host/4242", &fresh, 3600));
    let refused = setup.apply(&[]).await;
    // Plan takes no lock.
    let no_lock_plan = finished(spawn(
        &setup.moto,
        &setup.kubeconfig,
        &["plan", "-f", &setup.file],
    ))
    .await;
    assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "cluster demo is being applied by other-host/4242 since {}Z (Lease kube-system/accessctl); retry later, or --lock-timeout 5m to wait",
            &fresh[..19]
        )),
        "{}",
        shown(&refused)
    );
    assert!(
        no_lock_plan.status.success() || no_lock_plan.status.code() == Some(2),
        "{}",
        shown(&no_lock_plan)
    );
    // Nothing was written while the Lease was held by another.
    assert!(server.raw_object::<ClusterRole>(None, "x").is_none());
    let aws_auth =
        server.raw_object::<k8s_openapi::api::core::v1::ConfigMap>(Some("kube-system"), "aws-auth");
    assert!(aws_auth.is_none(), "{aws_auth:?}");

    // Expired (renewed in 2020 for a minute): taken over, applied, released.
    let mut expired = setup.lease();
    expired["spec"]["renewTime"] = serde_json::json!("2020-01-01T00:00:00.000000Z");
    expired["spec"]["acquireTime"] = serde_json::json!("2020-01-01T00:00:00.000000Z");
    let kube = server.client().await;
    let leases: kube::Api<Lease> = kube::Api::namespaced(kube, "kube-system");
    let lease: Lease = serde_json::from_value(expired).expect("lease");
    leases
        .replace("accessctl", &kube::api::PostParams::default(), &lease)
        .await
        .expect("hand update");
    let applied = setup.apply(&[]).await;
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    setup.assert_released();
    let lease = setup.lease();
    assert_eq!(lease["spec"]["leaseTransitions"], 1, "{lease:#}");
    let renewed = lease["spec"]["renewTime"].as_str().unwrap_or_default();
    assert_eq!(
        renewed.len(),
        "2026-01-01T00:00:00.000000Z".len(),
        "{renewed}"
    );
    assert!(server.count("PUT", LEASE_PATH) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_taken_over_while_held_is_lost_and_names_the_new_holder() {
    if KubeTarget::from_env().skip_if_external("lease: the Lease is the test's") {
        return;
    }
    let server = KubeServer::start().await;
    let client = ClusterClient::connect_with_file(
        "demo",
        &accessctl::model::Cluster::default(),
        server.kubeconfig_path(),
    )
    .await
    .expect("connects");
    let options = LockOptions {
        identity: "me/1".to_string(),
        timeout: std::time::Duration::ZERO,
        clock: RetryClock::manual(),
    };
    let held = lease::acquire(&client, &options, |_| {})
        .await
        .unwrap_or_else(|error| panic!("acquired: {error:?}"));
    assert_eq!(held.renew().await, Ok(()));
    assert_eq!(held.lost(), None);
    // Another run takes it (as after an expiry it would): the next renewal finds it gone.
    let mut taken = stored_lease(&server);
    taken["spec"]["holderIdentity"] = serde_json::json!("thief/7");
    let leases: kube::Api<Lease> = kube::Api::namespaced(server.client().await, "kube-system");
    let taken: Lease = serde_json::from_value(taken).expect("lease");
    leases
        .replace("accessctl", &kube::api::PostParams::default(), &taken)
        .await
        .expect("taken over by hand");
    let expected =
        "the Lease kube-system/accessctl was taken over by `thief/7` while this apply held it";
    assert_eq!(held.renew().await, Err(expected.to_string()));
    assert_eq!(held.lost().as_deref(), Some(expected));
    // Its release leaves the new holder's Lease alone.
    assert_eq!(held.release().await, Err(expected.to_string()));
    assert_eq!(stored_lease(&server)["spec"]["holderIdentity"], "thief/7");
}

fn stored_lease(server: &KubeServer) -> serde_json::Value {
    server
        .raw_object::<Lease>(Some("kube-system"), "accessctl")
        .expect("the Lease exists")
}
