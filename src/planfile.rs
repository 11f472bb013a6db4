//! Saved plans (`accessctl plan --out plan.json`, `accessctl apply plan.json`): the plan
//! wrapped with what apply needs to prove it still holds. Format: `docs/plan-json.md`
//! ("Saved plans"), schema `specs/plan.schema.json` (`$defs/saved_plan`).
//!
//! A saved plan records the format version, the accessctl version, the sha256 of the
//! access.yaml bytes, the overrides it was made with, where each cluster is, and a fingerprint
//! of the live form of every object the plan touches. Apply re-reads those objects and refuses
//! when one changed: the reviewed plan was made against a world that no longer exists.
//!
//! Integrity: the file is written in one canonical form (keys sorted, two-space indentation)
//! and carries a `digest` of everything else. Reading re-renders what it parsed and requires
//! the same bytes, then checks the digest, so any edit (any byte) is refused. This detects
//! accidents and hand edits; it is not a signature (anyone can recompute the digest).
//!
//! A saved plan never holds a secret: it holds model objects (which have no credential
//! fields) and cluster names, regions and kubeconfig context names, never tokens or keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{AssumeRole, AuthenticationMode, Cluster, Group, State};
use crate::plan::{Address, Kind, Plan, project};
use crate::render::json::{self, JsonError};

/// Version of the saved-plan envelope. Independent of the plan's own `format_version`.
pub const SAVED_PLAN_FORMAT_VERSION: u32 = 1;
/// The `kind` of a saved plan, so that a plain plan JSON or a snapshot is told apart.
pub const SAVED_PLAN_KIND: &str = "accessctl-saved-plan";
/// The fingerprint of an object that did not exist.
pub const ABSENT: &str = "absent";

/// The access.yaml a plan came from, and the policy files it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// As given to `-f`, for messages only.
    pub path: String,
    /// `sha256:` and the hex digest of the file's bytes; for a directory of fragments, of
    /// the list of `fragments` (each path and digest on a line).
    pub sha256: String,
    /// `-f` named a directory: each fragment, by its path relative to the directory, with
    /// the digest of its bytes. Empty for one file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fragments: BTreeMap<String, String>,
    /// Each policy file access.yaml names with `file:`, by its path relative to access.yaml,
    /// with the digest of its bytes ([`ABSENT`]: it could not be read).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

impl Source {
    /// The digests of `sources`, as read for the plan (parse them first: the parse reads the
    /// policy files).
    pub fn of(sources: &crate::spec::Sources) -> Source {
        let fragments: BTreeMap<String, String> = if sources.is_directory() {
            sources
                .fragments()
                .iter()
                .map(|file| {
                    (
                        file.relative.display().to_string(),
                        sha256(file.text.as_bytes()),
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let digest = if sources.is_directory() {
            let mut listing = String::new();
            for (path, digest) in &fragments {
                let _ = writeln!(listing, "{digest}  {path}");
            }
            sha256(listing.as_bytes())
        } else {
            let text = sources.fragments().first().map_or("", |file| &file.text);
            sha256(text.as_bytes())
        };
        Source {
            path: sources.shown().display().to_string(),
            sha256: digest,
            fragments,
            files: sources
                .files()
                .into_iter()
                .map(|(path, bytes)| {
                    let digest = bytes.map_or_else(|| ABSENT.to_string(), |bytes| sha256(&bytes));
                    (path, digest)
                })
                .collect(),
        }
    }

    /// The policy files that differ from `other`'s: changed, named only by one, or readable
    /// by only one.
    pub fn changed_files(&self, other: &Source) -> Vec<String> {
        differing(&self.files, &other.files)
    }

    /// The fragments that differ from `other`'s: changed, added or removed.
    pub fn changed_fragments(&self, other: &Source) -> Vec<String> {
        differing(&self.fragments, &other.fragments)
    }
}

/// The paths whose digests differ between `a` and `b`, or that only one has.
fn differing(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths
        .into_iter()
        .filter(|path| a.get(*path) != b.get(*path))
        .cloned()
        .collect()
}

/// What the plan was made with: `--adopt` and the override flags passed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    pub adopt: bool,
    /// Flag names (`--allow-self-lockout`), sorted.
    pub overrides: BTreeSet<String>,
}

/// Where a cluster is, so apply can reach it without access.yaml.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub authentication: AuthenticationMode,
}

/// A saved plan, without its digest (which is computed when written and checked when read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// Always [`SAVED_PLAN_KIND`].
    pub kind: String,
    pub format_version: u32,
    /// The accessctl version that wrote it.
    pub tool_version: String,
    pub source: Source,
    /// The AWS account live state was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The role the plan reached the account through (`assumeRole`): apply assumes it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<AssumeRole>,
    pub options: Options,
    /// By the cluster's name in access.yaml: every cluster of the file.
    pub clusters: BTreeMap<String, Target>,
    /// By address: the live form's fingerprint when planned, or [`ABSENT`].
    pub fingerprints: BTreeMap<Address, String>,
    pub plan: Plan,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read the plan file `{path}`: {}", crate::words::io_reason(.source))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a saved plan: {detail}")]
    NotSavedPlan { path: String, detail: String },
    #[error(
        "`{path}` is a saved plan of format version {found}; this accessctl reads version {expected}"
    )]
    Version {
        path: String,
        found: u64,
        expected: u32,
    },
    #[error("the plan file `{path}` was edited after accessctl wrote it ({detail})")]
    Edited { path: String, detail: String },
    #[error(transparent)]
    Json(#[from] JsonError),
}

impl PlanFileError {
    pub fn hint(&self) -> &'static str {
        match self {
            PlanFileError::Read { .. } => "check the path of the saved plan",
            PlanFileError::NotSavedPlan { .. } => {
                "write saved plans with `accessctl plan -f access.yaml --out plan.json`"
            }
            PlanFileError::Version { .. } => "plan again with this version of accessctl",
            PlanFileError::Edited { .. } => {
                "a saved plan is applied exactly as written: plan again with `accessctl plan --out`"
            }
            PlanFileError::Json(_) => {
                "this is a bug in accessctl: please report it with the command you ran"
            }
        }
    }
}

/// `sha256:` and the lowercase hex digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The value with every object's keys sorted, recursively: one form per value.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut sorted = Map::new();
            for key in keys {
                if let Some(inner) = map.get(key) {
                    sorted.insert(key.clone(), canonical(inner));
                }
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The fingerprint of a value: sha256 of its compact canonical JSON.
pub fn fingerprint(value: &Value) -> String {
    sha256(canonical(value).to_string().as_bytes())
}

/// The live form of the object at `address` as a plan sees it; `None` when it does not exist.
///
/// An aws-auth address names every entry for its ARN (duplicates included) and whether
/// accessctl manages it: those are what an aws-auth change edits and depends on. The rest of
/// the ConfigMap is not part of the object, so an entry added for someone else does not make a
/// plan stale.
pub fn live_form(state: &State, address: &Address) -> Result<Option<Value>, JsonError> {
    fn to<T: Serialize>(object: Option<&T>) -> Result<Option<Value>, JsonError> {
        object
            .map(|object| json::to_value("a live object", object))
            .transpose()
    }
    let name = address.name.as_str();
    let Some(cluster_name) = &address.cluster else {
        let iam = &state.iam;
        return match address.kind {
            Kind::Policy => to(iam.policies.get(name)),
            // With its members: a plan that takes some out is stale when they change.
            Kind::Group => to(iam
                .groups
                .get(name)
                .map(|group| Group {
                    members: iam.members(name),
                    ..group.clone()
                })
                .as_ref()),
            Kind::User => to(iam.users.get(name)),
            Kind::Role => to(iam.roles.get(name)),
            Kind::OidcProvider => to(iam.oidc_providers.get(name)),
            _ => Ok(None),
        };
    };
    let Some(cluster) = state.clusters.get(cluster_name) else {
        return Ok(None);
    };
    match address.kind {
        Kind::AwsAuth => {
            let Some(auth) = cluster.aws_auth.as_ref() else {
                return Ok(None);
            };
            let entries = auth
                .entries
                .iter()
                .filter(|entry| entry.arn == name)
                .map(|entry| json::to_value("an aws-auth entry", entry))
                .collect::<Result<Vec<Value>, JsonError>>()?;
            let managed = auth.managed.contains(name);
            if entries.is_empty() && !managed {
                return Ok(None);
            }
            Ok(Some(
                serde_json::json!({"entries": entries, "managed": managed}),
            ))
        }
        Kind::AccessEntry => to(cluster.access_entries.get(name)),
        Kind::Namespace => to(cluster.namespaces.get(name)),
        Kind::ClusterRole => to(cluster.cluster_roles.get(name)),
        Kind::K8sRole => to(cluster.roles.get(name)),
        Kind::ClusterRoleBinding => to(cluster.cluster_role_bindings.get(name)),
        Kind::RoleBinding => to(cluster.role_bindings.get(name)),
        Kind::ServiceAccount => to(cluster.service_accounts.get(name)),
        _ => Ok(None),
    }
}

/// The fingerprint of the object at `address` in `state`, or [`ABSENT`].
pub fn live_fingerprint(state: &State, address: &Address) -> Result<String, JsonError> {
    Ok(live_form(state, address)?
        .map(|value| fingerprint(&value))
        .unwrap_or_else(|| ABSENT.to_string()))
}

/// The fingerprints of every object `plan` addresses, as found in `live`.
pub fn fingerprints(plan: &Plan, live: &State) -> Result<BTreeMap<Address, String>, JsonError> {
    plan.changes
        .iter()
        .map(|change| {
            Ok((
                change.address.clone(),
                live_fingerprint(live, &change.address)?,
            ))
        })
        .collect()
}

/// One object that is not as it was when the plan was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub address: Address,
    pub planned: String,
    pub now: String,
}

impl Stale {
    /// `created`, `deleted` or `changed`, for people.
    pub fn what(&self) -> &'static str {
        match (self.planned.as_str(), self.now.as_str()) {
            (ABSENT, _) => "was created",
            (_, ABSENT) => "was deleted",
            _ => "changed",
        }
    }
}

impl SavedPlan {
    /// Wraps `plan` made from `source` (access.yaml and its policy files) against `live`.
    pub fn new(
        plan: Plan,
        source: Source,
        desired: &State,
        assume_role: Option<&AssumeRole>,
        live: &State,
        options: Options,
    ) -> Result<Self, JsonError> {
        Ok(SavedPlan {
            kind: SAVED_PLAN_KIND.to_string(),
            format_version: SAVED_PLAN_FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            source,
            account: live.account.clone(),
            assume_role: assume_role.cloned(),
            options,
            clusters: desired
                .clusters
                .iter()
                .map(|(name, cluster)| {
                    (
                        name.clone(),
                        Target {
                            region: cluster.region.clone(),
                            eks_name: cluster.eks_name.clone(),
                            context: cluster.context.clone(),
                            authentication: cluster.authentication,
                        },
                    )
                })
                .collect(),
            fingerprints: fingerprints(&plan, live)?,
            plan,
        })
    }

    /// The file's text: canonical JSON with its digest.
    pub fn to_text(&self) -> Result<String, JsonError> {
        render(&self.to_value()?)
    }

    /// The canonical value with its digest: the file's content, and each account's part of
    /// a saved plan of several accounts.
    fn to_value(&self) -> Result<Value, JsonError> {
        Ok(with_digest(canonical(&json::to_value(
            "the saved plan",
            self,
        )?)))
    }

    /// Reads a saved plan back, refusing any byte that differs from what accessctl wrote.
    pub fn parse(path: &str, text: &str) -> Result<Self, PlanFileError> {
        let body = canonical_body(
            path,
            text,
            SAVED_PLAN_KIND,
            "a plain `plan -o json` cannot be applied",
            SAVED_PLAN_FORMAT_VERSION,
        )?;
        serde_json::from_value(body).map_err(|error| PlanFileError::NotSavedPlan {
            path: path.to_string(),
            detail: error.to_string(),
        })
    }

    /// An account's part of a saved plan of several accounts (already checked to be in the
    /// form accessctl writes): its kind, its own digest and version, then its content.
    fn from_part(path: &str, value: Value) -> Result<Self, PlanFileError> {
        let edited = |detail: &str| PlanFileError::Edited {
            path: path.to_string(),
            detail: detail.to_string(),
        };
        let Value::Object(map) = value else {
            return Err(edited("an account's `saved_plan` is not a JSON object"));
        };
        if map.get("kind").and_then(Value::as_str) != Some(SAVED_PLAN_KIND) {
            return Err(edited(
                "an account's `saved_plan` has no `\"kind\": \"accessctl-saved-plan\"`",
            ));
        }
        let body = checked_body(path, map, SAVED_PLAN_FORMAT_VERSION)?;
        serde_json::from_value(body).map_err(|error| PlanFileError::NotSavedPlan {
            path: path.to_string(),
            detail: error.to_string(),
        })
    }

    /// Reads and checks the saved plan at `path`.
    pub fn read(path: &std::path::Path) -> Result<Self, PlanFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&shown, &text)
    }

    /// The state to read live for apply: every cluster of the file, where it is, and the
    /// objects the plan touches (so the reader looks up those it does not own).
    pub fn read_scope(&self) -> State {
        let mut base = State::default();
        for (name, target) in &self.clusters {
            base.clusters.insert(
                name.clone(),
                Cluster {
                    region: target.region.clone(),
                    eks_name: target.eks_name.clone(),
                    context: target.context.clone(),
                    authentication: target.authentication,
                    ..Cluster::default()
                },
            );
        }
        project(&base, &self.plan.changes)
    }

    /// Every planned object whose live form differs now, in address order (IAM first).
    pub fn stale(&self, live: &State) -> Result<Vec<Stale>, JsonError> {
        let mut stale = Vec::new();
        for (address, planned) in &self.fingerprints {
            let now = live_fingerprint(live, address)?;
            if &now != planned {
                stale.push(Stale {
                    address: address.clone(),
                    planned: planned.clone(),
                    now,
                });
            }
        }
        Ok(stale)
    }

    /// The override flags the plan needed that `passed` lacks.
    pub fn missing_overrides(&self, passed: &BTreeSet<String>) -> Vec<String> {
        self.plan
            .overrides
            .iter()
            .filter(|flag| !passed.contains(*flag))
            .cloned()
            .collect()
    }
}

/// Pretty JSON with sorted keys and a final newline: the one form a saved plan is written in.
pub(crate) fn render(value: &Value) -> Result<String, JsonError> {
    json::to_pretty("the saved plan", &canonical(value))
}

/// `body` (canonical) with its `digest`: the sha256 of its compact form.
fn with_digest(body: Value) -> Value {
    let digest = sha256(body.to_string().as_bytes());
    let mut whole = body;
    if let Value::Object(map) = &mut whole {
        map.insert("digest".to_string(), Value::String(digest));
    }
    whole
}

/// The content of a saved plan (or of an envelope) without its `digest`, once the digest
/// matches it and its `format_version` is `expected`.
fn checked_body(
    path: &str,
    mut map: Map<String, Value>,
    expected: u32,
) -> Result<Value, PlanFileError> {
    let edited = |detail: &str| PlanFileError::Edited {
        path: path.to_string(),
        detail: detail.to_string(),
    };
    let Some(Value::String(digest)) = map.remove("digest") else {
        return Err(edited("its `digest` is missing"));
    };
    let body = canonical(&Value::Object(map));
    if sha256(body.to_string().as_bytes()) != digest {
        return Err(edited("its content does not match its `digest`"));
    }
    match body.get("format_version").and_then(Value::as_u64) {
        Some(version) if version == u64::from(expected) => Ok(body),
        Some(found) => Err(PlanFileError::Version {
            path: path.to_string(),
            found,
            expected,
        }),
        None => Err(PlanFileError::NotSavedPlan {
            path: path.to_string(),
            detail: "no `format_version`".to_string(),
        }),
    }
}

/// Version of the envelope of a saved plan of several accounts.
pub const SAVED_PLANS_FORMAT_VERSION: u32 = 1;
/// The `kind` of a saved plan of several accounts (`plan -f A -f B --out plan.json`).
pub const SAVED_PLANS_KIND: &str = "accessctl-saved-plans";

/// One account's part of a saved plan of several accounts.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountPlan {
    /// The account the file names (`account`), else the one live state was read from: what
    /// `apply plan.json -f FILE` matches each file with.
    pub account: String,
    /// The `-f` path as given, for messages only (`saved.source` records its digests).
    pub file: String,
    /// The account's saved plan, exactly as `plan -f FILE --out` would have saved it.
    pub saved: SavedPlan,
}

/// A saved plan of several accounts: each account's [`SavedPlan`] in an envelope of its own
/// `kind`, `format_version` and `digest`, written and checked as a one-account saved plan is
/// (canonical form, then the digest of the envelope, then each part's own digest).
#[derive(Clone, Debug, PartialEq)]
pub struct SavedPlans {
    /// The accessctl version that wrote it.
    pub tool_version: String,
    /// In the order of the `-f` options; each account once.
    pub accounts: Vec<AccountPlan>,
}

/// A saved plan file of either kind, as [`read_any`] finds it.
#[derive(Clone, Debug, PartialEq)]
pub enum SavedFile {
    One(Box<SavedPlan>),
    Accounts(SavedPlans),
}

/// Reads the saved plan at `path`: one account's, or several accounts' (told apart by its
/// `kind`). Anything else is refused as [`SavedPlan::read`] refuses it.
pub fn read_any(path: &std::path::Path) -> Result<SavedFile, PlanFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_any(&shown, &text)
}

/// [`read_any`] of a text.
pub fn parse_any(path: &str, text: &str) -> Result<SavedFile, PlanFileError> {
    let several = match serde_json::from_str::<Value>(text) {
        Ok(value) => value.get("kind").and_then(Value::as_str) == Some(SAVED_PLANS_KIND),
        // A file of ours that no longer parses is refused as edited, by the reader of its kind.
        Err(_) => text.contains(&format!("\"kind\": \"{SAVED_PLANS_KIND}\"")),
    };
    if several {
        SavedPlans::parse(path, text).map(SavedFile::Accounts)
    } else {
        SavedPlan::parse(path, text).map(|saved| SavedFile::One(Box::new(saved)))
    }
}

impl SavedPlans {
    pub fn new(accounts: Vec<AccountPlan>) -> Self {
        SavedPlans {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            accounts,
        }
    }

    /// The file's text: canonical JSON with its digest, each account's saved plan with its
    /// own.
    pub fn to_text(&self) -> Result<String, JsonError> {
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for part in &self.accounts {
            let mut entry = Map::new();
            entry.insert("account".to_string(), Value::String(part.account.clone()));
            entry.insert("file".to_string(), Value::String(part.file.clone()));
            entry.insert("saved_plan".to_string(), part.saved.to_value()?);
            accounts.push(Value::Object(entry));
        }
        let mut body = Map::new();
        body.insert("accounts".to_string(), Value::Array(accounts));
        body.insert(
            "format_version".to_string(),
            Value::from(SAVED_PLANS_FORMAT_VERSION),
        );
        body.insert(
            "kind".to_string(),
            Value::String(SAVED_PLANS_KIND.to_string()),
        );
        body.insert(
            "tool_version".to_string(),
            Value::String(self.tool_version.clone()),
        );
        render(&with_digest(canonical(&Value::Object(body))))
    }

    /// Reads a saved plan of several accounts back, refusing any byte that differs from what
    /// accessctl wrote.
    pub fn parse(path: &str, text: &str) -> Result<Self, PlanFileError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Part {
            account: String,
            file: String,
            saved_plan: Value,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Envelope {
            #[serde(rename = "kind")]
            _kind: String,
            #[serde(rename = "format_version")]
            _format_version: u32,
            tool_version: String,
            accounts: Vec<Part>,
        }
        let not_saved = |detail: String| PlanFileError::NotSavedPlan {
            path: path.to_string(),
            detail,
        };
        let body = canonical_body(
            path,
            text,
            SAVED_PLANS_KIND,
            "the saved plan of several accounts",
            SAVED_PLANS_FORMAT_VERSION,
        )?;
        let envelope: Envelope =
            serde_json::from_value(body).map_err(|error| not_saved(error.to_string()))?;
        let mut accounts: Vec<AccountPlan> = Vec::with_capacity(envelope.accounts.len());
        for part in envelope.accounts {
            if accounts.iter().any(|seen| seen.account == part.account) {
                return Err(not_saved(format!(
                    "account {} is in it more than once",
                    part.account
                )));
            }
            accounts.push(AccountPlan {
                saved: SavedPlan::from_part(path, part.saved_plan)?,
                account: part.account,
                file: part.file,
            });
        }
        Ok(SavedPlans {
            tool_version: envelope.tool_version,
            accounts,
        })
    }
}

/// The body of a saved-plan document of `kind` (one account's, or several accounts'), refusing
/// any byte that differs from what accessctl wrote: JSON, an object, its `kind` (`plain` says
/// what a document without it is taken for), the canonical form, then its digest and version.
fn canonical_body(
    path: &str,
    text: &str,
    kind: &str,
    plain: &str,
    format_version: u32,
) -> Result<Value, PlanFileError> {
    let not_saved = |detail: String| PlanFileError::NotSavedPlan {
        path: path.to_string(),
        detail,
    };
    let edited = |detail: String| PlanFileError::Edited {
        path: path.to_string(),
        detail,
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // A file that starts like one of ours but no longer parses was edited.
        Err(error) if text.contains(kind) => {
            return Err(edited(format!("it is no longer valid JSON: {error}")));
        }
        Err(error) => return Err(not_saved(format!("not JSON: {error}"))),
    };
    let Value::Object(map) = value else {
        return Err(not_saved("not a JSON object".to_string()));
    };
    if map.get("kind").and_then(Value::as_str) != Some(kind) {
        if text.contains(kind) {
            return Err(edited(format!("its `kind` is not `{kind}`")));
        }
        return Err(not_saved(format!("no `\"kind\": \"{kind}\"` ({plain})")));
    }
    if render(&Value::Object(map.clone()))? != text {
        return Err(edited(
            "its bytes are not in the form accessctl writes".to_string(),
        ));
    }
    checked_body(path, map, format_version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AwsAuth, AwsAuthEntry, MapKind, User};
    use crate::plan::{self, Desired, PlanOptions};

    fn user() -> User {
        User {
            tags: BTreeMap::from([("managed-by".into(), "accessctl".into())]),
            ..User::default()
        }
    }

    fn entry(arn: &str, groups: &[&str]) -> AwsAuthEntry {
        AwsAuthEntry {
            kind: MapKind::MapUsers,
            arn: arn.into(),
            username: Some("someone".into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
    const BOB: &str = "arn:aws:iam::111122223333:user/bob";

    fn live() -> State {
        let mut state = State {
            account: Some("111122223333".into()),
            ..State::default()
        };
        let cluster = Cluster {
            aws_auth: Some(AwsAuth {
                entries: vec![entry(BOB, &["viewers"])],
                ..AwsAuth::default()
            }),
            ..Cluster::default()
        };
        state.clusters.insert("demo".into(), cluster);
        state
    }

    fn desired() -> State {
        let mut state = live();
        state.iam.users.insert("alice".into(), user());
        if let Some(cluster) = state.clusters.get_mut("demo") {
            cluster.context = Some("demo-context".into());
            cluster.region = Some("us-east-1".into());
            cluster.aws_auth = Some(AwsAuth {
                entries: vec![entry(ALICE, &["editors"])],
                ..AwsAuth::default()
            });
        }
        state
    }

    fn saved() -> SavedPlan {
        let desired = Desired {
            state: desired(),
            ..Desired::default()
        };
        let live = live();
        let plan = plan::plan(&desired, &live, &PlanOptions::default()).expect("a plan");
        assert!(plan.has_changes());
        SavedPlan::new(
            plan,
            Source::of(&crate::spec::Sources::from_text(
                std::path::Path::new("access.yaml"),
                "version: 1\n".to_string(),
            )),
            &desired.state,
            None,
            &live,
            Options::default(),
        )
        .expect("a saved plan")
    }

    #[test]
    fn a_directory_is_recorded_fragment_by_fragment() {
        let fragment = |relative: &str, text: &str| crate::spec::SourceFile {
            relative: relative.into(),
            text: text.to_string(),
        };
        let of = |fragments| {
            Source::of(&crate::spec::Sources::from_fragments(
                std::path::Path::new("access"),
                fragments,
            ))
        };
        let before = of(vec![
            fragment("teams/b.yaml", "iam: {}\n"),
            fragment("account.yaml", "version: 1\n"),
        ]);
        assert_eq!(before.path, "access");
        let listed: Vec<&String> = before.fragments.keys().collect();
        assert_eq!(listed, ["account.yaml", "teams/b.yaml"]);
        assert_eq!(before.fragments["account.yaml"], sha256(b"version: 1\n"));
        let listing = format!(
            "{}  account.yaml\n{}  teams/b.yaml\n",
            sha256(b"version: 1\n"),
            sha256(b"iam: {}\n")
        );
        assert_eq!(before.sha256, sha256(listing.as_bytes()));
        // The same bytes moved to another fragment are another source.
        let moved = of(vec![
            fragment("teams/c.yaml", "iam: {}\n"),
            fragment("account.yaml", "version: 1\n"),
        ]);
        assert_ne!(moved.sha256, before.sha256);
        assert_eq!(
            before.changed_fragments(&moved),
            ["teams/b.yaml", "teams/c.yaml"]
        );
        // One file keeps the digest of its bytes, and lists no fragment.
        let single = Source::of(&crate::spec::Sources::from_text(
            std::path::Path::new("access.yaml"),
            "version: 1\n".to_string(),
        ));
        assert_eq!(single.sha256, sha256(b"version: 1\n"));
        assert!(single.fragments.is_empty());
    }

    #[test]
    fn round_trips_through_its_text() {
        let saved = saved();
        let text = saved.to_text().expect("written");
        assert_eq!(SavedPlan::parse("plan.json", &text).expect("reads"), saved);
        assert!(text.contains("\"digest\": \"sha256:"));
        assert!(text.contains("\"iam.user.alice\": \"absent\""));
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let text = saved().to_text().expect("written");
        let bytes = text.as_bytes();
        for position in 0..bytes.len() {
            for flip in [0x01_u8, 0x20] {
                let mut edited = bytes.to_vec();
                edited[position] ^= flip;
                let Ok(edited) = String::from_utf8(edited) else {
                    continue;
                };
                let result = SavedPlan::parse("plan.json", &edited);
                assert!(
                    result.is_err(),
                    "flipping {flip:#x} at byte {position} ({:?}) was accepted",
                    &text[position.saturating_sub(20)..(position + 20).min(text.len())]
                );
            }
        }
    }

    #[test]
    fn a_consistent_edit_without_the_digest_is_refused() {
        let text = saved().to_text().expect("written");
        let edited = text.replace("\"adopt\": false", "\"adopt\": true");
        assert_ne!(edited, text);
        let error = SavedPlan::parse("plan.json", &edited).expect_err("refused");
        assert!(error.to_string().contains("digest"), "{error}");
    }

    fn saved_plans() -> SavedPlans {
        let other = {
            let mut other = saved();
            other.account = Some("444455556666".into());
            other.source.path = "workload".into();
            other
        };
        SavedPlans::new(vec![
            AccountPlan {
                account: "111122223333".into(),
                file: "identity.yaml".into(),
                saved: saved(),
            },
            AccountPlan {
                account: "444455556666".into(),
                file: "workload".into(),
                saved: other,
            },
        ])
    }

    #[test]
    fn several_accounts_round_trip_through_their_text() {
        let saved = saved_plans();
        let text = saved.to_text().expect("written");
        assert_eq!(SavedPlans::parse("plan.json", &text).expect("reads"), saved);
        assert_eq!(
            parse_any("plan.json", &text).expect("reads"),
            SavedFile::Accounts(saved.clone())
        );
        // Each account's part is a whole saved plan, digest included, byte for byte as
        // `plan -f FILE --out` writes it.
        let value: Value = serde_json::from_str(&text).expect("JSON");
        let part = render(&value["accounts"][1]["saved_plan"]).expect("rendered");
        assert_eq!(part, saved.accounts[1].saved.to_text().expect("written"));
        assert_eq!(value["kind"], SAVED_PLANS_KIND);
        // A one-account saved plan is told apart, and read as before.
        let one = saved.accounts[0].saved.to_text().expect("written");
        assert_eq!(
            parse_any("plan.json", &one).expect("reads"),
            SavedFile::One(Box::new(saved.accounts[0].saved.clone()))
        );
    }

    #[test]
    fn every_changed_byte_of_several_accounts_is_refused() {
        let text = saved_plans().to_text().expect("written");
        let bytes = text.as_bytes();
        for position in 0..bytes.len() {
            for flip in [0x01_u8, 0x20] {
                let mut edited = bytes.to_vec();
                edited[position] ^= flip;
                let Ok(edited) = String::from_utf8(edited) else {
                    continue;
                };
                let result = parse_any("plan.json", &edited);
                assert!(
                    result.is_err(),
                    "flipping {flip:#x} at byte {position} ({:?}) was accepted",
                    &text[position.saturating_sub(20)..(position + 20).min(text.len())]
                );
            }
        }
    }

    /// `text` with `from` replaced and the envelope's digest recomputed, as a hand edit that
    /// knows the outer digest would do.
    fn redigested(text: &str, from: &str, to: &str) -> String {
        let mut value: Value = serde_json::from_str(&text.replacen(from, to, 1)).expect("JSON");
        if let Value::Object(map) = &mut value {
            map.remove("digest");
        }
        render(&with_digest(canonical(&value))).expect("rendered")
    }

    #[test]
    fn an_account_edited_under_a_recomputed_envelope_digest_is_refused() {
        let text = saved_plans().to_text().expect("written");
        // The envelope's digest alone does not vouch for an account's part.
        let edited = redigested(&text, "\"adopt\": false", "\"adopt\": true");
        assert_ne!(edited, text);
        let error = SavedPlans::parse("plan.json", &edited).expect_err("refused");
        assert!(
            error.to_string().contains("does not match its `digest`"),
            "{error}"
        );
        // Nor may an envelope field change without its digest.
        let edited = text.replacen("\"file\": \"workload\"", "\"file\": \"elsewhere\"", 1);
        assert_ne!(edited, text);
        let error = SavedPlans::parse("plan.json", &edited).expect_err("refused");
        assert!(
            error.to_string().contains("does not match its `digest`"),
            "{error}"
        );
        // An account given twice is refused even with a matching digest.
        let twice = redigested(
            &text,
            "\"account\": \"444455556666\",\n      \"file\"",
            "\"account\": \"111122223333\",\n      \"file\"",
        );
        assert_ne!(twice, text);
        let error = SavedPlans::parse("plan.json", &twice).expect_err("refused");
        assert!(error.to_string().contains("more than once"), "{error}");
    }

    #[test]
    fn another_envelope_version_is_refused_by_name() {
        let text = saved_plans().to_text().expect("written");
        let newer = redigested(
            &text,
            "\"format_version\": 1,\n  \"kind\"",
            "\"format_version\": 2,\n  \"kind\"",
        );
        assert_ne!(newer, text);
        let error = SavedPlans::parse("plan.json", &newer).expect_err("refused");
        assert!(
            matches!(
                error,
                PlanFileError::Version {
                    found: 2,
                    expected: 1,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn a_plain_plan_is_not_a_saved_plan() {
        let plan = saved().plan;
        let error = SavedPlan::parse("plan.json", &crate::render::json(&plan).expect("written"))
            .expect_err("refused");
        assert!(
            matches!(error, PlanFileError::NotSavedPlan { .. }),
            "{error}"
        );
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let mut saved = saved();
        saved.format_version = 2;
        let error =
            SavedPlan::parse("plan.json", &saved.to_text().expect("written")).expect_err("refused");
        assert!(
            matches!(error, PlanFileError::Version { found: 2, .. }),
            "{error}"
        );
    }

    fn demo_aws_auth(state: &mut State) -> &mut AwsAuth {
        state
            .clusters
            .get_mut("demo")
            .and_then(|cluster| cluster.aws_auth.as_mut())
            .expect("cluster demo has aws-auth")
    }

    #[test]
    fn stale_names_only_the_planned_objects_that_changed() {
        let saved = saved();
        assert_eq!(saved.stale(&live()).expect("compared"), Vec::new());

        // Someone else's aws-auth entry and an unrelated user do not matter.
        let mut unrelated = live();
        unrelated.iam.users.insert("carol".into(), user());
        let auth = demo_aws_auth(&mut unrelated);
        auth.entries
            .push(entry("arn:aws:iam::111122223333:user/carol", &["x"]));
        auth.entries[0].groups.push("more".into());
        assert_eq!(saved.stale(&unrelated).expect("compared"), Vec::new());

        // The planned user and the planned aws-auth entry created out of band do.
        let mut changed = live();
        changed.iam.users.insert("alice".into(), user());
        demo_aws_auth(&mut changed)
            .entries
            .push(entry(ALICE, &["system:masters"]));
        let stale: Vec<String> = saved
            .stale(&changed)
            .expect("compared")
            .iter()
            .map(|s| format!("{} {}", s.address, s.what()))
            .collect();
        assert_eq!(
            stale,
            [
                "iam.user.alice was created".to_string(),
                format!("cluster.demo.aws-auth[{ALICE}] was created"),
            ]
        );
    }

    #[test]
    fn read_scope_reaches_every_cluster_and_names_the_planned_objects() {
        let scope = saved().read_scope();
        let cluster = scope.clusters.get("demo").expect("cluster");
        assert_eq!(cluster.context.as_deref(), Some("demo-context"));
        assert_eq!(cluster.region.as_deref(), Some("us-east-1"));
        assert!(scope.iam.users.contains_key("alice"));
    }

    #[test]
    fn missing_overrides_are_the_needed_ones_not_passed() {
        let mut saved = saved();
        saved.plan.overrides = vec!["--allow-self-lockout".into()];
        assert_eq!(
            saved.missing_overrides(&BTreeSet::new()),
            ["--allow-self-lockout"]
        );
        assert!(
            saved
                .missing_overrides(&BTreeSet::from(["--allow-self-lockout".to_string()]))
                .is_empty()
        );
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let one: Value = serde_json::from_str(r#"{"a": 1, "b": {"c": 2, "d": 3}}"#).expect("json");
        let two: Value = serde_json::from_str(r#"{"b": {"d": 3, "c": 2}, "a": 1}"#).expect("json");
        assert_eq!(fingerprint(&one), fingerprint(&two));
        assert_ne!(fingerprint(&one), fingerprint(&Value::Null));
    }
}
