//! Live-state snapshots (`live.json`): the [`State`] the readers fill, saved and read back so
//! a plan can run offline. Format: `docs/snapshot.md`, schema `specs/snapshot.schema.json`.
//!
//! A snapshot of several accounts (`accessctl snapshot -f A -f B`) is one document holding
//! each account's one-account snapshot: [`AccountState`], written by [`accounts_to_string`]
//! and read by [`read_accounts`] (docs/snapshot.md, "Several accounts";
//! `$defs/snapshots` of the schema).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{STATE_FORMAT_VERSION, State};

/// The `kind` of a snapshot of several accounts: a one-account snapshot has no `kind`.
pub const SNAPSHOTS_KIND: &str = "accessctl-snapshots";
/// Version of the several-account document, independent of each state's `format_version`.
pub const SNAPSHOTS_FORMAT_VERSION: u32 = 1;

/// One account's part of a snapshot of several accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// The AWS account the state was read from (its `state.account`): what a file's
    /// `account` is matched with.
    pub account: String,
    /// The `-f` path the account was read for, as given: for messages only.
    pub file: String,
    /// The account's one-account snapshot, exactly as `accessctl snapshot -f FILE` writes it.
    pub state: State,
}

/// A snapshot of several accounts, read by [`read_accounts`].
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshots {
    /// The path it was read from, as given: for messages.
    pub path: String,
    /// In the order they were written (the order of the `-f` options); one per account.
    pub accounts: Vec<AccountState>,
}

impl Snapshots {
    /// The live state of `account`, or the error naming the accounts the snapshot holds.
    pub fn state_of(&self, account: &str) -> Result<&State, SnapshotError> {
        self.accounts
            .iter()
            .find(|part| part.account == account)
            .map(|part| &part.state)
            .ok_or_else(|| SnapshotError::MissingAccount {
                path: self.path.clone(),
                account: account.to_string(),
                held: self.held(),
            })
    }

    /// `111111111111, 222222222222`, or `no account`.
    fn held(&self) -> String {
        if self.accounts.is_empty() {
            return "no account".to_string();
        }
        let ids: Vec<&str> = self
            .accounts
            .iter()
            .map(|part| part.account.as_str())
            .collect();
        ids.join(", ")
    }
}

/// The document as read (its `format_version` and `kind` are checked before).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(rename = "format_version")]
    _format_version: u32,
    #[serde(rename = "kind")]
    _kind: String,
    accounts: Vec<AccountState>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read live state `{path}`: {}", crate::words::io_reason(.source))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid live-state snapshot: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("`{path}` has format_version {found}; this accessctl reads version {expected}")]
    Version {
        path: String,
        found: String,
        expected: u32,
    },
    #[error(
        "`{path}` is not a live-state snapshot: it is {found}, and a snapshot is a JSON object (specs/snapshot.schema.json)"
    )]
    Shape { path: String, found: &'static str },
    #[error(
        "`{path}` is not a live-state snapshot: it has no `format_version`, which every snapshot has (specs/snapshot.schema.json, `required`)"
    )]
    NoVersion { path: String },
    #[error(
        "`{path}` has no live state of {clusters}, which access.yaml declares: it was not taken for this access.yaml"
    )]
    MissingClusters { path: String, clusters: String },
    #[error(
        "`{path}` holds the live state of several accounts (`accessctl snapshot` with several `-f`), and one `-f` was given"
    )]
    SeveralAccounts { path: String },
    #[error(
        "`{path}` is the live state of one account, and several `-f` were given: each account needs its own part of a snapshot of several accounts"
    )]
    OneAccount { path: String },
    #[error("`{path}` is not a valid snapshot of several accounts: {detail}")]
    Accounts { path: String, detail: String },
    #[error("`{path}` has no live state of account {account} (it holds {held})")]
    MissingAccount {
        path: String,
        account: String,
        held: String,
    },
}

impl SnapshotError {
    pub fn hint(&self) -> &'static str {
        match self {
            SnapshotError::Read { .. } => "check the path given to `--live-state`",
            SnapshotError::Parse { .. } => {
                "write snapshots with `accessctl snapshot`; the format is described in docs/snapshot.md"
            }
            SnapshotError::Version { .. } => "take a new snapshot with this version of accessctl",
            SnapshotError::Shape { .. } | SnapshotError::NoVersion { .. } => {
                "write snapshots with `accessctl snapshot -f access.yaml --out live.json`; the format is described in docs/snapshot.md"
            }
            SnapshotError::MissingClusters { .. } => {
                "take the snapshot with the same file: `accessctl snapshot -f access.yaml --out live.json`"
            }
            SnapshotError::SeveralAccounts { .. } => {
                "give each account's file with its own `-f` (`-f identity -f workload --live-state PATH`), or take a one-account snapshot with `accessctl snapshot -f FILE --out live.json`"
            }
            SnapshotError::OneAccount { .. } => {
                "take one snapshot of every account with `accessctl snapshot -f A -f B --out live.json`, or plan each account on its own with `-f FILE --live-state ITS-SNAPSHOT`"
            }
            SnapshotError::Accounts { .. } => {
                "write snapshots of several accounts with `accessctl snapshot -f A -f B --out live.json`; the format is described in docs/snapshot.md"
            }
            SnapshotError::MissingAccount { .. } => {
                "take the snapshot with this file among the `-f` options: `accessctl snapshot -f A -f B --out live.json`"
            }
        }
    }
}

/// Reads a snapshot written by `accessctl snapshot` (or by hand, per docs/snapshot.md).
pub fn read(path: &Path) -> Result<State, SnapshotError> {
    let (shown, text) = read_text(path)?;
    parse(&text).map_err(|error| error.at(shown, STATE_FORMAT_VERSION))
}

/// Reads a snapshot of several accounts written by `accessctl snapshot -f A -f B`, checking
/// each account's state as [`read`] checks a one-account snapshot. A one-account snapshot is
/// [`SnapshotError::OneAccount`]; an account given twice, or a part whose `account` is not
/// its state's, is refused.
pub fn read_accounts(path: &Path) -> Result<Snapshots, SnapshotError> {
    let (shown, text) = read_text(path)?;
    let accounts =
        parse_accounts(&text).map_err(|error| error.at(shown.clone(), SNAPSHOTS_FORMAT_VERSION))?;
    Ok(Snapshots {
        path: shown,
        accounts,
    })
}

fn read_text(path: &Path) -> Result<(String, String), SnapshotError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Read {
        path: shown.clone(),
        source,
    })?;
    Ok((shown, text))
}

/// Refuses a snapshot that lacks a cluster `desired` declares: planning against it would
/// propose creating everything in that cluster.
pub fn check_covers(desired: &State, live: &State, path: &Path) -> Result<(), SnapshotError> {
    let missing: Vec<String> = desired
        .clusters
        .keys()
        .filter(|name| !live.clusters.contains_key(*name))
        .map(|name| format!("`{name}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let clusters = match missing.as_slice() {
        [one] => format!("cluster {one}"),
        many => format!("clusters {}", many.join(", ")),
    };
    Err(SnapshotError::MissingClusters {
        path: path.display().to_string(),
        clusters,
    })
}

#[derive(Debug)]
pub enum ParseError {
    Json(serde_json::Error),
    /// `format_version` is not this accessctl's (as written in the file).
    Version(String),
    /// Not a JSON object: what it is instead.
    Shape(&'static str),
    /// No `format_version`.
    NoVersion,
    /// A snapshot of several accounts where one account's was expected.
    SeveralAccounts,
    /// A one-account snapshot where one of several accounts was expected.
    OneAccount,
    /// A snapshot of several accounts that is not as accessctl writes it: why.
    Accounts(String),
}

impl ParseError {
    /// The error of the snapshot at `path`, whose format version is `expected`.
    fn at(self, path: String, expected: u32) -> SnapshotError {
        match self {
            ParseError::Json(source) => SnapshotError::Parse { path, source },
            ParseError::Version(found) => SnapshotError::Version {
                path,
                found,
                expected,
            },
            ParseError::Shape(found) => SnapshotError::Shape { path, found },
            ParseError::NoVersion => SnapshotError::NoVersion { path },
            ParseError::SeveralAccounts => SnapshotError::SeveralAccounts { path },
            ParseError::OneAccount => SnapshotError::OneAccount { path },
            ParseError::Accounts(detail) => SnapshotError::Accounts { path, detail },
        }
    }
}

/// The JSON object `text` holds, or what it is instead.
fn object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ParseError::Json)?;
    match value {
        serde_json::Value::Object(object) => Ok(object),
        serde_json::Value::Array(_) => Err(ParseError::Shape("a JSON array")),
        serde_json::Value::String(_) => Err(ParseError::Shape("a JSON string")),
        serde_json::Value::Number(_) => Err(ParseError::Shape("a JSON number")),
        serde_json::Value::Bool(_) => Err(ParseError::Shape("a JSON boolean")),
        serde_json::Value::Null => Err(ParseError::Shape("JSON null")),
    }
}

fn is_several(object: &serde_json::Map<String, serde_json::Value>) -> bool {
    object.get("kind").and_then(serde_json::Value::as_str) == Some(SNAPSHOTS_KIND)
}

pub fn parse(text: &str) -> Result<State, ParseError> {
    let object = object(text)?;
    if is_several(&object) {
        return Err(ParseError::SeveralAccounts);
    }
    match object.get("format_version") {
        None => return Err(ParseError::NoVersion),
        Some(version) if version.as_u64() != Some(u64::from(STATE_FORMAT_VERSION)) => {
            return Err(ParseError::Version(version.to_string()));
        }
        Some(_) => {}
    }
    // From the text again, so that a mistake deeper down is reported with its line and column.
    serde_json::from_str(text).map_err(ParseError::Json)
}

/// Pretty JSON, sorted keys (the model is all BTreeMaps), trailing newline.
pub fn to_string(state: &State) -> Result<String, crate::render::JsonError> {
    crate::render::json::to_pretty("live state", state)
}

/// Reads the text of a snapshot of several accounts: the document's `kind` and
/// `format_version`, then each account's state as [`parse`] reads a one-account snapshot,
/// each account once.
pub fn parse_accounts(text: &str) -> Result<Vec<AccountState>, ParseError> {
    let object = object(text)?;
    if !is_several(&object) {
        return Err(match object.get("kind") {
            None if object.contains_key("format_version") => ParseError::OneAccount,
            None => ParseError::NoVersion,
            Some(kind) => {
                ParseError::Accounts(format!("its `kind` is {kind}, not \"{SNAPSHOTS_KIND}\""))
            }
        });
    }
    match object.get("format_version") {
        None => return Err(ParseError::NoVersion),
        Some(version) if version.as_u64() != Some(u64::from(SNAPSHOTS_FORMAT_VERSION)) => {
            return Err(ParseError::Version(version.to_string()));
        }
        Some(_) => {}
    }
    let parts = object
        .get("accounts")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| ParseError::Accounts("it has no `accounts` list".to_string()))?;
    for (index, part) in parts.iter().enumerate() {
        let version = part
            .get("state")
            .and_then(|state| state.get("format_version"));
        match version {
            None => {
                return Err(ParseError::Accounts(format!(
                    "`accounts[{index}].state` has no `format_version`"
                )));
            }
            Some(version) if version.as_u64() != Some(u64::from(STATE_FORMAT_VERSION)) => {
                return Err(ParseError::Accounts(format!(
                    "`accounts[{index}].state` has format_version {version}; this accessctl reads version {STATE_FORMAT_VERSION}"
                )));
            }
            Some(_) => {}
        }
    }
    // From the text again, so that a mistake deeper down is reported with its line and column.
    let document: Document = serde_json::from_str(text).map_err(ParseError::Json)?;
    let mut seen = BTreeSet::new();
    for part in &document.accounts {
        if let Some(read) = &part.state.account
            && read != &part.account
        {
            return Err(ParseError::Accounts(format!(
                "the part of account {} holds the state of account {read}",
                part.account
            )));
        }
        if !seen.insert(part.account.as_str()) {
            return Err(ParseError::Accounts(format!(
                "account {} is in it more than once",
                part.account
            )));
        }
    }
    Ok(document.accounts)
}

/// A snapshot of several accounts: pretty JSON, each state as [`to_string`] writes it,
/// trailing newline.
pub fn accounts_to_string(accounts: &[AccountState]) -> Result<String, crate::render::JsonError> {
    #[derive(Serialize)]
    struct Written<'a> {
        format_version: u32,
        kind: &'static str,
        accounts: &'a [AccountState],
    }
    crate::render::json::to_pretty(
        "the live state of several accounts",
        &Written {
            format_version: SNAPSHOTS_FORMAT_VERSION,
            kind: SNAPSHOTS_KIND,
            accounts,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_snapshot_says_so() {
        assert!(matches!(parse("{}"), Err(ParseError::NoVersion)));
        assert!(matches!(
            parse("[1, 2, 3]"),
            Err(ParseError::Shape("a JSON array"))
        ));
        assert!(matches!(parse("null"), Err(ParseError::Shape("JSON null"))));
        assert!(
            matches!(parse(r#"{"format_version": 2}"#), Err(ParseError::Version(v)) if v == "2")
        );
        assert!(
            matches!(parse(r#"{"format_version": "1"}"#), Err(ParseError::Version(v)) if v == "\"1\"")
        );
        assert!(matches!(parse("{"), Err(ParseError::Json(_))));
        assert!(parse(r#"{"format_version": 1}"#).is_ok());
    }

    fn part(account: &str, file: &str) -> AccountState {
        let mut state = State {
            account: Some(account.to_string()),
            ..State::default()
        };
        state
            .clusters
            .insert("demo".into(), crate::model::Cluster::default());
        AccountState {
            account: account.to_string(),
            file: file.to_string(),
            state,
        }
    }

    #[test]
    fn several_accounts_round_trip_each_state_as_one_account_writes_it() {
        let parts = vec![
            part("111111111111", "identity"),
            part("222222222222", "workload.yaml"),
        ];
        let text = accounts_to_string(&parts).expect("written");
        assert!(
            text.starts_with("{\n  \"format_version\": 1,\n  \"kind\": \"accessctl-snapshots\",\n"),
            "{text}"
        );
        assert_eq!(parse_accounts(&text).expect("read"), parts);
        // Each part's state is the one-account snapshot, which reads on its own.
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let state = parse(&value["accounts"][1]["state"].to_string()).expect("one account");
        assert_eq!(state, parts[1].state);
        // One account's reader says what the document is.
        assert!(matches!(parse(&text), Err(ParseError::SeveralAccounts)));
    }

    #[test]
    fn a_one_account_snapshot_is_not_one_of_several_accounts() {
        let one = to_string(&part("111111111111", "x").state).expect("written");
        assert!(matches!(parse_accounts(&one), Err(ParseError::OneAccount)));
        assert!(matches!(parse_accounts("{}"), Err(ParseError::NoVersion)));
        assert!(matches!(
            parse_accounts("[]"),
            Err(ParseError::Shape("a JSON array"))
        ));
        assert!(matches!(
            parse_accounts(r#"{"format_version": 2, "kind": "accessctl-snapshots", "accounts": []}"#),
            Err(ParseError::Version(v)) if v == "2"
        ));
        assert!(matches!(
            parse_accounts(r#"{"format_version": 1, "kind": "accessctl-saved-plan"}"#),
            Err(ParseError::Accounts(detail)) if detail.contains("accessctl-saved-plan")
        ));
    }

    #[test]
    fn a_part_given_twice_or_of_another_account_is_refused() {
        let twice = accounts_to_string(&[part("111111111111", "a"), part("111111111111", "b")])
            .expect("written");
        assert!(matches!(
            parse_accounts(&twice),
            Err(ParseError::Accounts(detail)) if detail == "account 111111111111 is in it more than once"
        ));
        let mut other = part("111111111111", "a");
        other.account = "222222222222".into();
        let other = accounts_to_string(&[other]).expect("written");
        assert!(matches!(
            parse_accounts(&other),
            Err(ParseError::Accounts(detail)) if detail == "the part of account 222222222222 holds the state of account 111111111111"
        ));
        let newer = accounts_to_string(&[part("111111111111", "a")])
            .expect("written")
            .replacen(
                "\"format_version\": 1,\n        \"account\"",
                "\"format_version\": 2,\n        \"account\"",
                1,
            );
        assert!(
            matches!(parse_accounts(&newer), Err(ParseError::Accounts(detail)) if detail.contains("format_version 2")),
            "{newer}"
        );
    }

    #[test]
    fn a_missing_account_names_the_accounts_held() {
        let snapshots = Snapshots {
            path: "live.json".into(),
            accounts: vec![part("111111111111", "a"), part("222222222222", "b")],
        };
        assert!(snapshots.state_of("222222222222").is_ok());
        let error = snapshots.state_of("333333333333").expect_err("missing");
        assert_eq!(
            error.to_string(),
            "`live.json` has no live state of account 333333333333 (it holds 111111111111, 222222222222)"
        );
    }

    #[test]
    fn a_snapshot_without_a_declared_cluster_is_refused() {
        let mut desired = State::default();
        desired
            .clusters
            .insert("demo".into(), crate::model::Cluster::default());
        desired
            .clusters
            .insert("prod".into(), crate::model::Cluster::default());
        let mut live = State::default();
        live.clusters
            .insert("demo".into(), crate::model::Cluster::default());
        let error = check_covers(&desired, &live, Path::new("live.json")).err();
        assert_eq!(
            error.map(|error| error.to_string()),
            Some("`live.json` has no live state of cluster `prod`, which access.yaml declares: it was not taken for this access.yaml".to_string())
        );
        live.clusters
            .insert("prod".into(), crate::model::Cluster::default());
        assert!(check_covers(&desired, &live, Path::new("live.json")).is_ok());
    }
}
