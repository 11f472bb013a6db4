//! Issue 20: an owned group owns its members (membership of a group accessctl owns is
//! exclusive), and `-q` means quiet.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use accessctl::import::{self, Options};
use accessctl::model::{
    AwsAuth, AwsAuthEntry, Caller, Cluster, DEFAULT_GROUP_PATH, Group, MapKind, State, User,
};
use accessctl::plan::{self, Action, PlanOptions};
use accessctl::spec::{self, Facts};

use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, KubeTarget};

const ACCOUNT: &str = "123456789012";

/// `admins` is admin-equivalent; `deployers` is not: its members may only assume `eks-admin`
/// (seed 001's route to `system:masters`).
fn access_yaml(alice_groups: &str) -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  groups:
    admins:
      policies: [aws:AdministratorAccess]
    deployers:
      inline:
        assume-eks-admin:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: sts:AssumeRole
              Resource: arn:aws:iam::{ACCOUNT}:role/eks-admin
  users:
    alice:
      groups: {alice_groups}
"#
    )
}

fn accessctl(args: &[&str], moto: &Moto, dir: &Path) -> Output {
    // No clusters are declared: nothing reads the kubeconfig.
    let mut command = binary::command(&moto.endpoint(), &dir.join("no-kubeconfig"));
    command.env("HOME", dir);
    binary::run(command, args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn group_members(iam: &aws_sdk_iam::Client, group: &str) -> BTreeSet<String> {
    iam.get_group()
        .group_name(group)
        .send()
        .await
        .expect("moto gets the group")
        .users()
        .iter()
        .map(|user| user.user_name().to_string())
        .collect()
}

/// The issue's scenario on moto through the binary: a console-made user added to owned groups
/// is planned out of them (also of the group that is not admin-equivalent), drift reports it,
/// apply takes her out and leaves the user; then the next plan and drift are clean. Then alice
/// moves from one owned group to the other in the file: one change, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_added_member_of_owned_groups_is_removed_and_the_user_kept() {
    if AwsTarget::from_env().skip_if_external("owned groups: moto's default account") {
        return;
    }
    let moto = tokio::task::spawn_blocking(|| {
        Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
    })
    .await
    .expect("moto starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, access_yaml("[admins]")).expect("write access.yaml");
    let file = file.display().to_string();
    let run = |args: &[&str]| accessctl(args, &moto, dir.path());

    let created = run(&["apply", "-f", &file, "--auto-approve"]);
    assert_eq!(created.status.code(), Some(0), "{}", shown(&created));

    // Someone adds a console-made user to both groups.
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    iam.create_user()
        .user_name("mallory")
        .send()
        .await
        .expect("create mallory");
    for group in ["admins", "deployers"] {
        iam.add_user_to_group()
            .user_name("mallory")
            .group_name(group)
            .send()
            .await
            .expect("add mallory");
    }

    let planned = run(&["plan", "-f", &file, "--detailed-exitcode"]);
    assert_eq!(planned.status.code(), Some(2), "{}", shown(&planned));
    insta::assert_snapshot!("console_added_member_plan", stdout(&planned));

    let drift = run(&["drift", "-f", &file, "-o", "json"]);
    assert_eq!(drift.status.code(), Some(2), "{}", shown(&drift));
    let report: serde_json::Value = serde_json::from_str(&stdout(&drift)).expect("drift JSON");
    let changed: Vec<(String, String)> = report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|change| {
            (
                change["address"].as_str().unwrap_or_default().to_string(),
                change["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("iam.group.admins".to_string(), "update".to_string()),
            ("iam.group.deployers".to_string(), "update".to_string()),
        ],
        "{}",
        shown(&drift)
    );

    let applied = run(&["apply", "-f", &file, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    assert!(
        iam.get_user().user_name("mallory").send().await.is_ok(),
        "the user mallory is not accessctl's: she stays"
    );
    assert_eq!(
        group_members(&iam, "admins").await,
        BTreeSet::from(["alice".to_string()])
    );
    assert!(group_members(&iam, "deployers").await.is_empty());

    let again = run(&["plan", "-f", &file, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
    let drift = run(&["drift", "-f", &file]);
    assert_eq!(drift.status.code(), Some(0), "{}", shown(&drift));

    // alice moves from `admins` to `deployers` in the file: one change, and it converges.
    std::fs::write(&file, access_yaml("[deployers]")).expect("write access.yaml");
    let moved = run(&["plan", "-f", &file, "-o", "json"]);
    assert_eq!(moved.status.code(), Some(0), "{}", shown(&moved));
    let moved: serde_json::Value = serde_json::from_str(&stdout(&moved)).expect("plan JSON");
    let addresses: Vec<&str> = moved["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|change| change["address"].as_str())
        .collect();
    assert_eq!(addresses, ["iam.user.alice"], "{moved:#}");
    let applied = run(&["apply", "-f", &file, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    assert!(group_members(&iam, "admins").await.is_empty());
    assert_eq!(
        group_members(&iam, "deployers").await,
        BTreeSet::from(["alice".to_string()])
    );
    let again = run(&["plan", "-f", &file, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
}

fn group(path: &str, policy: &str) -> Group {
    serde_json::from_value(serde_json::json!({ "path": path, "managed_policies": [policy] }))
        .expect("a group")
}

fn user(groups: &[&str], owned: bool) -> User {
    let mut tags = std::collections::BTreeMap::new();
    if owned {
        tags.insert("managed-by".to_string(), "accessctl".to_string());
    }
    User {
        path: "/".to_string(),
        groups: groups.iter().map(|g| (*g).to_string()).collect(),
        managed_policies: BTreeSet::new(),
        inline_policies: Default::default(),
        permissions_boundary: None,
        tags,
    }
}

/// An estate made by hand: aws-auth maps `alice`, a member of `developers`, a group made in
/// the console, to which someone also added `mallory` (who is mapped nowhere).
fn console_estate() -> State {
    let mut live = State {
        account: Some(ACCOUNT.to_string()),
        caller: Some(Caller {
            account: ACCOUNT.to_string(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/admin"),
        }),
        ..State::default()
    };
    live.iam.groups.insert(
        "developers".to_string(),
        group("/", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    );
    live.iam
        .users
        .insert("alice".to_string(), user(&["developers"], false));
    live.iam
        .users
        .insert("mallory".to_string(), user(&["developers"], false));
    live.iam.users.insert("admin".to_string(), user(&[], false));
    live.clusters.insert(
        "demo".to_string(),
        Cluster {
            region: Some("us-east-1".to_string()),
            aws_auth: Some(AwsAuth {
                entries: vec![AwsAuthEntry {
                    kind: MapKind::MapUsers,
                    arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
                    username: Some("alice".to_string()),
                    groups: vec!["developers".to_string()],
                }],
                ..AwsAuth::default()
            }),
            ..Cluster::default()
        },
    );
    live
}

fn import_and_plan(live: &State, options: &Options) -> (String, plan::Plan) {
    let imported = import::import(live, options).expect("import");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, &imported.yaml).expect("write");
    let loaded = spec::load(&file, &Facts { live: Some(live) })
        .unwrap_or_else(|d| panic!("{d}\n{}", imported.yaml));
    let first = plan::plan(&loaded.desired, live, &PlanOptions::default())
        .unwrap_or_else(|e| panic!("{e:?}\n{}", imported.yaml));
    (imported.yaml, first)
}

/// import → plan with a console-added member of an imported group: the member is written
/// (`adopt: true`), so the first plan only adopts and removes no one.
#[test]
fn import_writes_every_member_of_an_imported_group() {
    let live = console_estate();
    let (yaml, first) = import_and_plan(
        &live,
        &Options {
            cluster: "demo".to_string(),
            ..Options::default()
        },
    );
    assert!(yaml.contains("    mallory:"), "{yaml}");
    for change in &first.changes {
        assert_eq!(
            change.action,
            Action::Adopt,
            "{} is not an adoption\n{yaml}",
            change.address
        );
    }
    let adopted: Vec<String> = first
        .changes
        .iter()
        .map(|c| c.address.to_string())
        .collect();
    assert!(
        adopted.contains(&"iam.user.mallory".to_string())
            && adopted.contains(&"iam.group.developers".to_string()),
        "{adopted:?}"
    );
    let after = crate::support::oracle::simulate(&live, &first);
    assert_eq!(
        after.iam.users["mallory"].groups,
        live.iam.users["mallory"].groups
    );
}

/// With `--include` leaving users out, the file says which members of an imported group are
/// left out and why.
#[test]
fn import_with_include_names_the_members_left_out() {
    let live = console_estate();
    let imported = import::import(
        &live,
        &Options {
            cluster: "demo".to_string(),
            include: BTreeSet::from([import::Part::IamGroups, import::Part::AwsAuth]),
            path_prefix: Some("/".to_string()),
            ..Options::default()
        },
    )
    .expect("import");
    let header: Vec<&str> = imported
        .yaml
        .lines()
        .take_while(|line| line.starts_with('#'))
        .collect();
    assert!(
        header
            .iter()
            .any(|line| line.contains("IAM group `developers`")
                && line.contains("`alice`, `mallory`")
                && line.contains("--include")),
        "{}",
        imported.yaml
    );
    // The group is left out with its members: owning it without them would make the first
    // plan take them out.
    let written: serde_json::Value = serde_saphyr::from_str(&imported.yaml).expect("YAML");
    assert!(
        written.pointer("/iam/groups/developers").is_none(),
        "{}",
        imported.yaml
    );
}

/// An owned group holds the caller, which the file does not declare: taking the caller out is
/// its only route to IAM write access, and the plan refuses without `--allow-self-lockout`.
#[test]
fn removing_the_caller_from_its_only_admin_group_is_self_lockout() {
    let mut live = console_estate();
    live.clusters.clear();
    live.iam.groups.insert(
        "admins".to_string(),
        group(
            DEFAULT_GROUP_PATH,
            "arn:aws:iam::aws:policy/AdministratorAccess",
        ),
    );
    live.iam
        .users
        .insert("admin".to_string(), user(&["admins"], false));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\naccount: \"{ACCOUNT}\"\niam:\n  groups:\n    admins:\n      policies: [aws:AdministratorAccess]\n"
        ),
    )
    .expect("write");
    let loaded = spec::load(&file, &Facts { live: Some(&live) }).expect("loads");
    let refused = plan::plan(&loaded.desired, &live, &PlanOptions::default())
        .expect_err("self-lockout refuses");
    let messages: Vec<String> = refused.problems.iter().map(|p| p.message()).collect();
    insta::assert_snapshot!("caller_removed_from_admin_group", messages.join("\n"));

    let allowed = plan::plan(
        &loaded.desired,
        &live,
        &PlanOptions {
            overrides: plan::Overrides {
                allowed: BTreeSet::from([plan::SafetyCheck::SelfLockout]),
            },
            ..PlanOptions::default()
        },
    )
    .expect("allowed");
    assert_eq!(allowed.overrides, ["--allow-self-lockout"]);
}

fn example(name: &str) -> std::path::PathBuf {
    binary::root().join("specs/examples").join(name)
}

/// `apply -q --auto-approve` on the combined example: no plan lines, only the report summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_apply_prints_no_plan() {
    if KubeTarget::from_env().skip_if_external("quiet apply: the example's unscoped names")
        || AwsTarget::from_env().skip_if_external("quiet apply: moto's EKS and account")
    {
        return;
    }
    let live = accessctl::snapshot::read(&example("all-seeds-combined").join("live.json"))
        .expect("example snapshot");
    let (cluster_name, cluster) = live
        .clusters
        .iter()
        .next()
        .map(|(name, cluster)| (name.clone(), cluster.clone()))
        .expect("a cluster");
    let region = cluster.region.clone().unwrap_or_else(|| "us-east-1".into());
    let server = KubeServer::start().await;
    seed_cluster(&server, &cluster);
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let file = example("all-seeds-combined")
        .join("access.yaml")
        .display()
        .to_string();
    let outcome = tokio::task::spawn_blocking(move || {
        let account = live.account.clone().expect("example account");
        let moto = Moto::with_eks_cluster(&account, &cluster_name, &region);
        let run = |args: &[&str]| binary::run(binary::command(&moto.endpoint(), &kubeconfig), args);
        let applied = run(&["apply", "-q", "-f", &file, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
        assert_eq!(stdout(&applied), "", "{}", shown(&applied));
        let stderr = String::from_utf8_lossy(&applied.stderr).into_owned();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", shown(&applied));
        assert!(
            lines[0].starts_with("Apply complete: "),
            "{}",
            shown(&applied)
        );

        // Nothing left to do: still quiet, and still the summary.
        let again = run(&["apply", "-q", "-f", &file, "--auto-approve"]);
        assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
        assert_eq!(stdout(&again), "", "{}", shown(&again));
        assert_eq!(
            String::from_utf8_lossy(&again.stderr),
            "Apply complete: 0 changes applied.\n",
            "{}",
            shown(&again)
        );
    })
    .await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
