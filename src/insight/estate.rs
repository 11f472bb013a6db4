//! Several accounts as one state, for insight across accounts (`who-can -f identity -f
//! workload`): the chain from a user of one account through a role of another into that
//! account's cluster is the same search as within one account, once every principal, policy
//! and cluster of the run is in one [`State`] under a name that says its account.
//!
//! In an estate every name is qualified `ACCOUNT/NAME`: user `210987654321/alice`, role
//! `123456789012/eks-admin`, cluster `123456789012/prod`. IAM names cannot hold a `/` (user,
//! group, role and policy names are `[\w+=,.@-]+`), so a qualified name is never a name of one
//! account, and [`owner`] tells a name's account from the name alone: every place that makes
//! an ARN from a name of the state (a principal, a role's, a customer policy's) asks it. A
//! state of one account holds no qualified name, and [`owner`] gives its own account: one-account
//! answers are unchanged. No I/O.

use std::collections::BTreeMap;

use crate::model::{ReadScope, State};

/// The account and the IAM name of a key of `state.iam` (`210987654321/alice` →
/// (`210987654321`, `alice`)); a key of one account's state is its own name in the state's
/// account ([`super::iam_eval::account`]).
pub fn owner<'k>(state: &State, key: &'k str) -> (String, &'k str) {
    match qualified(key) {
        Some((account, name)) => (account.to_string(), name),
        None => (super::iam_eval::account(state), key),
    }
}

/// `ACCOUNT/NAME` split, when `key` is one ([`crate::model::arn::qualified_name`]).
pub fn qualified(key: &str) -> Option<(&str, &str)> {
    crate::model::arn::qualified_name(key)
}

/// `ACCOUNT/NAME`.
pub fn qualify(account: &str, name: &str) -> String {
    format!("{account}/{name}")
}

/// Why several states cannot be one estate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EstateError {
    #[error("`{file}` names no `account`: across accounts, each file must say which it is")]
    NoAccount { file: String },
    #[error("account {account} is in both `{first}` and `{second}`")]
    Twice {
        account: String,
        first: String,
        second: String,
    },
    #[error(
        "`{file}` is in partition `{partition}`, `{first}` in `{expected}`: one run analyses one partition"
    )]
    Partition {
        file: String,
        partition: String,
        first: String,
        expected: String,
    },
}

/// The states of several accounts (each with the file it came from, for messages) as one
/// estate: every user, group, role, policy, OIDC provider and cluster under its qualified name,
/// each user's groups qualified alike. Everything else of a state is kept as it is: ARNs
/// (policy attachments, trust policies, aws-auth entries, access entries) already name their
/// account. Read whole (`ReadScope::Everything`) only when every state was.
pub fn merge(states: Vec<(String, State)>) -> Result<State, EstateError> {
    let mut estate = State::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut first: Option<(String, String)> = None;
    let mut scope = ReadScope::Everything;
    for (file, state) in states {
        let account = super::iam_eval::account(&state);
        if account.is_empty() {
            return Err(EstateError::NoAccount { file });
        }
        if let Some(earlier) = seen.get(&account) {
            return Err(EstateError::Twice {
                account,
                first: earlier.clone(),
                second: file,
            });
        }
        match &first {
            None => {
                first = Some((file.clone(), state.partition.clone()));
                estate.partition = state.partition.clone();
            }
            Some((first, expected)) if *expected != state.partition => {
                return Err(EstateError::Partition {
                    file,
                    partition: state.partition,
                    first: first.clone(),
                    expected: expected.clone(),
                });
            }
            Some(_) => {}
        }
        seen.insert(account.clone(), file);
        if state.scope == ReadScope::Managed {
            scope = ReadScope::Managed;
        }
        let State { iam, clusters, .. } = state;
        let key = |name: String| qualify(&account, &name);
        let target = &mut estate.iam;
        target.policies.extend(
            iam.policies
                .into_iter()
                .map(|(name, policy)| (key(name), policy)),
        );
        target.groups.extend(
            iam.groups
                .into_iter()
                .map(|(name, group)| (key(name), group)),
        );
        target
            .users
            .extend(iam.users.into_iter().map(|(name, mut user)| {
                user.groups = std::mem::take(&mut user.groups)
                    .into_iter()
                    .map(|group| qualify(&account, &group))
                    .collect();
                (key(name), user)
            }));
        target
            .roles
            .extend(iam.roles.into_iter().map(|(name, role)| (key(name), role)));
        target.oidc_providers.extend(
            iam.oidc_providers
                .into_iter()
                .map(|(issuer, provider)| (key(issuer), provider)),
        );
        target.access_keys.extend(
            iam.access_keys
                .into_iter()
                .map(|(user, keys)| (key(user), keys)),
        );
        estate.clusters.extend(
            clusters
                .into_iter()
                .map(|(name, cluster)| (key(name), cluster)),
        );
    }
    estate.scope = scope;
    Ok(estate)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::insight::chain::{self, Certainty};
    use crate::insight::iam_eval::Analysis;
    use crate::insight::rbac;
    use crate::model::{AwsAuth, AwsAuthEntry, MapKind, Role, User};

    fn role(trust: serde_json::Value) -> Role {
        serde_json::from_value(json!({"trust": trust})).unwrap()
    }

    /// An identity account whose user `alice` may, by `policy`, assume a role of the workload
    /// account whose trust is `trust`, which the workload cluster maps to `system:masters`.
    fn accounts(policy: Option<serde_json::Value>, trust: serde_json::Value) -> State {
        let mut identity = state("111111111111");
        let mut alice = User::default();
        if let Some(policy) = policy {
            alice
                .inline_policies
                .insert("assume".into(), serde_json::from_value(policy).unwrap());
        }
        identity.iam.users.insert("alice".into(), alice);
        let mut workload = state("222222222222");
        workload.iam.roles.insert("eks-admin".into(), role(trust));
        let cluster = crate::model::Cluster {
            aws_auth: Some(AwsAuth {
                entries: vec![AwsAuthEntry {
                    kind: MapKind::MapRoles,
                    arn: "arn:aws:iam::222222222222:role/eks-admin".into(),
                    username: Some("eks-admin".into()),
                    groups: vec!["system:masters".into()],
                }],
                ..AwsAuth::default()
            }),
            ..crate::model::Cluster::default()
        };
        workload.clusters.insert("prod".into(), cluster);
        merge(vec![
            ("identity".into(), identity),
            ("workload".into(), workload),
        ])
        .unwrap()
    }

    fn allow_assume() -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::222222222222:role/eks-admin"}]})
    }

    fn trusting(principal: &str) -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})
    }

    /// Can `alice` delete pods in the workload cluster, and by which hop?
    fn alice_may(estate: &State) -> (Certainty, Vec<String>) {
        let analysis = Analysis::new(estate);
        let alice = chain::resolve_principal(estate, "alice").unwrap();
        assert_eq!(alice.arn, "arn:aws:iam::111111111111:user/alice");
        let request = rbac::parse_request_in(
            rbac::KnownResources::builtin(),
            "delete",
            "pods",
            None,
            None,
        );
        let answers = chain::can(&analysis, &alice, &request, None);
        let [answer] = answers.as_slice() else {
            panic!("one cluster: {answers:?}")
        };
        assert_eq!(answer.cluster, "222222222222/prod");
        let hops = answer
            .route
            .iter()
            .flat_map(|route| &route.hops)
            .map(|hop| format!("{} → role/{}: {}", hop.from, hop.role, hop.reason))
            .collect();
        (answer.certainty, hops)
    }

    #[test]
    fn a_chain_crosses_accounts_when_both_sides_allow_the_hop() {
        // The trust names the user, and her own account's policy allows the hop.
        let estate = accounts(
            Some(allow_assume()),
            trusting("arn:aws:iam::111111111111:user/alice"),
        );
        assert_eq!(
            alice_may(&estate),
            (
                Certainty::Yes,
                vec![
                    "user/111111111111/alice → role/222222222222/eks-admin: allowed by inline policy assume (user/111111111111/alice) statement 1 and the trust policy of role/222222222222/eks-admin statement 1".to_string()
                ]
            )
        );
        // The trust delegates to the identity account: her policy decides.
        let estate = accounts(Some(allow_assume()), trusting("111111111111"));
        assert_eq!(alice_may(&estate).0, Certainty::Yes);
    }

    #[test]
    fn across_accounts_the_trust_alone_is_not_enough_nor_the_policy_alone() {
        // Within one account a trust naming the user would do; across accounts her own
        // account must allow it too.
        let estate = accounts(None, trusting("arn:aws:iam::111111111111:user/alice"));
        assert_eq!(alice_may(&estate), (Certainty::No, vec![]));
        // Her policy allows it, but the role trusts another account.
        let estate = accounts(Some(allow_assume()), trusting("333333333333"));
        assert_eq!(alice_may(&estate), (Certainty::No, vec![]));
    }

    fn state(account: &str) -> State {
        State {
            account: Some(account.into()),
            partition: "aws".into(),
            ..State::default()
        }
    }

    #[test]
    fn qualified_names_say_their_account_and_plain_names_the_states() {
        let one = state("111111111111");
        assert_eq!(
            owner(&one, "222222222222/alice"),
            ("222222222222".to_string(), "alice")
        );
        assert_eq!(owner(&one, "alice"), ("111111111111".to_string(), "alice"));
        // Not an account, or more than one `/`: not a qualified name.
        assert_eq!(qualified("12345/alice"), None);
        assert_eq!(qualified("222222222222/a/b"), None);
        assert_eq!(qualified("222222222222/"), None);
    }

    #[test]
    fn merging_qualifies_every_name_and_each_users_groups() {
        let mut identity = state("111111111111");
        let mut alice = User::default();
        alice.groups.insert("developers".into());
        identity.iam.users.insert("alice".into(), alice);
        identity
            .iam
            .groups
            .insert("developers".into(), Default::default());
        let mut workload = state("222222222222");
        workload
            .iam
            .roles
            .insert("eks-admin".into(), role(trusting("111111111111")));
        workload.clusters.insert("prod".into(), Default::default());
        let estate = merge(vec![
            ("identity".into(), identity),
            ("workload".into(), workload),
        ])
        .unwrap();
        assert_eq!(
            estate.iam.users.keys().collect::<Vec<_>>(),
            ["111111111111/alice"]
        );
        assert_eq!(
            estate.iam.users["111111111111/alice"]
                .groups
                .iter()
                .collect::<Vec<_>>(),
            ["111111111111/developers"]
        );
        assert!(estate.iam.groups.contains_key("111111111111/developers"));
        assert!(estate.iam.roles.contains_key("222222222222/eks-admin"));
        assert!(estate.clusters.contains_key("222222222222/prod"));
        assert_eq!(estate.account, None);
        assert_eq!(estate.partition, "aws");
    }

    #[test]
    fn merging_refuses_a_file_without_account_an_account_twice_and_two_partitions() {
        let nameless = State {
            partition: "aws".into(),
            ..State::default()
        };
        assert_eq!(
            merge(vec![("a".into(), nameless)]),
            Err(EstateError::NoAccount { file: "a".into() })
        );
        assert_eq!(
            merge(vec![
                ("a".into(), state("111111111111")),
                ("b".into(), state("111111111111"))
            ]),
            Err(EstateError::Twice {
                account: "111111111111".into(),
                first: "a".into(),
                second: "b".into()
            })
        );
        let mut china = state("222222222222");
        china.partition = "aws-cn".into();
        assert!(matches!(
            merge(vec![
                ("a".into(), state("111111111111")),
                ("b".into(), china)
            ]),
            Err(EstateError::Partition { .. })
        ));
    }
}
