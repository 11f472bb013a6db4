//! `accessctl iam-policy` against what the binary really calls: the combined example planned,
//! applied, drifted and snapshotted against moto, the test API server and moto's EKS, with `-v`
//! reporting every AWS call each run recorded (`service:Operation`, the IAM action spelling).
//! Each recorded call must be allowed by the generated policy (`--for plan` for the reading
//! commands, `--for apply` for apply), as the crate's policy model decides it: moto does not
//! enforce IAM, so this is how the policy is shown to be enough.

use std::collections::BTreeSet;
use std::process::Output;

use accessctl::model::policy::Effect;
use accessctl::model::policy::catalogue::{AccessLevel, catalogue};
use accessctl::model::{DocumentKind, PolicyDocument};

use crate::e2e::{example_dir, example_live, first_cluster};
use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::KubeServer;
use crate::support::target::{AwsTarget, KubeTarget};

const EXAMPLE: &str = "all-seeds-combined";

/// The policy `iam-policy --for PURPOSE` prints, validated as an identity policy.
fn generated(purpose: &str) -> PolicyDocument {
    let output = binary::run(binary::offline(), &["iam-policy", "--for", purpose]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    PolicyDocument::parse_str(&text, DocumentKind::Identity).expect("a valid identity policy")
}

/// IAM's decision for an identity policy alone: allowed when an `Allow` covers the action on
/// any resource (`*`) and no `Deny` does.
fn allows(document: &PolicyDocument, action: &str) -> bool {
    let covers = |effect: Effect| {
        document.statements().iter().any(|statement| {
            statement.effect() == effect
                && statement.matches_action(action)
                && statement.matches_resource("*")
        })
    };
    covers(Effect::Allow) && !covers(Effect::Deny)
}

/// The operations of every `-v` line that reports AWS calls
/// (`read live state: 5 API calls (iam:GetRole 2, sts:GetCallerIdentity 1)`).
fn recorded_calls(output: &Output) -> BTreeSet<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| {
            line.split_once(" API call")?
                .1
                .split_once(" (")?
                .1
                .strip_suffix(')')
        })
        .flat_map(|list| list.split(", "))
        .filter_map(|entry| {
            entry
                .rsplit_once(' ')
                .map(|(operation, _)| operation.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_policies_allow_every_call_of_a_plan_and_an_apply_of_the_combined_example() {
    if KubeTarget::from_env().skip_if_external("iam-policy: applies the example's unscoped names")
        || AwsTarget::from_env()
            .skip_if_external("iam-policy: needs moto's EKS and MOTO_ACCOUNT_ID")
    {
        return;
    }
    let plan_policy = generated("plan");
    let apply_policy = generated("apply");

    let live = example_live(EXAMPLE);
    let (cluster_name, cluster, region) = first_cluster(&live);
    let server = KubeServer::start().await;
    seed_cluster(&server, &cluster);
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let file = example_dir(EXAMPLE)
        .join("access.yaml")
        .display()
        .to_string();
    let account = live.account.clone().expect("example account");

    let outcome = tokio::task::spawn_blocking(move || {
        let moto = Moto::with_eks_cluster(&account, &cluster_name, &region);
        let run = |args: &[&str]| binary::run(binary::command(&moto.endpoint(), &kubeconfig), args);
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = dir.path().join("live.json").display().to_string();
        let mut reading = BTreeSet::new();
        let mut applying = BTreeSet::new();

        let planned = run(&["plan", "-v", "-f", &file, "--detailed-exitcode"]);
        assert_eq!(planned.status.code(), Some(2), "{}", shown(&planned));
        reading.extend(recorded_calls(&planned));
        let applied = run(&["apply", "-v", "-f", &file, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
        applying.extend(recorded_calls(&applied));
        let again = run(&["plan", "-v", "-f", &file, "--detailed-exitcode"]);
        assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
        // Drift reports the seeded cluster's unmanaged grants (exit 2), and reads as plan does.
        let drift = run(&["drift", "-v", "-f", &file]);
        assert_eq!(drift.status.code(), Some(2), "{}", shown(&drift));
        let snapshot = run(&["snapshot", "-v", "-f", &file, "--out", &saved]);
        assert_eq!(snapshot.status.code(), Some(0), "{}", shown(&snapshot));
        for output in [&again, &drift, &snapshot] {
            reading.extend(recorded_calls(output));
        }
        (reading, applying)
    })
    .await;
    let (reading, applying) = match outcome {
        Ok(calls) => calls,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };

    // The runs did call AWS, reads and writes of every service the example touches: a
    // report the parser missed would pass everything.
    for expected in [
        "iam:GetAccountAuthorizationDetails",
        "sts:GetCallerIdentity",
        "eks:DescribeCluster",
    ] {
        assert!(reading.contains(expected), "{expected} not in {reading:?}");
    }
    for expected in ["iam:CreateRole", "iam:CreateUser", "iam:CreatePolicy"] {
        assert!(
            applying.contains(expected),
            "{expected} not in {applying:?}"
        );
    }
    let refused = |policy: &PolicyDocument, calls: &BTreeSet<String>| -> Vec<String> {
        calls
            .iter()
            .filter(|call| !allows(policy, call))
            .cloned()
            .collect()
    };
    assert_eq!(
        refused(&plan_policy, &reading),
        Vec::<String>::new(),
        "plan policy"
    );
    assert_eq!(
        refused(&apply_policy, &applying),
        Vec::<String>::new(),
        "apply policy"
    );
    // The plan policy is read-only: none of the apply's writes (not List or Read in the
    // Service Authorization Reference) is in it.
    let writes: Vec<&String> = applying
        .iter()
        .filter(|call| {
            let level = catalogue()
                .action(call)
                .expect("a known action")
                .access_level();
            !matches!(level, AccessLevel::List | AccessLevel::Read)
        })
        .collect();
    assert!(writes.len() > 3, "{writes:?}");
    for write in writes {
        assert!(
            !allows(&plan_policy, write),
            "the plan policy allows {write}"
        );
    }
}

/// The plan policy as a user sees it, pinned: a new read shows up in review.
#[test]
fn the_plan_policy_is_pinned() {
    let args = ["iam-policy", "--for", "plan"];
    let output = binary::run(binary::offline(), &args);
    insta::assert_snapshot!(binary::transcript(&args, &output));
}

/// A missing or unknown `--for` is a usage error: exit 1, naming the choices.
#[test]
fn iam_policy_without_a_purpose_is_a_usage_error() {
    for args in [&["iam-policy"][..], &["iam-policy", "--for", "drift"]] {
        let output = binary::run(binary::offline(), args);
        assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--for"), "{}", shown(&output));
    }
    let output = binary::run(binary::offline(), &["iam-policy", "--for", "drift"]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("[possible values: plan, apply]"),
        "{}",
        shown(&output)
    );
}
