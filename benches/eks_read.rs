//! EKS read benchmark: a cluster with 500 access entries (each with a username, two groups, a
//! tag and one namespaced access policy) on the in-memory EKS endpoint of the tests, read the
//! way `plan` reads it (`aws::eks::read_access`).
//!
//! Prints, per way of reading, the median wall time and the EKS calls it made (from the
//! server's log, throttled attempts included): sequential and 8 at a time (the product's
//! bound), with answers immediate and with a simulated 10 ms round trip; and the product's way
//! against an endpoint that throttles every 10th request. Figures are recorded in
//! docs/performance.md. Run with `cargo bench --bench eks_read` (or `--profile dev`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

#[path = "../tests/eks_server/mod.rs"]
// `allow`, not `expect`: whether these fire depends on the build (clippy --all-targets compiles
// the server's `#[cfg(test)]` module without a test harness).
#[allow(
    dead_code,
    unused_imports,
    reason = "the benchmark uses a part of the test server's API and none of its unit tests"
)]
mod eks_server;

use std::time::{Duration, Instant};

use accessctl::aws::eks::{self, CONCURRENT_DESCRIBES, ReadOptions};
use accessctl::model::AuthenticationMode;
use aws_sdk_eks::types::{AccessScope, AccessScopeType};
use eks_server::{ACCOUNT, EksServer};
use futures_util::{StreamExt, stream};

const ENTRIES: usize = 500;
const RUNS: usize = 3;
const LATENCY: Duration = Duration::from_millis(10);
const THROTTLE_EVERY: u64 = 10;

async fn fill(server: &EksServer) {
    let eks = server.client("us-east-1");
    stream::iter(0..ENTRIES)
        .for_each_concurrent(16, |index| {
            let eks = eks.clone();
            async move {
                let principal = format!("arn:aws:iam::{ACCOUNT}:role/team-{index:03}");
                eks.create_access_entry()
                    .cluster_name("bench")
                    .principal_arn(&principal)
                    .username(format!("team-{index:03}"))
                    .kubernetes_groups("viewers")
                    .kubernetes_groups(format!("team-{index:03}"))
                    .tags("managed-by", "accessctl")
                    .send()
                    .await
                    .expect("create entry");
                eks.associate_access_policy()
                    .cluster_name("bench")
                    .principal_arn(&principal)
                    .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
                    .access_scope(
                        AccessScope::builder()
                            .r#type(AccessScopeType::Namespace)
                            .namespaces(format!("ns-{index:03}"))
                            .build(),
                    )
                    .send()
                    .await
                    .expect("associate");
            }
        })
        .await;
}

/// Median wall time of `RUNS` reads and the calls one read made.
async fn measure(server: &EksServer, options: &ReadOptions) -> (Duration, usize) {
    let eks = server.client("us-east-1");
    let mut times = Vec::new();
    let mut calls = 0;
    for _ in 0..RUNS {
        let before = server.log().len();
        let started = Instant::now();
        let access = eks::read_access(&eks, "bench", AuthenticationMode::AccessEntries, options)
            .await
            .expect("read");
        times.push(started.elapsed());
        calls = server.log().len() - before;
        assert_eq!(access.access_entries.len(), ENTRIES);
        assert!(
            access
                .access_entries
                .values()
                .all(|entry| entry.policies.len() == 1 && entry.groups.len() == 2)
        );
    }
    times.sort();
    (times[RUNS / 2], calls)
}

#[tokio::main]
async fn main() {
    let server = EksServer::start().await;
    server.add_cluster("bench", "us-east-1", Some("API"), None);
    let started = Instant::now();
    fill(&server).await;
    println!(
        "filled {ENTRIES} access entries in {:.2?} ({} calls)",
        started.elapsed(),
        server.log().len()
    );
    let sequential = ReadOptions {
        concurrency: 1,
        ..ReadOptions::default()
    };
    let bounded = ReadOptions::default();
    println!("| read | in flight | wall time (median of {RUNS}) | EKS calls |");
    println!("|---|---:|---:|---:|");
    for (latency, label) in [
        (Duration::ZERO, "immediate answers"),
        (LATENCY, "10 ms round trip"),
    ] {
        server.set_latency(latency);
        for options in [&sequential, &bounded] {
            let (time, calls) = measure(&server, options).await;
            println!(
                "| {label} | {} | {time:.2?} | {calls} |",
                options.concurrency
            );
        }
    }
    server.set_latency(Duration::ZERO);
    server.throttle_every(THROTTLE_EVERY);
    let (time, calls) = measure(&server, &bounded).await;
    println!(
        "| every {THROTTLE_EVERY}th request throttled (429), immediate answers | {CONCURRENT_DESCRIBES} | {time:.2?} | {calls} ({} throttled in {RUNS} reads) |",
        server.throttled()
    );
}
