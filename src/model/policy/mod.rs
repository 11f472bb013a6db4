//! IAM policy documents, normalized so that two documents compare equal exactly when IAM
//! treats them as the same policy.
//!
//! `from_value` validates (reporting every problem with its JSON path) and normalizes;
//! `parse_str` accepts raw JSON or IAM's URL-encoded form; `to_value` renders the canonical IAM
//! JSON; `PartialEq` is semantic equality. This module owns IAM's policy grammar and nothing
//! else: no I/O, no knowledge of accounts beyond what a document names.
//!
//! What normalization forgets, because IAM does: a string versus a one-element list, the order
//! and duplicates of statements and of every list, key order, an omitted `Version` (IAM's
//! default `2008-10-17`), an empty `Sid`, the case of action names and condition keys, the JSON
//! type of condition values (`true` is `"true"`), a bare 12-digit account principal versus its
//! `:root` ARN, and `Principal: "*"` versus `{"AWS": "*"}`.
//!
//! What it keeps: the spelling of actions, condition keys and principals as written, so a plan
//! shows what people wrote. Equality and ordering never look at that spelling.
//!
//! Everything else reads documents through the typed, read-only view here
//! ([`PolicyDocument::statements`], [`Statement`]) and the matchers of [`matching`]: no other
//! module takes a policy document apart as JSON. Files: `reader` (grammar and
//! normalization), `render` (the canonical JSON), `matching` (IAM's wildcards and principal
//! matching), `tests`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub mod catalogue;
pub mod matching;
mod reader;
mod render;

pub use matching::{PrincipalMatch, action_matches, wildcard_match};
pub use reader::{is_document, rewrite_resources};

/// The current policy language version.
pub const VERSION_2012: &str = "2012-10-17";
/// The old policy language version, and what IAM assumes when `Version` is omitted.
pub const VERSION_2008: &str = "2008-10-17";

/// A validation problem in a policy document, with the JSON path where it was found
/// (e.g. `["Statement", "0", "Effect"]`) so the spec loader can point at the YAML node.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub path: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// What a document is for: it decides which elements are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// Identity-based (managed or inline) policy: statements need `Resource`/`NotResource` and
    /// must not have `Principal`.
    Identity,
    /// Role trust policy: statements need `Principal`/`NotPrincipal` and must not have
    /// `Resource`.
    Trust,
    /// Whatever IAM returned (live state, snapshots): only the shape is checked.
    Any,
}

impl DocumentKind {
    /// Identity and trust documents are written by people and checked against IAM's grammar;
    /// live documents are taken as IAM holds them.
    fn is_strict(self) -> bool {
        !matches!(self, DocumentKind::Any)
    }
}

/// A normalized IAM policy document.
#[derive(Clone, Debug)]
pub struct PolicyDocument {
    version: String,
    id: Option<String>,
    /// Sorted by [`Statement`]'s semantic order, without semantic duplicates. Shared: a
    /// document is never changed once read, and states (the live one, the one projected for a
    /// plan) are cloned whole.
    statements: std::sync::Arc<[Statement]>,
    /// Where each statement was written (same index); never part of equality.
    sources: std::sync::Arc<[Vec<String>]>,
}

/// A string that compares by a normalized key but keeps its spelling for display.
#[derive(Clone, Debug)]
struct Spelled {
    key: String,
    text: String,
    /// Among spellings of one key, the lowest rank is displayed (e.g. a `:root` ARN over the
    /// bare account id IAM would rewrite anyway).
    rank: u8,
}

impl Spelled {
    fn action(text: &str) -> Self {
        Spelled {
            key: text.to_ascii_lowercase(),
            text: text.to_string(),
            rank: 0,
        }
    }

    fn condition_key(text: &str) -> Self {
        Spelled {
            key: text.to_ascii_lowercase(),
            text: text.to_string(),
            rank: 0,
        }
    }

    /// IAM rewrites a bare account id principal to `arn:PARTITION:iam::ID:root`. The key leaves
    /// the partition out: a document cannot name principals of another partition, and the
    /// partition is not known here.
    fn principal(text: &str) -> Self {
        if matching::is_account_id(text) {
            return Spelled {
                key: format!("account-root:{text}"),
                text: text.to_string(),
                rank: 1,
            };
        }
        let key = matching::account_root_id(text)
            .map(|id| format!("account-root:{id}"))
            .unwrap_or_else(|| text.to_string());
        Spelled {
            key,
            text: text.to_string(),
            rank: 0,
        }
    }
}

impl PartialEq for Spelled {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Spelled {}

impl PartialOrd for Spelled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Spelled {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// A set of spellings where the displayed spelling of each key does not depend on input order.
fn spelled_set(mut items: Vec<Spelled>) -> BTreeSet<Spelled> {
    items.sort_by(|a, b| (&a.key, a.rank, &a.text).cmp(&(&b.key, b.rank, &b.text)));
    let mut set = BTreeSet::new();
    for item in items {
        // `insert` keeps the first of equal keys: the lowest rank, then the smallest text.
        set.insert(item);
    }
    set
}

/// A statement's `Effect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Principal type (`AWS`, `Service`, …) → principals.
type Principals = BTreeMap<String, BTreeSet<Spelled>>;
/// Operator → condition key → values (as strings).
type Conditions = BTreeMap<String, BTreeMap<Spelled, BTreeSet<String>>>;

/// One normalized statement. The derived order is semantic (it never looks at spellings), and
/// the field order makes statements sort by `Sid` first, which reads well.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<Principals>,
    not_principal: Option<Principals>,
    action: Option<BTreeSet<Spelled>>,
    not_action: Option<BTreeSet<Spelled>>,
    resource: Option<BTreeSet<String>>,
    not_resource: Option<BTreeSet<String>>,
    /// `None` when there is no condition: an empty `Condition` block means the same.
    condition: Option<Conditions>,
}

/// The read-only view of a document.
impl PolicyDocument {
    /// `Version` (`2008-10-17` when the document left it out).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements in canonical order, without semantic duplicates: the order of the
    /// rendered `Statement` list, so "statement N" means the same everywhere.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The statements with the JSON path each was written at in the document it was read
    /// from (`["Statement", "2"]`; `["Statement"]` for a single statement without a list;
    /// among written duplicates, the first). Lets a tool point back at the source.
    pub fn statements_with_source(&self) -> impl Iterator<Item = (&Statement, &[String])> {
        self.statements
            .iter()
            .zip(self.sources.iter().map(Vec::as_slice))
    }
}

/// One condition of a statement: `operator` → `key` → values.
#[derive(Clone, Copy, Debug)]
pub struct Condition<'a> {
    pub operator: &'a str,
    /// As written (condition keys compare case-insensitively).
    pub key: &'a str,
    values: &'a BTreeSet<String>,
}

impl<'a> Condition<'a> {
    /// The values, as strings (IAM compares `true` as `"true"`), sorted.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &'a str> + use<'a> {
        self.values.iter().map(String::as_str)
    }
}

/// The read-only view of a statement. Lists come sorted and without duplicates; actions,
/// condition keys and principals in the spelling the document used.
impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// `Principal` as `(type, principal)` pairs; `Principal: "*"` is `("AWS", "*")`. `None`
    /// when the statement has no `Principal`.
    pub fn principals(&self) -> Option<impl Iterator<Item = (&str, &str)>> {
        self.principal.as_ref().map(principal_pairs)
    }

    /// `NotPrincipal`, like [`Statement::principals`].
    pub fn not_principals(&self) -> Option<impl Iterator<Item = (&str, &str)>> {
        self.not_principal.as_ref().map(principal_pairs)
    }

    /// `Action`, `None` when the statement has `NotAction` instead.
    pub fn actions(&self) -> Option<impl ExactSizeIterator<Item = &str>> {
        self.action
            .as_ref()
            .map(|set| set.iter().map(|a| a.text.as_str()))
    }

    pub fn not_actions(&self) -> Option<impl ExactSizeIterator<Item = &str>> {
        self.not_action
            .as_ref()
            .map(|set| set.iter().map(|a| a.text.as_str()))
    }

    /// `Resource`, `None` when the statement has `NotResource` or neither (trust policies).
    pub fn resources(&self) -> Option<impl ExactSizeIterator<Item = &str>> {
        self.resource
            .as_ref()
            .map(|set| set.iter().map(String::as_str))
    }

    pub fn not_resources(&self) -> Option<impl ExactSizeIterator<Item = &str>> {
        self.not_resource
            .as_ref()
            .map(|set| set.iter().map(String::as_str))
    }

    /// Every condition, by operator then key.
    pub fn conditions(&self) -> impl Iterator<Item = Condition<'_>> {
        self.condition.iter().flat_map(|operators| {
            operators.iter().flat_map(|(operator, keys)| {
                keys.iter().map(move |(key, values)| Condition {
                    operator,
                    key: &key.text,
                    values,
                })
            })
        })
    }

    pub fn has_condition(&self) -> bool {
        self.condition.is_some()
    }

    /// Does the statement cover `action` (through `Action`, or by not being in `NotAction`)?
    /// Action names are case-insensitive; `*` and `?` are wildcards.
    pub fn matches_action(&self, action: &str) -> bool {
        // The keys are the actions in lower case.
        let any = |set: &BTreeSet<Spelled>| {
            set.iter()
                .any(|pattern| matching::glob(&pattern.key, action, true))
        };
        match (&self.action, &self.not_action) {
            (Some(actions), _) => any(actions),
            (None, Some(not_actions)) => !any(not_actions),
            (None, None) => false,
        }
    }

    /// Does the statement cover `resource` (case-sensitive wildcards)? A statement with
    /// neither `Resource` nor `NotResource` (a trust policy's) covers the role it belongs to.
    pub fn matches_resource(&self, resource: &str) -> bool {
        let any = |set: &BTreeSet<String>| {
            set.iter()
                .any(|pattern| matching::wildcard_match(pattern, resource, false))
        };
        match (&self.resource, &self.not_resource) {
            (Some(resources), _) => any(resources),
            (None, Some(not_resources)) => !any(not_resources),
            (None, None) => true,
        }
    }
}

fn principal_pairs(principals: &Principals) -> impl Iterator<Item = (&str, &str)> {
    principals.iter().flat_map(|(kind, names)| {
        names
            .iter()
            .map(move |name| (kind.as_str(), name.text.as_str()))
    })
}

impl PartialEq for PolicyDocument {
    fn eq(&self, other: &Self) -> bool {
        // Statements are sorted and deduplicated by their semantic order, so comparing the
        // lists compares the sets.
        self.version == other.version && self.id == other.id && self.statements == other.statements
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let document = match &value {
            // Snapshots may carry IAM's URL-encoded string form.
            Value::String(text) => Self::parse_str(text, DocumentKind::Any),
            other => Self::from_value(other, DocumentKind::Any),
        };
        document.map_err(|errors| serde::de::Error::custom(describe_errors(&errors)))
    }
}

/// One line for all errors, for contexts (serde) that take a single message.
fn describe_errors(errors: &[PolicyError]) -> String {
    let messages: Vec<String> = errors
        .iter()
        .map(|error| {
            if error.path.is_empty() {
                format!("policy document: {}", error.message)
            } else {
                format!(
                    "policy document at {}: {}",
                    error.path.join("."),
                    error.message
                )
            }
        })
        .collect();
    messages.join("; ")
}

#[cfg(test)]
mod tests;
