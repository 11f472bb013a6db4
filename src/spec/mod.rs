//! access.yaml: raw YAML with source positions, validation that reports every mistake at once
//! (file:line:col, a snippet with a caret, a hint), and the validated desired state.
//!
//! CONTRACT (filled in by the spec work): `load` reads the file (and the policy files it names)
//! and returns the desired state, or every diagnostic found.

pub mod diagnostic;
mod decode;
mod node;
mod raw;
mod reader;
mod suggest;

use std::path::Path;

pub use diagnostic::{Diagnostic, Diagnostics};

use crate::model::State;
use crate::plan::Desired;

/// Facts from live state that the file may rely on: the clusters' OIDC issuers (IRSA trust
/// policies are generated from them when `oidcIssuer` is not set in the file).
#[derive(Clone, Debug, Default)]
pub struct Facts<'a> {
    pub live: Option<&'a State>,
}

/// A loaded, validated access.yaml.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub desired: Desired,
    /// Source text, kept for later diagnostics (lint, explain).
    pub source: String,
}

/// Reads and validates an access.yaml. Every problem is reported, not just the first.
pub fn load(path: &Path, facts: &Facts<'_>) -> Result<Loaded, Diagnostics> {
    let _ = facts;
    let source = std::fs::read_to_string(path).map_err(|error| {
        Diagnostics::from(vec![Diagnostic::file_error(path, &error.to_string())])
    })?;
    Ok(Loaded {
        desired: Desired::default(),
        source,
    })
}
