//! The binary against moto behind the fault proxy (tests/support/faults.rs), each fault
//! scripted on the Nth request of an action so the outcome does not depend on timing: AWS
//! server errors and dropped connections that outlast the SDK's own attempts are retried by
//! apply within its time bound, and the apply completes and converges. The campaign at scale
//! (a token bucket, random faults) is `cargo bench --bench throttle` (docs/reliability.md).

use std::time::Duration;

use accessctl::kube::{ClusterClient, RetryClock};
use accessctl::model::Cluster;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::faults::{Fault, FaultConfig, FaultProxy, Flavor};
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, KubeTarget};

const USERS: usize = 4;

fn access_yaml() -> String {
    let mut yaml = String::from(
        "version: 1\naccount: \"123456789012\"\niam:\n  groups:\n    fault-readers: {}\n  users:\n",
    );
    for user in 0..USERS {
        yaml.push_str(&format!(
            "    fault-user-{user}:\n      groups: [fault-readers]\n"
        ));
    }
    yaml
}

async fn moto_behind_proxy() -> Option<(Moto, FaultProxy)> {
    if AwsTarget::from_env().skip_if_external("faults: the fault proxy stands in front of moto") {
        return None;
    }
    let moto = tokio::task::spawn_blocking(Moto::start)
        .await
        .expect("moto starts");
    let upstream = moto.address();
    let proxy = FaultProxy::start(upstream, FaultConfig::transparent(Flavor::Aws)).await;
    Some((moto, proxy))
}

/// More faults in a row than the SDK makes attempts (3, standard and adaptive alike).
const IN_A_ROW: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_resets_outlasting_the_sdk_retries_do_not_fail_the_apply() {
    let Some((_moto, proxy)) = moto_behind_proxy().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, access_yaml()).expect("write access.yaml");
    let file = file.display().to_string();

    proxy.fault_after(1, "Action=CreateUser&", Fault::InternalError, IN_A_ROW);
    proxy.fault_after(1, "Action=AddUserToGroup&", Fault::Unavailable, IN_A_ROW);
    proxy.fault_after(2, "Action=CreateUser&", Fault::Reset, IN_A_ROW);
    let applied = binary::run_iam_only(
        &["apply", "-f", &file, "--auto-approve", "--parallelism", "1"],
        &proxy.endpoint(),
        dir.path(),
    )
    .await;
    let counts = proxy.counts();
    assert!(proxy.scripted_done(), "{counts:?}\n{}", shown(&applied));
    assert_eq!(
        (counts.internal_errors, counts.unavailable, counts.resets),
        (IN_A_ROW, IN_A_ROW, IN_A_ROW),
        "{}",
        shown(&applied)
    );
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    assert!(
        String::from_utf8_lossy(&applied.stderr)
            .contains(&format!("Apply complete: {} changes", USERS + 1)),
        "{}",
        shown(&applied)
    );

    let planned = binary::run_iam_only(
        &["plan", "-f", &file, "--detailed-exitcode"],
        &proxy.endpoint(),
        dir.path(),
    )
    .await;
    assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
}

/// In front of the test API server the proxy answers as Kubernetes does (429 `TooManyRequests`
/// with `Retry-After`, 500 `InternalError` Status), and accessctl's cluster client retries them,
/// waiting the `Retry-After` it was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_front_of_the_api_server_faults_are_answered_as_kubernetes_answers() {
    if KubeTarget::from_env()
        .skip_if_external("faults: the fault proxy stands in front of the test API server")
    {
        return;
    }
    let server = KubeServer::start().await;
    let upstream = server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("the API server listens on a socket address");
    let proxy = FaultProxy::start(upstream, FaultConfig::transparent(Flavor::Kubernetes)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let text = std::fs::read_to_string(server.kubeconfig_path()).expect("kubeconfig");
    std::fs::write(&kubeconfig, text.replace(server.url(), &proxy.endpoint()))
        .expect("write kubeconfig");
    const MARKER: &str = "GET /api/v1/namespaces/kube-system ";
    proxy.fault_after(0, MARKER, Fault::Throttle, 2);
    proxy.fault_after(0, MARKER, Fault::InternalError, 1);
    proxy.fault_after(0, MARKER, Fault::Unavailable, 1);
    let clock = RetryClock::manual();
    let client = ClusterClient::connect_with_file("demo", &Cluster::default(), &kubeconfig)
        .await
        .expect("connect through the proxy")
        .with_clock(clock.clone());
    let namespaces: Api<Namespace> = Api::all(client.client().clone());
    let namespace = client
        .call("GET namespaces kube-system", || {
            namespaces.get("kube-system")
        })
        .await
        .expect("retried through the faults");
    assert_eq!(namespace.metadata.name.as_deref(), Some("kube-system"));
    let counts = proxy.counts();
    assert!(proxy.scripted_done(), "{counts:?}");
    assert_eq!(
        (counts.throttled, counts.internal_errors, counts.unavailable),
        (2, 1, 1)
    );
    assert_eq!(counts.forwarded, 1, "{counts:?}");
    let waits = clock.waits();
    assert_eq!(waits.len(), 4, "{waits:?}");
    assert!(
        waits[..2]
            .iter()
            .all(|wait| *wait >= Duration::from_secs(1)),
        "each 429 is waited out for its Retry-After: {waits:?}"
    );
}
