//! `-f DIRECTORY`: access.yaml split in fragments (docs/organizations.md, "Repository layout").
//! Through the binary: every mistake of every fragment at its own file, a name declared in two
//! fragments and a disagreeing `account` shown at both places, the plan of a split directory
//! byte for byte the plan of the one file, and a saved plan that knows its fragments.

use std::path::{Path, PathBuf};

use crate::support::binary;

const FIXTURES: &str = "tests/fixtures/split";
const WHOLE: &str = "specs/examples/all-seeds-combined";
const SPLIT: &str = "specs/examples/split";

fn transcript(args: &[&str]) -> String {
    binary::transcript(args, &binary::run(binary::offline(), args))
}

fn validate(fixture: &str) -> String {
    let dir = format!("{FIXTURES}/{fixture}");
    transcript(&["validate", "-f", &dir])
}

#[test]
fn three_fragments_with_a_mistake_each_are_reported_each_at_its_file() {
    insta::assert_snapshot!(validate("three-mistakes"));
}

#[test]
fn a_name_declared_in_two_fragments_shows_both_places() {
    insta::assert_snapshot!(validate("duplicate"));
}

#[test]
fn fragments_that_disagree_on_the_account_show_both_places() {
    insta::assert_snapshot!(validate("account-disagreement"));
}

#[test]
fn an_empty_directory_is_a_clear_mistake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().display().to_string();
    let output = binary::run(binary::offline(), &["validate", "-f", &path]);
    assert_eq!(output.status.code(), Some(1), "{}", binary::shown(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("is a directory with no access.yaml fragment"),
        "{}",
        binary::shown(&output)
    );
}

/// The same declarations in one file or in three fragments: the same plan, byte for byte, in
/// every format.
#[test]
fn a_split_directory_plans_byte_for_byte_as_the_one_file() {
    for format in ["text", "json", "markdown"] {
        let plan = |file: &str, live: &str| {
            let output = binary::run(
                binary::offline(),
                &["plan", "-f", file, "--live-state", live, "-o", format],
            );
            assert_eq!(output.status.code(), Some(0), "{}", binary::shown(&output));
            output.stdout
        };
        let whole = plan(
            &format!("{WHOLE}/access.yaml"),
            &format!("{WHOLE}/live.json"),
        );
        let split = plan(SPLIT, &format!("{SPLIT}/live.json"));
        assert!(whole.len() > 1000, "{format}: a plan with changes");
        assert!(
            whole == split,
            "{format}: the split plan differs:\n{}",
            String::from_utf8_lossy(&split)
        );
    }
}

/// A copy of the split example in a temporary directory, to edit.
fn copy_of_split(into: &Path) -> PathBuf {
    let root = binary::root().join(SPLIT);
    let access = into.join("access");
    for fragment in ["account.yaml", "teams/apps.yaml", "teams/ci.yaml"] {
        let to = access.join(fragment);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("directories");
        std::fs::copy(root.join(fragment), to).expect("a fragment");
    }
    access
}

/// The saved plan records each fragment: apply accepts the same directory, and names the
/// fragment that changed, appeared or went away.
#[test]
fn a_saved_plan_from_a_directory_refuses_changed_fragments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let access = copy_of_split(dir.path());
    let directory = access.display().to_string();
    let live = binary::root()
        .join(WHOLE)
        .join("live.json")
        .display()
        .to_string();
    let saved = dir.path().join("plan.json").display().to_string();
    let run = |args: &[&str]| binary::run(binary::offline(), args);
    let planned = run(&[
        "plan",
        "-f",
        &directory,
        "--live-state",
        &live,
        "--out",
        &saved,
    ]);
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{}",
        binary::shown(&planned)
    );
    let text = std::fs::read_to_string(&saved).expect("the saved plan");
    assert!(text.contains("\"teams/ci.yaml\": \"sha256:"), "{text}");
    // What docs/plan-json.md ("Saved plans") and the schema say a saved plan holds.
    let schema_text =
        std::fs::read_to_string(binary::root().join("specs/plan.schema.json")).expect("schema");
    let full: serde_json::Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    // The plan schema's root (anchor `plan`, which a saved plan's `plan` refers to) moved
    // under `$defs`, and a saved plan at the root.
    let mut plan = full.clone();
    let mut defs = full["$defs"].clone();
    if let Some(plan) = plan.as_object_mut() {
        plan.remove("$defs");
        plan.remove("$schema");
    }
    defs["accessctl_plan"] = plan;
    let schema = serde_json::json!({
        "$schema": full["$schema"],
        "$ref": "#/$defs/saved_plan",
        "$defs": defs,
    });
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let instance: serde_json::Value = serde_json::from_str(&text).expect("a saved plan");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let refused_because = |why: &str| {
        let output = run(&["apply", &saved, "-f", &directory, "--auto-approve"]);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let refused = stderr.contains("is not the access.yaml the plan was made from");
        if why.is_empty() {
            assert!(!refused, "{}", binary::shown(&output));
        } else {
            assert_eq!(output.status.code(), Some(1), "{}", binary::shown(&output));
            assert!(
                refused && stderr.contains(why),
                "{}",
                binary::shown(&output)
            );
        }
    };
    // The same fragments: accepted as the plan's source (apply then goes on to read live
    // state, which the offline binary cannot reach).
    refused_because("");
    let ci = access.join("teams/ci.yaml");
    let original = std::fs::read_to_string(&ci).expect("ci.yaml");
    std::fs::write(&ci, format!("{original}\n# a comment is a change too\n")).expect("edit");
    refused_because("the fragment `teams/ci.yaml` changed, appeared or went away since the plan");
    std::fs::write(&ci, &original).expect("restore");
    refused_because("");
    std::fs::write(access.join("teams/new.yaml"), "version: 1\n").expect("a new fragment");
    refused_because("the fragment `teams/new.yaml` changed, appeared or went away since the plan");
}

/// Lint's findings point into the fragment that holds what they are about, in each format.
#[test]
fn lint_findings_point_into_their_fragment() {
    let dir = format!("{FIXTURES}/lint");
    insta::assert_snapshot!(transcript(&["lint", "-f", &dir]));
    let output = binary::run(binary::offline(), &["lint", "-f", &dir, "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["file"], dir);
    assert_eq!(
        report["findings"][0]["file"],
        format!("{dir}/teams/ops.yaml")
    );
    let output = binary::run(binary::offline(), &["lint", "-f", &dir, "-o", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF");
    let artifact = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(
        artifact["artifactLocation"]["uri"],
        format!("{dir}/teams/ops.yaml")
    );
    assert_eq!(artifact["region"]["startLine"], 7);
}

/// `who-can` reads a directory as one desired state: a mapping from one fragment, the
/// binding and role it reaches from another.
#[test]
fn who_can_reads_every_fragment() {
    let output = binary::run(
        binary::offline(),
        &[
            "who-can",
            "get",
            "pods",
            "-n",
            "default",
            "--cluster",
            "demo",
            "-f",
            SPLIT,
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", binary::shown(&output));
    // `developer` (account.yaml) through ClusterRole `reader`; `k8sAdmin` (teams/apps.yaml)
    // through system:masters.
    assert!(stdout.contains("developer"), "{stdout}");
    assert!(stdout.contains("k8sAdmin"), "{stdout}");
}
