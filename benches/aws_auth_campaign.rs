//! The aws-auth campaign (issue 17.4) at length: hand editors racing `accessctl apply` on
//! aws-auth, through the real binary against the test API server and moto, round after round
//! (tests/support/aws_auth_campaign.rs says how a round goes and what is checked).
//!
//! Prints the table docs/reliability.md records: rounds, writers, hand edits, applies, the
//! managed entries added / changed / removed, the conflicts the editors and accessctl saw, and
//! the entries lost (must be 0: the run fails otherwise). Run with
//! `cargo bench --profile dev --bench aws_auth_campaign [-- ROUNDS [EDITORS]]` (default 100
//! rounds, 3 editors).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

#[path = "../tests/moto/mod.rs"]
#[allow(dead_code, reason = "the campaign uses a part of the moto helper")]
mod moto;

// `allow`, not `expect`: whether these fire depends on the build (clippy --all-targets compiles
// the server's `#[cfg(test)]` modules without a test harness, leaving their imports unused).
#[allow(
    dead_code,
    unused_imports,
    reason = "the campaign uses a part of the test support and none of its unit tests"
)]
mod support {
    #[path = "../../tests/support/aws_auth_campaign.rs"]
    pub mod aws_auth_campaign;
    #[path = "../../tests/support/binary.rs"]
    pub mod binary;
    #[path = "../../tests/support/kube_server/mod.rs"]
    pub mod kube_server;
}

use std::time::Instant;

use support::aws_auth_campaign::{Campaign, World};

fn argument(position: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with('-'))
        .nth(position)
        .map_or(default, |text| {
            text.parse()
                .unwrap_or_else(|_| panic!("not a number: {text}"))
        })
}

fn main() {
    let campaign = Campaign {
        rounds: argument(0, 100),
        editors: argument(1, 3),
        seed: 17,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let figures = runtime.block_on(async {
        let world = World::start().await;
        campaign.run(&world).await
    });
    println!("{}", figures.table());
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    for how in figures.lost.values().chain(&figures.wrong_managed) {
        eprintln!("{how}");
    }
    assert_eq!(figures.entries_lost(), 0, "entries lost");
    assert!(
        figures.wrong_managed.is_empty(),
        "managed entries not the file's"
    );
}
