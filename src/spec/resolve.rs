//! What the names in access.yaml refer to: policy references, user and role names or ARNs,
//! each resolved to the ARN IAM and EKS use.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{arn, parse_arn};

use super::raw::Spec;
use super::suggest;

/// Shown in ARNs when the file has no valid account (the mistake is reported elsewhere).
const UNKNOWN_ACCOUNT: &str = "000000000000";

/// Why a reference could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub message: String,
    pub hint: Option<String>,
}

impl Unresolved {
    fn new(message: String, hint: Option<String>) -> Self {
        Unresolved { message, hint }
    }
}

/// The users and roles of the other accounts loaded in the same run (several `-f`), by
/// account: what an `ACCOUNT/NAME` reference to another account resolves against. `None`: the
/// account's file is loaded but did not load (its mistakes are reported there), so its names
/// are not known and resolve under `/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peers(pub BTreeMap<String, Option<PeerNames>>);

/// The users and roles one account's file declares, name → path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerNames {
    pub users: BTreeMap<String, String>,
    pub roles: BTreeMap<String, String>,
}

impl Peers {
    /// Is `reference` an `ACCOUNT/NAME` of an account other than `account` that this run
    /// does not load? Then it resolves under `/`, unchecked: the account it names, for a
    /// warning.
    pub fn unloaded<'r>(&self, account: &str, reference: &'r str) -> Option<&'r str> {
        let (owner, _) = arn::qualified_name(reference)?;
        (owner != account && !self.0.contains_key(owner)).then_some(owner)
    }
}

/// The names declared in the file, with what their ARNs need.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    pub partition: String,
    pub account: String,
    /// Name → path (a policy without `path` is under `iam.policyPath`).
    pub policies: BTreeMap<String, String>,
    pub users: BTreeMap<String, String>,
    pub roles: BTreeMap<String, String>,
    pub groups: BTreeSet<String>,
    pub clusters: BTreeSet<String>,
    /// Kinds whose declarations could not be read (see [`Spec::unsure`]): any name of them
    /// resolves, the mistake having been reported where it is.
    pub unsure: BTreeSet<&'static str>,
    /// The other accounts of the run, for `ACCOUNT/NAME` references.
    pub peers: std::sync::Arc<Peers>,
}

fn path_of(path: Option<&super::raw::Text>) -> String {
    path_or(path, "/")
}

fn path_or(path: Option<&super::raw::Text>, default: &str) -> String {
    path.map_or_else(|| default.to_string(), |path| path.value.clone())
}

impl Directory {
    pub fn new(spec: &Spec<'_>) -> Self {
        let iam = &spec.iam;
        let mut directory = Directory {
            partition: spec
                .partition
                .as_ref()
                .map_or_else(crate::model::default_partition, |p| p.value.clone()),
            account: spec
                .account
                .as_ref()
                .map_or_else(|| UNKNOWN_ACCOUNT.to_string(), |a| a.value.clone()),
            policies: iam
                .policies
                .iter()
                .map(|p| {
                    let path = path_or(p.path.as_ref(), iam.policy_path());
                    (p.name.value.clone(), path)
                })
                .collect(),
            users: iam
                .users
                .iter()
                .map(|u| (u.name.value.clone(), path_of(u.path.as_ref())))
                .collect(),
            roles: iam
                .roles
                .iter()
                .map(|r| (r.name.value.clone(), path_of(r.path.as_ref())))
                .collect(),
            groups: iam.groups.iter().map(|g| g.name.value.clone()).collect(),
            clusters: spec.clusters.iter().map(|c| c.name.value.clone()).collect(),
            unsure: spec.unsure.clone(),
            peers: std::sync::Arc::default(),
        };
        // Declarations whose body could not be read are declared all the same.
        for (kind, name) in &spec.unreadable {
            let name = name.clone();
            match *kind {
                "policy" => {
                    let path = iam.policy_path().to_string();
                    directory.policies.entry(name).or_insert(path);
                }
                "user" => {
                    directory
                        .users
                        .entry(name)
                        .or_insert_with(|| "/".to_string());
                }
                "role" => {
                    directory
                        .roles
                        .entry(name)
                        .or_insert_with(|| "/".to_string());
                }
                "group" => {
                    directory.groups.insert(name);
                }
                _ => {
                    directory.clusters.insert(name);
                }
            }
        }
        directory
    }

    /// Whether the file names its account (a missing one is reported where it is missing).
    pub fn has_account(&self) -> bool {
        self.account != UNKNOWN_ACCOUNT
    }

    /// A group of this file (a user's `groups:` item): declared, or could be (see `unsure`).
    pub fn group(&self, name: &str) -> Result<(), Unresolved> {
        if self.groups.contains(name) || self.unsure.contains("group") {
            return Ok(());
        }
        Err(unknown(
            "group",
            name,
            &self.groups,
            "declare it under `iam.groups`",
        ))
    }

    /// Whether a cluster of that name is declared (or could be: see `unsure`).
    pub fn has_cluster(&self, name: &str) -> bool {
        self.clusters.contains(name) || self.unsure.contains("cluster")
    }

    /// Whether a policy of that name is declared (or could be: see `unsure`).
    pub fn has_policy(&self, name: &str) -> bool {
        self.policies.contains_key(name) || self.unsure.contains("policy")
    }

    /// A `policies:` item: a policy of this file, `aws:NAME`, or a policy ARN.
    pub fn policy_arn(&self, reference: &str) -> Result<String, Unresolved> {
        if reference.starts_with("arn:") {
            return match parse_arn(reference) {
                Some(parts) if parts.service == "iam" && parts.resource.starts_with("policy/") => {
                    Ok(reference.to_string())
                }
                _ => Err(Unresolved::new(
                    format!("`{reference}` is not an IAM policy ARN"),
                    Some("a policy ARN looks like `arn:aws:iam::123456789012:policy/NAME`".into()),
                )),
            };
        }
        if let Some(name) = reference.strip_prefix("aws:") {
            if name.is_empty() || name.starts_with('/') {
                return Err(Unresolved::new(
                    format!("`{reference}` names no AWS-managed policy"),
                    Some("write `aws:NAME`, e.g. `aws:AmazonS3ReadOnlyAccess`".into()),
                ));
            }
            return Ok(arn::aws_managed_policy(&self.partition, name));
        }
        match self.policies.get(reference) {
            Some(path) => Ok(arn::policy(&self.partition, &self.account, path, reference)),
            None if self.unsure.contains("policy") => {
                Ok(arn::policy(&self.partition, &self.account, "/", reference))
            }
            None => Err(unknown(
                "policy",
                reference,
                self.policies.keys(),
                &format!(
                    "declare it under `iam.policies`, or write `aws:{reference}` for an AWS-managed policy"
                ),
            )),
        }
    }

    /// A user of this file (name) or a user ARN.
    pub fn user_arn(&self, reference: &str) -> Result<String, Unresolved> {
        self.principal_arn(reference, "user", &self.users)
    }

    /// A role of this file (name) or a role ARN.
    pub fn role_arn(&self, reference: &str) -> Result<String, Unresolved> {
        self.principal_arn(reference, "role", &self.roles)
    }

    fn principal_arn(
        &self,
        reference: &str,
        kind: &str,
        declared: &BTreeMap<String, String>,
    ) -> Result<String, Unresolved> {
        if reference.starts_with("arn:") {
            return match parse_arn(reference) {
                Some(parts)
                    if parts.service == "iam"
                        && parts.resource.starts_with(&format!("{kind}/")) =>
                {
                    Ok(reference.to_string())
                }
                _ => Err(Unresolved::new(
                    format!("`{reference}` is not an IAM {kind} ARN"),
                    Some(format!(
                        "an IAM {kind} ARN looks like `arn:aws:iam::123456789012:{kind}/NAME`"
                    )),
                )),
            };
        }
        if let Some((account, name)) = arn::qualified_name(reference) {
            if account != self.account {
                return self.peer_arn(account, name, kind);
            }
            // `ACCOUNT/NAME` of this file's own account is its name.
            return self.principal_arn(name, kind, declared);
        }
        // A name of a kind whose declarations could not be read resolves, under `/`.
        let path = match declared.get(reference) {
            Some(path) => path.as_str(),
            None if self.unsure.contains(kind) => "/",
            None => {
                return Err(unknown(
                    kind,
                    reference,
                    declared.keys(),
                    &format!("declare it under `iam.{kind}s`, or write its ARN"),
                ));
            }
        };
        Ok(if kind == "user" {
            arn::user(&self.partition, &self.account, path, reference)
        } else {
            arn::role(&self.partition, &self.account, path, reference)
        })
    }

    /// User or role `name` of another `account`: by its path when that account's file is
    /// loaded in the run (and an error when it declares no such name), else under `/` (the
    /// loader warns: see [`Peers::unloaded`]).
    fn peer_arn(&self, account: &str, name: &str, kind: &str) -> Result<String, Unresolved> {
        let path = match self.peers.0.get(account) {
            Some(Some(names)) => {
                let declared = if kind == "user" {
                    &names.users
                } else {
                    &names.roles
                };
                match declared.get(name) {
                    Some(path) => path.as_str(),
                    None => {
                        let known: Vec<String> = declared
                            .keys()
                            .map(|known| format!("{account}/{known}"))
                            .collect();
                        let mut problem = unknown(
                            kind,
                            &format!("{account}/{name}"),
                            &known,
                            &format!(
                                "declare it under `iam.{kind}s` in account {account}'s file, or write its ARN"
                            ),
                        );
                        problem.message = format!("account {account} has no {kind} `{name}`");
                        return Err(problem);
                    }
                }
            }
            _ => "/",
        };
        Ok(if kind == "user" {
            arn::user(&self.partition, account, path, name)
        } else {
            arn::role(&self.partition, account, path, name)
        })
    }

    /// The stand-in role ARN of IAM Identity Center permission set `name` in this file's
    /// account, until live state names its role (see [`super::sso`]).
    pub fn sso_role_arn(&self, name: &str) -> String {
        super::sso::placeholder(&self.partition, &self.account, name)
    }

    /// Any IAM user or role ARN (`arn:` in access mappings).
    pub fn any_principal_arn(&self, reference: &str) -> Result<String, Unresolved> {
        self.user_arn(reference)
            .or_else(|_| self.role_arn(reference))
            .ok()
            .filter(|_| reference.starts_with("arn:"))
            .ok_or_else(|| {
                Unresolved::new(
                    format!("`{reference}` is not an IAM user or role ARN"),
                    Some("write e.g. `arn:aws:iam::123456789012:role/NAME`; for a user or role of this file, use `user: NAME` or `role: NAME`".into()),
                )
            })
    }
}

/// "unknown user `x`", with the closest declared name as a hint.
pub fn unknown<'k>(
    kind: &str,
    name: &str,
    known: impl IntoIterator<Item = &'k String>,
    otherwise: &str,
) -> Unresolved {
    let known: Vec<&str> = known.into_iter().map(String::as_str).collect();
    let hint = suggest::hint(name, known.iter().copied(), || otherwise.to_string());
    Unresolved::new(format!("unknown {kind} `{name}`"), Some(hint))
}

#[cfg(test)]
impl Directory {
    /// A directory for tests: account 424432388155 in `aws`, the policy `AmazonEKSAdminPolicy`
    /// under `/`, the role `eks-admin` under `/team/`, the user `developer` under `/` and the
    /// group `admins`.
    pub(super) fn example() -> Self {
        Directory {
            partition: "aws".into(),
            account: "424432388155".into(),
            policies: BTreeMap::from([("AmazonEKSAdminPolicy".into(), "/".into())]),
            roles: BTreeMap::from([("eks-admin".into(), "/team/".into())]),
            users: BTreeMap::from([("developer".into(), "/".into())]),
            groups: BTreeSet::from(["admins".into()]),
            ..Directory::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a reference of one kind resolves: `Directory::policy_arn`, `role_arn`, ….
    type ArnOf = fn(&Directory, &str) -> Result<String, Unresolved>;

    #[test]
    fn references_resolve_to_arns() {
        let d = Directory::example();
        let resolve: [(ArnOf, &str, &str); 5] = [
            (
                Directory::policy_arn,
                "AmazonEKSAdminPolicy",
                "arn:aws:iam::424432388155:policy/AmazonEKSAdminPolicy",
            ),
            (
                Directory::policy_arn,
                "aws:service-role/AmazonEBSCSIDriverPolicy",
                "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
            ),
            (
                Directory::policy_arn,
                "arn:aws:iam::123456789012:policy/team/SomePolicy",
                "arn:aws:iam::123456789012:policy/team/SomePolicy",
            ),
            // Principals respect their paths.
            (
                Directory::role_arn,
                "eks-admin",
                "arn:aws:iam::424432388155:role/team/eks-admin",
            ),
            (
                Directory::user_arn,
                "developer",
                "arn:aws:iam::424432388155:user/developer",
            ),
        ];
        for (arn_of, reference, arn) in resolve {
            assert_eq!(arn_of(&d, reference), Ok(arn.to_string()), "{reference}");
        }
        let unknown = d.policy_arn("AmazonEKSAdminPolicyy").unwrap_err();
        assert_eq!(unknown.message, "unknown policy `AmazonEKSAdminPolicyy`");
        assert_eq!(
            unknown.hint.as_deref(),
            Some("did you mean `AmazonEKSAdminPolicy`?")
        );
        assert!(d.policy_arn("arn:aws:iam::1:role/x").is_err());
        assert!(d.user_arn("arn:aws:iam::1:role/x").is_err());
        assert!(d.any_principal_arn("arn:aws:iam::1:role/x").is_ok());
        assert!(d.any_principal_arn("developer").is_err());
    }

    #[test]
    fn account_slash_name_resolves_against_the_other_accounts_of_the_run() {
        let mut d = Directory::example();
        let mut identity = PeerNames::default();
        identity.users.insert("alice".into(), "/people/".into());
        identity.roles.insert("ci".into(), "/".into());
        d.peers = std::sync::Arc::new(Peers(BTreeMap::from([
            ("111111111111".to_string(), Some(identity)),
            ("222222222222".to_string(), None),
        ])));
        // A loaded account's user, by its path there.
        assert_eq!(
            d.user_arn("111111111111/alice"),
            Ok("arn:aws:iam::111111111111:user/people/alice".to_string())
        );
        assert_eq!(
            d.role_arn("111111111111/ci"),
            Ok("arn:aws:iam::111111111111:role/ci".to_string())
        );
        // A name it does not declare is an error, with the name to write.
        let unknown = d.user_arn("111111111111/alicia").unwrap_err();
        assert_eq!(unknown.message, "account 111111111111 has no user `alicia`");
        assert_eq!(
            unknown.hint.as_deref(),
            Some("did you mean `111111111111/alice`?")
        );
        // A user is not a role.
        assert!(d.role_arn("111111111111/alice").is_err());
        // An account loaded but unreadable, or not loaded at all: under `/`, and only the
        // second is `unloaded` (its warning).
        for account in ["222222222222", "333333333333"] {
            assert_eq!(
                d.role_arn(&format!("{account}/deployer")),
                Ok(format!("arn:aws:iam::{account}:role/deployer"))
            );
        }
        assert_eq!(d.peers.unloaded(&d.account, "222222222222/deployer"), None);
        assert_eq!(
            d.peers.unloaded(&d.account, "333333333333/deployer"),
            Some("333333333333")
        );
        // The file's own account: its own names.
        assert_eq!(
            d.role_arn("424432388155/eks-admin"),
            Ok("arn:aws:iam::424432388155:role/team/eks-admin".to_string())
        );
        assert_eq!(d.peers.unloaded(&d.account, "424432388155/eks-admin"), None);
        assert!(d.role_arn("424432388155/nobody").is_err());
    }

    #[test]
    fn groups_resolve_when_declared_or_unsure() {
        let mut d = Directory::example();
        assert_eq!(d.group("admins"), Ok(()));
        let unknown = d.group("admin").unwrap_err();
        assert_eq!(unknown.message, "unknown group `admin`");
        assert_eq!(unknown.hint.as_deref(), Some("did you mean `admins`?"));
        let far = d.group("readers").unwrap_err();
        assert_eq!(far.hint.as_deref(), Some("declare it under `iam.groups`"));
        // The groups could not be read: any name may be one of them.
        d.unsure.insert("group");
        assert_eq!(d.group("readers"), Ok(()));
    }
}
