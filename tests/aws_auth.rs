//! aws-auth under pressure, through the real binary against the test API server and moto:
//! hand edits racing accessctl's applies (issue 17.4), and a merged ConfigMap over Kubernetes'
//! 1 MiB limit refused at plan time (issue 17.5).

use crate::support::aws_auth_campaign::{Campaign, World};
use crate::support::target::{AwsTarget, KubeTarget};

fn skipped(what: &str) -> bool {
    KubeTarget::from_env().skip_if_external(what)
        || AwsTarget::from_env().skip_if_external("aws_auth: needs moto's EKS")
}

/// 20 rounds, 3 hand editors: whatever the interleaving, no hand entry is lost or rewritten,
/// the node role and the creator are untouched, and each round leaves exactly the file's
/// managed entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_racing_applies_lose_no_entry() {
    if skipped("aws_auth campaign: the hand editors write the test API server's aws-auth") {
        return;
    }
    let world = World::start().await;
    let campaign = Campaign {
        rounds: 20,
        editors: 3,
        seed: 17,
    };
    let figures = campaign.run(&world).await;
    println!("{}", figures.table());
    assert_eq!(
        figures.entries_lost(),
        0,
        "{}",
        figures.lost.values().cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(
        figures.wrong_managed.is_empty(),
        "{}",
        figures.wrong_managed.join("\n")
    );
    assert_eq!(figures.applies, 20);
    assert_eq!(figures.hand_edits, 20 * 3 * 2);
    // The campaign did what it claims: every round made the editors and accessctl conflict,
    // and the files added, changed and removed managed entries.
    assert!(figures.editor_conflicts >= 20 * 2, "{figures:?}");
    assert!(figures.accessctl_conflicts >= 20, "{figures:?}");
    assert!(
        figures.added > 0 && figures.changed > 0 && figures.removed > 0,
        "{figures:?}"
    );
}
