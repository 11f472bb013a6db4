//! The binary end to end against real components: moto for IAM, STS and EKS, the test API
//! server for the cluster, reached only through the environment (`AWS_ENDPOINT_URL`,
//! `KUBECONFIG`) as on a real workstation. Each seed example is applied from its realistic
//! "before" cluster state to an empty account; afterwards `plan --detailed-exitcode` exits 0,
//! and a snapshot of the result plans to nothing as well.

use std::path::{Path, PathBuf};
use std::process::Output;

use accessctl::model::State;

use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, KubeTarget};

fn example_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs/examples")
        .join(name)
}

fn example_live(name: &str) -> State {
    accessctl::snapshot::read(&example_dir(name).join("live.json")).expect("example snapshot")
}

fn accessctl(args: &[&str], moto: &Moto, kubeconfig: &Path) -> Output {
    binary::run(binary::command(&moto.endpoint(), kubeconfig), args)
}

async fn converges(name: &str) {
    // The binary applies the example files as written: their namespaces and cluster-scoped
    // names cannot be put in a test scope from outside, and the EKS cluster comes from moto.
    if KubeTarget::from_env().skip_if_external(&format!(
        "e2e {name}: the binary applies the example's unscoped names"
    )) || AwsTarget::from_env()
        .skip_if_external(&format!("e2e {name}: needs moto's EKS and MOTO_ACCOUNT_ID"))
    {
        return;
    }
    let live = example_live(name);
    let (cluster_name, cluster) = live
        .clusters
        .iter()
        .next()
        .map(|(name, cluster)| (name.clone(), cluster.clone()))
        .expect("example has a cluster");
    let region = cluster.region.clone().unwrap_or_else(|| "us-east-1".into());
    let server = KubeServer::start().await;
    seed_cluster(&server, &cluster);
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let file = example_dir(name).join("access.yaml").display().to_string();

    let outcome = tokio::task::spawn_blocking(move || {
        let account = live.account.clone().expect("example account");
        let moto = Moto::with_eks_cluster(&account, &cluster_name, &region);
        let run = |args: &[&str]| accessctl(args, &moto, &kubeconfig);

        // No terminal and no --auto-approve: refused, nothing changed.
        let refused = run(&["apply", "-f", &file]);
        assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("--auto-approve"),
            "{}",
            shown(&refused)
        );
        let planned = run(&["plan", "-f", &file, "--detailed-exitcode"]);
        assert_eq!(planned.status.code(), Some(2), "{}", shown(&planned));

        let applied = run(&["apply", "-f", &file, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
        assert!(
            String::from_utf8_lossy(&applied.stderr).contains("Apply complete"),
            "{}",
            shown(&applied)
        );

        let again = run(&["plan", "-f", &file, "--detailed-exitcode"]);
        assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
        // Drift agrees: no change left (unmanaged grants of the seeded cluster may remain).
        let drift = run(&["drift", "-f", &file, "-o", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&drift.stdout).expect("drift JSON");
        assert_eq!(
            report["changes"],
            serde_json::json!([]),
            "{}",
            shown(&drift)
        );
        assert_eq!(
            report["refused"],
            serde_json::json!([]),
            "{}",
            shown(&drift)
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let saved = dir.path().join("live.json").display().to_string();
        let snapshot = run(&["snapshot", "-f", &file, "--out", &saved]);
        assert_eq!(snapshot.status.code(), Some(0), "{}", shown(&snapshot));
        let offline = run(&[
            "plan",
            "-f",
            &file,
            "--live-state",
            &saved,
            "--detailed-exitcode",
        ]);
        assert_eq!(offline.status.code(), Some(0), "{}", shown(&offline));
    })
    .await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

macro_rules! examples {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                converges($name).await;
            }
        )*
    };
}

examples! {
    seed_000_service_admins_and_ci_user_converges => "000-service-admins-and-ci-user",
    seed_001_reader_group_and_eks_admin_role_converges => "001-reader-group-and-eks-admin-role",
    seed_002_role_mappings_converges => "002-role-mappings",
    seed_003_irsa_service_account_converges => "003-irsa-service-account",
    seed_004_ci_namespace_deployer_converges => "004-ci-namespace-deployer",
    all_seeds_combined_converges => "all-seeds-combined",
}
