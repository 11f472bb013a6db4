//! access.yaml: raw YAML with source positions, validation that reports every mistake at once
//! (file:line:col, a snippet with a caret, a hint), and the validated desired state.
//!
//! `load` reads the file (and the policy files it names) and returns the desired state, or
//! every diagnostic found, in file order. It never panics, whatever the bytes.
//!
//! The stages, one module each: `node` (YAML → tree with positions), `decode` (tree → raw
//! types, unknown keys and wrong types), `validate` (names, ranges, references), `build` (raw
//! types → model, with `documents` and `trust` for policy documents).

mod build;
mod decode;
pub mod diagnostic;
mod documents;
pub mod input;
pub(crate) mod locations;
pub mod managed;
mod node;
mod raw;
mod reader;
mod resolve;
mod suggest;
mod trust;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use locations::SourceLocation;
pub use trust::{issuer_hint, unchecked_irsa};

use crate::model::State;
use crate::plan::Desired;

use reader::{Reader, Report, Source};

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
    /// Where each node of the file was written, by path (`iam.roles.eks-admin.trust`,
    /// `clusters.demo.access.0`): see [`locations`].
    pub locations: BTreeMap<String, SourceLocation>,
    /// Diagnostics that do not stop the load (an `aws:` policy name accessctl does not know),
    /// in file order.
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates an access.yaml. Every problem is reported, not just the first.
pub fn load(path: &Path, facts: &Facts<'_>) -> Result<Loaded, Diagnostics> {
    let shown = input::shown(path);
    let bytes = input::read(path, false)
        .map_err(|reason| Diagnostics::from(vec![Diagnostic::file_error(&shown, &reason)]))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => return Err(Diagnostics::from(vec![not_utf8(&shown, &error)])),
    };
    let source = Source {
        path: shown,
        root: input::root_of(path),
        text,
    };
    let (desired, warnings) = load_source_warning(&source, facts).map_err(Diagnostics::from)?;
    let locations = locations::index(&source.text);
    Ok(Loaded {
        desired,
        source: source.text,
        locations,
        warnings,
    })
}

/// Validates access.yaml text held in memory, as if read from `path` (relative `file:`
/// references resolve against its directory). `import` checks what it writes with it.
pub fn load_str(path: &Path, text: &str, facts: &Facts<'_>) -> Result<Desired, Diagnostics> {
    let source = Source {
        path: path.to_path_buf(),
        root: input::root_of(path),
        text: text.to_string(),
    };
    load_source(&source, facts).map_err(Diagnostics::from)
}

/// Points at the first byte that is not UTF-8.
fn not_utf8(path: &Path, error: &std::string::FromUtf8Error) -> Diagnostic {
    let bytes = error.as_bytes();
    let valid = &bytes[..error.utf8_error().valid_up_to()];
    let valid = String::from_utf8_lossy(valid);
    let line = valid.matches('\n').count() + 1;
    let column = valid.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    let lossy = String::from_utf8_lossy(bytes);
    Diagnostic::new(path, format!("`{}` is not UTF-8 text", path.display()))
        .at(&lossy, line, column, 1)
        .with_hint("save the file as UTF-8")
}

fn load_source(source: &Source, facts: &Facts<'_>) -> Result<Desired, Vec<Diagnostic>> {
    load_source_warning(source, facts).map(|(desired, _)| desired)
}

/// Like [`load_source`], with the warnings of a file that loads.
fn load_source_warning(
    source: &Source,
    facts: &Facts<'_>,
) -> Result<(Desired, Vec<Diagnostic>), Vec<Diagnostic>> {
    let root = match node::parse(&source.text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(vec![
                Diagnostic::new(
                    &source.path,
                    format!("`{}` is empty", source.path.display()),
                )
                .with_hint("start it with `version: 1` and `account: \"123456789012\"`"),
            ]);
        }
        Err(error) => {
            let diagnostic =
                source.diagnostic(error.location, format!("invalid YAML: {}", error.message));
            return Err(vec![match error.hint {
                Some(hint) => diagnostic.with_hint(hint),
                None => diagnostic,
            }]);
        }
    };
    let mut report = Report::default();
    let mut reader = Reader::new(source, &mut report);
    let spec = decode::decode(&mut reader, &root);
    let directory = resolve::Directory::new(&spec);
    validate::validate(&mut reader, &spec, &directory);
    let desired = build::build(&mut reader, &spec, &directory, facts);
    if report.is_empty() {
        Ok((desired, report.warnings()))
    } else {
        Err(report.into_sorted())
    }
}

/// Loads access.yaml text held in memory, as if read from `path` (tests of every stage).
#[cfg(test)]
pub(crate) fn load_text(
    path: &str,
    text: &str,
    facts: &Facts<'_>,
) -> Result<Desired, Vec<Diagnostic>> {
    let source = Source {
        path: path.into(),
        root: input::root_of(Path::new(path)),
        text: text.to_string(),
    };
    load_source(&source, facts)
}
