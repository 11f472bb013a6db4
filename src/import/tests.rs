//! Unit tests of the parts of import that the integration round trips do not single out.

use super::*;
use crate::model::{AwsAuth, AwsAuthEntry, Cluster, MapKind, User};

fn live_with_entries(entries: Vec<AwsAuthEntry>) -> State {
    let mut live = State {
        account: Some("111122223333".into()),
        ..State::default()
    };
    live.iam.users.insert("alice".into(), User::default());
    live.clusters.insert(
        "demo".into(),
        Cluster {
            aws_auth: Some(AwsAuth {
                entries,
                ..AwsAuth::default()
            }),
            ..Cluster::default()
        },
    );
    live
}

fn entry(kind: MapKind, arn: &str, groups: &[&str]) -> AwsAuthEntry {
    AwsAuthEntry {
        kind,
        arn: arn.into(),
        username: Some("someone".into()),
        groups: groups.iter().map(|g| (*g).to_string()).collect(),
    }
}

/// A user's ARN in aws-auth: under `mapUsers` imported by name and adopted; under `mapRoles`
/// left out, with the reason in the file.
#[test]
fn a_mapped_user_is_adopted_unless_mapped_as_a_role() {
    // (where aws-auth maps alice, what the file holds, what it must not, no warnings)
    let cases: [(MapKind, &[&str], &[&str], bool); 2] = [
        (
            MapKind::MapUsers,
            &["      - user: alice\n", "    alice:\n      adopt: true\n"],
            &[],
            true,
        ),
        (
            MapKind::MapRoles,
            &["not an IAM role ARN"],
            &["alice:"],
            false,
        ),
    ];
    for (kind, holds, lacks, no_warnings) in cases {
        let live = live_with_entries(vec![entry(
            kind,
            "arn:aws:iam::111122223333:user/alice",
            &["system:masters"],
        )]);
        let options = Options {
            cluster: "demo".into(),
            ..Options::default()
        };
        let imported = import(&live, &options).expect("import");
        for text in holds {
            assert!(imported.yaml.contains(text), "{kind:?}: {}", imported.yaml);
        }
        for text in lacks {
            assert!(!imported.yaml.contains(text), "{kind:?}: {}", imported.yaml);
        }
        if no_warnings {
            assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
        }
    }
}

#[test]
fn the_account_comes_from_the_flag_first() {
    let live = live_with_entries(Vec::new());
    let options = Options {
        cluster: "demo".into(),
        account: Some("444455556666".into()),
        ..Options::default()
    };
    let imported = import(&live, &options).expect("import");
    assert!(imported.yaml.contains("account: \"444455556666\"\n"));
    // The plan check notices the file's account is not the caller's.
    let no_account = State {
        account: None,
        ..live
    };
    assert_eq!(
        import(
            &no_account,
            &Options {
                cluster: "demo".into(),
                ..Options::default()
            }
        ),
        Err(ImportError::NoAccount)
    );
}
