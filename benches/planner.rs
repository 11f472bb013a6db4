//! Planner benchmark: a large synthetic account and cluster, a few hundred differences.
//!
//! 5,000 IAM principals (users + roles), 2,000 customer policies, 3,000 RBAC objects, plus
//! aws-auth and access entries. Prints the median wall time of `plan()`, the number of changes,
//! the part of `plan()` the access impact takes (`plan::access_impact`, timed alone) and the
//! peak resident memory (VmHWM). Targets: under 1 s and under 200 MB.
//!
//! Run with `cargo bench --bench planner`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use accessctl::plan::{PlanOptions, access_impact, plan};

#[path = "support/large_state.rs"]
mod large_state;

use large_state::{desired_state, live_state};

/// Runs of each measurement; `PLANNER_RUNS` overrides (a debug build is slow).
fn runs() -> usize {
    std::env::var("PLANNER_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .filter(|runs| *runs > 0)
        .unwrap_or(5)
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let built = Instant::now();
    let desired = desired_state();
    let live = live_state(&desired);
    let build_time = built.elapsed();
    let memory_before = peak_memory_kib();
    let options = PlanOptions::default();
    let runs = runs();

    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut changes = 0;
    let mut summary = None;
    for _ in 0..runs {
        let started = Instant::now();
        let result = black_box(plan(black_box(&desired), black_box(&live), &options));
        times.push(started.elapsed());
        match result {
            Ok(plan) => {
                changes = plan.changes.len();
                summary = Some(plan.summary);
            }
            Err(error) => {
                for problem in &error.problems {
                    eprintln!("problem: {}", problem.message());
                }
                std::process::exit(1);
            }
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    // The access impact alone (part of `plan()`): the insight of live against the insight of
    // live with the plan applied.
    let changed = plan(&desired, &live, &options)
        .map(|plan| plan.changes)
        .unwrap_or_default();
    let mut impact_times: Vec<Duration> = Vec::with_capacity(runs);
    let mut impact_items = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let items = black_box(access_impact(black_box(&live), black_box(&changed)));
        impact_times.push(started.elapsed());
        impact_items = items.len();
    }
    impact_times.sort();
    let impact_median = impact_times[impact_times.len() / 2];
    let peak = peak_memory_kib();

    let principals = desired.state.iam.users.len() + desired.state.iam.roles.len();
    let rbac = desired.state.clusters.values().map(|c| {
        c.namespaces.len()
            + c.cluster_roles.len()
            + c.roles.len()
            + c.cluster_role_bindings.len()
            + c.role_bindings.len()
            + c.service_accounts.len()
    });
    println!(
        "planner: {principals} principals, {} policies, {} RBAC objects (states built in {build_time:.2?})",
        desired.state.iam.policies.len(),
        rbac.sum::<usize>()
    );
    println!(
        "plan(): median {median:.2?} over {runs} runs (min {:.2?}, max {:.2?})",
        times[0],
        times[times.len() - 1]
    );
    println!("changes: {changes} ({summary:?})");
    println!(
        "access impact: median {impact_median:.2?} of plan()'s {median:.2?} ({impact_items} items); plan() without it: {:.2?}",
        median.saturating_sub(impact_median)
    );
    let mib = |kib: Option<u64>| {
        kib.map_or("unknown".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "peak memory (VmHWM): {} after building the states, {} after planning",
        mib(memory_before),
        mib(peak)
    );
    let within = median < Duration::from_secs(1) && peak.is_none_or(|k| k < 200 * 1024);
    println!(
        "targets (< 1 s, < 200 MB): {}",
        if within { "met" } else { "MISSED" }
    );
}
