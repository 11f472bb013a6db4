//! Several accounts in one run (issue 16.2), through the real binary against one moto server
//! (accounts isolated by moto's multi-account support: credentials from `sts:AssumeRole` into
//! a role of another account act in that account) and the test API server: an identity
//! account whose user may assume a role of the workload account, a workload account whose
//! role is mapped into its cluster. One `plan` over both files, one `apply`, then a plan with
//! nothing to do and one `drift` over both; each account's objects land in that account only;
//! a broken third account is reported in its place, the others still plan, and the exit code
//! is 1.

use accessctl::aws::Clients;

use crate::support::aws_auth_campaign::{ACCOUNT, CLUSTER, World};
use crate::support::binary::shown;
use crate::support::target::{AwsTarget, KubeTarget};

/// The identity account: people's IAM users. The workload account is [`ACCOUNT`], which
/// holds moto's EKS cluster.
const IDENTITY: &str = "210987654321";
/// An account whose cluster cannot be reached.
const BROKEN: &str = "333333333333";

fn skipped() -> bool {
    KubeTarget::from_env().skip_if_external("accounts: seeds the test API server's aws-auth")
        || AwsTarget::from_env().skip_if_external("accounts: needs moto's cross-account STS")
}

fn identity_yaml() -> String {
    format!(
        r#"version: 1
account: "{IDENTITY}"
assumeRole:
  arn: arn:aws:iam::{IDENTITY}:role/accessctl
  sessionName: accessctl-ci
iam:
  policies:
    AssumeWorkloadAdmin:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: sts:AssumeRole
            Resource: arn:aws:iam::{ACCOUNT}:role/eks-admin
  users:
    alice:
      policies: [AssumeWorkloadAdmin]
"#
    )
}

fn workload_yaml() -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
assumeRole:
  arn: arn:aws:iam::{ACCOUNT}:role/accessctl
  externalId: workload-ci
iam:
  roles:
    eks-admin:
      trust:
        users: ["{IDENTITY}/alice"]
clusters:
  {CLUSTER}:
    region: us-east-1
    context: test
    authentication: config-map
    access:
      - role: eks-admin
        username: eks-admin
        groups: ["system:masters"]
"#
    )
}

fn broken_yaml() -> String {
    format!(
        r#"version: 1
account: "{BROKEN}"
assumeRole:
  arn: arn:aws:iam::{BROKEN}:role/accessctl
clusters:
  prod:
    region: us-east-1
    context: no-such-context
    authentication: config-map
"#
    )
}

/// The users of `account` on the moto server, read with credentials of a role assumed there.
async fn users_in(world: &World, account: &str) -> Vec<String> {
    let role = accessctl::model::AssumeRole {
        arn: format!("arn:aws:iam::{account}:role/reader"),
        external_id: None,
        session_name: "test".to_string(),
    };
    let config = accessctl::aws::config::assume_role(&world.moto.sdk_config(), &role)
        .await
        .expect("moto lets the role be assumed");
    let clients = Clients::new(&config);
    let users = clients.iam.list_users().send().await.expect("list users");
    users
        .users()
        .iter()
        .map(|user| user.user_name().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plan_and_one_apply_over_two_accounts_each_in_its_own_account() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let directory = world.file();
    let directory = directory.parent().expect("the world's directory");
    std::fs::create_dir_all(directory.join("identity")).expect("mkdir");
    std::fs::write(directory.join("identity/access.yaml"), identity_yaml()).expect("write");
    std::fs::write(directory.join("workload.yaml"), workload_yaml()).expect("write");
    let files = ["-f", "identity", "-f", "workload.yaml"];

    let plan = [&["plan", "--detailed-exitcode"][..], &files].concat();
    let planned = world.run(&plan).await;
    assert_eq!(planned.status.code(), Some(2), "{}", shown(&planned));
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(
        text.contains(&format!("=== account {IDENTITY} (identity) ===")),
        "{text}"
    );
    assert!(text.contains("+ iam.user.alice"), "{text}");
    assert!(
        text.contains(&format!("=== account {ACCOUNT} (workload.yaml) ===")),
        "{text}"
    );
    assert!(text.contains("+ iam.role.eks-admin"), "{text}");
    assert!(text.ends_with("2 accounts: 2 with changes.\n"), "{text}");

    let json = world
        .run(&[&["plan", "-o", "json"][..], &files].concat())
        .await;
    assert_eq!(json.status.code(), Some(0), "{}", shown(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let accounts: Vec<&str> = report["accounts"]
        .as_array()
        .expect("accounts[]")
        .iter()
        .filter_map(|account| account["account"].as_str())
        .collect();
    assert_eq!(accounts, [IDENTITY, ACCOUNT]);

    let apply = [&["apply", "--auto-approve"][..], &files].concat();
    let applied = world.run(&apply).await;
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));

    // Each account's objects in that account, and only there.
    assert_eq!(users_in(&world, IDENTITY).await, ["alice"]);
    assert!(users_in(&world, ACCOUNT).await.is_empty());
    let map_roles = world
        .aws_auth()
        .data
        .and_then(|data| data.get("mapRoles").cloned())
        .unwrap_or_default();
    assert!(
        map_roles.contains(&format!("rolearn: arn:aws:iam::{ACCOUNT}:role/eks-admin\n")),
        "{map_roles}"
    );

    let again = world.run(&plan).await;
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.ends_with("2 accounts: 0 with changes.\n"), "{text}");

    // Drift over both: the identity account is in sync; the workload cluster's creator entry
    // (system:masters, not in the file) is an unmanaged grant.
    let drift = world
        .run(&[&["drift", "-o", "json"][..], &files].concat())
        .await;
    assert_eq!(drift.status.code(), Some(2), "{}", shown(&drift));
    let report: serde_json::Value = serde_json::from_slice(&drift.stdout).expect("JSON");
    assert_eq!(report["accounts"][0]["account"], IDENTITY);
    assert_eq!(
        report["accounts"][0]["drift"]["in_sync"], true,
        "{report:#}"
    );
    assert_eq!(
        report["accounts"][1]["drift"]["in_sync"], false,
        "{report:#}"
    );
    assert_eq!(report["summary"]["with_changes"], 1);

    // Insight over both accounts follows the chain across them: the identity account's user,
    // allowed by its own policy and by the workload role's trust, assumes the role that the
    // workload cluster maps to `system:masters`. Declared and live, the same route.
    let route = format!(
        "user/{IDENTITY}/alice → role/{ACCOUNT}/eks-admin → aws-auth mapRoles (user eks-admin, groups system:masters)"
    );
    for live in [&[][..], &["--live"][..]] {
        let who = world
            .run(&[&["who-can", "delete", "pods", "-A"][..], live, &files].concat())
            .await;
        assert_eq!(who.status.code(), Some(0), "{}", shown(&who));
        let text = String::from_utf8_lossy(&who.stdout);
        assert!(
            text.contains(&format!(
                "  user/{IDENTITY}/alice [yes] in cluster {ACCOUNT}/{CLUSTER}\n    {route}"
            )),
            "{text}"
        );
        let can = world
            .run(
                &[
                    &["can-i", "delete", "pods", "-A", "--as", "alice"][..],
                    live,
                    &files,
                ]
                .concat(),
            )
            .await;
        assert_eq!(can.status.code(), Some(0), "{}", shown(&can));
        let text = String::from_utf8_lossy(&can.stdout);
        assert!(text.starts_with("yes\n"), "{text}");
        assert!(text.contains(&route), "{text}");
    }
    // Alone, the identity account's user reaches no cluster: the cluster is in the other file.
    let alone = world
        .run(&[
            "can-i", "delete", "pods", "-A", "--as", "alice", "-f", "identity",
        ])
        .await;
    assert_eq!(alone.status.code(), Some(3), "{}", shown(&alone));
    let explained = world
        .run(
            &[
                &[
                    "explain",
                    "--principal",
                    &format!("arn:aws:iam::{IDENTITY}:user/alice"),
                ][..],
                &files,
            ]
            .concat(),
        )
        .await;
    assert_eq!(explained.status.code(), Some(0), "{}", shown(&explained));
    let text = String::from_utf8_lossy(&explained.stdout);
    assert!(
        text.contains(&format!("role/{ACCOUNT}/eks-admin")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_account_is_reported_in_its_place_and_the_others_still_plan() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let directory = world.file();
    let directory = directory.parent().expect("the world's directory");
    std::fs::write(directory.join("identity.yaml"), identity_yaml()).expect("write");
    std::fs::write(directory.join("broken.yaml"), broken_yaml()).expect("write");
    std::fs::write(directory.join("workload.yaml"), workload_yaml()).expect("write");
    let files = [
        "-f",
        "identity.yaml",
        "-f",
        "broken.yaml",
        "-f",
        "workload.yaml",
    ];

    let planned = world
        .run(&[&["plan", "--detailed-exitcode"][..], &files].concat())
        .await;
    assert_eq!(planned.status.code(), Some(1), "{}", shown(&planned));
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(text.contains("+ iam.user.alice"), "{text}");
    assert!(text.contains("+ iam.role.eks-admin"), "{text}");
    let broken = text
        .split(&format!("=== account {BROKEN} (broken.yaml) ===\n\n"))
        .nth(1)
        .expect("the broken account's section");
    assert!(broken.starts_with("error: "), "{broken}");
    assert!(broken.contains("no-such-context"), "{broken}");
    assert!(
        text.ends_with("3 accounts: 2 with changes, 1 failed.\n"),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&planned.stderr);
    assert!(
        stderr.contains("1 of 3 accounts could not be planned"),
        "{stderr}"
    );

    // Apply is all the accounts or none.
    let applied = world
        .run(&[&["apply", "--auto-approve"][..], &files].concat())
        .await;
    assert_eq!(applied.status.code(), Some(1), "{}", shown(&applied));
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert!(
        stderr.contains("nothing was applied in any account"),
        "{stderr}"
    );
    assert!(users_in(&world, IDENTITY).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_of_one_account_are_refused() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let directory = world.file();
    let directory = directory.parent().expect("the world's directory");
    std::fs::write(directory.join("one.yaml"), workload_yaml()).expect("write");
    std::fs::write(directory.join("two.yaml"), workload_yaml()).expect("write");
    let planned = world
        .run(&["plan", "-f", "one.yaml", "-f", "two.yaml"])
        .await;
    assert_eq!(planned.status.code(), Some(1), "{}", shown(&planned));
    let text = String::from_utf8_lossy(&planned.stdout);
    assert_eq!(
        text.matches(&format!(
            "error: account {ACCOUNT} is in more than one of the files given with `-f`"
        ))
        .count(),
        2,
        "{text}"
    );
}
