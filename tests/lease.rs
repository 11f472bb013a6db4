//! Concurrent applies on one cluster (issue 17.3): the binary takes the cluster's Lease
//! `kube-system/accessctl` before reading it, refuses while another holder's Lease is fresh,
//! takes over an expired one, skips it with `--no-lock`, and releases it at its end.

use std::path::Path;
use std::process::Output;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::rbac::v1::ClusterRole;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::KubeServer;
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

fn run(moto: &Moto, kubeconfig: &Path, args: &[&str]) -> Output {
    binary::run(binary::command(&moto.endpoint(), kubeconfig), args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_refuses_an_expired_one_is_taken_over_and_it_is_released() {
    if KubeTarget::from_env().skip_if_external("lease: the hand-held Lease is the test's")
        || AwsTarget::from_env().skip_if_external("lease: needs moto's EKS")
    {
        return;
    }
    let server = KubeServer::start().await;
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, access_yaml()).expect("write access.yaml");
    let file = file.display().to_string();
    // Held by another run, renewed a moment ago for an hour.
    let fresh = k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string();
    server.seed(&hand_lease("other-host/4242", &fresh, 3600));
    let (moto, refused, no_lock_plan) = tokio::task::spawn_blocking({
        let kubeconfig = kubeconfig.clone();
        let file = file.clone();
        move || {
            let moto = Moto::with_eks_cluster(ACCOUNT, "demo", "us-east-1");
            let refused = run(
                &moto,
                &kubeconfig,
                &["apply", "-f", &file, "--auto-approve"],
            );
            // Plan takes no lock.
            let plan = run(&moto, &kubeconfig, &["plan", "-f", &file]);
            (moto, refused, plan)
        }
    })
    .await
    .expect("binary runs");
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
    let mut expired = server
        .raw_object::<Lease>(Some("kube-system"), "accessctl")
        .expect("lease");
    expired["spec"]["renewTime"] = serde_json::json!("2020-01-01T00:00:00.000000Z");
    expired["spec"]["acquireTime"] = serde_json::json!("2020-01-01T00:00:00.000000Z");
    let kube = server.client().await;
    let leases: kube::Api<Lease> = kube::Api::namespaced(kube, "kube-system");
    let lease: Lease = serde_json::from_value(expired).expect("lease");
    leases
        .replace("accessctl", &kube::api::PostParams::default(), &lease)
        .await
        .expect("hand update");
    let applied = tokio::task::spawn_blocking({
        let kubeconfig = kubeconfig.clone();
        let file = file.clone();
        move || {
            let applied = run(
                &moto,
                &kubeconfig,
                &["apply", "-f", &file, "--auto-approve"],
            );
            drop(moto);
            applied
        }
    })
    .await
    .expect("binary runs");
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    let lease = server
        .raw_object::<Lease>(Some("kube-system"), "accessctl")
        .expect("lease");
    assert_eq!(
        lease["spec"].get("holderIdentity"),
        None,
        "released: {lease:#}"
    );
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 1, "{lease:#}");
    assert_eq!(lease["spec"]["leaseTransitions"], 1, "{lease:#}");
    let renewed = lease["spec"]["renewTime"].as_str().unwrap_or_default();
    assert_eq!(
        renewed.len(),
        "2026-01-01T00:00:00.000000Z".len(),
        "{renewed}"
    );
    assert!(
        server.count(
            "PUT",
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/accessctl"
        ) >= 2
    );
}
