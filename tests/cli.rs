//! The binary end to end: every example of `specs/examples/` validated and planned against its
//! live snapshot, in the three formats, with exit code, stdout and stderr pinned in snapshots.

use std::path::{Path, PathBuf};

use crate::support::binary;

const EXAMPLES: [&str; 6] = [
    "000-service-admins-and-ci-user",
    "001-reader-group-and-eks-admin-role",
    "002-role-mappings",
    "003-irsa-service-account",
    "004-ci-namespace-deployer",
    "all-seeds-combined",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs accessctl from the crate root (so paths in output are relative and stable) and
/// returns exit code, stdout and stderr as one text for a snapshot.
fn accessctl(args: &[&str]) -> (i32, String, String) {
    let output = binary::run(binary::offline(), args);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn transcript(args: &[&str]) -> String {
    let (code, stdout, stderr) = accessctl(args);
    format!(
        "$ accessctl {}\nexit code: {code}\n----- stdout -----\n{stdout}----- stderr -----\n{stderr}",
        args.join(" ")
    )
}

fn example(name: &str, file: &str) -> String {
    Path::new("specs/examples")
        .join(name)
        .join(file)
        .display()
        .to_string()
}

fn plan_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("specs/plan.schema.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn every_example_validates() {
    for name in EXAMPLES {
        let file = example(name, "access.yaml");
        let (code, _, stderr) = accessctl(&["validate", "-f", &file]);
        assert_eq!(code, 0, "{name}: {stderr}");
    }
}

#[test]
fn every_example_plans_in_three_formats() {
    let schema = plan_schema();
    for name in EXAMPLES {
        let file = example(name, "access.yaml");
        let live = example(name, "live.json");
        for format in ["text", "json", "markdown"] {
            let args = ["plan", "-f", &file, "--live-state", &live, "-o", format];
            let shown = transcript(&args);
            insta::assert_snapshot!(format!("plan-{name}-{format}"), shown);
        }
        let (code, stdout, stderr) =
            accessctl(&["plan", "-f", &file, "--live-state", &live, "-o", "json"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let plan: serde_json::Value = serde_json::from_str(&stdout).expect("plan JSON");
        let errors: Vec<String> = schema.iter_errors(&plan).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{name}: plan JSON breaks the schema: {errors:#?}"
        );
    }
}

#[test]
fn detailed_exitcode_reports_changes() {
    let file = example("all-seeds-combined", "access.yaml");
    let live = example("all-seeds-combined", "live.json");
    let (code, _, stderr) = accessctl(&[
        "plan",
        "-f",
        &file,
        "--live-state",
        &live,
        "--detailed-exitcode",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_plan_applied_in_memory_leaves_nothing_to_do() {
    // Plan, apply the plan to the snapshot in memory, save it, and plan again: exit 0.
    for name in EXAMPLES {
        let file = example(name, "access.yaml");
        let live_path = root().join(example(name, "live.json"));
        let live = accessctl::snapshot::read(&live_path).expect("snapshot");
        let loaded = accessctl::spec::load(
            &root().join(&file),
            &accessctl::spec::Facts { live: Some(&live) },
        )
        .expect("example loads");
        let plan = accessctl::plan::plan(&loaded.desired, &live, &Default::default())
            .expect("example plans");
        let after = crate::support::oracle::simulate(&live, &plan);
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = dir.path().join("after.json");
        std::fs::write(
            &saved,
            accessctl::snapshot::to_string(&after).expect("written"),
        )
        .expect("write");
        let saved = saved.display().to_string();
        let (code, stdout, stderr) = accessctl(&[
            "plan",
            "-f",
            &file,
            "--live-state",
            &saved,
            "--detailed-exitcode",
        ]);
        assert_eq!(code, 0, "{name}: second plan not empty:\n{stdout}{stderr}");
    }
}

#[test]
fn a_missing_kubeconfig_is_explained_with_the_command_that_fixes_it() {
    // Without --live-state, plan reads live state: the cluster's kubeconfig comes first.
    let mut command = binary::offline();
    command.env("KUBECONFIG", "does-not-exist/kubeconfig");
    let output = binary::run(
        command,
        &["plan", "-f", &example("all-seeds-combined", "access.yaml")],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr));
}

#[test]
fn unreadable_snapshot_is_explained() {
    insta::assert_snapshot!(transcript(&[
        "plan",
        "-f",
        &example("all-seeds-combined", "access.yaml"),
        "--live-state",
        "specs/examples/does-not-exist.json",
    ]));
}

#[test]
fn completions_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, _) = accessctl(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(stdout.contains("accessctl"), "{shell}");
        assert!(stdout.contains("live-state"), "{shell}");
    }
}

/// `--fail-on-escalation`: the plan is shown, then exit 1 with an error naming each principal
/// and subject the plan makes admin-equivalent, and the route; a plan that makes nobody admin
/// exits as it would without the flag.
#[test]
fn fail_on_escalation_names_whom_the_plan_makes_admin() {
    let file = example("001-reader-group-and-eks-admin-role", "access.yaml");
    let live = example("001-reader-group-and-eks-admin-role", "live.json");
    let args = [
        "plan",
        "-f",
        &file,
        "--live-state",
        &live,
        "--fail-on-escalation",
    ];
    let (code, stdout, stderr) = accessctl(&args);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("Access impact"), "{stdout}");
    insta::assert_snapshot!("plan-fail-on-escalation-stderr", stderr);

    let file = example("004-ci-namespace-deployer", "access.yaml");
    let live = example("004-ci-namespace-deployer", "live.json");
    let (code, stdout, stderr) = accessctl(&[
        "plan",
        "-f",
        &file,
        "--live-state",
        &live,
        "--fail-on-escalation",
        "--detailed-exitcode",
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
}
