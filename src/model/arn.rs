//! ARNs, typed: [`IamArn`] for the IAM principals and policies accessctl names, [`AccountId`]
//! for the 12-digit account id, and [`parse_arn`] for the generic split of any other ARN.
//! Every module parses and spells ARNs here: no hand-formatted ARN and no splitting one by hand.

use std::fmt;

/// The parts of any ARN accessctl needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits `arn:partition:service:region:account:resource`; `None` when it is not an ARN.
pub fn parse_arn(text: &str) -> Option<Arn<'_>> {
    let mut parts = text.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let arn = Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    };
    (!arn.partition.is_empty() && !arn.service.is_empty() && !arn.resource.is_empty())
        .then_some(arn)
}

/// An AWS account id: exactly 12 ASCII digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// `Some` when `text` is exactly 12 ASCII digits.
    pub fn parse(text: &str) -> Option<AccountId> {
        Self::is_valid(text).then(|| AccountId(text.to_string()))
    }

    /// Is `text` an account id (12 ASCII digits)?
    pub fn is_valid(text: &str) -> bool {
        text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IAM (or STS session) ARN accessctl names. `path` is IAM's path, `/` or `/a/b/` (it
/// starts and ends with `/`). `account` is kept as written (`aws` for AWS-managed policies);
/// [`IamArn::account_id`] checks it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IamArn {
    User {
        partition: String,
        account: String,
        path: String,
        name: String,
    },
    Role {
        partition: String,
        account: String,
        path: String,
        name: String,
    },
    Group {
        partition: String,
        account: String,
        path: String,
        name: String,
    },
    Policy {
        partition: String,
        account: String,
        path: String,
        name: String,
    },
    /// `host` is the issuer without `https://`: `oidc.eks.REGION.amazonaws.com/id/X`.
    OidcProvider {
        partition: String,
        account: String,
        host: String,
    },
    /// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION` (no role path in it).
    AssumedRole {
        partition: String,
        account: String,
        role: String,
        session: String,
    },
    /// `arn:PARTITION:iam::ACCOUNT:root`.
    AccountRoot { partition: String, account: String },
}

/// `/team/name` → (`/team/`, `name`); `None` without a name.
fn split_path(path_and_name: &str) -> Option<(String, String)> {
    let cut = path_and_name.rfind('/')? + 1;
    let (path, name) = path_and_name.split_at(cut);
    (path.starts_with('/') && !name.is_empty()).then(|| (path.to_string(), name.to_string()))
}

impl IamArn {
    /// Parses the IAM ARN kinds above; `None` for anything else (other services, other IAM
    /// resource types, a region, an empty account or name).
    pub fn parse(text: &str) -> Option<IamArn> {
        let arn = parse_arn(text)?;
        if !arn.region.is_empty() || arn.account.is_empty() {
            return None;
        }
        let partition = arn.partition.to_string();
        let account = arn.account.to_string();
        if arn.service == "sts" {
            let (role, session) = arn
                .resource
                .strip_prefix("assumed-role/")?
                .split_once('/')?;
            if role.is_empty() || session.is_empty() || role.contains('/') {
                return None;
            }
            return Some(IamArn::AssumedRole {
                partition,
                account,
                role: role.to_string(),
                session: session.to_string(),
            });
        }
        if arn.service != "iam" {
            return None;
        }
        if arn.resource == "root" {
            return Some(IamArn::AccountRoot { partition, account });
        }
        let (kind, rest) = arn.resource.split_once('/')?;
        if kind == "oidc-provider" {
            return (!rest.is_empty()).then(|| IamArn::OidcProvider {
                partition,
                account,
                host: rest.to_string(),
            });
        }
        let (path, name) = split_path(&arn.resource[kind.len()..])?;
        IamArn::with_path(kind, partition, account, path, name)
    }

    /// A role ARN without its path: how aws-auth and EKS match a role.
    pub fn role(partition: &str, account: &str, name: &str) -> IamArn {
        IamArn::Role {
            partition: partition.to_string(),
            account: account.to_string(),
            path: "/".to_string(),
            name: name.to_string(),
        }
    }

    /// The partition and the account, as written: every kind has both.
    fn partition_and_account(&self) -> (&str, &str) {
        match self {
            IamArn::User {
                partition, account, ..
            }
            | IamArn::Role {
                partition, account, ..
            }
            | IamArn::Group {
                partition, account, ..
            }
            | IamArn::Policy {
                partition, account, ..
            }
            | IamArn::OidcProvider {
                partition, account, ..
            }
            | IamArn::AssumedRole {
                partition, account, ..
            }
            | IamArn::AccountRoot { partition, account } => (partition, account),
        }
    }

    pub fn partition(&self) -> &str {
        self.partition_and_account().0
    }

    /// The account as written (`aws` for an AWS-managed policy).
    pub fn account(&self) -> &str {
        self.partition_and_account().1
    }

    /// The account, when it is a 12-digit account id.
    pub fn account_id(&self) -> Option<AccountId> {
        AccountId::parse(self.account())
    }

    /// The name of a user, role, group or policy (without its path); the role of an
    /// assumed-role session; the issuer host of an OIDC provider; `None` for an account root.
    pub fn name(&self) -> Option<&str> {
        match self {
            IamArn::OidcProvider { host, .. } => Some(host),
            IamArn::AssumedRole { role, .. } => Some(role),
            _ => self.path_and_name().map(|(_, name)| name),
        }
    }

    /// The path of a user, role, group or policy.
    pub fn path(&self) -> Option<&str> {
        self.path_and_name().map(|(path, _)| path)
    }

    /// The path and name of a user, role, group or policy.
    fn path_and_name(&self) -> Option<(&str, &str)> {
        self.path_parts().map(|(_, path, name)| (path, name))
    }

    /// The name of a role ARN (paths aside); `None` for any other kind.
    pub fn role_name(&self) -> Option<&str> {
        match self {
            IamArn::Role { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The name of a policy ARN (paths aside); `None` for any other kind.
    pub fn policy_name(&self) -> Option<&str> {
        match self {
            IamArn::Policy { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Is this an AWS-managed policy (`arn:PARTITION:iam::aws:policy/...`)?
    pub fn is_aws_managed_policy(&self) -> bool {
        matches!(self, IamArn::Policy { account, .. } if account == "aws")
    }

    /// The IAM principal this ARN acts as: an assumed-role session is its role (without a
    /// path: the session ARN does not carry it); anything else is itself.
    pub fn principal(&self) -> IamArn {
        match self {
            IamArn::AssumedRole {
                partition,
                account,
                role,
                ..
            } => IamArn::role(partition, account, role),
            other => other.clone(),
        }
    }

    /// The same ARN with the path `/`: aws-auth and EKS match a role without its path.
    pub fn without_path(&self) -> IamArn {
        let mut arn = self.clone();
        if let Some(path) = arn.path_mut() {
            *path = "/".to_string();
        }
        arn
    }

    /// Do both name the same user, role, group or policy of the same account, paths aside
    /// (trust policies and aws-auth `mapRoles` may leave the path out)? OIDC providers and
    /// account roots compare whole; a session is not the same principal as its role here (use
    /// [`IamArn::principal`] first for that).
    pub fn same_principal(&self, other: &IamArn) -> bool {
        self.without_path() == other.without_path()
    }

    /// A key equal for two ARNs exactly when they are [`IamArn::same_principal`]: for
    /// looking principals up by ARN in a map instead of comparing each pair.
    pub fn principal_key(text: &str) -> Option<String> {
        IamArn::parse(text).map(|parsed| parsed.without_path().to_string())
    }
}

impl fmt::Display for IamArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (partition, account) = (self.partition(), self.account());
        match (self, self.path_parts()) {
            (_, Some((kind, path, name))) => {
                write!(f, "arn:{partition}:iam::{account}:{kind}{path}{name}")
            }
            (IamArn::OidcProvider { host, .. }, _) => {
                write!(f, "arn:{partition}:iam::{account}:oidc-provider/{host}")
            }
            (IamArn::AssumedRole { role, session, .. }, _) => {
                write!(
                    f,
                    "arn:{partition}:sts::{account}:assumed-role/{role}/{session}"
                )
            }
            // The account root: every other kind is above.
            (_, None) => write!(f, "arn:{partition}:iam::{account}:root"),
        }
    }
}

/// The IAM kinds an ARN names by a path and a name, each with its variant, the word its ARN
/// spells it with, and the function below that spells one: parsing, display and the
/// constructors go through this one table.
macro_rules! path_kinds {
    ($($variant:ident $word:literal $constructor:ident,)+) => {
        impl IamArn {
            /// A user, role, group or policy, from the word its ARN spells its kind with.
            fn with_path(
                kind: &str,
                partition: String,
                account: String,
                path: String,
                name: String,
            ) -> Option<IamArn> {
                match kind {
                    $($word => Some(IamArn::$variant { partition, account, path, name }),)+
                    _ => None,
                }
            }

            /// The kind's word, the path and the name of a user, role, group or policy.
            fn path_parts(&self) -> Option<(&'static str, &str, &str)> {
                match self {
                    $(IamArn::$variant { path, name, .. } => Some(($word, path, name)),)+
                    _ => None,
                }
            }

            fn path_mut(&mut self) -> Option<&mut String> {
                match self {
                    $(IamArn::$variant { path, .. } => Some(path),)+
                    _ => None,
                }
            }
        }

        $(
            #[doc = concat!("`arn:PARTITION:iam::ACCOUNT:", $word, "{path}{name}`; `path` is `/` or `/a/b/`.")]
            pub fn $constructor(partition: &str, account: &str, path: &str, name: &str) -> String {
                let [partition, account, path, name] =
                    [partition, account, path, name].map(str::to_string);
                IamArn::$variant { partition, account, path, name }.to_string()
            }
        )+
    };
}

path_kinds! {
    User "user" user,
    Role "role" role,
    Group "group" group,
    Policy "policy" policy,
}

/// `name` may carry the managed policy's path: `service-role/X`.
pub fn aws_managed_policy(partition: &str, name: &str) -> String {
    let (path, name) = match name.rsplit_once('/') {
        Some((dirs, name)) => (format!("/{dirs}/"), name),
        None => ("/".to_string(), name),
    };
    policy(partition, "aws", &path, name)
}

pub fn account_root(partition: &str, account: &str) -> String {
    IamArn::AccountRoot {
        partition: partition.to_string(),
        account: account.to_string(),
    }
    .to_string()
}

/// `issuer` without `https://`.
pub fn oidc_provider(partition: &str, account: &str, issuer: &str) -> String {
    IamArn::OidcProvider {
        partition: partition.to_string(),
        account: account.to_string(),
        host: issuer.to_string(),
    }
    .to_string()
}

/// An EKS access policy (not IAM): `arn:PARTITION:eks::aws:cluster-access-policy/NAME`.
pub fn eks_access_policy(partition: &str, name: &str) -> String {
    format!("arn:{partition}:eks::aws:cluster-access-policy/{name}")
}

/// The Kubernetes username EKS gives an access entry created without one (EKS User Guide, "Set
/// a custom username" and "Create access entries"): for a `STANDARD` entry, a user's own ARN, and
/// for a role the session ARN `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/{{SessionName}}`
/// (the role's path removed); the node types get their `system:node:` form. `None` when
/// `principal` is not a user or role ARN, or for a type whose username EKS does not document.
pub fn eks_generated_username(principal: &str, entry_type: &str) -> Option<String> {
    let principal = IamArn::parse(principal)?;
    match entry_type {
        "STANDARD" => match principal {
            IamArn::User { .. } => Some(principal.to_string()),
            IamArn::Role {
                partition,
                account,
                name,
                ..
            } => Some(
                IamArn::AssumedRole {
                    partition,
                    account,
                    role: name,
                    session: "{{SessionName}}".to_string(),
                }
                .to_string(),
            ),
            _ => None,
        },
        _ if !matches!(principal, IamArn::Role { .. }) => None,
        "EC2_LINUX" | "EC2_WINDOWS" => Some("system:node:{{EC2PrivateDNSName}}".to_string()),
        "FARGATE_LINUX" | "HYBRID_LINUX" => Some("system:node:{{SessionName}}".to_string()),
        _ => None,
    }
}

/// The short name an ARN is shown by: what follows its last `/` (a name without its path, a
/// session name); the text itself when it has no `/`.
pub fn short_name(text: &str) -> &str {
    text.rfind('/').map_or(text, |cut| &text[cut + 1..])
}

/// The key aws-auth matches a principal by: a role ARN without its path (EKS documents that a
/// `rolearn` with a path never matches); any other text as it is.
pub fn aws_auth_key(principal: &str) -> String {
    match IamArn::parse(principal) {
        Some(role @ IamArn::Role { .. }) => role.without_path().to_string(),
        _ => principal.to_string(),
    }
}

/// `arn:PARTITION:eks::aws:cluster-access-policy/NAME` → `NAME`; any other text is returned
/// as it is (a bare policy name).
pub fn eks_access_policy_name(text: &str) -> &str {
    parse_arn(text)
        .filter(|arn| arn.service == "eks")
        .and_then(|arn| arn.resource.strip_prefix("cluster-access-policy/"))
        .filter(|name| !name.is_empty())
        .unwrap_or(text)
}

/// `ACCOUNT/NAME` split (twelve digits, a `/`, a name without one): how one account's file
/// names a user or role of another account loaded in the same run, and how insight across
/// accounts names every principal, policy and cluster (`insight::estate`). IAM names cannot hold
/// a `/`, so a qualified name is never a name of one account.
pub fn qualified_name(key: &str) -> Option<(&str, &str)> {
    let (account, name) = key.split_once('/')?;
    (AccountId::is_valid(account) && !name.is_empty() && !name.contains('/'))
        .then_some((account, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_cases;

    fn round_trip(text: &str) -> IamArn {
        let arn = IamArn::parse(text).unwrap_or_else(|| panic!("{text} parses"));
        assert_eq!(arn.to_string(), text);
        arn
    }

    #[test]
    fn every_kind_round_trips() {
        let user = round_trip("arn:aws:iam::123456789012:user/alice");
        assert_eq!(user.name(), Some("alice"));
        assert_eq!(user.path(), Some("/"));
        let role = round_trip("arn:aws:iam::123456789012:role/team/eks/admin");
        assert_eq!(role.role_name(), Some("admin"));
        assert_eq!(role.path(), Some("/team/eks/"));
        round_trip("arn:aws-cn:iam::123456789012:group/devs");
        let managed = round_trip("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
        assert!(managed.is_aws_managed_policy());
        assert_eq!(managed.policy_name(), Some("AmazonEBSCSIDriverPolicy"));
        assert_eq!(managed.account_id(), None);
        round_trip(
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        );
        let session = round_trip("arn:aws:sts::123456789012:assumed-role/deployer/ci-session");
        assert_eq!(session.name(), Some("deployer"));
        let root = round_trip("arn:aws:iam::123456789012:root");
        assert_eq!(
            root.account_id().map(|id| id.to_string()).as_deref(),
            Some("123456789012")
        );
    }

    #[test]
    fn not_iam_arns() {
        for text in [
            "role/name",
            "arn:aws",
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
            "arn:aws:iam::1:role/",
            "arn:aws:iam::1:role",
            "arn:aws:iam::1:instance-profile/x",
            "arn:aws:iam:eu-west-1:1:role/x",
            "arn:aws:iam:::role/x",
            "arn:aws:sts::1:assumed-role/deployer",
            "arn:aws:sts::1:federated-user/x",
        ] {
            assert_eq!(IamArn::parse(text), None, "{text}");
        }
    }

    #[test]
    fn builders_spell_what_parse_reads() {
        let kind = |arn: &IamArn| match arn {
            IamArn::User { .. } => "user",
            IamArn::Role { .. } => "role",
            IamArn::Group { .. } => "group",
            IamArn::Policy { .. } => "policy",
            _ => "other",
        };
        for (arn, word) in [
            (user("aws", "1", "/p/", "n"), "user"),
            (role("aws", "1", "/p/", "n"), "role"),
            (group("aws", "1", "/p/", "n"), "group"),
            (policy("aws", "1", "/p/", "n"), "policy"),
        ] {
            assert_eq!(arn, format!("arn:aws:iam::1:{word}/p/n"));
            let parsed = IamArn::parse(&arn);
            assert_eq!(parsed.as_ref().map(kind), Some(word));
            assert_eq!(
                parsed.as_ref().and_then(|arn| arn.path().zip(arn.name())),
                Some(("/p/", "n"))
            );
        }
        assert_eq!(
            role("aws", "1", "/team/", "admin"),
            "arn:aws:iam::1:role/team/admin"
        );
        assert_eq!(
            aws_managed_policy("aws", "service-role/X"),
            "arn:aws:iam::aws:policy/service-role/X"
        );
        assert_eq!(
            aws_managed_policy("aws-cn", "ReadOnlyAccess"),
            "arn:aws-cn:iam::aws:policy/ReadOnlyAccess"
        );
        assert_eq!(account_root("aws", "1"), "arn:aws:iam::1:root");
        assert_eq!(
            oidc_provider("aws", "1", "oidc.eks/id/X"),
            "arn:aws:iam::1:oidc-provider/oidc.eks/id/X"
        );
    }

    #[test]
    fn role_paths_do_not_matter_to_the_same_principal() {
        let parse = |text| IamArn::parse(text).expect("an IAM ARN");
        // aws-auth and EKS match a role ARN without its path.
        let with_path = parse("arn:aws:iam::1:role/team/admin");
        let without = parse("arn:aws:iam::1:role/admin");
        assert!(with_path.same_principal(&without));
        assert_eq!(with_path.without_path(), without);
        assert!(!without.same_principal(&parse("arn:aws:iam::1:user/admin")));
        assert!(!without.same_principal(&parse("arn:aws:iam::2:role/admin")));
        assert!(!without.same_principal(&parse("arn:aws:iam::1:role/other")));
    }

    #[test]
    fn aws_auth_keys_drop_role_paths_only() {
        assert_eq!(
            aws_auth_key("arn:aws:iam::1:role/team/admin"),
            "arn:aws:iam::1:role/admin"
        );
        assert_eq!(
            aws_auth_key("arn:aws:iam::1:user/team/alice"),
            "arn:aws:iam::1:user/team/alice"
        );
        assert_eq!(aws_auth_key("123456789012"), "123456789012");
    }

    #[test]
    fn sessions_map_to_their_role() {
        let session = IamArn::parse("arn:aws:sts::1:assumed-role/deployer/ci").expect("a session");
        let role = IamArn::parse("arn:aws:iam::1:role/ci/deployer").expect("a role");
        assert!(!session.same_principal(&role));
        assert_eq!(
            session.principal().to_string(),
            "arn:aws:iam::1:role/deployer"
        );
        assert!(session.principal().same_principal(&role));
        assert_eq!(role.principal(), role);
    }

    #[test]
    fn short_names() {
        assert_cases(
            short_name,
            &[
                ("arn:aws:iam::1:role/team/admin", "admin"),
                ("arn:aws:sts::1:assumed-role/r/session", "session"),
                ("arn:aws:iam::1:root", "arn:aws:iam::1:root"),
            ],
        );
    }

    #[test]
    fn eks_access_policy_names() {
        let arn = eks_access_policy("aws", "AmazonEKSViewPolicy");
        assert_eq!(eks_access_policy_name(&arn), "AmazonEKSViewPolicy");
        assert_eq!(
            eks_access_policy_name("AmazonEKSViewPolicy"),
            "AmazonEKSViewPolicy"
        );
    }

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("123456789012").is_some());
        for bad in ["12345678901", "1234567890123", "12345678901a", "", "１２３"] {
            assert_eq!(AccountId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn eks_generates_usernames_by_principal_kind_and_entry_type() {
        let cases = [
            (
                "arn:aws:iam::123456789012:user/people/alice",
                "STANDARD",
                Some("arn:aws:iam::123456789012:user/people/alice"),
            ),
            (
                "arn:aws:iam::123456789012:role/team/eks/admin",
                "STANDARD",
                Some("arn:aws:sts::123456789012:assumed-role/admin/{{SessionName}}"),
            ),
            (
                "arn:aws-cn:iam::123456789012:role/admin",
                "STANDARD",
                Some("arn:aws-cn:sts::123456789012:assumed-role/admin/{{SessionName}}"),
            ),
            (
                "arn:aws-us-gov:iam::123456789012:user/bob",
                "STANDARD",
                Some("arn:aws-us-gov:iam::123456789012:user/bob"),
            ),
            (
                "arn:aws:iam::123456789012:role/nodes",
                "EC2_LINUX",
                Some("system:node:{{EC2PrivateDNSName}}"),
            ),
            (
                "arn:aws:iam::123456789012:role/nodes",
                "EC2_WINDOWS",
                Some("system:node:{{EC2PrivateDNSName}}"),
            ),
            (
                "arn:aws:iam::123456789012:role/pods",
                "FARGATE_LINUX",
                Some("system:node:{{SessionName}}"),
            ),
            (
                "arn:aws:iam::123456789012:role/edge",
                "HYBRID_LINUX",
                Some("system:node:{{SessionName}}"),
            ),
            // Nodes are roles only; types EKS documents no username for; not a principal.
            ("arn:aws:iam::123456789012:user/alice", "EC2_LINUX", None),
            (
                "arn:aws:iam::123456789012:role/nodes",
                "HYPERPOD_LINUX",
                None,
            ),
            ("arn:aws:iam::123456789012:group/devs", "STANDARD", None),
            ("not an arn", "STANDARD", None),
        ];
        for (principal, kind, expected) in cases {
            assert_eq!(
                eks_generated_username(principal, kind).as_deref(),
                expected,
                "{principal} {kind}"
            );
        }
    }
}
