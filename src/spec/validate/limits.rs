//! What IAM and Kubernetes would refuse for its size, said before apply: one table of quotas
//! (IAM's object quotas and the ConfigMap size limit), and the checks that measure the file
//! against them. Counts are checked on the file as written (`validate`); document sizes on the
//! documents as accessctl sends them (`build`), and the aws-auth ConfigMap on the entries the
//! file declares. Name and path lengths are name rules (see [`super::names`]).

use std::collections::BTreeMap;

use crate::model::PolicyDocument;

use super::super::node::{Located, Location};
use super::super::raw::Text;
use super::super::reader::Reader;

/// One quota: its name as IAM's quotas page (or Service Quotas) gives it, what it counts, its
/// default, and how far it can be raised.
#[derive(Debug)]
pub struct Quota {
    /// `Managed policies per role`.
    pub name: &'static str,
    /// `managed policies`, `characters`, `bytes`.
    pub unit: &'static str,
    pub default: usize,
    /// Set when Service Quotas can raise it: to at most `max`, declared in access.yaml as
    /// `limits.<key>`.
    pub raise: Option<Raise>,
    /// Who sets the quota: `IAM`, or `Kubernetes`.
    pub service: &'static str,
    /// What to do instead of raising it, as a hint.
    pub instead: &'static str,
}

/// How far a quota can be raised, and the `limits` key that tells accessctl it was.
#[derive(Debug)]
pub struct Raise {
    pub max: usize,
    pub key: &'static str,
}

const fn iam(
    name: &'static str,
    unit: &'static str,
    default: usize,
    instead: &'static str,
) -> Quota {
    Quota {
        name,
        unit,
        default,
        raise: None,
        service: "IAM",
        instead,
    }
}

const fn raisable(quota: Quota, max: usize, key: &'static str) -> Quota {
    Quota {
        raise: Some(Raise { max, key }),
        ..quota
    }
}

const INLINE_INSTEAD: &str = "move statements into a customer policy (`iam.policies`) and attach it; IAM does not count whitespace";

pub const MANAGED_POLICIES_PER_USER: Quota = raisable(
    iam(
        "Managed policies per user",
        "managed policies",
        10,
        "attach fewer: attach them to a group the user is in, or merge customer policies",
    ),
    20,
    "managedPoliciesPerUser",
);
pub const MANAGED_POLICIES_PER_ROLE: Quota = raisable(
    iam(
        "Managed policies per role",
        "managed policies",
        10,
        "attach fewer: merge customer policies, or move statements into an inline policy",
    ),
    20,
    "managedPoliciesPerRole",
);
pub const MANAGED_POLICIES_PER_GROUP: Quota = iam(
    "Managed policies per group",
    "managed policies",
    10,
    "attach fewer: merge customer policies, or give the members a second group",
);
pub const GROUPS_PER_USER: Quota = iam(
    "Groups per user",
    "groups",
    10,
    "put the user in fewer groups: merge groups that are held together",
);
pub const TAGS_PER_OBJECT: Quota = iam("Tags per IAM object", "tags", 50, "remove tags");
pub const USER_POLICY_SIZE: Quota = iam("User policy size", "characters", 2048, INLINE_INSTEAD);
pub const ROLE_POLICY_SIZE: Quota = iam("Role policy size", "characters", 10240, INLINE_INSTEAD);
pub const GROUP_POLICY_SIZE: Quota = iam("Group policy size", "characters", 5120, INLINE_INSTEAD);
pub const MANAGED_POLICY_SIZE: Quota = iam(
    "Managed policy size",
    "characters",
    6144,
    "split the statements across two policies; IAM does not count whitespace",
);
pub const ROLE_TRUST_POLICY_LENGTH: Quota = raisable(
    iam(
        "Role trust policy length",
        "characters",
        2048,
        "split the principals (service accounts, roles, accounts) across several roles",
    ),
    4096,
    "roleTrustPolicyLength",
);
pub const CONFIG_MAP_SIZE: Quota = Quota {
    service: "Kubernetes",
    ..iam(
        "ConfigMap size",
        "bytes",
        1024 * 1024,
        "map fewer principals in aws-auth: move them to EKS access entries (`authentication: both`, then `access-entries`), or map a role many people assume",
    )
};

/// Every quota accessctl checks, in the order docs/access-yaml.md lists them.
pub const QUOTAS: [&Quota; 11] = [
    &MANAGED_POLICIES_PER_USER,
    &MANAGED_POLICIES_PER_ROLE,
    &MANAGED_POLICIES_PER_GROUP,
    &GROUPS_PER_USER,
    &TAGS_PER_OBJECT,
    &USER_POLICY_SIZE,
    &ROLE_POLICY_SIZE,
    &GROUP_POLICY_SIZE,
    &MANAGED_POLICY_SIZE,
    &ROLE_TRUST_POLICY_LENGTH,
    &CONFIG_MAP_SIZE,
];

/// The `limits` keys: the quotas that can be raised.
pub fn keys() -> Vec<&'static str> {
    QUOTAS
        .iter()
        .filter_map(|quota| quota.raise.as_ref().map(|raise| raise.key))
        .collect()
}

/// The quotas of this account: the defaults, and what `limits` says was raised.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    raised: BTreeMap<&'static str, usize>,
}

impl Limits {
    /// The quota in force: its raised value when `limits` declares one, else its default.
    pub fn of(&self, quota: &Quota) -> usize {
        quota
            .raise
            .as_ref()
            .and_then(|raise| self.raised.get(raise.key))
            .copied()
            .unwrap_or(quota.default)
    }

    /// Reads `limits` as decoded (key, value), reporting a value out of the quota's range. A
    /// key that is not a quota was refused by the decoder.
    pub fn read(reader: &mut Reader<'_>, declared: &[(Text, Located<i128>)]) -> Limits {
        let mut limits = Limits::default();
        for (key, value) in declared {
            let Some((quota, raise)) = QUOTAS.iter().find_map(|quota| {
                let raise = quota.raise.as_ref()?;
                (raise.key == key.value).then_some((quota, raise))
            }) else {
                continue;
            };
            let fits = usize::try_from(value.value)
                .ok()
                .filter(|v| (quota.default..=raise.max).contains(v));
            match fits {
                Some(value) => {
                    limits.raised.insert(raise.key, value);
                }
                None => reader.error_hint(
                    value.at,
                    format!(
                        "invalid `limits.{}` {}: {}",
                        raise.key,
                        value.value,
                        described(quota)
                    ),
                    format!(
                        "declare the value Service Quotas shows for `{}` (service IAM), from {} to {}",
                        quota.name,
                        thousands(quota.default),
                        thousands(raise.max)
                    ),
                ),
            }
        }
        limits
    }

    /// Reports `count` over the quota, at `at`: `what` is what holds too many (`role \`ci\``).
    pub fn count(
        &self,
        reader: &mut Reader<'_>,
        quota: &Quota,
        at: Location,
        what: &str,
        count: usize,
    ) {
        self.exceeds(
            reader,
            quota,
            at,
            &format!("{what} has {count} {}", quota.unit),
            count,
        );
    }

    /// Reports a size over the quota, at `at`: `what` is what is too large (`the trust policy
    /// of role \`ci\``).
    pub fn size(
        &self,
        reader: &mut Reader<'_>,
        quota: &Quota,
        at: Location,
        what: &str,
        size: usize,
    ) {
        let measured = format!("{what} is {} {}", thousands(size), quota.unit);
        self.exceeds(reader, quota, at, &measured, size);
    }

    fn exceeds(
        &self,
        reader: &mut Reader<'_>,
        quota: &Quota,
        at: Location,
        measured: &str,
        value: usize,
    ) {
        let limit = self.of(quota);
        if value <= limit {
            return;
        }
        let (message, hint) = refusal(quota, limit, measured);
        reader.error_hint(at, message, hint);
    }
}

/// What is over `quota` (in force at `limit`) and what to do about it, as a message and a
/// hint: `measured` says what is too large and how large (`the trust policy of role \`ci\` is
/// 2,100 characters`). The one wording of every quota error, at load time and at plan time.
pub fn refusal(quota: &Quota, limit: usize, measured: &str) -> (String, String) {
    let message = if limit == quota.default {
        format!("{measured}: {}", described(quota))
    } else {
        format!(
            "{measured}: {} quota `{}` is raised to {} (`limits`)",
            quota.service,
            quota.name,
            thousands(limit)
        )
    };
    (message, raise_hint(quota, limit))
}

/// `IAM quota `Managed policies per role` is 10 (adjustable to 20 in Service Quotas)`.
fn described(quota: &Quota) -> String {
    let adjustable = match &quota.raise {
        Some(raise) => format!(
            " (adjustable to {} in Service Quotas)",
            thousands(raise.max)
        ),
        None => " (not adjustable)".to_string(),
    };
    format!(
        "{} quota `{}` is {}{adjustable}",
        quota.service,
        quota.name,
        thousands(quota.default)
    )
}

/// What to do instead, and where to raise the quota when it can be raised further.
fn raise_hint(quota: &Quota, limit: usize) -> String {
    match &quota.raise {
        Some(raise) if limit < raise.max => format!(
            "{}, or raise the quota in Service Quotas (service IAM, quota `{}`) and declare the new value in access.yaml: `limits: {{{}: {}}}`",
            quota.instead, quota.name, raise.key, raise.max
        ),
        _ => quota.instead.to_string(),
    }
}

/// `10240` → `10,240`.
pub fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A document's size as IAM counts it against its quotas: the characters of the document as
/// sent (compact JSON), whitespace not counted.
pub fn document_size(document: &PolicyDocument) -> usize {
    document
        .to_value()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

#[cfg(test)]
mod tests;
