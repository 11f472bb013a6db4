//! The binary end to end against real components: moto for IAM, STS and EKS, the test API
//! server for the cluster, reached only through the environment (`AWS_ENDPOINT_URL`,
//! `KUBECONFIG`) as on a real workstation. Each seed example is applied from its realistic
//! "before" cluster state to an empty account; afterwards `plan --detailed-exitcode` exits 0,
//! and a snapshot of the result plans to nothing as well. The access keys the seeds hand out
//! (000's service admins and CI user, 004's CI user) are in the Secrets the examples deliver
//! them to, and each works: STS answers `GetCallerIdentity` with it as that user.

use std::path::{Path, PathBuf};
use std::process::Output;

use accessctl::model::{Cluster, DocumentKind, PolicyDocument, State};

use crate::access_keys::{caller_arn, delivered_to};
use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, KubeTarget};

pub(crate) fn example_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs/examples")
        .join(name)
}

/// An example's (first) cluster: its name, its live objects and its region.
pub(crate) fn first_cluster(live: &State) -> (String, Cluster, String) {
    let (name, cluster) = live
        .clusters
        .iter()
        .next()
        .map(|(name, cluster)| (name.clone(), cluster.clone()))
        .expect("example has a cluster");
    let region = cluster.region.clone().unwrap_or_else(|| "us-east-1".into());
    (name, cluster, region)
}

pub(crate) fn example_live(name: &str) -> State {
    accessctl::snapshot::read(&example_dir(name).join("live.json")).expect("example snapshot")
}

fn accessctl(args: &[&str], moto: &Moto, kubeconfig: &Path) -> Output {
    binary::run(binary::command(&moto.endpoint(), kubeconfig), args)
}

/// An access key an example delivers: the IAM user, and the Secret (namespace, name) that holds
/// it in the example's cluster.
type Delivery = (&'static str, &'static str, &'static str);

async fn converges(name: &str, deliveries: &[Delivery]) {
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
    let (cluster_name, cluster, region) = first_cluster(&live);
    let server = KubeServer::start().await;
    seed_cluster(&server, &cluster);
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let file = example_dir(name).join("access.yaml").display().to_string();

    let account = live.account.clone().expect("example account");
    let outcome = tokio::task::spawn_blocking(move || {
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
        moto
    })
    .await;
    let moto = match outcome {
        Ok(moto) => moto,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };

    // The keys are where the example delivers them, and nowhere else; each works as its user.
    let account = example_live(name).account.expect("example account");
    let mut secrets: Vec<String> = server
        .dump()
        .into_iter()
        .filter(|(path, object)| {
            path.starts_with("secrets/")
                && object["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "accessctl"
        })
        .map(|(path, _)| path)
        .collect();
    secrets.sort();
    let mut expected: Vec<String> = deliveries
        .iter()
        .map(|(_, namespace, secret)| format!("secrets/{namespace}/{secret}"))
        .collect();
    expected.sort();
    assert_eq!(secrets, expected, "{name}: the Secrets accessctl wrote");
    for (user, namespace, secret) in deliveries {
        let (id, key) = delivered_to(&server, namespace, secret);
        assert_eq!(
            caller_arn(&moto, &id, &key).await,
            format!("arn:aws:iam::{account}:user/{user}"),
            "{name}: the key in {namespace}/{secret}"
        );
    }
}

macro_rules! examples {
    ($($test:ident => $name:literal $([$($delivery:expr),*])?,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                converges($name, &[$($($delivery),*)?]).await;
            }
        )*
    };
}

examples! {
    // The runbook's keys "for the helm config": a Secret the chart reads, one per user.
    seed_000_service_admins_and_ci_user_converges => "000-service-admins-and-ci-user" [
        ("s3-admin", "default", "s3-admin-aws"),
        ("sns-admin", "default", "sns-admin-aws"),
        ("eksuser", "default", "eksuser-aws")
    ],
    seed_001_reader_group_and_eks_admin_role_converges => "001-reader-group-and-eks-admin-role",
    seed_002_role_mappings_converges => "002-role-mappings",
    seed_003_irsa_service_account_converges => "003-irsa-service-account",
    // "Programmatic access" for the CI system: a Secret in the CI runners' namespace.
    seed_004_ci_namespace_deployer_converges => "004-ci-namespace-deployer" [
        ("my-test-iam-user", "ci", "my-test-iam-user-aws")
    ],
    all_seeds_combined_converges => "all-seeds-combined",
}

/// CI with no key at all: a role trusted by GitHub Actions and by GitLab, applied by the binary
/// to an empty account. Apply creates both OIDC providers (owned: tagged, with the audience as
/// client id) and the role with exactly the documented trust; a second plan is empty.
#[test]
fn federated_ci_role_is_created_with_its_providers_and_converges() {
    if AwsTarget::from_env().skip_if_external("e2e federation: needs MOTO_ACCOUNT_ID") {
        return;
    }
    let account = "111122223333";
    let moto = Moto::start_with_env(&[("MOTO_ACCOUNT_ID", account)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\naccount: \"{account}\"\niam:\n  roles:\n    ci-deployer:\n      trust:\n        githubActions:\n          - {{repo: org/app, ref: refs/heads/main}}\n          - {{repo: org/app, environment: prod}}\n        gitlab: [{{project: group/app, ref: main}}]\n        gitlabIssuer: https://gitlab.example.com\n"
        ),
    )
    .expect("write access.yaml");
    let file = file.display().to_string();
    let kubeconfig = dir.path().join("no-kubeconfig");
    let run = |args: &[&str]| accessctl(args, &moto, &kubeconfig);

    let planned = run(&["plan", "-f", &file, "--detailed-exitcode"]);
    assert_eq!(planned.status.code(), Some(2), "{}", shown(&planned));
    let text = String::from_utf8_lossy(&planned.stdout);
    for address in [
        "+ iam.oidc-provider.token.actions.githubusercontent.com",
        "+ iam.oidc-provider.gitlab.example.com",
        "+ iam.role.ci-deployer",
    ] {
        assert!(text.contains(address), "{address}\n{}", shown(&planned));
    }
    let applied = run(&["apply", "-f", &file, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    let again = run(&["plan", "-f", &file, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let iam = moto.clients().iam;
    runtime.block_on(async {
        for (host, client_id) in [
            ("token.actions.githubusercontent.com", "sts.amazonaws.com"),
            ("gitlab.example.com", "https://gitlab.example.com"),
        ] {
            let provider = iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(format!("arn:aws:iam::{account}:oidc-provider/{host}"))
                .send()
                .await
                .unwrap_or_else(|error| panic!("{host}: {error:?}"));
            assert_eq!(provider.client_id_list(), [client_id.to_string()], "{host}");
            assert!(
                provider
                    .tags()
                    .iter()
                    .any(|tag| tag.key() == "managed-by" && tag.value() == "accessctl"),
                "{host}: {:?}",
                provider.tags()
            );
        }
        let role = iam
            .get_role()
            .role_name("ci-deployer")
            .send()
            .await
            .expect("the role");
        let document = role
            .role()
            .and_then(|role| role.assume_role_policy_document())
            .expect("a trust policy");
        // IAM's form (URL-encoded JSON), read as the live read reads it.
        let live = PolicyDocument::parse_str(document, DocumentKind::Trust).expect("IAM's trust reads");
        let github = "token.actions.githubusercontent.com";
        let expected = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/gitlab.example.com")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        "gitlab.example.com:aud": "https://gitlab.example.com",
                        "gitlab.example.com:sub": "project_path:group/app:ref_type:branch:ref:main",
                    }},
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/{github}")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{github}:aud"): "sts.amazonaws.com",
                        format!("{github}:sub"): ["repo:org/app:environment:prod", "repo:org/app:ref:refs/heads/main"],
                    }},
                },
            ],
        });
        let expected =
            PolicyDocument::from_value(&expected, DocumentKind::Trust).expect("the expected trust");
        assert_eq!(live, expected, "{:#}", live.to_value());
    });
}
