//! Addresses name every object a plan can touch, in one readable string:
//! `iam.user.developer`, `cluster.demo.rolebinding.my-test-ns/my-binding`,
//! `cluster.demo.aws-auth[arn:aws:iam::424432388155:user/developer]`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Object kinds, in dependency order: a kind may depend only on kinds before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Policy,
    Group,
    /// Before roles: an IRSA trust policy names the provider, and IAM may refuse a trust
    /// policy whose federated principal does not exist yet.
    OidcProvider,
    User,
    Role,
    Namespace,
    ClusterRole,
    K8sRole,
    ClusterRoleBinding,
    RoleBinding,
    ServiceAccount,
    /// After ServiceAccount and Role: an association names both.
    PodIdentity,
    AccessEntry,
    AwsAuth,
    /// Last: a key is delivered to Secrets in namespaces the plan may create, and its user
    /// comes first.
    AccessKey,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Policy,
        Kind::Group,
        Kind::OidcProvider,
        Kind::User,
        Kind::Role,
        Kind::Namespace,
        Kind::ClusterRole,
        Kind::K8sRole,
        Kind::ClusterRoleBinding,
        Kind::RoleBinding,
        Kind::ServiceAccount,
        Kind::PodIdentity,
        Kind::AccessEntry,
        Kind::AwsAuth,
        Kind::AccessKey,
    ];

    /// The word used in addresses.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Policy => "policy",
            Kind::Group => "group",
            Kind::User => "user",
            Kind::Role => "role",
            Kind::OidcProvider => "oidc-provider",
            Kind::Namespace => "namespace",
            Kind::ClusterRole => "clusterrole",
            Kind::K8sRole => "role",
            Kind::ClusterRoleBinding => "clusterrolebinding",
            Kind::RoleBinding => "rolebinding",
            Kind::ServiceAccount => "serviceaccount",
            Kind::PodIdentity => "pod-identity",
            Kind::AccessEntry => "access-entry",
            Kind::AwsAuth => "aws-auth",
            Kind::AccessKey => "access-key",
        }
    }

    /// IAM kinds live in the account; the others in a cluster.
    pub fn is_iam(self) -> bool {
        matches!(
            self,
            Kind::Policy
                | Kind::Group
                | Kind::User
                | Kind::Role
                | Kind::OidcProvider
                | Kind::AccessKey
        )
    }

    /// Access mappings: granted last, revoked first.
    pub fn is_access_mapping(self) -> bool {
        matches!(self, Kind::AccessEntry | Kind::AwsAuth)
    }

    /// Kinds whose names are ARNs, written in brackets.
    fn bracketed(self) -> bool {
        self.is_access_mapping()
    }
}

/// Where an object lives: its kind, its cluster (for cluster objects) and its name
/// (`namespace/name` for namespaced objects, the principal ARN for access mappings, the issuer
/// host and path for OIDC providers).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub cluster: Option<String>,
    pub name: String,
}

impl Address {
    pub fn iam(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            cluster: None,
            name: name.into(),
        }
    }

    pub fn cluster(kind: Kind, cluster: impl Into<String>, name: impl Into<String>) -> Self {
        Address {
            kind,
            cluster: Some(cluster.into()),
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cluster {
            None => write!(f, "iam.{}.{}", self.kind.as_str(), self.name),
            Some(cluster) if self.kind.bracketed() => {
                write!(f, "cluster.{cluster}.{}[{}]", self.kind.as_str(), self.name)
            }
            Some(cluster) => write!(f, "cluster.{cluster}.{}.{}", self.kind.as_str(), self.name),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an accessctl address (e.g. `iam.user.alice`, `cluster.demo.namespace.team-a`)"
)]
pub struct ParseAddressError(pub String);

impl FromStr for Address {
    type Err = ParseAddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseAddressError(text.to_string());
        if let Some(rest) = text.strip_prefix("iam.") {
            let (kind, name) = rest.split_once('.').ok_or_else(error)?;
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.is_iam() && k.as_str() == kind)
                .ok_or_else(error)?;
            if name.is_empty() {
                return Err(error());
            }
            return Ok(Address::iam(kind, name));
        }
        let rest = text.strip_prefix("cluster.").ok_or_else(error)?;
        let (cluster, rest) = rest.split_once('.').ok_or_else(error)?;
        if let Some(open) = rest.find('[') {
            let kind = &rest[..open];
            let name = rest[open + 1..].strip_suffix(']').ok_or_else(error)?;
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.bracketed() && k.as_str() == kind)
                .ok_or_else(error)?;
            if cluster.is_empty() || name.is_empty() {
                return Err(error());
            }
            return Ok(Address::cluster(kind, cluster, name));
        }
        let (kind, name) = rest.split_once('.').ok_or_else(error)?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| !k.is_iam() && !k.bracketed() && k.as_str() == kind)
            .ok_or_else(error)?;
        if cluster.is_empty() || name.is_empty() {
            return Err(error());
        }
        Ok(Address::cluster(kind, cluster, name))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        let addresses = [
            Address::iam(Kind::User, "john.doe@example.com"),
            Address::iam(
                Kind::OidcProvider,
                "oidc.eks.us-east-1.amazonaws.com/id/ABC",
            ),
            Address::cluster(Kind::K8sRole, "demo", "my-test-ns/my-test-role"),
            Address::cluster(Kind::ClusterRole, "demo", "system:aggregate-to-view"),
            Address::cluster(
                Kind::AwsAuth,
                "demo",
                "arn:aws:iam::424432388155:user/developer",
            ),
            Address::cluster(Kind::AccessEntry, "prod", "arn:aws:iam::1:role/a.b"),
            Address::cluster(Kind::PodIdentity, "prod", "apps/uploader"),
        ];
        for address in addresses {
            let text = address.to_string();
            assert_eq!(text.parse::<Address>(), Ok(address), "{text}");
        }
    }

    #[test]
    fn display_forms() {
        assert_eq!(
            Address::iam(Kind::Role, "eks-admin").to_string(),
            "iam.role.eks-admin"
        );
        assert_eq!(
            Address::cluster(Kind::K8sRole, "demo", "ns/r").to_string(),
            "cluster.demo.role.ns/r"
        );
        assert_eq!(
            Address::cluster(Kind::AwsAuth, "demo", "arn:aws:iam::1:user/u").to_string(),
            "cluster.demo.aws-auth[arn:aws:iam::1:user/u]"
        );
    }

    #[test]
    fn bad_addresses_are_refused() {
        for text in [
            "",
            "iam.",
            "iam.user.",
            "iam.nope.x",
            "cluster.demo",
            "cluster..namespace.x",
            "cluster.d.aws-auth[x",
            "cluster.d.user.x",
        ] {
            assert!(text.parse::<Address>().is_err(), "{text}");
        }
    }
}
