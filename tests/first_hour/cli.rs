//! Issue 12: cli items (see tests/first_hour/mod.rs).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary::{self, shown, transcript};
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, KubeTarget};

/// `accessctl ARGS` offline, from the crate root.
fn offline(args: &[&str]) -> Output {
    binary::run(binary::offline(), args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every example with a live-state snapshot, as paths relative to the crate root.
fn examples_with_snapshots() -> Vec<(String, String, String)> {
    let root = binary::root().join("specs/examples");
    let mut found: Vec<(String, String, String)> = std::fs::read_dir(&root)
        .expect("specs/examples")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            root.join(name).join("access.yaml").is_file()
                && root.join(name).join("live.json").is_file()
        })
        .map(|name| {
            (
                name.clone(),
                format!("specs/examples/{name}/access.yaml"),
                format!("specs/examples/{name}/live.json"),
            )
        })
        .collect();
    found.sort();
    found
}

/// `(address, action, reason)` of each change of a plan or drift JSON document.
fn changes(document: &Value) -> Vec<(String, String, Option<String>)> {
    document["changes"]
        .as_array()
        .expect("a `changes` list")
        .iter()
        .map(|change| {
            (
                change["address"].as_str().expect("address").to_string(),
                change["action"].as_str().expect("action").to_string(),
                change["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", shown(output)))
}

// Item 3: drift and plan agree by construction.

#[test]
fn drift_changes_are_the_plan_changes_for_every_example() {
    let examples = examples_with_snapshots();
    assert!(examples.len() >= 7, "{examples:?}");
    for (name, file, live) in &examples {
        let planned = offline(&["plan", "-f", file, "--live-state", live, "-o", "json"]);
        assert_eq!(
            planned.status.code(),
            Some(0),
            "{name}: {}",
            shown(&planned)
        );
        let drifted = offline(&["drift", "-f", file, "--live-state", live, "-o", "json"]);
        let report = json(&drifted);
        let plan = json(&planned);
        assert_eq!(changes(&report), changes(&plan), "{name}");
        assert_eq!(report["summary"], plan["summary"], "{name}");
        let drift = !changes(&plan).is_empty()
            || !report["unmanaged"]
                .as_array()
                .expect("unmanaged")
                .is_empty();
        assert_eq!(report["in_sync"], !drift, "{name}");
        assert_eq!(
            drifted.status.code(),
            Some(if drift { 2 } else { 0 }),
            "{name}: {}",
            shown(&drifted)
        );
    }
}

/// Example 003's cluster has an OIDC provider made by eksctl (unowned, audience
/// `sts.amazonaws.com`): plan uses it as it is, and so does drift.
#[test]
fn drift_uses_an_unowned_oidc_provider_as_plan_does() {
    let args = [
        "drift",
        "-f",
        "specs/examples/003-irsa-service-account/access.yaml",
        "--live-state",
        "specs/examples/003-irsa-service-account/live.json",
    ];
    let output = offline(&args);
    assert!(
        !stdout(&output).contains("oidc-provider"),
        "{}",
        shown(&output)
    );
    insta::assert_snapshot!(
        "drift-003-unowned-oidc-provider",
        transcript(&args, &output)
    );
}

/// A refusal is reported, not raised: drift still shows what differs, names what apply would
/// refuse, and exits 2.
#[test]
fn drift_reports_what_plan_refuses_instead_of_failing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live_path = dir.path().join("live.json");
    let mut live: Value = serde_json::from_str(
        &std::fs::read_to_string(
            binary::root().join("specs/examples/003-irsa-service-account/live.json"),
        )
        .expect("live.json"),
    )
    .expect("json");
    // The declared role exists, made by hand: not managed by accessctl.
    live["iam"]["roles"]["connections-role-test"] = serde_json::json!({
        "path": "/",
        "max_session_duration": 3600,
        "trust": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "managed_policies": [],
        "inline_policies": {},
        "tags": {}
    });
    std::fs::write(&live_path, serde_json::to_string(&live).expect("json")).expect("write");
    let live_arg = live_path.display().to_string();
    let file = "specs/examples/003-irsa-service-account/access.yaml";
    let planned = offline(&["plan", "-f", file, "--live-state", &live_arg]);
    assert_eq!(planned.status.code(), Some(1), "{}", shown(&planned));
    assert!(
        stderr(&planned).contains("`iam.role.connections-role-test` exists but is not managed"),
        "{}",
        shown(&planned)
    );

    let drifted = offline(&["drift", "-f", file, "--live-state", &live_arg, "-o", "json"]);
    assert_eq!(drifted.status.code(), Some(2), "{}", shown(&drifted));
    let report = json(&drifted);
    assert_eq!(report["in_sync"], false);
    assert!(
        !changes(&report)
            .iter()
            .any(|(address, _, _)| address == "iam.role.connections-role-test"),
        "{report}"
    );
    assert_eq!(
        report["refused"],
        serde_json::json!([{
            "address": "iam.role.connections-role-test",
            "message": "`iam.role.connections-role-test` exists but is not managed by accessctl",
            "hint": "to take it over, set `adopt: true` on it in access.yaml or pass `--adopt`; the plan will show the diff"
        }]),
        "{report}"
    );
    // The same options as plan: with `--adopt`, drift shows the adoption plan would show.
    let adopted_plan = offline(&[
        "plan",
        "-f",
        file,
        "--live-state",
        &live_arg,
        "--adopt",
        "-o",
        "json",
    ]);
    let adopted_drift = offline(&[
        "drift",
        "-f",
        file,
        "--live-state",
        &live_arg,
        "--adopt",
        "-o",
        "json",
    ]);
    assert_eq!(
        adopted_drift.status.code(),
        Some(2),
        "{}",
        shown(&adopted_drift)
    );
    assert_eq!(
        changes(&json(&adopted_drift)),
        changes(&json(&adopted_plan))
    );
    assert_eq!(json(&adopted_drift)["refused"], serde_json::json!([]));
    let text = offline(&["drift", "-f", file, "--live-state", &live_arg]);
    assert_eq!(text.status.code(), Some(2), "{}", shown(&text));
    assert!(
        stdout(&text).contains("apply would refuse"),
        "{}",
        shown(&text)
    );
    assert!(
        stdout(&text).contains("`iam.role.connections-role-test` exists but is not managed"),
        "{}",
        shown(&text)
    );
}

const ACCOUNT: &str = "123456789012";

fn irsa_file() -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  roles:
    uploader:
      trust:
        serviceAccounts: [demo/apps/uploader]
clusters:
  demo:
    region: us-east-1
    authentication: config-map
    namespaces: [apps]
    serviceAccounts:
      apps/uploader:
        iamRole: uploader
"#
    )
}

/// On moto and the test API server: a cluster whose OIDC provider eksctl made (not tagged,
/// audience `sts.amazonaws.com`). Before apply drift shows exactly the plan's changes; after
/// apply, plan has nothing to do and drift lists no change, and the provider is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_apply_plan_and_drift_agree_there_is_nothing_left_with_an_unowned_oidc_provider() {
    if KubeTarget::from_env().skip_if_external("first_hour drift/OIDC: applies unscoped names")
        || AwsTarget::from_env().skip_if_external("first_hour drift/OIDC: needs moto's EKS")
    {
        return;
    }
    let server = KubeServer::start().await;
    seed_cluster(&server, &accessctl::model::Cluster::default());
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let outcome = tokio::task::spawn_blocking(move || {
        let moto = Moto::with_eks_cluster(ACCOUNT, "demo", "us-east-1");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = moto.sdk_config();
        let issuer = runtime
            .block_on(
                aws_sdk_eks::Client::new(&config)
                    .describe_cluster()
                    .name("demo")
                    .send(),
            )
            .expect("describe cluster")
            .cluster
            .and_then(|cluster| cluster.identity)
            .and_then(|identity| identity.oidc)
            .and_then(|oidc| oidc.issuer)
            .expect("moto gives the cluster an issuer");
        let iam = aws_sdk_iam::Client::new(&config);
        runtime
            .block_on(
                iam.create_open_id_connect_provider()
                    .url(&issuer)
                    .client_id_list("sts.amazonaws.com")
                    .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
                    .send(),
            )
            .expect("eksctl's provider");
        let dir = tempfile::tempdir().expect("tempdir");
        let file_path = dir.path().join("access.yaml");
        std::fs::write(&file_path, irsa_file()).expect("write access.yaml");
        let file = file_path.display().to_string();
        let run = |args: &[&str]| binary::run(binary::command(&moto.endpoint(), &kubeconfig), args);

        let planned = run(&["plan", "-f", &file, "-o", "json"]);
        assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
        let drifted = run(&["drift", "-f", &file, "-o", "json"]);
        assert_eq!(drifted.status.code(), Some(2), "{}", shown(&drifted));
        let plan_changes = changes(&json(&planned));
        assert_eq!(changes(&json(&drifted)), plan_changes);
        assert!(
            !plan_changes
                .iter()
                .any(|(address, _, _)| address.starts_with("iam.oidc-provider.")),
            "{plan_changes:?}"
        );

        let applied = run(&["apply", "-f", &file, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
        let again = run(&["plan", "-f", &file, "--detailed-exitcode"]);
        assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
        let clean = run(&["drift", "-f", &file, "-o", "json"]);
        let report = json(&clean);
        assert_eq!(changes(&report), Vec::new(), "{}", shown(&clean));
        assert_eq!(
            report["refused"],
            serde_json::json!([]),
            "{}",
            shown(&clean)
        );
        assert_eq!(clean.status.code(), Some(0), "{}", shown(&clean));
        let text = run(&["drift", "-f", &file]);
        assert_eq!(text.status.code(), Some(0), "{}", shown(&text));
        assert!(stdout(&text).contains("No drift"), "{}", shown(&text));
        let providers = runtime
            .block_on(iam.list_open_id_connect_providers().send())
            .expect("list providers")
            .open_id_connect_provider_list
            .unwrap_or_default();
        assert_eq!(providers.len(), 1, "{providers:?}");
        let arn = providers[0].arn.clone().expect("arn");
        let tags = runtime
            .block_on(
                iam.list_open_id_connect_provider_tags()
                    .open_id_connect_provider_arn(arn)
                    .send(),
            )
            .expect("provider tags")
            .tags;
        assert!(tags.is_empty(), "the provider was adopted: {tags:?}");
    })
    .await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

// Item 4: a usage error is an error (1), never "changes" (2).

#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0() {
    for (name, args) in [
        ("usage-misspelt-flag", &["plan", "--ouput", "json"][..]),
        ("usage-bad-value", &["lint", "--fail-on", "hgh"][..]),
        ("usage-no-command", &[][..]),
        ("usage-unknown-command", &["plna"][..]),
        (
            "usage-drift-misspelt-flag",
            &["drift", "--live-sate", "live.json"][..],
        ),
    ] {
        let output = offline(args);
        assert_eq!(output.status.code(), Some(1), "{name}: {}", shown(&output));
        insta::assert_snapshot!(name, transcript(args, &output));
    }
    for args in [
        &["--help"][..],
        &["--version"][..],
        &["plan", "--help"][..],
        &["help"][..],
    ] {
        let output = offline(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            shown(&output)
        );
        assert!(!stdout(&output).is_empty(), "{args:?}");
    }
}

// Item 9: validate says what it could not check.

#[test]
fn validate_says_it_could_not_check_an_irsa_trust_policy_without_the_issuer() {
    let file = "specs/examples/003-irsa-service-account/access.yaml";
    let args = ["validate", "-f", file];
    let output = offline(&args);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    insta::assert_snapshot!("validate-irsa-without-issuer", transcript(&args, &output));

    let args = [
        "validate",
        "-f",
        file,
        "--live-state",
        "tests/fixtures/first_hour/003-without-issuer.json",
    ];
    let output = offline(&args);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    insta::assert_snapshot!(
        "validate-irsa-live-state-without-issuer",
        transcript(&args, &output)
    );

    // With the issuer known (the example's snapshot), nothing to say.
    let output = offline(&[
        "validate",
        "-f",
        file,
        "--live-state",
        "specs/examples/003-irsa-service-account/live.json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    assert!(!stderr(&output).contains("note"), "{}", shown(&output));
}

// Item 10: can-i and who-can warn about made-up verbs and resources.

#[test]
fn can_i_and_who_can_warn_about_made_up_verbs_and_resources() {
    let file = "specs/examples/001-reader-group-and-eks-admin-role/access.yaml";
    for (name, args) in [
        (
            "can-i-made-up-resource",
            &["can-i", "--as", "developer", "get", "pdos", "-f", file][..],
        ),
        (
            "can-i-made-up-verb",
            &["can-i", "--as", "developer", "gett", "pods", "-f", file][..],
        ),
        (
            "can-i-wrong-group",
            &["can-i", "--as", "developer", "get", "pods.apps", "-f", file][..],
        ),
        (
            "who-can-made-up-verb",
            &["who-can", "gett", "pods", "-f", file][..],
        ),
        (
            "who-can-made-up-resource",
            &["who-can", "list", "secrts", "-f", file][..],
        ),
    ] {
        let output = offline(args);
        assert_eq!(output.status.code(), Some(1), "{name}: {}", shown(&output));
        insta::assert_snapshot!(name, transcript(args, &output));
    }
    // Known names, short names and custom resources with their group: no warning.
    for args in [
        &["can-i", "--as", "developer", "get", "po", "-f", file][..],
        &["can-i", "--as", "developer", "list", "deploy", "-f", file][..],
        &[
            "can-i",
            "--as",
            "developer",
            "get",
            "certificates.cert-manager.io",
            "-f",
            file,
        ][..],
        &[
            "can-i",
            "--as",
            "developer",
            "deletecollection",
            "pods",
            "-f",
            file,
        ][..],
        &["can-i", "--as", "developer", "get", "/healthz", "-f", file][..],
        &["can-i", "--as", "developer", "get", "pods/log", "-f", file][..],
        &["who-can", "get", "priorityclasses", "-f", file][..],
        &["who-can", "*", "*", "-f", file][..],
    ] {
        let output = offline(args);
        assert!(
            !stderr(&output).contains("warning"),
            "{args:?}: {}",
            shown(&output)
        );
        assert_ne!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            shown(&output)
        );
    }
    // A wildcard grant does allow a verb Kubernetes does not know: `yes`, with the warning.
    let args = ["can-i", "--as", "eks-admin", "gett", "pods", "-f", file];
    let output = offline(&args);
    insta::assert_snapshot!("can-i-made-up-verb-wildcard", transcript(&args, &output));
}

// Issue 15 item 5: names resolve against the table of a real API server (short and singular
// names, subresources, HTTP verbs of non-resource URLs), and what a name resolved to is said.

#[test]
fn can_i_and_who_can_resolve_names_against_the_known_resources() {
    let file = "specs/examples/001-reader-group-and-eks-admin-role/access.yaml";
    for (name, code, args) in [
        (
            "can-i-misspelt-verb-delet",
            1,
            &["can-i", "--as", "manager", "delet", "pods", "-f", file][..],
        ),
        (
            "can-i-short-name-po",
            0,
            &["can-i", "--as", "developer", "get", "po", "-f", file][..],
        ),
        (
            "who-can-singular-pod",
            0,
            &["who-can", "get", "pod", "-f", file][..],
        ),
        (
            "who-can-short-name-deploy",
            0,
            &["who-can", "get", "deploy", "-f", file][..],
        ),
        (
            "can-i-unknown-subresource",
            1,
            &[
                "can-i",
                "--as",
                "developer",
                "get",
                "pods",
                "--subresource",
                "lgo",
                "-f",
                file,
            ][..],
        ),
        (
            "who-can-http-verb-of-a-url",
            0,
            &["who-can", "post", "/healthz", "-f", file][..],
        ),
        (
            "who-can-misspelt-http-verb",
            1,
            &["who-can", "gte", "/healthz", "-f", file][..],
        ),
    ] {
        let output = offline(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{name}: {}",
            shown(&output)
        );
        insta::assert_snapshot!(name, transcript(args, &output));
    }
}

/// Verbs and resources of declared Roles and ClusterRoles are checked against the same table:
/// a typo is a warning at its place with the name meant; a custom resource's group is not
/// checked.
#[test]
fn rbac_rule_typos_are_warnings_with_the_name_meant() {
    let args = [
        "validate",
        "-f",
        "tests/fixtures/first_hour/rbac-rule-typos.yaml",
    ];
    let output = offline(&args);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    insta::assert_snapshot!(transcript(&args, &output));
}

// Item 12: a snapshot that is not one, or lacks what the file declares.

#[test]
fn snapshots_that_are_not_snapshots_or_lack_a_cluster_are_refused() {
    let file = "specs/examples/001-reader-group-and-eks-admin-role/access.yaml";
    for (name, live) in [
        (
            "snapshot-empty-object",
            "tests/fixtures/first_hour/empty-object.json",
        ),
        ("snapshot-array", "tests/fixtures/first_hour/array.json"),
        (
            "snapshot-without-declared-cluster",
            "tests/fixtures/first_hour/without-cluster.json",
        ),
    ] {
        let args = ["plan", "-f", file, "--live-state", live];
        let output = offline(&args);
        assert_eq!(output.status.code(), Some(1), "{name}: {}", shown(&output));
        assert!(stdout(&output).is_empty(), "{name}: {}", shown(&output));
        insta::assert_snapshot!(name, transcript(&args, &output));
        let drift = offline(&["drift", "-f", file, "--live-state", live]);
        assert_eq!(drift.status.code(), Some(1), "{name}: {}", shown(&drift));
        assert_eq!(
            stderr(&drift),
            stderr(&output),
            "{name}: drift says what plan says"
        );
    }
}

// Item 17b: import --out writes atomically.

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

#[test]
fn import_out_replaces_the_file_whole_or_not_at_all() {
    let live = "specs/examples/001-reader-group-and-eks-admin-role/live.json";
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("access.yaml");
    let out_arg = out.display().to_string();
    std::fs::write(&out, "# my hand-written access.yaml\n").expect("write");

    // The import fails (no such cluster in the snapshot): the file is untouched.
    let failed = offline(&[
        "import",
        "--cluster",
        "nosuch",
        "--from-live-state",
        live,
        "--out",
        &out_arg,
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        "# my hand-written access.yaml\n"
    );
    assert_eq!(entries(dir.path()), vec![out.clone()]);

    // It succeeds: the file holds exactly what import prints, nothing else is left behind.
    let printed = offline(&["import", "--cluster", "demo", "--from-live-state", live]);
    assert_eq!(printed.status.code(), Some(0), "{}", shown(&printed));
    let written = offline(&[
        "import",
        "--cluster",
        "demo",
        "--from-live-state",
        live,
        "--out",
        &out_arg,
    ]);
    assert_eq!(written.status.code(), Some(0), "{}", shown(&written));
    assert!(stdout(&written).is_empty(), "{}", shown(&written));
    assert!(
        stderr(&written).contains(&format!("wrote `{out_arg}`")),
        "{}",
        shown(&written)
    );
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        stdout(&printed)
    );
    assert_eq!(entries(dir.path()), vec![out.clone()]);

    // The directory does not exist: an error naming the file, nothing created.
    let missing = dir.path().join("no-such-dir").join("access.yaml");
    let failed = offline(&[
        "import",
        "--cluster",
        "demo",
        "--from-live-state",
        live,
        "--out",
        &missing.display().to_string(),
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    assert!(
        stderr(&failed).contains(&missing.display().to_string()),
        "{}",
        shown(&failed)
    );
    assert_eq!(entries(dir.path()), vec![out.clone()]);

    // The target is a directory: refused, and the directory is left as it was.
    let target = dir.path().join("a-directory");
    std::fs::create_dir(&target).expect("mkdir");
    let failed = offline(&[
        "import",
        "--cluster",
        "demo",
        "--from-live-state",
        live,
        "--out",
        &target.display().to_string(),
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    assert_eq!(entries(dir.path()), vec![target.clone(), out.clone()]);
    assert!(entries(&target).is_empty());
}
