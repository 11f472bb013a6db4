//! The binary against moto behind the fault proxy (tests/support/faults.rs), each fault
//! scripted on the Nth request of an action so the outcome does not depend on timing: AWS
//! server errors and dropped connections that outlast the SDK's own attempts are retried by
//! apply within its time bound, and the apply completes and converges. The campaign at scale
//! (a token bucket, random faults) is `cargo bench --bench throttle` (docs/reliability.md).

use std::path::Path;
use std::process::Output;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::faults::{Fault, FaultConfig, FaultProxy, Flavor};
use crate::support::target::AwsTarget;

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

/// Runs the blocking binary off the runtime, which the proxy needs.
async fn run(args: &[&str], endpoint: &str, dir: &Path) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_string()).collect();
    let endpoint = endpoint.to_string();
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        // No clusters are declared: nothing reads the kubeconfig.
        let mut command = binary::command(&endpoint, &dir.join("no-kubeconfig"));
        command.env("HOME", &dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        binary::run(command, &args)
    })
    .await
    .expect("accessctl task")
}

async fn moto_behind_proxy() -> Option<(Moto, FaultProxy)> {
    if AwsTarget::from_env().skip_if_external("faults: the fault proxy stands in front of moto") {
        return None;
    }
    let moto = tokio::task::spawn_blocking(Moto::start)
        .await
        .expect("moto starts");
    let upstream = moto
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .expect("moto listens on a socket address");
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
    let applied = run(
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

    let planned = run(
        &["plan", "-f", &file, "--detailed-exitcode"],
        &proxy.endpoint(),
        dir.path(),
    )
    .await;
    assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
}
