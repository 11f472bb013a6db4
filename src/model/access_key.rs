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
    /// What each destination holds, read back from its record of the key (live side; a plan's
    /// `after` says what apply leaves there). A destination without an entry was not read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Held>,
}

/// Which key a destination holds, as its own record says: the delivered Secret's annotation
/// [`KEY_ID_ANNOTATION`], the Secrets Manager secret's tag of the same name. Read without the
/// secret value; the id masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Held {
    pub destination: Destination,
    /// Whether the destination exists.
    pub exists: bool,
    /// The key it holds (`AKIA…WXYZ`); `None` when it records none (or does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Held {
    /// A destination that holds `key` (a delivery's result).
    pub fn holding(destination: &Destination, key: &str) -> Self {
        Held {
            destination: destination.clone(),
            exists: true,
            key: Some(key.to_string()),
        }
    }

    /// Why this destination needs `active` delivered again, or `None` when it holds it.
    fn lacks(&self, active: &str) -> Option<String> {
        let what = match (&self.key, self.exists) {
            (Some(key), _) if key == active => return None,
            (_, false) => "is missing".to_string(),
            (None, true) => "records no access key id".to_string(),
            (Some(other), true) => format!("holds {other}, not the active key"),
        };
        Some(format!(
            "{} {what}: a new key replaces {active} (a secret cannot be read back)",
            self.destination
        ))
    }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// One key as IAM lists it, its id masked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

impl std::fmt::Display for AccessKey {
    /// `AKIA…WXYZ active, 120 days old, last used 3 days ago`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match self.status {
            KeyStatus::Active => "active",
            KeyStatus::Inactive => "inactive",
        };
        write!(f, "{} {status}, {} days old, ", self.id, self.age_days)?;
        match self.unused_days {
            Some(days) => write!(f, "last used {days} days ago"),
            None => f.write_str("never used"),
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

/// Decides a user's keys from what IAM lists (`live`) and what the destinations hold (`held`,
/// read back; a declared destination without an entry was not read and counts as holding
/// whatever is current). Rules, in order:
/// - the current key is the newest active key that every destination read holds;
/// - a new key is created when there is no current key (no key is active; an active key no
///   destination holds, which accessctl did not deliver and never uses; a destination that is
///   missing or holds another key, which can only get the key again as a new one since a
///   secret cannot be read back), or when the current key is `rotate_after_days` old; every
///   other active key is then deactivated;
/// - IAM allows two keys per user: before a create, keys are deleted until one is left:
///   inactive keys first, then keys no destination holds, older first; so at most two exist at
///   every step;
/// - without a create, every active key but the current one is deactivated (a second active
///   key, or one no destination holds);
/// - grace: a deactivated key is deleted once nobody can still need it, when
///   `now - max(creation of its replacement, its own last use, its own creation) >= grace_days`
///   (a key made by hand after the one delivered gets its grace too). Its replacement
///   is the active key that remains (a key created by this decision is created now). A key in
///   use right before it was deactivated thus gets its full grace, and one nobody used for
///   `grace_days` is deleted at once: deactivating it first would only delay the same delete
///   to the next run, so the decision is its own fixed point (deciding on its result, with
///   the destinations holding the key it leaves active, decides nothing).
pub fn decide(rotation: &KeyRotation, live: &[AccessKey], held: &[Held]) -> Option<KeyDecision> {
    let mut keys: Vec<AccessKey> = live.to_vec();
    keys.sort_by(|a, b| b.age_days.cmp(&a.age_days).then(a.id.cmp(&b.id)));
    let read: Vec<&Held> = rotation
        .deliver_to
        .iter()
        .filter_map(|to| held.iter().find(|h| &h.destination == to))
        .collect();
    let holders = |id: &str| read.iter().filter(|h| h.key.as_deref() == Some(id)).count();
    let undelivered = |key: &AccessKey| !read.is_empty() && holders(&key.id) == 0;
    let active = |key: &&AccessKey| key.status == KeyStatus::Active;
    let newest_active = keys
        .iter()
        .filter(active)
        .min_by_key(|k| k.age_days)
        .cloned();
    let current = keys
        .iter()
        .filter(active)
        .filter(|k| holders(&k.id) == read.len())
        .min_by_key(|k| k.age_days)
        .cloned();
    let mut reasons = Vec::new();
    let mut reported = Vec::new();
    let mut report_undelivered = |key: &AccessKey, reasons: &mut Vec<String>| {
        if undelivered(key) && !reported.contains(&key.id) {
            reported.push(key.id.clone());
            reasons.push(format!(
                "{} is held by no destination: not delivered by accessctl",
                key.id
            ));
            return true;
        }
        false
    };
    let old = |key: &AccessKey| {
        (key.age_days >= rotation.rotate_after_days).then(|| {
            format!(
                "{} is {} days old, rotateAfterDays {}",
                key.id, key.age_days, rotation.rotate_after_days
            )
        })
    };
    let create = match (&current, &newest_active) {
        (_, None) => {
            reasons.push("no active access key".to_string());
            true
        }
        (Some(current), _) => match old(current) {
            Some(reason) => {
                reasons.push(reason);
                true
            }
            None => false,
        },
        (None, Some(newest)) => {
            if !report_undelivered(newest, &mut reasons) {
                reasons.extend(read.iter().filter_map(|h| h.lacks(&newest.id)));
            }
            reasons.extend(old(newest));
            true
        }
    };
    let keep = if create { None } else { current.as_ref() };
    for key in &mut keys {
        if key.status == KeyStatus::Active && Some(&*key) != keep {
            if !report_undelivered(key, &mut reasons) && !create {
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
        // Nobody used it since the latest of: its replacement, its last use, its creation.
        let idle = key
            .unused_days
            .map_or(replaced_days, |u| u.min(replaced_days))
            .min(key.age_days);
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
            // What goes first: a key that no longer works, then one nobody holds, older first
            // (the keys are oldest first; `min_by_key` takes the first of equals).
            let Some(gone) = (0..keys.len()).min_by_key(|&i| {
                let key = &keys[i];
                (
                    key.status == KeyStatus::Active,
                    holders(&key.id) > 0 || read.is_empty(),
                )
            }) else {
                break;
            };
            let gone = keys.remove(gone);
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

/// What the destinations hold once `decision` is carried out: each the new key when it creates
/// one (apply writes it to every destination), else what they held (`held`, as read).
pub fn held_after(rotation: &KeyRotation, decision: &KeyDecision, held: &[Held]) -> Vec<Held> {
    if decision.keys.iter().any(|key| key.id == NEW_KEY) {
        rotation
            .deliver_to
            .iter()
            .map(|to| Held::holding(to, NEW_KEY))
            .collect()
    } else {
        held.to_vec()
    }
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
        let d = decide(&r, &[], &[]).expect("create");
        assert_eq!(ids(&d), [(NEW_KEY.to_string(), Active)]);
        // Fresh key: nothing.
        assert_eq!(decide(&r, &[key("A…0001", Active, 10)], &[]), None);
        // Old key: rotate, the old one deactivated.
        let d = decide(&r, &[key("A…0001", Active, 97)], &[]).expect("rotate");
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
        assert_eq!(decide(&r, &pair, &[]), None);
        let pair = [key("A…0001", Inactive, 100), key("A…0002", Active, 8)];
        let d = decide(&r, &pair, &[]).expect("delete");
        assert_eq!(ids(&d), [("A…0002".to_string(), Active)]);
        // Rotation due with two keys: the inactive one goes first, never three keys.
        let pair = [key("A…0001", Inactive, 200), key("A…0002", Active, 95)];
        let d = decide(&r, &pair, &[]).expect("rotate");
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
        let d = decide(&short, &pair, &[]).expect("rotate");
        assert_eq!(d.keys.len(), 2);
        // Two active keys: the older is deactivated.
        let pair = [key("A…0001", Active, 20), key("A…0002", Active, 2)];
        let d = decide(&r, &pair, &[]).expect("deactivate");
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                ("A…0002".to_string(), Active)
            ]
        );
        // Only inactive keys: a new one, never three.
        let pair = [key("A…0001", Inactive, 20), key("A…0002", Inactive, 2)];
        let d = decide(&r, &pair, &[]).expect("create");
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
        let d = decide(&r, &pair, &[]).expect("deactivate");
        assert_eq!(d.reasons, ["A…0001 is a second active key"]);
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                ("A…0002".to_string(), Active)
            ]
        );
        // ...and the next plan (same day) keeps it: its grace started at its last use.
        assert_eq!(decide(&r, &d.keys, &[]), None);
        // Six days later it is still within grace; seven days after its last use it goes.
        assert_eq!(
            decide(
                &r,
                &[used("A…0001", Inactive, 66, 6), key("A…0002", Active, 36)],
                &[]
            ),
            None
        );
        let d = decide(
            &r,
            &[used("A…0001", Inactive, 67, 7), key("A…0002", Active, 37)],
            &[],
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
                &[used("A…0001", Inactive, 100, 50), key("A…0002", Active, 3)],
                &[]
            ),
            None
        );
        // A second active key nobody used (or not for graceDays), its replacement older than
        // graceDays: deleted at once, deactivating it would only delay the same delete.
        for older in [key("A…0001", Active, 60), used("A…0001", Active, 60, 9)] {
            let d = decide(&r, &[older, key("A…0002", Active, 30)], &[]).expect("delete");
            assert_eq!(ids(&d), [("A…0002".to_string(), Active)]);
        }
        // A key deactivated by a rotation is never deleted in the same apply.
        let d = decide(&r, &[key("A…0001", Active, 97)], &[]).expect("rotate");
        assert_eq!(decide(&r, &d.keys, &[]), None);
    }

    fn secret() -> Destination {
        Destination::Secret {
            cluster: "demo".into(),
            namespace: "ci".into(),
            name: "eksuser-aws".into(),
        }
    }

    fn manager() -> Destination {
        Destination::SecretsManager {
            name: "ci/eksuser".into(),
            region: None,
        }
    }

    fn delivered() -> KeyRotation {
        KeyRotation {
            deliver_to: vec![secret(), manager()],
            ..rotation()
        }
    }

    fn missing(destination: Destination) -> Held {
        Held {
            destination,
            exists: false,
            key: None,
        }
    }

    /// Both destinations hold `id`.
    fn both(id: &str) -> Vec<Held> {
        vec![Held::holding(&secret(), id), Held::holding(&manager(), id)]
    }

    /// What the destinations hold decides which key is current: a key no destination holds
    /// was not delivered by accessctl and is never used; a destination that lacks the active
    /// key gets a new one (a secret cannot be read back).
    #[test]
    fn destinations_read_back_decide_the_current_key() {
        use KeyStatus::*;
        let r = delivered();
        // Converged: both hold the active key.
        assert_eq!(
            decide(&r, &[key("A…0001", Active, 10)], &both("A…0001")),
            None
        );
        // Not read (a destination with no entry): as before, nothing.
        assert_eq!(decide(&r, &[key("A…0001", Active, 10)], &[]), None);
        // A key made by hand beside the delivered one: deactivated, the delivered one kept
        // although it is older.
        let pair = [key("A…0001", Active, 10), key("A…0002", Active, 1)];
        let d = decide(&r, &pair, &both("A…0001")).expect("deactivate");
        assert_eq!(
            d.reasons,
            ["A…0002 is held by no destination: not delivered by accessctl"]
        );
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Active),
                ("A…0002".to_string(), Inactive)
            ]
        );
        assert_eq!(decide(&r, &d.keys, &both("A…0001")), None);
        // The only active key is held by no destination (the delivered one is gone): replaced.
        let d = decide(&r, &[key("A…0002", Active, 1)], &both("A…0001")).expect("replace");
        assert_eq!(
            d.reasons,
            ["A…0002 is held by no destination: not delivered by accessctl"]
        );
        assert_eq!(
            ids(&d),
            [
                ("A…0002".to_string(), Inactive),
                (NEW_KEY.to_string(), Active)
            ]
        );
        // A destination missing: a new key, the reason naming it.
        let held = [missing(secret()), Held::holding(&manager(), "A…0001")];
        let d = decide(&r, &[key("A…0001", Active, 10)], &held).expect("rotate");
        assert_eq!(
            d.reasons,
            [
                "Secret ci/eksuser-aws in cluster `demo` is missing: a new key replaces A…0001 (a secret cannot be read back)"
            ]
        );
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                (NEW_KEY.to_string(), Active)
            ]
        );
        // A destination holding another key, or recording none.
        let held = [
            Held::holding(&secret(), "A…0001"),
            Held::holding(&manager(), "A…0009"),
        ];
        let d = decide(&r, &[key("A…0001", Active, 10)], &held).expect("rotate");
        assert_eq!(
            d.reasons,
            [
                "Secrets Manager secret `ci/eksuser` holds A…0009, not the active key: a new key replaces A…0001 (a secret cannot be read back)"
            ]
        );
        let held = [
            Held::holding(&secret(), "A…0001"),
            Held {
                destination: manager(),
                exists: true,
                key: None,
            },
        ];
        let d = decide(&r, &[key("A…0001", Active, 10)], &held).expect("rotate");
        assert_eq!(
            d.reasons,
            [
                "Secrets Manager secret `ci/eksuser` records no access key id: a new key replaces A…0001 (a secret cannot be read back)"
            ]
        );
        // Two keys, the delivered one due and a hand-made one beside it: the hand-made one is
        // deleted to make room, the delivered one keeps working until the new key is there.
        let pair = [key("A…0001", Active, 95), key("A…0002", Active, 3)];
        let d = decide(&r, &pair, &both("A…0001")).expect("rotate");
        assert_eq!(
            d.reasons,
            [
                "A…0001 is 95 days old, rotateAfterDays 90",
                "A…0002 is held by no destination: not delivered by accessctl",
                "A…0002 is deleted first: IAM allows two access keys per user"
            ]
        );
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                (NEW_KEY.to_string(), Active)
            ]
        );
        // An inactive key younger than the active one still goes first.
        let pair = [key("A…0001", Active, 95), key("A…0002", Inactive, 3)];
        let d = decide(&r, &pair, &both("A…0001")).expect("rotate");
        assert_eq!(
            ids(&d),
            [
                ("A…0001".to_string(), Inactive),
                (NEW_KEY.to_string(), Active)
            ]
        );
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
            let r = KeyRotation {
                deliver_to: vec![secret(), manager()],
                ..r
            };
            // What the destinations hold: unread, each of the keys, one missing, disagreeing.
            let helds = [
                Vec::new(),
                both("A…0001"),
                both("A…0002"),
                both("A…0009"),
                vec![missing(secret()), Held::holding(&manager(), "A…0001")],
                vec![
                    Held::holding(&secret(), "A…0002"),
                    Held::holding(&manager(), "A…0001"),
                ],
            ];
            for live in inputs {
                for held in &helds {
                    let Some(d) = decide(&r, &live, held) else {
                        continue;
                    };
                    assert!(d.keys.len() <= 2, "{live:?} {held:?} -> {d:?}");
                    assert_eq!(
                        d.keys.iter().filter(|k| k.status == Active).count(),
                        1,
                        "{live:?} {held:?} -> {d:?}"
                    );
                    assert_eq!(
                        decide(&r, &d.keys, &held_after(&r, &d, held)),
                        None,
                        "{rotate}/{grace}: {live:?} {held:?} -> {d:?}"
                    );
                }
            }
        }
    }
}
