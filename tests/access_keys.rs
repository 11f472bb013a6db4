//! Access keys end to end through the binary: moto for IAM, STS and Secrets Manager, the test
//! API server for the cluster. Ages come from the hidden `--now` (moto dates keys with the real
//! clock), so no test waits.

use std::path::Path;
use std::process::Output;

use k8s_openapi::api::core::v1::Secret;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::{CONTEXT, Fault, KubeServer};
use crate::support::target::{AwsTarget, KubeTarget};

const ACCOUNT: &str = "123456789012";

fn access_yaml() -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  users:
    eksuser:
      policies: [aws:AmazonEKSClusterPolicy]
      accessKeys:
        rotateAfterDays: 90
        graceDays: 7
        deliverTo:
          - secret: {{cluster: demo, namespace: ci, name: eksuser-aws}}
          - secretsManager: {{name: ci/eksuser, region: us-east-1}}
clusters:
  demo:
    region: us-east-1
    context: {CONTEXT}
    authentication: config-map
    namespaces: [ci]
"#
    )
}

/// Days from now, as `--now` takes it.
fn days_ahead(days: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    aws_smithy_types::DateTime::from_secs((now + days * 86_400) as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .expect("time")
}

async fn keys(moto: &Moto) -> Vec<(String, String)> {
    let iam = moto.clients().iam;
    let listed = iam
        .list_access_keys()
        .user_name("eksuser")
        .send()
        .await
        .expect("ListAccessKeys");
    listed
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap_or_default().to_string(),
                k.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn delivered(server: &KubeServer) -> (String, String) {
    delivered_to(server, "ci", "eksuser-aws")
}

/// The key id and secret of the Secret `namespace/name` accessctl delivered a key to.
pub(crate) fn delivered_to(server: &KubeServer, namespace: &str, name: &str) -> (String, String) {
    let secret: Secret = server
        .object(Some(namespace), name)
        .unwrap_or_else(|| panic!("the Secret {namespace}/{name} was not written"));
    let data = secret.data.expect("data");
    let text = |key: &str| String::from_utf8(data[key].0.clone()).expect("utf8");
    (text("AWS_ACCESS_KEY_ID"), text("AWS_SECRET_ACCESS_KEY"))
}

/// The ARN STS on `moto` answers `GetCallerIdentity` with when called with this key.
pub(crate) async fn caller_arn(moto: &Moto, id: &str, secret: &str) -> String {
    let as_user = moto
        .sdk_config()
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(id, secret, None, None, "delivered"),
            ),
        )
        .build();
    let caller = aws_sdk_sts::Client::new(&as_user)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with the delivered key");
    caller.arn().unwrap_or_default().to_string()
}

/// No byte of any output names `secret`.
fn never_shown(secret: &str, outputs: &[&Output], files: &[&Path]) {
    for output in outputs {
        let all = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
        assert!(
            !String::from_utf8_lossy(&all).contains(secret),
            "the secret leaked: {}",
            shown(output)
        );
    }
    for file in files {
        let text = std::fs::read_to_string(file).expect("file");
        assert!(
            !text.contains(secret),
            "the secret leaked into {}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_delivered_rotated_and_deleted_within_two_keys_never_shown() {
    if KubeTarget::from_env().skip_if_external("access keys: the binary applies unscoped names")
        || AwsTarget::from_env().skip_if_external("access keys: needs moto")
    {
        return;
    }
    let server = KubeServer::start().await;
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, access_yaml()).expect("write access.yaml");
    let file = file.display().to_string();
    let moto = tokio::task::spawn_blocking(|| Moto::with_eks_cluster(ACCOUNT, "demo", "us-east-1"))
        .await
        .expect("moto");
    let endpoint = moto.endpoint();
    let run = {
        let (endpoint, kubeconfig) = (endpoint.clone(), kubeconfig.clone());
        move |args: Vec<String>| {
            let (endpoint, kubeconfig) = (endpoint.clone(), kubeconfig.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    binary::run(binary::command(&endpoint, &kubeconfig), &args)
                })
                .await
                .expect("binary")
            }
        }
    };
    let args = |extra: &[&str]| -> Vec<String> { extra.iter().map(|s| s.to_string()).collect() };

    // Create: the plan names the key to create, apply writes both destinations.
    let plan = run(args(&["plan", "-f", &file, "--detailed-exitcode"])).await;
    assert_eq!(plan.status.code(), Some(2), "{}", shown(&plan));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("+ iam.access-key.eksuser"),
        "{}",
        shown(&plan)
    );
    assert!(text.contains("no active access key"), "{}", shown(&plan));
    let applied = run(args(&["apply", "-f", &file, "--auto-approve", "-v"])).await;
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    let live = keys(&moto).await;
    assert_eq!(live.len(), 1, "{live:?}");
    let (id, secret) = delivered(&server);
    assert_eq!(id, live[0].0);
    let stored = moto.sdk_config().clone();
    let manager = aws_sdk_secretsmanager::Client::new(&stored);
    let value = manager
        .get_secret_value()
        .secret_id("ci/eksuser")
        .send()
        .await
        .expect("GetSecretValue");
    let json: serde_json::Value =
        serde_json::from_str(value.secret_string().expect("string")).expect("json");
    assert_eq!(json["AWS_ACCESS_KEY_ID"], id.as_str());
    assert_eq!(json["AWS_SECRET_ACCESS_KEY"], secret.as_str());
    // The delivered key works: STS answers as the user.
    assert_eq!(
        caller_arn(&moto, &id, &secret).await,
        format!("arn:aws:iam::{ACCOUNT}:user/eksuser")
    );
    let again = run(args(&["plan", "-f", &file, "--detailed-exitcode"])).await;
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));

    // Saved plans, every format, and a snapshot: never the secret.
    let saved = dir.path().join("plan.bin").display().to_string();
    let snapshot = dir.path().join("live.json").display().to_string();
    let later = days_ahead(97);
    let json = run(args(&[
        "plan", "-f", &file, "--now", &later, "-o", "json", "--out", &saved,
    ]))
    .await;
    let markdown = run(args(&[
        "plan", "-f", &file, "--now", &later, "-o", "markdown",
    ]))
    .await;
    let snap = run(args(&["snapshot", "-f", &file, "--out", &snapshot])).await;
    never_shown(
        &secret,
        &[&plan, &applied, &again, &json, &markdown, &snap],
        &[Path::new(&saved), Path::new(&snapshot)],
    );

    // Rotate at 97 days: the old key deactivated only after the new one is delivered.
    let plan = run(args(&["plan", "-f", &file, "--now", &later])).await;
    let text = String::from_utf8_lossy(&plan.stdout);
    let masked = format!("{}…{}", &id[..4], &id[id.len() - 4..]);
    assert!(
        text.contains("~ iam.access-key.eksuser"),
        "{}",
        shown(&plan)
    );
    assert!(
        text.contains(&format!("{masked} is 97 days old, rotateAfterDays 90")),
        "{}",
        shown(&plan)
    );
    let rotated = run(args(&[
        "apply",
        "-f",
        &file,
        "--now",
        &later,
        "--auto-approve",
        "-v",
    ]))
    .await;
    assert_eq!(rotated.status.code(), Some(0), "{}", shown(&rotated));
    let live = keys(&moto).await;
    assert_eq!(live.len(), 2, "{live:?}");
    let (new_id, new_secret) = delivered(&server);
    assert_ne!(new_id, id);
    assert!(
        live.contains(&(id.clone(), "Inactive".to_string())),
        "{live:?}"
    );
    assert!(
        live.contains(&(new_id.clone(), "Active".to_string())),
        "{live:?}"
    );
    let settled = run(args(&["plan", "-f", &file, "--detailed-exitcode"])).await;
    assert_eq!(settled.status.code(), Some(0), "{}", shown(&settled));

    // Grace: 8 days on, the deactivated key goes.
    let grace = days_ahead(8);
    let plan = run(args(&["plan", "-f", &file, "--now", &grace])).await;
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("- iam.access-key.eksuser"),
        "{}",
        shown(&plan)
    );
    let deleted = run(args(&[
        "apply",
        "-f",
        &file,
        "--now",
        &grace,
        "--auto-approve",
    ]))
    .await;
    assert_eq!(deleted.status.code(), Some(0), "{}", shown(&deleted));
    assert_eq!(keys(&moto).await, [(new_id.clone(), "Active".to_string())]);

    // A delivery that fails: the new key is deleted again, the old one keeps working.
    server.inject(
        Fault::internal_error(100)
            .method("PATCH")
            .path_contains("/secrets/"),
    );
    let failed = run(args(&[
        "apply",
        "-f",
        &file,
        "--now",
        &later,
        "--auto-approve",
        "-v",
    ]))
    .await;
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("was deleted again"),
        "{}",
        shown(&failed)
    );
    assert_eq!(keys(&moto).await, [(new_id.clone(), "Active".to_string())]);
    server.clear_faults();
    let converged = run(args(&[
        "apply",
        "-f",
        &file,
        "--now",
        &later,
        "--auto-approve",
    ]))
    .await;
    assert_eq!(converged.status.code(), Some(0), "{}", shown(&converged));
    let live = keys(&moto).await;
    assert_eq!(live.len(), 2, "{live:?}");
    let (last_id, last_secret) = delivered(&server);
    assert!(live.contains(&(last_id, "Active".to_string())), "{live:?}");
    never_shown(
        &new_secret,
        &[&rotated, &settled, &plan, &deleted, &failed, &converged],
        &[],
    );
    never_shown(&last_secret, &[&converged], &[]);
}
