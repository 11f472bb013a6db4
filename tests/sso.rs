//! IAM Identity Center permission sets (issue 16.4), through the real binary against moto and
//! the test API server: `ssoPermissionSet` resolves to the account's `AWSReservedSSO_…` role
//! from the live IAM read, aws-auth gets its ARN without the path, the apply writes it and the
//! next plan has nothing to do; a permission set with no role is an error naming the account.

use serde_json::json;

use crate::support::aws_auth_campaign::{ACCOUNT, CLUSTER, World};
use crate::support::binary::shown;
use crate::support::target::{AwsTarget, KubeTarget};

const ROLE: &str = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
const PATH: &str = "/aws-reserved/sso.amazonaws.com/eu-west-1/";

fn skipped() -> bool {
    KubeTarget::from_env().skip_if_external("sso: seeds the test API server's aws-auth")
        || AwsTarget::from_env().skip_if_external("sso: creates an IAM Identity Center role")
}

/// The role IAM Identity Center provisions for permission set `AdministratorAccess`.
async fn provision(world: &World) {
    let iam = aws_sdk_iam::Client::new(&world.moto.sdk_config());
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE")}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]});
    iam.create_role()
        .role_name(ROLE)
        .path(PATH)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("create role");
}

fn access_yaml(permission_set: &str) -> String {
    format!(
        "version: 1\naccount: \"{ACCOUNT}\"\nclusters:\n  {CLUSTER}:\n    region: us-east-1\n    context: test\n    authentication: config-map\n    access:\n      - ssoPermissionSet: {permission_set}\n        username: \"admin:{{{{SessionName}}}}\"\n        groups: [\"system:masters\"]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_set_maps_its_role_into_aws_auth_without_the_path() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    provision(&world).await;
    world.write_file(&access_yaml("AdministratorAccess"));

    let plan = ["plan", "-f", "access.yaml", "--detailed-exitcode"];
    insta::assert_snapshot!("sso-plan", world.transcript(&plan, 2).await);

    let apply = world
        .run(&["apply", "-f", "access.yaml", "--auto-approve"])
        .await;
    assert_eq!(apply.status.code(), Some(0), "{}", shown(&apply));
    let map_roles = world
        .aws_auth()
        .data
        .and_then(|data| data.get("mapRoles").cloned())
        .unwrap_or_default();
    let written = format!("rolearn: arn:aws:iam::{ACCOUNT}:role/{ROLE}\n");
    assert!(map_roles.contains(&written), "{map_roles}");
    assert!(!map_roles.contains("aws-reserved"), "{map_roles}");

    let again = world.run(&plan).await;
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_set_with_no_role_in_the_account_is_a_plan_error() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    provision(&world).await;
    world.write_file(&access_yaml("AdminstratorAccess"));
    let plan = ["plan", "-f", "access.yaml"];
    insta::assert_snapshot!("sso-no-role", world.transcript(&plan, 1).await);
    // Offline, the name is accepted: only live IAM knows the account's roles.
    let validate = world.run(&["validate", "-f", "access.yaml"]).await;
    assert_eq!(validate.status.code(), Some(0), "{}", shown(&validate));
}
