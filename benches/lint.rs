//! Lint benchmark: `accessctl lint` on the combined example (specs/examples/all-seeds-combined)
//! and on the planner's 5,000-principal state (benches/support/large_state.rs), the latter also
//! with 50 users holding IAM write actions on `*` (the escalation rules' loops over targets and
//! the assume-role chain run for them). Prints the median wall time of each and the number of
//! findings. Targets: under 200 ms and under 2 s.
//!
//! Run with `cargo bench --bench lint`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use accessctl::insight::lint::{Locations, lint};
use accessctl::model::{DocumentKind, PolicyDocument, State};
use accessctl::spec::{Facts, load};
use serde_json::json;

#[path = "support/large_state.rs"]
#[allow(dead_code, reason = "the planner's live state is not linted")]
mod large_state;

const RUNS: usize = 5;
const ESCALATING_USERS: usize = 50;
const EXAMPLE: &str = "specs/examples/all-seeds-combined/access.yaml";

/// The median, min and max wall time of `RUNS` runs, and the last run's result.
fn measure<T>(mut run: impl FnMut() -> T) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        last = Some(black_box(run()));
        times.push(started.elapsed());
    }
    times.sort();
    let result = last.expect("RUNS is not zero");
    (times[RUNS / 2], times[0], times[RUNS - 1], result)
}

fn report(what: &str, (median, min, max, findings): (Duration, Duration, Duration, usize)) {
    println!(
        "{what}: median {median:.2?} over {RUNS} runs (min {min:.2?}, max {max:.2?}), {findings} findings"
    );
}

/// `ESCALATING_USERS` users hold only an inline policy allowing IAM write actions on `*` and
/// one reading a bucket (no conditional `Deny` of `iam:*`, unlike everyone else): every target
/// is surely allowed to them, so the escalation rules walk the targets.
fn with_escalating_users(mut state: State) -> State {
    let document = PolicyDocument::from_value(
        &json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": [
                "iam:CreateAccessKey", "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy",
                "iam:AttachRolePolicy", "sts:AssumeRole", "iam:AddUserToGroup",
                "iam:PassRole", "ec2:RunInstances"
            ], "Resource": "*"}]
        }),
        DocumentKind::Any,
    )
    .expect("a valid document");
    for (index, user) in state
        .iam
        .users
        .values_mut()
        .take(ESCALATING_USERS)
        .enumerate()
    {
        let read = PolicyDocument::from_value(
            &json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": format!("arn:aws:s3:::escalating-{index}/*")}]
            }),
            DocumentKind::Any,
        )
        .expect("a valid document");
        user.groups.clear();
        user.managed_policies.clear();
        user.inline_policies = [
            ("escalate".to_string(), document.clone()),
            ("read".to_string(), read),
        ]
        .into();
    }
    state
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join(EXAMPLE);
    report(
        "combined example (load + lint)",
        measure(|| {
            let loaded = load(&example, &Facts::default()).expect("the example loads");
            lint(&loaded.desired.state, &loaded.locations).len()
        }),
    );

    let built = Instant::now();
    let desired = large_state::desired_state();
    let state = desired.state;
    let escalating = with_escalating_users(state.clone());
    let principals = state.iam.users.len() + state.iam.roles.len();
    println!(
        "large state: {principals} principals, {} policies (built in {:.2?})",
        state.iam.policies.len(),
        built.elapsed()
    );
    let locations = Locations::new();
    report(
        "large state (lint)",
        measure(|| lint(&state, &locations).len()),
    );
    report(
        &format!("large state, {ESCALATING_USERS} users with IAM writes on * (lint)"),
        measure(|| lint(&escalating, &locations).len()),
    );
}
