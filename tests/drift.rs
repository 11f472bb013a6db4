//! Drift's acknowledged grants through the binary, on moto and the test API server: the
//! cluster creator's `system:masters` aws-auth entry and a console-made IAM admin fail the
//! check until access.yaml acknowledges them; acknowledged, they are listed with their reasons
//! and drift exits 0; a new unmanaged grant fails it again; an acknowledged grant that is gone
//! is a note.

use std::process::Output;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde_json::json;

use crate::access_keys::{ACCOUNT, Rig};
use crate::support::binary;
use crate::support::kube_server::CONTEXT;

/// access.yaml: a user mapped into the cluster, and `acknowledged` (YAML at the top level) and
/// `cluster` (YAML at the indentation of a cluster's keys) added.
fn access_yaml(acknowledged: &str, cluster: &str) -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  users:
    developer:
      policies: [aws:ReadOnlyAccess]
clusters:
  demo:
    region: us-east-1
    context: {CONTEXT}
    authentication: config-map
    access:
      - user: developer
        groups: [viewers]
{cluster}{acknowledged}"#
    )
}

const ACKNOWLEDGED: &str = r#"acknowledged:
  - grant: iam.user.console-admin
    reason: made in the console before accessctl; moves into access.yaml with ticket OPS-12
"#;

const CLUSTER_ACKNOWLEDGED: &str = r#"    acknowledged:
      - grant: arn:aws:iam::123456789012:user/cluster-creator
        reason: the cluster creator, break-glass access; EKS keeps it
"#;

/// The aws-auth ConfigMap as EKS leaves it: the cluster creator in `system:masters`.
fn creator_aws_auth() -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapUsers": format!(
            "- userarn: arn:aws:iam::{ACCOUNT}:user/cluster-creator\n  username: cluster-creator\n  groups:\n    - system:masters\n"
        )},
    }))
    .expect("a ConfigMap")
}

fn hand_made_binding() -> ClusterRoleBinding {
    serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "hand-made"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}],
    }))
    .expect("a ClusterRoleBinding")
}

/// `accessctl drift -f access.yaml ARGS`, expecting `code`: its transcript, with the
/// temporary file shown as `access.yaml`.
async fn drift(rig: &Rig, code: i32, args: &[&str]) -> (Output, String) {
    let mut all = vec!["drift", "-f", "{file}"];
    all.extend(args);
    let output = rig.expect(code, &all).await;
    let mut shown = vec!["drift", "-f", "access.yaml"];
    shown.extend(args);
    let transcript = binary::transcript(&shown, &output).replace(&rig.file, "access.yaml");
    (output, transcript)
}

/// Unacknowledged, the cluster creator's entry and a console-made admin fail drift (2);
/// acknowledged, drift lists them with their reasons and exits 0, in every format; a third
/// grant nobody acknowledged exits 2 again; an acknowledged grant that is gone is a note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_grants_are_listed_but_do_not_fail_drift() {
    let Some(rig) = Rig::with(&access_yaml("", "")).await else {
        return;
    };
    rig.server.seed(&creator_aws_auth());
    rig.expect(0, &["apply", "-f", "{file}", "--auto-approve"])
        .await;
    let iam = rig.moto.clients().iam;
    iam.create_user()
        .user_name("console-admin")
        .send()
        .await
        .expect("CreateUser");
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    iam.attach_user_policy()
        .user_name("console-admin")
        .policy_arn(admin)
        .send()
        .await
        .expect("AttachUserPolicy");

    // Nothing acknowledged: both fail the check.
    let (_, unacknowledged) = drift(&rig, 2, &[]).await;
    insta::assert_snapshot!("drift_unacknowledged", unacknowledged);

    // Both acknowledged: listed with their reasons, and drift is clean.
    std::fs::write(&rig.file, access_yaml(ACKNOWLEDGED, CLUSTER_ACKNOWLEDGED))
        .expect("write access.yaml");
    let (_, text) = drift(&rig, 0, &[]).await;
    insta::assert_snapshot!("drift_acknowledged_text", text);
    let (json_output, json) = drift(&rig, 0, &["-o", "json"]).await;
    insta::assert_snapshot!("drift_acknowledged_json", json);
    let report: serde_json::Value =
        serde_json::from_slice(&json_output.stdout).expect("drift JSON");
    assert_eq!(report["in_sync"], true);
    assert_eq!(report["unmanaged"], json!([]));
    let (_, markdown) = drift(&rig, 0, &["-o", "markdown"]).await;
    insta::assert_snapshot!("drift_acknowledged_markdown", markdown);
    // The plan has nothing to do with acknowledgements.
    rig.expect(0, &["plan", "-f", "{file}", "--detailed-exitcode"])
        .await;

    // A third grant, not acknowledged: drift fails again, and names only it as drift.
    rig.server.seed(&hand_made_binding());
    let (_, third) = drift(&rig, 2, &[]).await;
    insta::assert_snapshot!("drift_new_unacknowledged_grant", third);

    // The binding goes, and so does the console-made admin: its acknowledgement is a note.
    let kube = rig.server.client().await;
    kube::Api::<ClusterRoleBinding>::all(kube)
        .delete("hand-made", &Default::default())
        .await
        .expect("delete the binding");
    iam.detach_user_policy()
        .user_name("console-admin")
        .policy_arn(admin)
        .send()
        .await
        .expect("DetachUserPolicy");
    iam.delete_user()
        .user_name("console-admin")
        .send()
        .await
        .expect("DeleteUser");
    let (_, gone) = drift(&rig, 0, &[]).await;
    insta::assert_snapshot!("drift_acknowledged_grant_gone", gone);
    let (json_output, gone_json) = drift(&rig, 0, &["-o", "json"]).await;
    insta::assert_snapshot!("drift_acknowledged_grant_gone_json", gone_json);
    let report: serde_json::Value =
        serde_json::from_slice(&json_output.stdout).expect("drift JSON");
    assert_eq!(
        report["acknowledged_gone"][0]["grant"],
        "iam.user.console-admin"
    );
}
