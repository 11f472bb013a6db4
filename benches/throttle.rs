//! Throttling and faults campaign: the real binary applies a large estate to moto through a
//! fault proxy that throttles like IAM's token bucket and fails some requests (500, 503,
//! connection resets), then re-applies until the estate converges and a final
//! `plan --detailed-exitcode` finds nothing to do.
//!
//! Every apply must either complete or report exactly what was done, failed and not attempted
//! (the counts add up to the changes it planned); the run after it plans only what is left.
//! Prints one row per run: exit code, changes done / failed / not attempted, requests the
//! proxy forwarded / throttled / faulted, wall time; and the physical limit: the requests that
//! had to reach IAM divided by the bucket's rate. Figures are recorded in docs/reliability.md.
//!
//! `cargo bench --bench throttle` (installs moto into `.venv` on first use). The estate and the
//! proxy are set by environment: `THROTTLE_USERS` (1000), `THROTTLE_ROLES` (200),
//! `THROTTLE_GROUPS` (100), `THROTTLE_RATE` (20 requests/s), `THROTTLE_BURST` (20),
//! `THROTTLE_FAULTS` (0.02: split between 500, 503 and resets), `THROTTLE_SEED` (17),
//! `THROTTLE_PARALLELISM` (apply's `--parallelism`, default its own).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

#[path = "../tests/moto/mod.rs"]
#[allow(dead_code, reason = "the campaign uses a part of the moto harness")]
mod moto;

#[path = "../tests/support/proxy.rs"]
#[allow(dead_code, reason = "the fault proxy uses the request reader only")]
mod proxy;

#[path = "../tests/support/binary.rs"]
#[allow(dead_code, reason = "the campaign runs the binary one way")]
mod binary;

#[path = "../tests/support/faults.rs"]
#[allow(dead_code, reason = "the campaign uses a part of the fault proxy")]
mod faults;

use std::fmt::Write as _;
use std::process::Output;
use std::time::{Duration, Instant};

use faults::{Bucket, FaultConfig, FaultCounts, FaultProxy, Flavor};

const ACCOUNT: &str = "123456789012";
const POLICIES: usize = 10;
/// Applies before the campaign gives up on converging.
const MAX_RUNS: usize = 8;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}=`{value}` is not a valid value")),
        Err(_) => default,
    }
}

/// 1,000 users (each in a group), 200 roles (each with a policy), 100 groups (each with a
/// policy) and the 10 policies they attach.
fn access_yaml(users: usize, roles: usize, groups: usize) -> String {
    let mut yaml = format!("version: 1\naccount: \"{ACCOUNT}\"\niam:\n  policies:\n");
    for policy in 0..POLICIES {
        write!(
            yaml,
            "    campaign-policy-{policy:02}:\n      document:\n        Version: \"2012-10-17\"\n        \
             Statement:\n          - Effect: Allow\n            Action: s3:GetObject\n            \
             Resource: \"arn:aws:s3:::campaign-bucket-{policy:02}/*\"\n"
        )
        .unwrap();
    }
    yaml.push_str("  groups:\n");
    for group in 0..groups {
        write!(
            yaml,
            "    campaign-group-{group:03}:\n      policies: [campaign-policy-{:02}]\n",
            group % POLICIES
        )
        .unwrap();
    }
    yaml.push_str("  users:\n");
    for user in 0..users {
        if groups == 0 {
            writeln!(yaml, "    campaign-user-{user:04}: {{}}").unwrap();
        } else {
            write!(
                yaml,
                "    campaign-user-{user:04}:\n      groups: [campaign-group-{:03}]\n",
                user % groups
            )
            .unwrap();
        }
    }
    yaml.push_str("  roles:\n");
    for role in 0..roles {
        write!(
            yaml,
            "    campaign-role-{role:03}:\n      trust:\n        accounts: [\"{ACCOUNT}\"]\n      \
             policies: [campaign-policy-{:02}]\n",
            role % POLICIES
        )
        .unwrap();
    }
    yaml
}

/// Done, failed and not attempted, from an apply's report.
#[derive(Clone, Copy, Debug, Default)]
struct Outcome {
    done: usize,
    failed: usize,
    not_attempted: usize,
}

/// The report's counts; the per-change lines must agree with them.
fn outcome(output: &Output) -> Outcome {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = || {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{stderr}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout)
        )
    };
    if output.status.code() == Some(0) {
        let done = stderr
            .lines()
            .find_map(|line| {
                line.strip_prefix("Apply complete: ")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .or_else(|| stderr.contains("No changes").then_some(0))
            .unwrap_or_else(|| panic!("no `Apply complete: N changes`:\n{}", shown()));
        return Outcome {
            done,
            ..Outcome::default()
        };
    }
    assert_eq!(output.status.code(), Some(1), "{}", shown());
    let numbers: Vec<usize> = stderr
        .lines()
        .find_map(|line| {
            let counts = line.split_once("apply failed: ")?.1;
            counts
                .split(", ")
                .map(|part| part.split_whitespace().next()?.parse().ok())
                .collect::<Option<Vec<usize>>>()
        })
        .unwrap_or_else(|| {
            panic!(
                "an apply that fails must say what was done, failed and not attempted:\n{}",
                shown()
            )
        });
    let [done, failed, not_attempted] = numbers[..] else {
        panic!("three counts expected:\n{}", shown());
    };
    let listed = |prefix: &str| {
        stderr
            .lines()
            .filter(|line| line.starts_with(prefix))
            .count()
    };
    assert_eq!(
        (
            listed("  done "),
            listed("  failed "),
            listed("  not attempted ")
        ),
        (done, failed, not_attempted),
        "every change is listed under what happened to it:\n{}",
        shown()
    );
    Outcome {
        done,
        failed,
        not_attempted,
    }
}

struct Row {
    command: String,
    exit: Option<i32>,
    outcome: Outcome,
    requests: FaultCounts,
    wall: Duration,
}

fn main() {
    let users = setting("THROTTLE_USERS", 1_000usize);
    let roles = setting("THROTTLE_ROLES", 200usize);
    let groups = setting("THROTTLE_GROUPS", 100usize);
    let rate = setting("THROTTLE_RATE", 20.0f64);
    let burst = setting("THROTTLE_BURST", 20.0f64);
    let faults = setting("THROTTLE_FAULTS", 0.02f64);
    let seed = setting("THROTTLE_SEED", 17u64);
    let parallelism: Option<u16> = std::env::var("THROTTLE_PARALLELISM")
        .ok()
        .map(|value| value.parse().expect("THROTTLE_PARALLELISM is a number"));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let moto = moto::Moto::start();
    let upstream = moto.address();
    let config = FaultConfig {
        bucket: Some(Bucket { rate, burst }),
        // The faults split about evenly between 500, 503 and resets.
        internal_error: faults * 0.4,
        unavailable: faults * 0.3,
        reset: faults * 0.3,
        seed,
        ..FaultConfig::transparent(Flavor::Aws)
    };
    let proxy = runtime.block_on(FaultProxy::start(upstream, config));
    let endpoint = proxy.endpoint();

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, access_yaml(users, roles, groups)).expect("write access.yaml");
    let file = file.display().to_string();
    let planned_changes = POLICIES + groups + users + roles;
    eprintln!(
        "estate: {users} users, {roles} roles, {groups} groups, {POLICIES} policies \
         ({planned_changes} changes); bucket {rate}/s (burst {burst}), {:.1}% faults, seed {seed}",
        faults * 100.0
    );

    let mut apply_args = vec!["apply", "-f", &file, "--auto-approve"];
    let parallelism = parallelism.map(|value| value.to_string());
    if let Some(parallelism) = &parallelism {
        apply_args.extend(["--parallelism", parallelism]);
    }
    let mut rows = Vec::new();
    let started = Instant::now();
    let mut converged = false;
    for _ in 0..MAX_RUNS {
        let before = proxy.counts();
        let run_started = Instant::now();
        let output = runtime.block_on(binary::run_iam_only(&apply_args, &endpoint, dir.path()));
        let wall = run_started.elapsed();
        let outcome = outcome(&output);
        let exit = output.status.code();
        rows.push(Row {
            command: "apply".into(),
            exit,
            outcome,
            requests: proxy.counts().since(&before),
            wall,
        });
        eprintln!(
            "apply: exit {exit:?}, {} done, {} failed, {} not attempted in {wall:.1?}",
            outcome.done, outcome.failed, outcome.not_attempted
        );
        for line in String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|line| line.starts_with("  failed "))
        {
            eprintln!("{line}");
        }
        if exit == Some(0) {
            converged = true;
            break;
        }
    }
    let before = proxy.counts();
    let run_started = Instant::now();
    let planned = runtime.block_on(binary::run_iam_only(
        &["plan", "-f", &file, "--detailed-exitcode"],
        &endpoint,
        dir.path(),
    ));
    rows.push(Row {
        command: "plan --detailed-exitcode".into(),
        exit: planned.status.code(),
        outcome: Outcome::default(),
        requests: proxy.counts().since(&before),
        wall: run_started.elapsed(),
    });
    let total_wall = started.elapsed();

    println!(
        "\n| run | command | exit | done | failed | not attempted | forwarded | throttled | faulted (500/503/reset) | wall |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (index, row) in rows.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}/{}/{}) | {:.1} s |",
            index + 1,
            row.command,
            row.exit
                .map_or("signal".to_string(), |code| code.to_string()),
            row.outcome.done,
            row.outcome.failed,
            row.outcome.not_attempted,
            row.requests.forwarded,
            row.requests.throttled,
            row.requests.faulted(),
            row.requests.internal_errors,
            row.requests.unavailable,
            row.requests.resets,
            row.wall.as_secs_f64()
        );
    }
    let total = proxy.counts();
    let limit = total.forwarded as f64 / rate;
    println!(
        "\nchanges planned: {planned_changes}; requests: {} forwarded, {} throttled, {} faulted, \
         {} in all",
        total.forwarded,
        total.throttled,
        total.faulted(),
        total.total()
    );
    println!(
        "wall time: {:.1} s; physical limit: {} forwarded requests ÷ {rate}/s = {limit:.1} s \
         ({:.2}× the limit)",
        total_wall.as_secs_f64(),
        total.forwarded,
        total_wall.as_secs_f64() / limit
    );
    assert!(
        converged,
        "no apply completed in {MAX_RUNS} runs:\n{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    assert_eq!(
        planned.status.code(),
        Some(0),
        "the converged estate still plans changes:\n{}{}",
        String::from_utf8_lossy(&planned.stdout),
        String::from_utf8_lossy(&planned.stderr)
    );
    // What the runs left, asked of moto directly, not through the proxy.
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let live = runtime.block_on(campaign_objects(&iam));
    println!(
        "moto holds {} users, {} roles and {} groups of the campaign",
        live.0, live.1, live.2
    );
    assert_eq!(live, (users, roles, groups), "the estate converged in moto");
    drop(proxy);
    drop(moto);
}

/// The campaign's users, roles and groups in moto.
async fn campaign_objects(iam: &aws_sdk_iam::Client) -> (usize, usize, usize) {
    let ours = |name: &str| name.starts_with("campaign-");
    let mut counts = (0, 0, 0);
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("moto lists users");
        counts.0 += page
            .users()
            .iter()
            .filter(|user| ours(user.user_name()))
            .count();
    }
    let mut pages = iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("moto lists roles");
        counts.1 += page
            .roles()
            .iter()
            .filter(|role| ours(role.role_name()))
            .count();
    }
    let mut pages = iam.list_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("moto lists groups");
        counts.2 += page
            .groups()
            .iter()
            .filter(|group| ours(group.group_name()))
            .count();
    }
    counts
}
