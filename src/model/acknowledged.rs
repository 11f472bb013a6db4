//! Acknowledged grants: access outside access.yaml that the file says may stay
//! (`acknowledged:` at the top level for the account's grants, `clusters.NAME.acknowledged:`
//! for a cluster's). Drift still lists them, but they do not fail the check. Nothing here is a
//! resource: the planner never sees an acknowledgement.

use super::{Address, IamArn, Kind};

/// The IAM kinds drift reports as unmanaged grants (users and roles with administrator access,
/// access keys not managed).
pub const IAM_KINDS: [Kind; 3] = [Kind::User, Kind::Role, Kind::AccessKey];
/// The cluster kinds drift reports as unmanaged grants.
pub const CLUSTER_KINDS: [Kind; 4] = [
    Kind::AwsAuth,
    Kind::AccessEntry,
    Kind::ClusterRoleBinding,
    Kind::RoleBinding,
];

/// What an acknowledgement names: one grant by the address drift prints, or every grant of a
/// principal by its ARN (top level: the user or role and its access keys; in a cluster: its
/// aws-auth entry and access entry, paths aside as EKS matches them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Address(Address),
    Principal(IamArn),
}

/// Why a written grant can never match what drift reports: a message and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmatchable {
    pub message: String,
    pub hint: String,
}

fn unmatchable(message: String, hint: impl Into<String>) -> Unmatchable {
    Unmatchable {
        message,
        hint: hint.into(),
    }
}

impl Grant {
    /// Reads `text` as written under `acknowledged` of `cluster` (`None`: the top level) of the
    /// file for `account`: an address drift prints there, or a user's or role's ARN.
    pub fn parse(
        text: &str,
        cluster: Option<&str>,
        account: Option<&str>,
    ) -> Result<Grant, Unmatchable> {
        let examples = match cluster {
            None => {
                "`iam.user.NAME`, `iam.role.NAME`, `iam.access-key.USER`, or a user's or role's ARN"
                    .to_string()
            }
            Some(name) => format!(
                "`cluster.{name}.aws-auth[ARN]`, `cluster.{name}.access-entry[ARN]`, `cluster.{name}.clusterrolebinding.NAME`, `cluster.{name}.rolebinding.NAMESPACE/NAME`, or a principal's ARN"
            ),
        };
        if text.starts_with("arn:") {
            return Self::principal(text, cluster, account);
        }
        let address: Address = text.parse().map_err(|_| {
            let hint = match suggested(text) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("copy the address from drift's output: {examples}"),
            };
            unmatchable(
                format!("`{text}` is neither an address drift prints nor an IAM ARN"),
                hint,
            )
        })?;
        match (&address.cluster, cluster) {
            (Some(other), None) => Err(unmatchable(
                format!("`{text}` is a grant of cluster `{other}`, not of the account"),
                format!("acknowledge it under `clusters.{other}.acknowledged`"),
            )),
            (None, Some(_)) => Err(unmatchable(
                format!("`{text}` is a grant of the account, not of a cluster"),
                "acknowledge it in the top-level `acknowledged`",
            )),
            (Some(other), Some(here)) if other != here => Err(unmatchable(
                format!("`{text}` is a grant of cluster `{other}`, not of `{here}`"),
                format!("acknowledge it under `clusters.{other}.acknowledged`"),
            )),
            _ => {
                let kinds: &[Kind] = if cluster.is_some() {
                    &CLUSTER_KINDS
                } else {
                    &IAM_KINDS
                };
                if kinds.contains(&address.kind) {
                    Ok(Grant::Address(address))
                } else {
                    Err(unmatchable(
                        format!("drift never reports `{text}` as a grant outside access.yaml"),
                        format!("acknowledge {examples}"),
                    ))
                }
            }
        }
    }

    fn principal(
        text: &str,
        cluster: Option<&str>,
        account: Option<&str>,
    ) -> Result<Grant, Unmatchable> {
        let arn = IamArn::parse(text)
            .filter(|arn| matches!(arn, IamArn::User { .. } | IamArn::Role { .. }))
            .ok_or_else(|| {
                unmatchable(
                    format!("`{text}` is not the ARN of an IAM user or role"),
                    "e.g. `arn:aws:iam::123456789012:user/NAME` or `arn:aws:iam::123456789012:role/NAME`",
                )
            })?;
        if let (None, Some(account)) = (cluster, account)
            && arn.account() != account
        {
            return Err(unmatchable(
                format!(
                    "`{text}` is in account `{}`: drift reads the users and roles of `{account}` only",
                    arn.account()
                ),
                "acknowledge it in the access.yaml of its account",
            ));
        }
        Ok(Grant::Principal(arn))
    }

    /// One text per grant, whatever way it is written: to find the same grant twice.
    pub fn key(&self) -> String {
        match self {
            Grant::Address(address) => address.to_string(),
            Grant::Principal(arn) => arn.without_path().to_string(),
        }
    }

    /// Does this grant name the unmanaged grant at `address` (its scope aside: see
    /// [`Acknowledgement::covers`])?
    fn covers(&self, address: &Address) -> bool {
        match self {
            Grant::Address(acknowledged) => acknowledged == address,
            Grant::Principal(arn) if address.cluster.is_some() => {
                address.kind.is_access_mapping()
                    && IamArn::parse(&address.name).is_some_and(|live| live.same_principal(arn))
            }
            Grant::Principal(IamArn::User { name, .. }) => {
                matches!(address.kind, Kind::User | Kind::AccessKey) && address.name == *name
            }
            Grant::Principal(IamArn::Role { name, .. }) => {
                address.kind == Kind::Role && address.name == *name
            }
            Grant::Principal(_) => false,
        }
    }
}

/// `iam.users.x` → `iam.user.x`: the text with its kind word replaced by the closest one drift
/// prints, when the kind is a typo.
fn suggested(text: &str) -> Option<String> {
    let words = |kinds: &[Kind]| kinds.iter().map(|kind| kind.as_str()).collect::<Vec<_>>();
    if let Some(rest) = text.strip_prefix("iam.") {
        let (kind, name) = rest.split_once('.')?;
        let close = crate::suggest::closest(kind, words(&IAM_KINDS))?;
        return Some(format!("iam.{close}.{name}"));
    }
    let (cluster, rest) = text.strip_prefix("cluster.")?.split_once('.')?;
    let cut = rest.find(['.', '['])?;
    let (kind, name) = rest.split_at(cut);
    let close = crate::suggest::closest(kind, words(&CLUSTER_KINDS))?;
    Some(format!("cluster.{cluster}.{close}{name}"))
}

/// One item of `acknowledged`: the grant, as written and as read, and why it may stay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The cluster whose `acknowledged` holds it; `None` for the top level.
    pub cluster: Option<String>,
    /// As written in access.yaml.
    pub written: String,
    pub grant: Grant,
    pub reason: String,
}

impl Acknowledgement {
    /// Does this acknowledgement name the unmanaged grant at `address`: in its scope (the
    /// account, or its cluster), by address or by principal?
    pub fn covers(&self, address: &Address) -> bool {
        self.cluster == address.cluster && self.grant.covers(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_covers_its_grants_in_its_scope_only() {
        let user = Grant::parse(
            "arn:aws:iam::123456789012:user/people/alice",
            None,
            Some("123456789012"),
        )
        .expect("a user ARN");
        assert!(user.covers(&Address::iam(Kind::User, "alice")));
        assert!(user.covers(&Address::iam(Kind::AccessKey, "alice")));
        assert!(!user.covers(&Address::iam(Kind::Role, "alice")));
        let role = Acknowledgement {
            cluster: Some("demo".into()),
            written: "arn:aws:iam::1:role/ops/admin".into(),
            grant: Grant::parse("arn:aws:iam::1:role/ops/admin", Some("demo"), None)
                .expect("a role ARN"),
            reason: "break-glass".into(),
        };
        assert!(role.covers(&Address::cluster(
            Kind::AwsAuth,
            "demo",
            "arn:aws:iam::1:role/admin"
        )));
        assert!(!role.covers(&Address::cluster(
            Kind::AwsAuth,
            "prod",
            "arn:aws:iam::1:role/admin"
        )));
        assert!(!role.covers(&Address::iam(Kind::Role, "admin")));
    }

    #[test]
    fn a_misspelt_kind_is_suggested() {
        assert_eq!(suggested("iam.users.x").as_deref(), Some("iam.user.x"));
        assert_eq!(
            suggested("cluster.demo.awsauth[arn]").as_deref(),
            Some("cluster.demo.aws-auth[arn]")
        );
        assert_eq!(suggested("nonsense"), None);
    }
}
