//! aws-auth under pressure, through the real binary against the test API server and moto:
//! hand edits racing accessctl's applies (issue 17.4), a merged ConfigMap over Kubernetes'
//! 1 MiB limit refused at plan time (issue 17.5), and aws-auth read as EKS reads it (issue 15.3).

use accessctl::model::{AwsAuthEntry, MapKind};

use crate::support::aws_auth_campaign::{
    ACCOUNT, CREATOR, Campaign, NODE_ROLE, World, access_yaml,
};
use crate::support::binary::shown;
use crate::support::target::{AwsTarget, KubeTarget};

fn skipped(what: &str) -> bool {
    KubeTarget::from_env().skip_if_external(what)
        || AwsTarget::from_env().skip_if_external("aws_auth: needs moto's EKS")
}

/// An entry of [`ACCOUNT`] into `system:masters`, named after the principal (`role/admin`).
fn masters(kind: MapKind, resource: &str) -> AwsAuthEntry {
    AwsAuthEntry {
        kind,
        arn: format!("arn:aws:iam::{ACCOUNT}:{resource}"),
        username: resource.rsplit('/').next().map(str::to_string),
        groups: vec!["system:masters".to_string()],
    }
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
        figures
            .lost
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
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

/// A live aws-auth near the limit with entries written by hand, and a file whose entries fit
/// alone but take the merged ConfigMap over 1 MiB: `plan` refuses, naming the cluster, the
/// size and the limit, and `apply` refuses the same way before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_aws_auth_over_one_mib_is_refused_at_plan_time() {
    if skipped("aws_auth size: seeds the test API server's aws-auth") {
        return;
    }
    let group = "g".repeat(1000);
    let mut map_roles = NODE_ROLE.to_string();
    for index in 0..900 {
        map_roles.push_str(&format!(
            "- rolearn: arn:aws:iam::{ACCOUNT}:role/hand-{index:03}\n  username: hand-{index:03}\n  groups:\n  - {group}\n"
        ));
    }
    let world = World::start_with(&map_roles, CREATOR).await;
    let mut entries = vec![masters(MapKind::MapRoles, "role/admin")];
    for index in 0..80 {
        entries.push(AwsAuthEntry {
            kind: MapKind::MapUsers,
            arn: format!("arn:aws:iam::{ACCOUNT}:user/team-{index:02}"),
            username: Some(format!("team-{index:02}")),
            groups: vec![group.clone()],
        });
    }
    world.write_file(&access_yaml(&entries));
    let before = world.aws_auth();

    let args = ["plan", "-f", "access.yaml"];
    insta::assert_snapshot!(
        "merged-aws-auth-over-one-mib",
        world.transcript(&args, 1).await
    );

    let args = ["apply", "-f", "access.yaml", "--auto-approve"];
    let apply = world.run(&args).await;
    assert_eq!(apply.status.code(), Some(1), "{}", shown(&apply));
    let stderr = String::from_utf8_lossy(&apply.stderr);
    assert!(
        stderr.contains("the aws-auth ConfigMap of cluster `demo` after this plan is"),
        "{}",
        shown(&apply)
    );
    // Nothing written but the apply's Lease.
    let writes: Vec<String> = world
        .server
        .requests()
        .iter()
        .filter(|request| request.method != "GET" && !request.path.contains("/leases"))
        .map(|request| format!("{} {}", request.method, request.path))
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
    assert_eq!(world.aws_auth(), before);
}

/// aws-auth as EKS's authenticator reads it (issue 15.3), through the binary: entries whose keys
/// are spelled `RoLeArN:` / `userARN:` are read (EKS honours them), a `mapusers:` data key is
/// not (EKS ignores it) and is a warning. Drift lists the hand-made grants; a file declaring
/// the console user adopts its entry, and the apply leaves one entry for it, every other byte
/// kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_auth_is_read_as_the_authenticator_reads_it() {
    if skipped("aws_auth as EKS reads it: seeds the test API server's aws-auth") {
        return;
    }
    let map_roles = format!(
        "{NODE_ROLE}- RoLeArN: arn:aws:iam::{ACCOUNT}:role/hand-made\n  UsErNaMe: hand-made\n  GROUPS:\n  - viewers\n"
    );
    let map_users = format!(
        "- userARN: arn:aws:iam::{ACCOUNT}:user/console\n  username: console\n  groups:\n  - system:masters\n"
    );
    let ignored = format!(
        "- userarn: arn:aws:iam::{ACCOUNT}:user/ignored\n  username: ignored\n  groups:\n  - system:masters\n"
    );
    let world = World::start_with_data(serde_json::json!({
        "mapRoles": map_roles,
        "mapUsers": map_users,
        "mapusers": ignored,
    }))
    .await;
    world.write_file(&access_yaml(&[masters(MapKind::MapUsers, "user/console")]));

    let args = ["drift", "-f", "access.yaml"];
    insta::assert_snapshot!(
        "aws-auth-as-eks-reads-it-drift",
        world.transcript(&args, 2).await
    );

    // An adoption alone writes only the managed annotation: no change to exit 2 for.
    let args = ["plan", "-f", "access.yaml", "--adopt"];
    insta::assert_snapshot!(
        "aws-auth-as-eks-reads-it-plan",
        world.transcript(&args, 0).await
    );

    let apply = world
        .run(&["apply", "-f", "access.yaml", "--adopt", "--auto-approve"])
        .await;
    assert_eq!(apply.status.code(), Some(0), "{}", shown(&apply));
    let data = world.aws_auth().data.unwrap_or_default();
    assert_eq!(
        data["mapRoles"], map_roles,
        "not accessctl's: kept byte for byte"
    );
    assert_eq!(
        data["mapusers"], ignored,
        "not accessctl's: kept byte for byte"
    );
    assert_eq!(
        data["mapUsers"].matches("user/console").count(),
        1,
        "adopted, not added again: {}",
        data["mapUsers"]
    );
}

/// A live `mapRoles` that is not YAML maps nothing in EKS (the authenticator keeps the other
/// lists): drift still reads `mapUsers` and warns about `mapRoles`; a plan that would put an
/// entry into it is refused before any write, and the broken text is left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_list_that_does_not_parse_maps_nothing_and_is_not_written_into() {
    if skipped("aws_auth that does not parse: seeds the test API server's aws-auth") {
        return;
    }
    let broken =
        format!("- rolearn: [arn:aws:iam::{ACCOUNT}:role/broken\n  groups: [system:masters]\n");
    let world = World::start_with(&broken, CREATOR).await;
    world.write_file(&access_yaml(&[masters(MapKind::MapRoles, "role/admin")]));
    let args = ["drift", "-f", "access.yaml"];
    insta::assert_snapshot!(
        "aws-auth-list-that-does-not-parse-drift",
        world.transcript(&args, 2).await
    );
    let args = ["plan", "-f", "access.yaml"];
    insta::assert_snapshot!(
        "aws-auth-list-that-does-not-parse-plan",
        world.transcript(&args, 1).await
    );
    let apply = world
        .run(&["apply", "-f", "access.yaml", "--auto-approve"])
        .await;
    assert_eq!(apply.status.code(), Some(1), "{}", shown(&apply));
    let data = world.aws_auth().data.unwrap_or_default();
    assert_eq!(data["mapRoles"], broken);
}
