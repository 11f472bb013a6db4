//! IAM Identity Center permission sets (`ssoPermissionSet` in an access item): the role IAM
//! Identity Center provisions for a permission set in an account is named
//! `AWSReservedSSO_<PermissionSetName>_<16 hex digits>` under the path
//! `/aws-reserved/sso.amazonaws.com/` (sometimes with a region segment after it). Its suffix is
//! known only to the account, so the file names the permission set and the role is found among
//! the live roles the bulk IAM read already returns: no extra call.
//!
//! Until live state is known (`validate`, or the insight commands on the file alone) the
//! mapping names a stand-in role that no real role can match (see [`placeholder`]);
//! [`resolve`] replaces it, everywhere the desired state holds it, once live state is read.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Address, IamArn, Kind, Role, State, arn};

use super::node::Location;
use super::reader::Reader;
use super::suggest;

/// The path IAM Identity Center provisions its roles under (or below, with a region segment).
pub const SSO_PATH: &str = "/aws-reserved/sso.amazonaws.com/";
const ROLE_PREFIX: &str = "AWSReservedSSO_";
/// The stand-in role's suffix: as long as a real one, and not hexadecimal, so that it can never
/// name a real role.
const PLACEHOLDER_SUFFIX: &str = "unresolvedxxxxxx";

/// An access item naming a permission set, left to live state.
#[derive(Clone, Debug)]
pub struct SsoUse {
    pub cluster: String,
    pub permission_set: String,
    pub at: Location,
    /// The file's partition and account: the stand-in's, and the account named in errors.
    pub partition: String,
    pub account: String,
}

/// The stand-in role ARN of permission set `name` in the file's account, before live state.
pub fn placeholder(partition: &str, account: &str, name: &str) -> String {
    IamArn::Role {
        partition: partition.to_string(),
        account: account.to_string(),
        path: SSO_PATH.to_string(),
        name: format!("{ROLE_PREFIX}{name}_{PLACEHOLDER_SUFFIX}"),
    }
    .to_string()
}

/// Whether `name` can be a permission set's name (IAM Identity Center: 1 to 32 characters of
/// `[\w+=,.@-]`): the reason it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if !(1..=32).contains(&length) {
        return Err(format!("{length} characters, a name has 1 to 32"));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c)))
    {
        Some(c) => Err(format!(
            "`{c}` is not allowed (letters, digits and `_+=,.@-` are)"
        )),
        None => Ok(()),
    }
}

/// The permission set a role was provisioned for, when it is an IAM Identity Center role: its
/// path is [`SSO_PATH`] or below it, and its name `AWSReservedSSO_<set>_<16 hex digits>`.
pub fn permission_set_of<'r>(name: &'r str, path: &str) -> Option<&'r str> {
    if !path.starts_with(SSO_PATH) {
        return None;
    }
    let (set, suffix) = name.strip_prefix(ROLE_PREFIX)?.rsplit_once('_')?;
    let hex = suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !set.is_empty()).then_some(set)
}

/// Why a permission set has no role.
#[derive(Debug, PartialEq, Eq)]
pub enum Unmatched {
    /// No role of the account; the permission sets that do have one and are close to the name.
    None { close: Option<String> },
    /// Several roles (IAM Identity Center makes one per permission set and account): their
    /// names.
    Many(Vec<String>),
}

/// The role `roles` (an account's, by name) holds for permission set `name`: its name and path.
pub fn permission_set_role<'r>(
    roles: &'r BTreeMap<String, Role>,
    name: &str,
) -> Result<(&'r str, &'r str), Unmatched> {
    let sso: Vec<(&str, &str, &str)> = roles
        .iter()
        .filter_map(|(role, spec)| {
            permission_set_of(role, &spec.path).map(|set| (set, role.as_str(), spec.path.as_str()))
        })
        .collect();
    let found: Vec<(&str, &str)> = sso
        .iter()
        .filter(|(set, _, _)| *set == name)
        .map(|(_, role, path)| (*role, *path))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let sets: BTreeSet<&str> = sso.iter().map(|(set, _, _)| *set).collect();
            Err(Unmatched::None {
                close: suggest::closest(name, sets).map(str::to_string),
            })
        }
        many => Err(Unmatched::Many(
            many.iter().map(|(role, _)| (*role).to_string()).collect(),
        )),
    }
}

/// Replaces each permission set's stand-in role by the live role IAM Identity Center made for
/// it: in aws-auth (without the path, as aws-auth matches), in the access entries (the role
/// ARN with its path, as EKS documents) and in what is adopted. Without `live` (plain
/// `validate`), the stand-ins stay. A permission set with no role, or with two, is an error at
/// the item naming it.
pub fn resolve(
    reader: &mut Reader<'_>,
    uses: &[SsoUse],
    live: Option<&State>,
    desired: &mut crate::model::Desired,
) {
    let Some(live) = live else {
        return;
    };
    for using in uses {
        let name = &using.permission_set;
        let (partition, account) = (using.partition.as_str(), using.account.as_str());
        let (role, path) = match permission_set_role(&live.iam.roles, name) {
            Ok(found) => found,
            Err(Unmatched::None { close }) => {
                let hint = match close {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "assign the permission set to the account in IAM Identity Center (it then provisions the role), or take the live snapshot again".to_string(),
                };
                reader.error_hint(
                    using.at,
                    format!(
                        "permission set `{name}` has no role in account {account} (no `{ROLE_PREFIX}{name}_…` role under `{SSO_PATH}`)"
                    ),
                    hint,
                );
                continue;
            }
            Err(Unmatched::Many(roles)) => {
                reader.error_hint(
                    using.at,
                    format!(
                        "permission set `{name}` has {} roles in account {account}: {}",
                        roles.len(),
                        crate::words::quoted_list(&roles)
                    ),
                    "IAM Identity Center makes one role per permission set and account: delete the stale one, or map it with `arn:`",
                );
                continue;
            }
        };
        let from = placeholder(partition, account, name);
        let to = IamArn::Role {
            partition: partition.to_string(),
            account: account.to_string(),
            path: path.to_string(),
            name: role.to_string(),
        }
        .to_string();
        replace(desired, &using.cluster, &from, &to);
    }
}

/// Puts `to` where cluster `cluster` of `desired` holds the stand-in `from`.
fn replace(desired: &mut crate::model::Desired, cluster: &str, from: &str, to: &str) {
    let Some(built) = desired.state.clusters.get_mut(cluster) else {
        return;
    };
    let (from_key, to_key) = (arn::aws_auth_key(from), arn::aws_auth_key(to));
    if let Some(aws_auth) = built.aws_auth.as_mut() {
        for entry in aws_auth.entries.iter_mut().filter(|e| e.arn == from_key) {
            entry.arn = to_key.clone();
        }
        if aws_auth.managed.remove(&from_key) {
            aws_auth.managed.insert(to_key.clone());
        }
    }
    if let Some(entry) = built.access_entries.remove(from) {
        built.access_entries.insert(to.to_string(), entry);
    }
    for (kind, old, new) in [
        (Kind::AwsAuth, &from_key, &to_key),
        (Kind::AccessEntry, &from.to_string(), &to.to_string()),
    ] {
        if desired.adopt.remove(&Address::cluster(kind, cluster, old)) {
            desired.adopt.insert(Address::cluster(kind, cluster, new));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(path: &str) -> Role {
        serde_json::from_value(serde_json::json!({
            "path": path,
            "trust": {"Version": "2012-10-17", "Statement": []},
        }))
        .expect("a role")
    }

    fn roles(items: &[(&str, &str)]) -> BTreeMap<String, Role> {
        items
            .iter()
            .map(|(name, path)| (name.to_string(), role(path)))
            .collect()
    }

    #[test]
    fn a_permission_set_role_is_found_with_or_without_a_region_segment() {
        let live = roles(&[
            (
                "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                SSO_PATH,
            ),
            (
                "AWSReservedSSO_ReadOnly_fedcba9876543210",
                "/aws-reserved/sso.amazonaws.com/eu-west-1/",
            ),
            ("eks-admin", "/"),
        ]);
        assert_eq!(
            permission_set_role(&live, "AdministratorAccess"),
            Ok((
                "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                SSO_PATH
            ))
        );
        assert_eq!(
            permission_set_role(&live, "ReadOnly"),
            Ok((
                "AWSReservedSSO_ReadOnly_fedcba9876543210",
                "/aws-reserved/sso.amazonaws.com/eu-west-1/"
            ))
        );
    }

    #[test]
    fn a_permission_set_name_may_hold_underscores() {
        let live = roles(&[("AWSReservedSSO_Data_Team_0123456789abcdef", SSO_PATH)]);
        assert!(permission_set_role(&live, "Data_Team").is_ok());
        assert!(permission_set_role(&live, "Data").is_err());
    }

    #[test]
    fn only_identity_center_roles_count() {
        // The right name at another path, a suffix that is not 16 hex digits, the stand-in.
        let live = roles(&[
            ("AWSReservedSSO_Admin_0123456789abcdef", "/"),
            ("AWSReservedSSO_Admin_0123", SSO_PATH),
            (
                &format!("AWSReservedSSO_Admin_{PLACEHOLDER_SUFFIX}"),
                SSO_PATH,
            ),
        ]);
        assert_eq!(
            permission_set_role(&live, "Admin"),
            Err(Unmatched::None { close: None })
        );
    }

    #[test]
    fn no_role_suggests_the_closest_permission_set() {
        let live = roles(&[
            (
                "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                SSO_PATH,
            ),
            ("AWSReservedSSO_ViewOnly_0123456789abcdef", SSO_PATH),
        ]);
        assert_eq!(
            permission_set_role(&live, "AdminstratorAccess"),
            Err(Unmatched::None {
                close: Some("AdministratorAccess".to_string())
            })
        );
        assert_eq!(
            permission_set_role(&live, "Billing"),
            Err(Unmatched::None { close: None })
        );
    }

    #[test]
    fn two_roles_for_one_permission_set_are_both_named() {
        let live = roles(&[
            ("AWSReservedSSO_Admin_0123456789abcdef", SSO_PATH),
            (
                "AWSReservedSSO_Admin_fedcba9876543210",
                "/aws-reserved/sso.amazonaws.com/us-east-1/",
            ),
        ]);
        assert_eq!(
            permission_set_role(&live, "Admin"),
            Err(Unmatched::Many(vec![
                "AWSReservedSSO_Admin_0123456789abcdef".to_string(),
                "AWSReservedSSO_Admin_fedcba9876543210".to_string(),
            ]))
        );
    }

    #[test]
    fn the_stand_in_has_the_shape_of_a_real_role() {
        let arn = placeholder("aws", "111122223333", "Admin");
        assert_eq!(
            arn,
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_unresolvedxxxxxx"
        );
        assert_eq!(
            arn::aws_auth_key(&arn),
            "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_unresolvedxxxxxx"
        );
    }

    const FILE: &str = "version: 1\naccount: \"111122223333\"\nclusters:\n  demo:\n    authentication: both\n    access:\n      - ssoPermissionSet: Admin\n        groups: [admins]\n        adopt: true\n";

    /// The desired state resolved against a live state holding `roles`.
    fn load(items: &[(&str, &str)]) -> Result<crate::model::Desired, Vec<String>> {
        let live = State {
            iam: crate::model::Iam {
                roles: roles(items),
                ..crate::model::Iam::default()
            },
            ..State::default()
        };
        let facts = crate::spec::Facts { live: Some(&live) };
        crate::spec::load_text("access.yaml", FILE, &facts)
            .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn resolving_puts_the_role_in_aws_auth_access_entries_and_adoptions() {
        let path = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
        let desired = load(&[("AWSReservedSSO_Admin_0123456789abcdef", path)]).expect("loads");
        let cluster = &desired.state.clusters["demo"];
        let bare = "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef";
        let full =
            format!("arn:aws:iam::111122223333:role{path}AWSReservedSSO_Admin_0123456789abcdef");
        let aws_auth = cluster.aws_auth.as_ref().expect("aws-auth");
        let arns: Vec<&str> = aws_auth.entries.iter().map(|e| e.arn.as_str()).collect();
        assert_eq!(arns, [bare]);
        assert!(aws_auth.managed.contains(bare), "{:?}", aws_auth.managed);
        let entries: Vec<&String> = cluster.access_entries.keys().collect();
        assert_eq!(entries, [&full]);
        assert!(
            desired
                .adopt
                .contains(&Address::cluster(Kind::AwsAuth, "demo", bare))
        );
        assert!(
            desired
                .adopt
                .contains(&Address::cluster(Kind::AccessEntry, "demo", &full))
        );
        assert_eq!(desired.adopt.len(), 2, "{:?}", desired.adopt);
    }

    #[test]
    fn a_missing_permission_set_names_the_account() {
        let errors = load(&[("AWSReservedSSO_ReadOnly_0123456789abcdef", SSO_PATH)])
            .expect_err("no role for Admin");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("permission set `Admin` has no role in account 111122223333"),
            "{errors:?}"
        );
    }

    #[test]
    fn without_live_state_the_stand_in_stays() {
        let desired =
            crate::spec::load_text("access.yaml", FILE, &crate::spec::Facts { live: None })
                .expect("loads");
        let keys: Vec<&String> = desired.state.clusters["demo"]
            .access_entries
            .keys()
            .collect();
        assert_eq!(keys, [&placeholder("aws", "111122223333", "Admin")]);
    }
}
