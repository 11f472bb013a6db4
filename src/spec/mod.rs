//! access.yaml: raw YAML with source positions, validation that reports every mistake at once
//! (file:line:col, a snippet with a caret, a hint), and the validated desired state.
//!
//! `load` reads the file (and the policy files it names) and returns the desired state, or
//! every diagnostic found, in file order. It never panics, whatever the bytes.
//!
//! `-f` may name a directory: every `*.yaml`/`*.yml` beneath it is a fragment of one access.yaml
//! (see [`input::fragments`] for which files, `fragments` for how they combine); each
//! diagnostic points into its own fragment.
//!
//! The stages, one module each: `node` (YAML → tree with positions), `decode` (tree → raw
//! types, unknown keys and wrong types), `validate` (names, ranges, references), `build` (raw
//! types → model, with `documents` and `trust` for policy documents).

mod build;
mod decode;
pub mod diagnostic;
mod documents;
mod federation;
mod fragments;
pub mod input;
pub(crate) mod locations;
pub mod managed;
mod node;
mod raw;
mod reader;
mod resolve;
mod sso;
pub(crate) use crate::suggest;
mod trust;
mod validate;

/// The quotas (IAM's, and Kubernetes' ConfigMap size) and their wording, for the planner's
/// checks of what only live state shows.
pub(crate) use validate::limits;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use locations::SourceLocation;
pub use resolve::{PeerNames, Peers};
pub use trust::{issuer_hint, unchecked_irsa};

use crate::model::State;
use crate::model::{Acknowledgement, Desired};

use reader::{Fragment, Reader, Report, Source};

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
    /// Where each node of the file (of every fragment, merged) was written, by path
    /// (`iam.roles.eks-admin.trust`, `clusters.demo.access.0`): see [`locations`].
    pub locations: BTreeMap<String, SourceLocation>,
    /// Diagnostics that do not stop the load (an `aws:` policy name accessctl does not know),
    /// in file order.
    pub warnings: Vec<Diagnostic>,
    /// The grants outside the file it acknowledges (`acknowledged:`): for drift only, never a
    /// resource, so the planner does not see them.
    pub acknowledged: Vec<Acknowledgement>,
}

/// access.yaml (one file, or the fragments of a directory) and every policy file it names,
/// each read once: parsing, validation, diagnostics and the saved plan's digest all use these
/// bytes. The policy files are read by the parse (which finds their names), then kept.
#[derive(Clone, Debug)]
pub struct Sources {
    /// As given (`-`: standard input; a directory: the directory).
    pub path: PathBuf,
    /// The file, or the fragments of the directory in sorted path order.
    fragments: Vec<SourceFile>,
    /// `path` is a directory of fragments.
    directory: bool,
    files: input::Files,
}

/// One file of access.yaml: the file itself, or one fragment of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// A fragment's path relative to the directory; the file's name as given.
    pub relative: PathBuf,
    /// Its text (its bytes, checked to be UTF-8).
    pub text: String,
}

impl Sources {
    /// Reads access.yaml at `path` (`-`: standard input; a directory: every fragment beneath
    /// it, see [`input::fragments`]).
    pub fn read(path: &Path) -> Result<Sources, Diagnostics> {
        if input::is_directory(path) {
            return Sources::read_directory(path);
        }
        let shown = input::shown(path);
        let bytes = input::read(path, false)
            .map_err(|reason| Diagnostics::from(vec![Diagnostic::file_error(&shown, &reason)]))?;
        Sources::from_bytes(path, bytes)
    }

    /// Every fragment of the directory `path`, or every reason one cannot be read.
    fn read_directory(path: &Path) -> Result<Sources, Diagnostics> {
        let relatives = input::fragments(path).map_err(|refused| {
            Diagnostics::from(
                refused
                    .iter()
                    .map(|(file, reason)| Diagnostic::file_error(file, reason))
                    .collect::<Vec<_>>(),
            )
        })?;
        if relatives.is_empty() {
            return Err(Diagnostics::from(vec![
                Diagnostic::new(
                    path,
                    format!(
                        "`{}` is a directory with no access.yaml fragment: no `*.yaml` or `*.yml` file beneath it",
                        path.display()
                    ),
                )
                .with_hint(
                    "`-f` takes access.yaml, or a directory whose `*.yaml` files (hidden ones aside) are its fragments",
                ),
            ]));
        }
        let mut fragments = Vec::new();
        let mut problems = Vec::new();
        for relative in relatives {
            let file = path.join(&relative);
            match input::read(&file, true) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => fragments.push(SourceFile { relative, text }),
                    Err(error) => problems.push(not_utf8(&file, &error)),
                },
                Err(reason) => problems.push(Diagnostic::file_error(&file, &reason)),
            }
        }
        if !problems.is_empty() {
            return Err(Diagnostics::from(problems));
        }
        Ok(Sources::from_fragments(path, fragments))
    }

    /// access.yaml bytes held in memory, as if read from `path`: the text, or a diagnostic
    /// pointing at the first byte that is not UTF-8.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Sources, Diagnostics> {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Sources::from_text(path, text)),
            Err(error) => Err(Diagnostics::from(vec![not_utf8(
                &input::shown(path),
                &error,
            )])),
        }
    }

    /// access.yaml text held in memory, as if read from `path` (relative `file:` references
    /// resolve against its directory).
    pub fn from_text(path: &Path, text: String) -> Sources {
        Sources {
            path: path.to_path_buf(),
            fragments: vec![SourceFile {
                relative: path.to_path_buf(),
                text,
            }],
            directory: false,
            files: input::Files::default(),
        }
    }

    /// The fragments of a directory held in memory, as if read from `directory` (each by its
    /// path relative to it; sorted here).
    pub fn from_fragments(directory: &Path, mut fragments: Vec<SourceFile>) -> Sources {
        fragments.sort_by(|a, b| a.relative.cmp(&b.relative));
        Sources {
            path: directory.to_path_buf(),
            fragments,
            directory: true,
            files: input::Files::default(),
        }
    }

    /// How the file (or directory) is shown in messages (`<stdin>` for `-`).
    pub fn shown(&self) -> PathBuf {
        input::shown(&self.path)
    }

    /// `-f` named a directory of fragments.
    pub fn is_directory(&self) -> bool {
        self.directory
    }

    /// The file, or the fragments of the directory in the order they are read.
    pub fn fragments(&self) -> &[SourceFile] {
        &self.fragments
    }

    /// The directory `file:` references are confined to: the directory of fragments, or the
    /// directory of the one file.
    fn root(&self) -> PathBuf {
        if self.directory {
            self.path.clone()
        } else {
            input::root_of(&self.path)
        }
    }

    /// The policy files read so far (all that access.yaml names, once parsed), each by its
    /// path relative to the root (the directory of access.yaml, or the directory of
    /// fragments), with its bytes, or `None` when it could not be read.
    pub fn files(&self) -> BTreeMap<String, Option<Vec<u8>>> {
        let root = self.root();
        self.files
            .all()
            .into_iter()
            .map(|(path, bytes)| {
                let relative = path.strip_prefix(&root).unwrap_or(&path);
                (relative.display().to_string(), bytes.ok())
            })
            .collect()
    }

    /// Parses and validates the file (or the fragments) once; live facts are applied after,
    /// by [`Parsed::resolve`].
    pub fn parse(&self) -> Parsed {
        self.parse_with(&std::sync::Arc::default())
    }

    /// [`Self::parse`], with the users and roles of the other accounts loaded in the same run
    /// (several `-f`), for `ACCOUNT/NAME` references to them.
    pub fn parse_with(&self, peers: &std::sync::Arc<resolve::Peers>) -> Parsed {
        let fragments = self
            .fragments
            .iter()
            .map(|file| {
                if self.directory {
                    Fragment::new(
                        self.path.join(&file.relative),
                        file.relative
                            .parent()
                            .map(Path::to_path_buf)
                            .unwrap_or_default(),
                        file.text.clone(),
                    )
                } else {
                    Fragment::new(self.shown(), PathBuf::new(), file.text.clone())
                }
            })
            .collect();
        let source = Source {
            fragments,
            root: self.root(),
            directory: self.directory,
            files: self.files.clone(),
        };
        let mut report = Report::default();
        let mut pending = trust::Pending::default();
        let (desired, acknowledged, root) =
            parse_source(&source, self.directory, peers, &mut report, &mut pending);
        let paths: Vec<PathBuf> = source.fragments.iter().map(|f| f.path.clone()).collect();
        let locations = root
            .map(|root| locations::of(&root, &paths))
            .unwrap_or_default();
        Parsed {
            source,
            desired,
            acknowledged,
            report,
            pending,
            locations,
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
    locations: BTreeMap<String, SourceLocation>,
}

impl Parsed {
    /// The file's `account`, even when the file has mistakes elsewhere.
    pub fn account(&self) -> Option<&str> {
        self.desired.state.account.as_deref()
    }

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
            locations,
        } = self;
        let mut reader = Reader::new(&source, &mut report);
        trust::resolve(&mut reader, &pending, live, &mut desired.state);
        sso::resolve(&mut reader, &pending.sso, live, &mut desired);
        if !report.is_empty() {
            return Err(Diagnostics::from(report.into_sorted()));
        }
        Ok(Loaded {
            desired,
            warnings: report.warnings(),
            acknowledged,
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

/// Parses, decodes, validates and builds one access.yaml (one file, or the fragments of a
/// directory merged into one tree), reporting into `report`: the desired state, the grants
/// outside it the file acknowledges, and the tree that was read.
fn parse_source(
    source: &Source,
    directory: bool,
    peers: &std::sync::Arc<resolve::Peers>,
    report: &mut Report,
    pending: &mut trust::Pending,
) -> (Desired, Vec<Acknowledgement>, Option<node::Node>) {
    let parsed: Vec<_> = source
        .fragments
        .iter()
        .map(|fragment| node::parse(&fragment.text))
        .collect();
    // A policy file written as YAML beneath a directory of fragments is read as the policy
    // file it is, not as a fragment.
    let policy_files: std::collections::BTreeSet<PathBuf> = if directory {
        parsed
            .iter()
            .zip(&source.fragments)
            .filter_map(|(tree, fragment)| Some((tree.as_ref().ok()?.as_ref()?, fragment)))
            .flat_map(|(root, fragment)| fragments::policy_files(root, &fragment.base))
            .collect()
    } else {
        Default::default()
    };
    let mut roots = Vec::new();
    let mut broken = false;
    for (index, (tree, fragment)) in parsed.into_iter().zip(&source.fragments).enumerate() {
        let relative = fragment
            .path
            .strip_prefix(&source.root)
            .unwrap_or(&fragment.path);
        if policy_files.contains(relative) {
            continue;
        }
        match tree {
            Ok(Some(mut root)) => {
                root.set_file(index);
                roots.push(root);
            }
            // An empty fragment declares nothing; an empty file is a mistake.
            Ok(None) => {}
            Err(error) => {
                broken = true;
                let at = node::Location {
                    file: index,
                    ..error.location
                };
                let diagnostic = source.diagnostic(at, format!("invalid YAML: {}", error.message));
                report.push(
                    at,
                    match error.hint {
                        Some(hint) => diagnostic.with_hint(hint),
                        None => diagnostic,
                    },
                );
            }
        }
    }
    if broken && !directory {
        return (Desired::default(), Vec::new(), None);
    }
    let mut reader = Reader::new(source, report);
    let merged = if directory {
        fragments::merge(&mut reader, roots)
    } else {
        fragments::Merged {
            root: roots.pop(),
            unsure: false,
        }
    };
    let Some(root) = merged.root else {
        if !broken {
            let shown = source.shown();
            let message = if directory {
                format!("every fragment of `{}` is empty", shown.display())
            } else {
                format!("`{}` is empty", shown.display())
            };
            reader.report.push(
                node::Location::default(),
                Diagnostic::new(shown, message)
                    .with_hint("start it with `version: 1` and `account: \"123456789012\"`"),
            );
        }
        return (Desired::default(), Vec::new(), None);
    };
    let mut spec = decode::decode(&mut reader, &root);
    // What a fragment that could not be read (or merged) declares is not known: a reference
    // to it is not reported as unknown.
    if broken || merged.unsure {
        decode::unsure_of_everything(&mut spec);
    }
    let mut directory = resolve::Directory::new(&spec);
    directory.peers = std::sync::Arc::clone(peers);
    let limits = validate::limits::Limits::read(&mut reader, &spec.limits);
    validate::validate(&mut reader, &spec, &directory, &limits);
    let desired = build::build(&mut reader, &spec, &directory, &limits, pending);
    let acknowledged = build::acknowledged(&spec);
    drop(spec);
    (desired, acknowledged, Some(root))
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
