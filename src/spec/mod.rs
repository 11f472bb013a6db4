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
mod federation;
pub mod input;
pub(crate) mod locations;
pub mod managed;
mod node;
mod raw;
mod reader;
mod resolve;
pub(crate) mod suggest;
mod trust;
mod validate;

/// The quotas (IAM's, and Kubernetes' ConfigMap size) and their wording, for the planner's
/// checks of what only live state shows.
pub(crate) use validate::limits;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use locations::SourceLocation;
pub use trust::{issuer_hint, unchecked_irsa};

use crate::model::State;
use crate::model::{Acknowledgement, Desired};

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
    /// The grants outside the file it acknowledges (`acknowledged:`): for drift only, never a
    /// resource, so the planner does not see them.
    pub acknowledged: Vec<Acknowledgement>,
}

/// access.yaml and every policy file it names, each read once: parsing, validation,
/// diagnostics and the saved plan's digest all use these bytes. The policy files are read
/// by the parse (which finds their names), then kept.
#[derive(Clone, Debug)]
pub struct Sources {
    /// As given (`-`: standard input).
    pub path: PathBuf,
    /// access.yaml's text (its bytes, checked to be UTF-8).
    pub text: String,
    files: input::Files,
}

impl Sources {
    /// Reads access.yaml at `path` (`-`: standard input).
    pub fn read(path: &Path) -> Result<Sources, Diagnostics> {
        let shown = input::shown(path);
        let bytes = input::read(path, false)
            .map_err(|reason| Diagnostics::from(vec![Diagnostic::file_error(&shown, &reason)]))?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Sources::from_text(path, text)),
            Err(error) => Err(Diagnostics::from(vec![not_utf8(&shown, &error)])),
        }
    }

    /// access.yaml text held in memory, as if read from `path` (relative `file:` references
    /// resolve against its directory).
    pub fn from_text(path: &Path, text: String) -> Sources {
        Sources {
            path: path.to_path_buf(),
            text,
            files: input::Files::default(),
        }
    }

    /// How the file is shown in messages (`<stdin>` for `-`).
    pub fn shown(&self) -> PathBuf {
        input::shown(&self.path)
    }

    /// The policy files read so far (all that access.yaml names, once parsed), each by its
    /// path relative to the directory of access.yaml, with its bytes, or `None` when it could
    /// not be read.
    pub fn files(&self) -> BTreeMap<String, Option<Vec<u8>>> {
        let root = input::root_of(&self.path);
        self.files
            .all()
            .into_iter()
            .map(|(path, bytes)| {
                let relative = path.strip_prefix(&root).unwrap_or(&path);
                (relative.display().to_string(), bytes.ok())
            })
            .collect()
    }

    /// Parses and validates the file once; live facts are applied after, by
    /// [`Parsed::resolve`].
    pub fn parse(&self) -> Parsed {
        let source = Source {
            path: self.shown(),
            root: input::root_of(&self.path),
            text: self.text.clone(),
            files: self.files.clone(),
        };
        let mut report = Report::default();
        let mut pending = trust::Pending::default();
        let (desired, acknowledged) = parse_source(&source, &mut report, &mut pending);
        Parsed {
            source,
            desired,
            acknowledged,
            report,
            pending,
        }
    }
}

/// A parsed access.yaml: the desired state with every mistake found, before live facts. The
/// OIDC issuers the file leaves to live state are stand-ins until [`Parsed::resolve`].
#[derive(Clone, Debug)]
pub struct Parsed {
    source: Source,
    desired: Desired,
    acknowledged: Vec<Acknowledgement>,
    report: Report,
    pending: trust::Pending,
}

impl Parsed {
    /// The desired state before live facts, to know what to read (its clusters): every
    /// mistake of the file, or the state.
    pub fn unresolved(&self) -> Result<&Desired, Diagnostics> {
        if self.report.is_empty() {
            Ok(&self.desired)
        } else {
            Err(Diagnostics::from(self.report.clone().into_sorted()))
        }
    }

    /// The desired state with live facts applied (a pure pass: no I/O, no second parse): the
    /// IRSA issuers from `live`'s clusters, or, without live state, the stand-ins (see
    /// [`unchecked_irsa`]). Every problem is reported, the file's and the live facts' alike.
    pub fn resolve(self, live: Option<&State>) -> Result<Loaded, Diagnostics> {
        let Parsed {
            source,
            mut desired,
            acknowledged,
            mut report,
            pending,
        } = self;
        let mut reader = Reader::new(&source, &mut report);
        trust::resolve(&mut reader, &pending, live, &mut desired.state);
        if !report.is_empty() {
            return Err(Diagnostics::from(report.into_sorted()));
        }
        let locations = locations::index(&source.text);
        Ok(Loaded {
            desired,
            warnings: report.warnings(),
            acknowledged,
            source: source.text,
            locations,
        })
    }
}

/// Reads and validates an access.yaml. Every problem is reported, not just the first.
pub fn load(path: &Path, facts: &Facts<'_>) -> Result<Loaded, Diagnostics> {
    Sources::read(path)?.parse().resolve(facts.live)
}

/// Validates access.yaml text held in memory, as if read from `path` (relative `file:`
/// references resolve against its directory). `import` checks what it writes with it.
pub fn load_str(path: &Path, text: &str, facts: &Facts<'_>) -> Result<Desired, Diagnostics> {
    Sources::from_text(path, text.to_string())
        .parse()
        .resolve(facts.live)
        .map(|loaded| loaded.desired)
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

/// Parses, decodes, validates and builds one access.yaml, reporting into `report`: the desired
/// state, and the grants outside it the file acknowledges.
fn parse_source(
    source: &Source,
    report: &mut Report,
    pending: &mut trust::Pending,
) -> (Desired, Vec<Acknowledgement>) {
    let root = match node::parse(&source.text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            let at = node::Location::default();
            report.push(
                at,
                Diagnostic::new(
                    &source.path,
                    format!("`{}` is empty", source.path.display()),
                )
                .with_hint("start it with `version: 1` and `account: \"123456789012\"`"),
            );
            return (Desired::default(), Vec::new());
        }
        Err(error) => {
            let diagnostic =
                source.diagnostic(error.location, format!("invalid YAML: {}", error.message));
            report.push(
                error.location,
                match error.hint {
                    Some(hint) => diagnostic.with_hint(hint),
                    None => diagnostic,
                },
            );
            return (Desired::default(), Vec::new());
        }
    };
    let mut reader = Reader::new(source, report);
    let spec = decode::decode(&mut reader, &root);
    let directory = resolve::Directory::new(&spec);
    let limits = validate::limits::Limits::read(&mut reader, &spec.limits);
    validate::validate(&mut reader, &spec, &directory, &limits);
    let desired = build::build(&mut reader, &spec, &directory, &limits, pending);
    (desired, build::acknowledged(&spec))
}

/// Loads access.yaml text held in memory, as if read from `path` (tests of every stage).
#[cfg(test)]
pub(crate) fn load_text(
    path: &str,
    text: &str,
    facts: &Facts<'_>,
) -> Result<Desired, Vec<Diagnostic>> {
    load_str(Path::new(path), text, facts).map_err(|diagnostics| diagnostics.0)
}
