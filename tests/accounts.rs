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

/// Clients of `account` on the moto server, with credentials of a role assumed there.
async fn clients_in(world: &World, account: &str) -> Clients {
    let role = accessctl::model::AssumeRole {
        arn: format!("arn:aws:iam::{account}:role/reader"),
        external_id: None,
        session_name: "test".to_string(),
    };
    let config = accessctl::aws::config::assume_role(&world.moto.sdk_config(), &role)
        .await
        .expect("moto lets the role be assumed");
    Clients::new(&config)
}

/// The users of `account` on the moto server.
async fn users_in(world: &World, account: &str) -> Vec<String> {
    let clients = clients_in(world, account).await;
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
    // workload cluster maps to `system:masters`. Declared, live and from a snapshot of both,
    // the same route.
    let route = format!(
        "user/{IDENTITY}/alice → role/{ACCOUNT}/eks-admin → aws-auth mapRoles (user eks-admin, groups system:masters)"
    );
    let saved = world
        .run(&[&["snapshot", "--all", "--out", "estate.json"][..], &files].concat())
        .await;
    assert_eq!(saved.status.code(), Some(0), "{}", shown(&saved));
    for live in [&[][..], &["--live"], &["--live-state", "estate.json"]] {
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

    // Insight across accounts needs every account: one that cannot be read ends the command
    // (an answer without it would be wrong, not partial).
    let who = world
        .run(&[&["who-can", "get", "pods", "--live"][..], &files].concat())
        .await;
    assert_eq!(who.status.code(), Some(1), "{}", shown(&who));
    assert!(who.stdout.is_empty(), "{}", shown(&who));
    let stderr = String::from_utf8_lossy(&who.stderr);
    assert!(stderr.contains("`broken.yaml`: "), "{stderr}");
    assert!(stderr.contains("no-such-context"), "{stderr}");
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

/// The roles of `account` on the moto server.
async fn roles_in(world: &World, account: &str) -> Vec<String> {
    let clients = clients_in(world, account).await;
    let roles = clients.iam.list_roles().send().await.expect("list roles");
    roles
        .roles()
        .iter()
        .map(|role| role.role_name().to_string())
        .collect()
}

/// The identity and workload files in the world's directory; `-f` for both.
fn two_accounts(world: &World) -> [&'static str; 4] {
    let directory = world.file();
    let directory = directory.parent().expect("the world's directory");
    std::fs::create_dir_all(directory.join("identity")).expect("mkdir");
    std::fs::write(directory.join("identity/access.yaml"), identity_yaml()).expect("write");
    std::fs::write(directory.join("workload.yaml"), workload_yaml()).expect("write");
    ["-f", "identity", "-f", "workload.yaml"]
}

/// `snapshot` over two accounts writes one document with each account's state; `plan` and
/// `drift` of both against it show what they show live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_two_accounts_plans_as_the_live_accounts_do() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let files = two_accounts(&world);

    let snapshot = world
        .run(&[&["snapshot", "--out", "live.json"][..], &files].concat())
        .await;
    assert_eq!(snapshot.status.code(), Some(0), "{}", shown(&snapshot));
    let path = world.file().with_file_name("live.json");
    let text = std::fs::read_to_string(&path).expect("the snapshot");
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["kind"], "accessctl-snapshots");
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["accounts"][0]["account"], IDENTITY);
    assert_eq!(document["accounts"][0]["file"], "identity");
    assert_eq!(document["accounts"][1]["account"], ACCOUNT);
    assert_eq!(document["accounts"][1]["state"]["account"], ACCOUNT);
    assert!(
        document["accounts"][1]["state"]["clusters"][CLUSTER].is_object(),
        "{document:#}"
    );
    // No secret: no key material, no session token, no bearer token.
    for needle in [
        "SecretAccessKey",
        "secret_access_key",
        "SessionToken",
        "token",
    ] {
        assert!(!text.contains(needle), "{needle} in {text}");
    }
    let read = accessctl::snapshot::read_accounts(&path).expect("read back");
    assert_eq!(read.accounts.len(), 2);
    // `--all` saves every account's clusters whole, as for one account.
    let all = world
        .run(&[&["snapshot", "--all", "--out", "all.json"][..], &files].concat())
        .await;
    assert_eq!(all.status.code(), Some(0), "{}", shown(&all));
    let all = accessctl::snapshot::read_accounts(&world.file().with_file_name("all.json"))
        .expect("read back");
    assert!(
        all.accounts
            .iter()
            .all(|part| part.state.scope == accessctl::model::ReadScope::Everything)
    );

    let live = world
        .run(&[&["plan", "--detailed-exitcode"][..], &files].concat())
        .await;
    assert_eq!(live.status.code(), Some(2), "{}", shown(&live));
    let offline = world
        .run(
            &[
                &["plan", "--detailed-exitcode", "--live-state", "live.json"][..],
                &files,
            ]
            .concat(),
        )
        .await;
    assert_eq!(offline.status.code(), Some(2), "{}", shown(&offline));
    assert_eq!(
        String::from_utf8_lossy(&offline.stdout),
        String::from_utf8_lossy(&live.stdout)
    );
    let text = String::from_utf8_lossy(&offline.stdout);
    assert!(text.contains("+ iam.user.alice"), "{text}");
    assert!(text.ends_with("2 accounts: 2 with changes.\n"), "{text}");

    let drift = world
        .run(
            &[
                &["drift", "-o", "json", "--live-state", "live.json"][..],
                &files,
            ]
            .concat(),
        )
        .await;
    assert_eq!(drift.status.code(), Some(2), "{}", shown(&drift));
    let report: serde_json::Value = serde_json::from_slice(&drift.stdout).expect("JSON");
    assert_eq!(report["summary"]["accounts"], 2, "{report:#}");
    assert_eq!(report["summary"]["failed"], 0, "{report:#}");

    // A snapshot of several accounts with one `-f`, and one account's snapshot with several:
    // usage errors that say what to do.
    let one = world
        .run(&["plan", "-f", "workload.yaml", "--live-state", "live.json"])
        .await;
    assert_eq!(one.status.code(), Some(1), "{}", shown(&one));
    insta::assert_snapshot!(
        "accounts-several-account-snapshot-with-one-f",
        String::from_utf8_lossy(&one.stderr)
    );
    let single = world
        .run(&["snapshot", "-f", "workload.yaml", "--out", "workload.json"])
        .await;
    assert_eq!(single.status.code(), Some(0), "{}", shown(&single));
    let several = world
        .run(&[&["plan", "--live-state", "workload.json"][..], &files].concat())
        .await;
    assert_eq!(several.status.code(), Some(1), "{}", shown(&several));
    insta::assert_snapshot!(
        "accounts-one-account-snapshot-with-several-f",
        String::from_utf8_lossy(&several.stderr)
    );
}

/// An account that could not be read is left out of the snapshot (exit 1, the others saved);
/// a plan of it against that snapshot reports it in its place and still plans the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_missing_from_the_snapshot_is_reported_in_its_place() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let files = two_accounts(&world);
    let directory = world.file();
    let directory = directory.parent().expect("the world's directory");
    std::fs::write(directory.join("broken.yaml"), broken_yaml()).expect("write");

    let args = [
        "snapshot",
        "-f",
        "identity",
        "-f",
        "broken.yaml",
        "--out",
        "live.json",
    ];
    insta::assert_snapshot!(
        "accounts-snapshot-with-a-broken-account",
        world.transcript(&args, 1).await
    );
    let read = accessctl::snapshot::read_accounts(&directory.join("live.json")).expect("saved");
    let held: Vec<&str> = read
        .accounts
        .iter()
        .map(|part| part.account.as_str())
        .collect();
    assert_eq!(held, [IDENTITY]);

    let args = [&["plan", "--live-state", "live.json"][..], &files].concat();
    insta::assert_snapshot!(
        "accounts-plan-of-an-account-the-snapshot-lacks",
        world.transcript(&args, 1).await
    );
    // A saved plan holds every account or none.
    let out = world
        .run(
            &[
                &["plan", "--live-state", "live.json", "--out", "plan.json"][..],
                &files,
            ]
            .concat(),
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the plan was not saved to `plan.json`"),
        "{stderr}"
    );
    assert!(!directory.join("plan.json").exists());

    let drift = world
        .run(&[&["drift", "--live-state", "live.json"][..], &files].concat())
        .await;
    assert_eq!(drift.status.code(), Some(1), "{}", shown(&drift));
    let text = String::from_utf8_lossy(&drift.stdout);
    assert!(
        text.contains(&format!(
            "error: `live.json` has no live state of account {ACCOUNT} (it holds {IDENTITY})"
        )),
        "{text}"
    );
}

/// `plan --out` over two accounts writes one saved plan; `apply plan.json` applies both, and
/// a plan afterwards has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_of_two_accounts_applies_both() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let files = two_accounts(&world);

    let planned = world
        .run(
            &[
                &["plan", "--detailed-exitcode", "--out", "plan.json"][..],
                &files,
            ]
            .concat(),
        )
        .await;
    assert_eq!(planned.status.code(), Some(2), "{}", shown(&planned));
    let stderr = String::from_utf8_lossy(&planned.stderr);
    assert!(
        stderr.contains("saved the plan of 2 accounts to `plan.json`"),
        "{stderr}"
    );
    let saved = world.file().with_file_name("plan.json");
    let text = std::fs::read_to_string(&saved).expect("the saved plan");
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["kind"], "accessctl-saved-plans");
    assert_eq!(document["accounts"][0]["account"], IDENTITY);
    assert_eq!(
        document["accounts"][1]["saved_plan"]["kind"],
        "accessctl-saved-plan"
    );

    let args = [&["apply", "plan.json", "--auto-approve"][..], &files].concat();
    insta::assert_snapshot!(
        "accounts-apply-a-saved-plan-of-two-accounts",
        world.transcript(&args, 0).await
    );
    assert_eq!(users_in(&world, IDENTITY).await, ["alice"]);
    assert!(
        roles_in(&world, ACCOUNT)
            .await
            .contains(&"eks-admin".to_string())
    );
    let map_roles = world
        .aws_auth()
        .data
        .and_then(|data| data.get("mapRoles").cloned())
        .unwrap_or_default();
    assert!(
        map_roles.contains(&format!("rolearn: arn:aws:iam::{ACCOUNT}:role/eks-admin\n")),
        "{map_roles}"
    );

    let again = world
        .run(&[&["plan", "--detailed-exitcode"][..], &files].concat())
        .await;
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.ends_with("2 accounts: 0 with changes.\n"), "{text}");

    // The same saved plan again: its objects exist now, so it is stale as a whole.
    insta::assert_snapshot!(
        "accounts-apply-a-stale-saved-plan-of-two-accounts",
        world
            .transcript(&["apply", "plan.json", "--auto-approve"], 1)
            .await
    );
}

/// A saved plan of two accounts whose workload file changed after the plan is refused as a
/// whole: nothing is applied in either account. So is one given a missing or an extra `-f`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_of_two_accounts_with_one_changed_file_applies_nothing() {
    if skipped() {
        return;
    }
    let world = World::start().await;
    let files = two_accounts(&world);
    let directory = world.file();
    let directory = directory.parent().expect("the world's directory");
    std::fs::write(directory.join("broken.yaml"), broken_yaml()).expect("write");

    let planned = world
        .run(&[&["plan", "--out", "plan.json"][..], &files].concat())
        .await;
    assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));

    // A missing `-f` and an extra one, each named.
    let args = [
        "apply",
        "plan.json",
        "--auto-approve",
        "-f",
        "identity",
        "-f",
        "broken.yaml",
    ];
    insta::assert_snapshot!(
        "accounts-saved-plan-with-a-missing-and-an-extra-f",
        world.transcript(&args, 1).await
    );

    let changed = workload_yaml().replace("username: eks-admin", "username: eks-admins");
    std::fs::write(directory.join("workload.yaml"), changed).expect("write");
    let args = [&["apply", "plan.json", "--auto-approve"][..], &files].concat();
    insta::assert_snapshot!(
        "accounts-saved-plan-with-a-changed-file",
        world.transcript(&args, 1).await
    );
    // Nothing in either account: not the identity account's user, not the workload's role.
    assert!(users_in(&world, IDENTITY).await.is_empty());
    assert!(
        !roles_in(&world, ACCOUNT)
            .await
            .contains(&"eks-admin".to_string())
    );
    let map_roles = world
        .aws_auth()
        .data
        .and_then(|data| data.get("mapRoles").cloned())
        .unwrap_or_default();
    assert!(!map_roles.contains("eks-admin"), "{map_roles}");
}

/// An account's role is assumed once per run: the credentials of the check that it can be
/// assumed serve the clients' first calls (a proxy in front of moto cuts the line at a second
/// `AssumeRole`, which would fail the calls after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_role_is_assumed_once() {
    if AwsTarget::from_env().skip_if_external("accounts: a proxy stands in front of moto") {
        return;
    }
    let moto = tokio::task::spawn_blocking(crate::moto::Moto::start)
        .await
        .expect("moto starts");
    let proxy = crate::support::proxy::Proxy::start(moto.address()).await;
    proxy.cut_after(1, "Action=AssumeRole&");
    let base = moto
        .sdk_config()
        .to_builder()
        .endpoint_url(proxy.endpoint())
        .build();
    let role = accessctl::model::AssumeRole {
        arn: format!("arn:aws:iam::{IDENTITY}:role/reader"),
        external_id: None,
        session_name: "test".to_string(),
    };
    let config = accessctl::aws::config::assume_role(&base, &role)
        .await
        .expect("moto lets the role be assumed");
    let clients = Clients::new(&config);
    clients
        .iam
        .list_users()
        .send()
        .await
        .expect("the first call signs with the checked credentials");
    let caller = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("who am I");
    assert_eq!(caller.account(), Some(IDENTITY));
    assert!(!proxy.is_cut(), "the role was assumed a second time");
}
