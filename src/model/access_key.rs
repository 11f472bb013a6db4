//! Access keys: what a user's `accessKeys` declares (rotation and destinations) and what IAM
//! holds (key ids masked to their last four characters, status, age). Never a secret: a secret
//! access key is never part of any state, plan or snapshot.

use serde::{Deserialize, Serialize};

/// `rotateAfterDays` when the file leaves it out.
pub const DEFAULT_ROTATE_AFTER_DAYS: u32 = 90;
/// `graceDays` when the file leaves it out.
pub const DEFAULT_GRACE_DAYS: u32 = 7;
/// The id a plan gives the key that apply creates (IAM chooses the real one).
pub const NEW_KEY: &str = "(new)";
/// The Secret keys (and Secrets Manager JSON keys) a destination holds.
pub const ACCESS_KEY_ID_KEY: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Annotation on a delivered Secret: the key id (masked) and its creation time.
pub const KEY_ID_ANNOTATION: &str = "accessctl.io/access-key-id";
pub const KEY_CREATED_ANNOTATION: &str = "accessctl.io/access-key-created";

/// A user's access keys: the declaration (desired side) or the keys IAM holds (live side).
/// Users that declare no `accessKeys` have none here: their keys are not accessctl's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessKeys {
    /// Declared rotation and destinations. Desired side only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<KeyRotation>,
    /// The keys, oldest first. Live side (and a plan's `after`, where a key apply creates is
    /// [`NEW_KEY`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<AccessKey>,
}

/// `accessKeys` of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    pub rotate_after_days: u32,
    pub grace_days: u32,
    pub deliver_to: Vec<Destination>,
}

/// Where a key's secret is written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Destination {
    /// A Kubernetes Secret in a cluster of the file.
    Secret {
        cluster: String,
        namespace: String,
        name: String,
    },
    /// An AWS Secrets Manager secret, in `region` (default: the AWS configuration's).
    SecretsManager {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
    },
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Secret {
                cluster,
                namespace,
                name,
            } => write!(f, "Secret {namespace}/{name} in cluster `{cluster}`"),
            Destination::SecretsManager { name, region: None } => {
                write!(f, "Secrets Manager secret `{name}`")
            }
            Destination::SecretsManager {
                name,
                region: Some(region),
            } => write!(f, "Secrets Manager secret `{name}` ({region})"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// One key as IAM lists it, its id masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    /// `AKIA…WXYZ`: the first four and the last four characters.
    pub id: String,
    pub status: KeyStatus,
    /// Whole days since IAM created it, at the time of the read.
    pub age_days: u32,
    /// When IAM created it (RFC 3339), as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it was last used (RFC 3339), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    /// Whole days since it was last used, at the time of the read; `None` if never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_days: Option<u32>,
}

#[cfg(test)]
impl AccessKey {
    /// A key as a test states the read of it: masked id, status, age and days since last use.
    pub(crate) fn as_read(id: &str, status: KeyStatus, age_days: u32, unused: Option<u32>) -> Self {
        AccessKey {
            id: id.to_string(),
            status,
            age_days,
            created: None,
            last_used: None,
            unused_days: unused,
        }
    }
}

/// A key id as accessctl shows and keeps it: `AKIA…WXYZ`.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return format!(
            "…{}",
            chars[chars.len().saturating_sub(4)..]
                .iter()
                .collect::<String>()
        );
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// What a user's keys become under `rotation`, and why: the one decision plan, drift and apply
/// share. `None` when nothing is to be done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDecision {
    /// The keys after the change, oldest first ([`NEW_KEY`] for a key to create).
    pub keys: Vec<AccessKey>,
    pub reasons: Vec<String>,
}

/// Decides a user's keys. Rules, in order:
/// - a new key is created when no key is active, or when the newest active key is
///   `rotate_after_days` old; every other active key is then deactivated;
/// - IAM allows two keys per user: before a create, the oldest key that is not kept active is
///   deleted so that at most two exist at every step;
/// - without a create, a second active key (older than the newest) is deactivated;
/// - grace: a deactivated key is deleted once nobody can still need it, when
///   `now - max(creation of its replacement, its own last use) >= grace_days`. Its replacement
///   is the active key that remains (a key created by this decision is created now). A key in
///   use right before it was deactivated thus gets its full grace, and one nobody used for
///   `grace_days` is deleted at once: deactivating it first would only delay the same delete
///   to the next run, so the decision is its own fixed point (deciding on its result decides
///   nothing).
pub fn decide(rotation: &KeyRotation, live: &[AccessKey]) -> Option<KeyDecision> {
    let mut keys: Vec<AccessKey> = live.to_vec();
    keys.sort_by(|a, b| b.age_days.cmp(&a.age_days).then(a.id.cmp(&b.id)));
    let mut reasons = Vec::new();
    let newest_active = keys
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .min_by_key(|k| k.age_days)
        .cloned();
    let create = match &newest_active {
        None => {
            reasons.push("no active access key".to_string());
            true
        }
        Some(newest) if newest.age_days >= rotation.rotate_after_days => {
            reasons.push(format!(
                "{} is {} days old, rotateAfterDays {}",
                newest.id, newest.age_days, rotation.rotate_after_days
            ));
            true
        }
        Some(_) => false,
    };
    let keep = if create { None } else { newest_active.as_ref() };
    for key in &mut keys {
        if key.status == KeyStatus::Active && Some(&*key) != keep {
            if !create {
                reasons.push(format!("{} is a second active key", key.id));
            }
            key.status = KeyStatus::Inactive;
        }
    }
    // The key that replaces the deactivated ones: the one kept, or the one created now.
    let (replacement, replaced_days) = match keep {
        Some(kept) => (kept.id.as_str(), kept.age_days),
        None => (NEW_KEY, 0),
    };
    keys.retain(|key| {
        if key.status != KeyStatus::Inactive {
            return true;
        }
        let idle = key.unused_days.map_or(replaced_days, |u| u.min(replaced_days));
        let expired = idle >= rotation.grace_days;
        if expired {
            let used = match key.unused_days {
                Some(days) => format!("last used {days} days ago"),
                None => "never used".to_string(),
            };
            reasons.push(format!(
                "{} is past its grace: {replacement} replaced it {replaced_days} days ago, {used}, graceDays {}",
                key.id, rotation.grace_days
            ));
        }
        !expired
    });
    if create {
        while keys.len() >= 2 {
            // Oldest first: the first key is the oldest one.
            let gone = keys.remove(0);
            reasons.push(format!(
                "{} is deleted first: IAM allows two access keys per user",
                gone.id
            ));
        }
        keys.push(AccessKey {
            id: NEW_KEY.to_string(),
            status: KeyStatus::Active,
            age_days: 0,
            created: None,
            last_used: None,
            unused_days: None,
        });
    }
    if reasons.is_empty() {
        return None;
    }
    Some(KeyDecision { keys, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, status: KeyStatus, age_days: u32) -> AccessKey {
        AccessKey::as_read(id, status, age_days, None)
    }

    fn used(id: &str, status: KeyStatus, age_days: u32, unused_days: u32) -> AccessKey {
        AccessKey::as_read(id, status, age_days, Some(unused_days))
    }

    fn rotation() -> KeyRotation {
        KeyRotation {
            rotate_after_days: 90,
            grace_days: 7,
            deliver_to: Vec::new(),
        }
    }

    fn ids(decision: &KeyDecision) -> Vec<(String, KeyStatus)> {
        decision
            .keys
            .iter()
            .map(|k| (k.id.clone(), k.status))
            .collect()
    }

    #[test]
    fn masks_keep_four_characters_each_side() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
    }

    #[test]
    fn decisions() {
        use KeyStatus::*;
        let r = rotation();
        // None: create.
        let d = decide(&r, &[]).expect("create");
        assert_eq!(ids(&d), [(NEW_KEY.to_string(), Active)]);
        // Fresh key: nothing.
        assert_eq!(decide(&r, &[key("A…0001", Active, 10)]), None);
        // Old key: rotate, the old one deactivated.
        let d = decide(&r, &[key("A…0001", Active, 97)]).expect("rotate");
        assert_eq!(d.reasons, ["A…0001 is 97 days old, rotateAfterDays 90"]);
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                (NEW_KEY.to_string(), Active)
            ]
        );
        // Within grace: kept; past grace: deleted.
        let pair = [key("A…0001", Inactive, 100), key("A…0002", Active, 3)];
        assert_eq!(decide(&r, &pair), None);
        let pair = [key("A…0001", Inactive, 100), key("A…0002", Active, 8)];
        let d = decide(&r, &pair).expect("delete");
        assert_eq!(ids(&d), [("A…0002".to_string(), Active)]);
        // Rotation due with two keys: the inactive one goes first, never three keys.
        let pair = [key("A…0001", Inactive, 200), key("A…0002", Active, 95)];
        let d = decide(&r, &pair).expect("rotate");
        assert_eq!(
            ids(&d),
            [
                ("A…0002".to_string(), Inactive),
                (NEW_KEY.to_string(), Active)
            ]
        );
        // Within grace and rotation due (rotateAfterDays below graceDays): still two at most.
        let short = KeyRotation {
            rotate_after_days: 1,
            ..rotation()
        };
        let pair = [key("A…0001", Inactive, 3), key("A…0002", Active, 2)];
        let d = decide(&short, &pair).expect("rotate");
        assert_eq!(d.keys.len(), 2);
        // Two active keys: the older is deactivated.
        let pair = [key("A…0001", Active, 20), key("A…0002", Active, 2)];
        let d = decide(&r, &pair).expect("deactivate");
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                ("A…0002".to_string(), Active)
            ]
        );
        // Only inactive keys: a new one, never three.
        let pair = [key("A…0001", Inactive, 20), key("A…0002", Inactive, 2)];
        let d = decide(&r, &pair).expect("create");
        assert_eq!(d.keys.len(), 2);
    }

    /// Grace runs from `max(creation of the replacement, last use)`: the older of two active
    /// keys, deactivated because it is a second one, is not deleted by the very next plan while
    /// it was in use; unused, it is deleted at once.
    #[test]
    fn grace_runs_from_the_replacement_or_the_last_use_whichever_is_later() {
        use KeyStatus::*;
        let r = rotation();
        // Two active keys, no rotation due, the older in use yesterday: deactivated only...
        let pair = [used("A…0001", Active, 60, 1), key("A…0002", Active, 30)];
        let d = decide(&r, &pair).expect("deactivate");
        assert_eq!(d.reasons, ["A…0001 is a second active key"]);
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                ("A…0002".to_string(), Active)
            ]
        );
        // ...and the next plan (same day) keeps it: its grace started at its last use.
        assert_eq!(decide(&r, &d.keys), None);
        // Six days later it is still within grace; seven days after its last use it goes.
        assert_eq!(
            decide(
                &r,
                &[used("A…0001", Inactive, 66, 6), key("A…0002", Active, 36)]
            ),
            None
        );
        let d = decide(
            &r,
            &[used("A…0001", Inactive, 67, 7), key("A…0002", Active, 37)],
        )
        .expect("delete");
        assert_eq!(
            d.reasons,
            [
                "A…0001 is past its grace: A…0002 replaced it 37 days ago, last used 7 days ago, graceDays 7"
            ]
        );
        assert_eq!(ids(&d), [("A…0002".to_string(), Active)]);
        // The replacement is younger than graceDays: kept, however long ago it was used.
        assert_eq!(
            decide(
                &r,
                &[used("A…0001", Inactive, 100, 50), key("A…0002", Active, 3)]
            ),
            None
        );
        // A second active key nobody used (or not for graceDays), its replacement older than
        // graceDays: deleted at once, deactivating it would only delay the same delete.
        for older in [key("A…0001", Active, 60), used("A…0001", Active, 60, 9)] {
            let d = decide(&r, &[older, key("A…0002", Active, 30)]).expect("delete");
            assert_eq!(ids(&d), [("A…0002".to_string(), Active)]);
        }
        // A key deactivated by a rotation is never deleted in the same apply.
        let d = decide(&r, &[key("A…0001", Active, 97)]).expect("rotate");
        assert_eq!(decide(&r, &d.keys), None);
    }

    /// Deciding on what a decision leaves decides nothing: one apply converges.
    #[test]
    fn a_decision_is_its_own_fixed_point() {
        use KeyStatus::*;
        let ages = [0, 3, 7, 8, 30, 89, 90, 200];
        let unused = [None, Some(0), Some(6), Some(7), Some(100)];
        let mut one_key = Vec::new();
        for status in [Active, Inactive] {
            for age in ages {
                for u in unused {
                    one_key.push(AccessKey {
                        unused_days: u,
                        ..key("A…0001", status, age)
                    });
                }
            }
        }
        for (rotate, grace) in [(90, 7), (1, 7), (30, 1), (5, 30)] {
            let r = KeyRotation {
                rotate_after_days: rotate,
                grace_days: grace,
                deliver_to: Vec::new(),
            };
            let mut inputs: Vec<Vec<AccessKey>> = vec![Vec::new()];
            for a in &one_key {
                inputs.push(vec![a.clone()]);
                for b in &one_key {
                    let b = AccessKey {
                        id: "A…0002".to_string(),
                        ..b.clone()
                    };
                    inputs.push(vec![a.clone(), b]);
                }
            }
            for live in inputs {
                let Some(d) = decide(&r, &live) else { continue };
                assert!(d.keys.len() <= 2, "{live:?} -> {d:?}");
                assert_eq!(
                    d.keys.iter().filter(|k| k.status == Active).count(),
                    1,
                    "{live:?} -> {d:?}"
                );
                assert_eq!(
                    decide(&r, &d.keys),
                    None,
                    "{rotate}/{grace}: {live:?} -> {d:?}"
                );
            }
        }
    }
}
