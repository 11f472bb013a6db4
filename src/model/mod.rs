//! The normalized, provider-neutral picture of access: users, roles, groups, policies and what
//! they can reach in each cluster.
//!
//! One `State` type serves both sides of a plan: the desired state built from access.yaml and the
//! live state read from IAM and the clusters (or from a saved snapshot). Ownership travels inside
//! the data as the markers accessctl writes (tags, labels, the group path, the aws-auth
//! annotation), so a snapshot is self-contained and the planner needs nothing else.
//!
//! Everything here is a value: sorted maps and sets, `Serialize + Deserialize`, no I/O.

pub mod access_key;
pub mod acknowledged;
mod address;
pub mod arn;
pub mod aws_auth;
mod cluster;
pub mod eks_rules;
mod iam;
pub mod policy;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use access_key::{AccessKey, AccessKeys, Destination, Held, KeyRotation, KeyStatus};
pub use acknowledged::{Acknowledgement, Grant};
pub use address::{Address, Kind, ParseAddressError};
pub use arn::{AccountId, Arn, IamArn, parse_arn};
pub use cluster::*;
pub use iam::*;
pub use policy::{DocumentKind, PolicyDocument};

/// Tag key (IAM) marking an object as owned by accessctl.
pub const MANAGED_BY_TAG: &str = "managed-by";
/// Tag value (IAM) and label value (Kubernetes) marking ownership.
pub const MANAGED_BY_VALUE: &str = "accessctl";
/// Label key (Kubernetes) marking an object as owned by accessctl.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// IAM groups take no tags: a group under this path is owned.
pub const DEFAULT_GROUP_PATH: &str = "/accessctl/";
/// IAM returns no policy tags in any bulk call: a customer policy under this path is owned.
pub const DEFAULT_POLICY_PATH: &str = "/accessctl/";

/// The ownership predicates, defined once: what marks an object as accessctl's.
pub mod owned {
    use std::collections::BTreeMap;

    use super::{MANAGED_BY_TAG, MANAGED_BY_VALUE};

    /// IAM users, roles and OIDC providers, and EKS access entries: the `managed-by` tag.
    pub fn by_tags(tags: &BTreeMap<String, String>) -> bool {
        tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
    }

    /// IAM groups (which take no tags): exactly the owned group path.
    pub fn group_path(path: &str, owned: &str) -> bool {
        path == owned
    }

    /// Customer policies (IAM lists no policy tags in bulk): the owned policy path or below.
    pub fn policy_path(path: &str, owned: &str) -> bool {
        path.starts_with(owned)
    }
}
/// Annotation on the aws-auth ConfigMap listing, as a JSON array, the ARNs accessctl manages.
pub const AWS_AUTH_MANAGED_ANNOTATION: &str = "accessctl.io/managed-entries";
/// ServiceAccount annotation read by the EKS Pod Identity webhook for IRSA.
pub const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// EKS access-entry tag recording the IAM role's unique id when accessctl created the entry: EKS
/// does not report it, and a recreated role (same ARN, new id) silently breaks the entry.
pub const PRINCIPAL_ID_TAG: &str = "accessctl.io/principal-id";
/// Snapshot and desired-state format version.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// Kubernetes groups that mark an aws-auth entry as a node role: never touched without a flag.
pub const NODE_GROUPS: [&str; 2] = ["system:bootstrappers", "system:nodes"];

/// The whole picture, desired or live. A missing field takes its value from [`State::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct State {
    /// Always [`STATE_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The AWS account: the file's `account:` on the desired side, the caller's on the live side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// Who reads live state (from STS). Live side only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
    pub iam: Iam,
    /// By the cluster name used in access.yaml.
    pub clusters: BTreeMap<String, Cluster>,
    /// What a live read brought from the clusters (live side only; IAM, aws-auth and access
    /// entries are always read whole).
    #[serde(skip_serializing_if = "ReadScope::is_managed")]
    pub scope: ReadScope,
}

/// How much of each cluster's RBAC a live read brings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadScope {
    /// What accessctl owns or the file declares: what a plan needs (one label-selected LIST per
    /// kind, plus a lookup of each declared object not returned).
    #[default]
    Managed,
    /// Every namespace, ClusterRole, Role, ClusterRoleBinding, RoleBinding and ServiceAccount
    /// (one unfiltered LIST per kind): what `--live` insight and `snapshot --all` need.
    Everything,
}

impl ReadScope {
    pub fn is_managed(&self) -> bool {
        *self == ReadScope::Managed
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            format_version: STATE_FORMAT_VERSION,
            account: None,
            partition: default_partition(),
            caller: None,
            iam: Iam::default(),
            clusters: BTreeMap::new(),
            scope: ReadScope::Managed,
        }
    }
}

pub fn default_partition() -> String {
    "aws".to_string()
}

/// The identity that runs accessctl, from `sts:GetCallerIdentity`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    pub account: String,
    /// As STS returns it: `arn:aws:iam::1:user/x` or `arn:aws:sts::1:assumed-role/R/session`.
    pub arn: String,
}

impl Caller {
    /// The IAM principal ARN that cluster mappings name for this caller: an assumed-role
    /// session maps back to its role (`arn:aws:iam::1:role/R`), since that is what aws-auth and
    /// access entries hold. Role paths are not in the session ARN; callers match on the name.
    pub fn principal_arn(&self) -> String {
        match IamArn::parse(&self.arn) {
            Some(arn) => arn.principal().to_string(),
            None => self.arn.clone(),
        }
    }
}

/// The role accessctl assumes in the file's account (`assumeRole`), from the base credentials
/// of the standard chain: how one run reaches several accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssumeRole {
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The session name (`accessctl` unless the file says otherwise): CloudTrail shows it.
    pub session_name: String,
}

/// The session name accessctl uses when the file gives none.
pub const DEFAULT_SESSION_NAME: &str = "accessctl";

/// The desired state plus what the file says about taking over existing objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    pub state: State,
    /// `assumeRole`: reach the account through this role.
    pub assume_role: Option<AssumeRole>,
    /// Objects marked `adopt: true` in access.yaml.
    pub adopt: BTreeSet<Address>,
    /// IAM groups under this path are owned (IAM groups take no tags).
    pub group_path: String,
    /// Customer policies under this path (or below it) are owned: IAM returns no policy tags
    /// in bulk, so the path is the marker that costs no extra call.
    pub policy_path: String,
}

/// Tags, labels or annotations from `(key, value)` pairs: for tests.
#[cfg(test)]
pub(crate) fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// `https://oidc.eks…/id/X` → `oidc.eks…/id/X`.
pub fn issuer_host_path(issuer: &str) -> &str {
    issuer
        .strip_prefix("https://")
        .unwrap_or(issuer)
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An assumed-role session maps back to its role; a user is itself, path included.
    #[test]
    fn callers_map_to_their_principal() {
        let cases = [
            (
                "arn:aws:sts::111122223333:assumed-role/deployer/ci-session",
                "arn:aws:iam::111122223333:role/deployer",
            ),
            (
                "arn:aws:iam::111122223333:user/ops/alice",
                "arn:aws:iam::111122223333:user/ops/alice",
            ),
            (
                "arn:aws:iam::111122223333:user/alice",
                "arn:aws:iam::111122223333:user/alice",
            ),
        ];
        for (arn, principal) in cases {
            let caller = Caller {
                account: "111122223333".into(),
                arn: arn.into(),
            };
            assert_eq!(caller.principal_arn(), principal, "{arn}");
        }
    }

    #[test]
    fn arn_parts() {
        let arn = parse_arn("arn:aws:iam::123456789012:role/path/name").expect("an ARN");
        assert_eq!(arn.service, "iam");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "role/path/name");
        assert!(parse_arn("role/name").is_none());
        assert!(parse_arn("arn:aws").is_none());
    }
}
