//! Live-state snapshots (`live.json`): the [`State`] the readers fill, saved and read back so
//! a plan can run offline. Format: `docs/snapshot.md`, schema `specs/snapshot.schema.json`.

use std::path::Path;

use crate::model::{STATE_FORMAT_VERSION, State};

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
        }
    }
}

/// Reads a snapshot written by `accessctl snapshot` (or by hand, per docs/snapshot.md).
pub fn read(path: &Path) -> Result<State, SnapshotError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text).map_err(|error| match error {
        ParseError::Json(source) => SnapshotError::Parse {
            path: shown.clone(),
            source,
        },
        ParseError::Version(found) => SnapshotError::Version {
            path: shown.clone(),
            found,
            expected: STATE_FORMAT_VERSION,
        },
        ParseError::Shape(found) => SnapshotError::Shape {
            path: shown.clone(),
            found,
        },
        ParseError::NoVersion => SnapshotError::NoVersion {
            path: shown.clone(),
        },
    })
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
}

pub fn parse(text: &str) -> Result<State, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ParseError::Json)?;
    let Some(object) = value.as_object() else {
        return Err(ParseError::Shape(match value {
            serde_json::Value::Array(_) => "a JSON array",
            serde_json::Value::String(_) => "a JSON string",
            serde_json::Value::Number(_) => "a JSON number",
            serde_json::Value::Bool(_) => "a JSON boolean",
            _ => "JSON null",
        }));
    };
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
