//! Live-state snapshots (`live.json`): the [`State`] the readers fill, saved and read back so
//! a plan can run offline. Format: `docs/snapshot.md`, schema `specs/snapshot.schema.json`.

use std::path::Path;

use crate::model::{STATE_FORMAT_VERSION, State};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read live state `{path}`: {source}")]
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
        found: u32,
        expected: u32,
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
    })
}

#[derive(Debug)]
pub enum ParseError {
    Json(serde_json::Error),
    Version(u32),
}

pub fn parse(text: &str) -> Result<State, ParseError> {
    let state: State = serde_json::from_str(text).map_err(ParseError::Json)?;
    if state.format_version != STATE_FORMAT_VERSION {
        return Err(ParseError::Version(state.format_version));
    }
    Ok(state)
}

/// Pretty JSON, sorted keys (the model is all BTreeMaps), trailing newline.
pub fn to_string(state: &State) -> Result<String, crate::render::JsonError> {
    crate::render::json::to_pretty("live state", state)
}
