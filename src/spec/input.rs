//! Reading access.yaml and the policy files it names: the size cap (checked before a byte is
//! read), `-` for standard input, and the confinement of `file:` references to the directory
//! of access.yaml.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The largest access.yaml or policy file accessctl reads: 16 MiB.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// How `-` (standard input) is shown in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// `-f -`: access.yaml comes from standard input.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// How `path` is shown in messages: `<stdin>` for `-`.
pub fn shown(path: &Path) -> PathBuf {
    if is_stdin(path) {
        PathBuf::from(STDIN_NAME)
    } else {
        path.to_path_buf()
    }
}

/// Why a file could not be read, as a phrase: `no such file`, `it is 17.0 MiB…`.
pub type Reason = String;

/// The bytes of `path` (`-`: standard input, read once and kept, since a command may load
/// access.yaml more than once), refused when larger than [`MAX_INPUT_BYTES`]. `regular_only`
/// refuses devices, pipes and sockets (policy files name files).
pub fn read(path: &Path, regular_only: bool) -> Result<Vec<u8>, Reason> {
    if is_stdin(path) {
        static STDIN: OnceLock<Result<Vec<u8>, Reason>> = OnceLock::new();
        return STDIN
            .get_or_init(|| capped(std::io::stdin().lock(), "standard input"))
            .clone();
    }
    let file = std::fs::File::open(path).map_err(|error| reason(&error))?;
    let metadata = file.metadata().map_err(|error| reason(&error))?;
    if metadata.is_dir() {
        return Err("it is a directory".to_string());
    }
    if regular_only && !metadata.is_file() {
        return Err("it is not a regular file".to_string());
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(too_large(metadata.len()));
    }
    capped(file, "the file")
}

fn capped(reader: impl Read, what: &str) -> Result<Vec<u8>, Reason> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("reading {what} failed: {}", reason(&error)))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{what} is larger than {} MiB ({MAX_INPUT_BYTES} bytes), the most accessctl reads",
            MAX_INPUT_BYTES / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

fn too_large(length: u64) -> Reason {
    format!(
        "it is {length} bytes, and accessctl reads files of at most {} MiB ({MAX_INPUT_BYTES} bytes)",
        MAX_INPUT_BYTES / (1024 * 1024)
    )
}

/// An I/O error as a phrase.
pub fn reason(error: &std::io::Error) -> Reason {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => crate::words::io_reason(error),
    }
}

/// `-f DIRECTORY`: access.yaml is split into the fragments of a directory.
pub fn is_directory(path: &Path) -> bool {
    !is_stdin(path) && path.is_dir()
}

/// Whether `name` is a fragment's: `*.yaml` or `*.yml` (any case).
fn is_fragment_name(name: &Path) -> bool {
    name.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml")
        })
}

/// A file or directory accessctl leaves alone in a directory of fragments: its name starts
/// with `.` (`.git`, `.github`, an editor's `.x.yaml.swp`).
fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// The fragments of the directory `root`: every `*.yaml` and `*.yml` file beneath it, by its
/// path relative to `root`, sorted (component by component, byte order), so that every run
/// reads them in the same order. Hidden files and directories (`.git`, `.github`) are skipped;
/// symbolic links are not followed, and one that would be read (a link named `*.yaml`, a
/// link to a directory) is refused: a declaration left out would read as one to delete. Every
/// entry that cannot be read is returned, by its path under `root`, with why.
pub fn fragments(root: &Path) -> Result<Vec<PathBuf>, Vec<(PathBuf, Reason)>> {
    let mut found = Vec::new();
    let mut refused = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(root.join(&relative)) {
            Ok(entries) => entries,
            Err(error) => {
                refused.push((root.join(&relative), reason(&error)));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    refused.push((root.join(&relative), reason(&error)));
                    continue;
                }
            };
            let name = entry.file_name();
            if is_hidden(&name) {
                continue;
            }
            let path = relative.join(&name);
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(error) => {
                    refused.push((root.join(&path), reason(&error)));
                    continue;
                }
            };
            if kind.is_symlink() {
                if is_fragment_name(&path) || root.join(&path).is_dir() {
                    refused.push((
                        root.join(&path),
                        "it is a symbolic link, and accessctl does not follow links in a directory of fragments".to_string(),
                    ));
                }
            } else if kind.is_dir() {
                pending.push(path);
            } else if is_fragment_name(&path) {
                found.push(path);
            }
        }
    }
    if !refused.is_empty() {
        refused.sort();
        return Err(refused);
    }
    found.sort();
    Ok(found)
}

/// The policy files access.yaml names, each read once and kept: the parse reads them through
/// this, and what it read is what the saved plan's digest covers.
#[derive(Clone, Debug, Default)]
pub struct Files(Arc<Mutex<FilesRead>>);

/// Each policy file read, by path: its bytes, or why it could not be read.
type FilesRead = BTreeMap<PathBuf, Result<Vec<u8>, Reason>>;

impl Files {
    /// The bytes of the policy file at `path` (already confined): read on first use, then
    /// the same bytes every time.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, Reason> {
        let mut files = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        files
            .entry(path.to_path_buf())
            .or_insert_with(|| read(path, true))
            .clone()
    }

    /// Every file read so far, by path, with its bytes or why it could not be read.
    pub fn all(&self) -> FilesRead {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The directory `file:` references of access.yaml at `path` are relative to, and confined
/// to: its directory, or the current directory for standard input.
pub fn root_of(path: &Path) -> PathBuf {
    if is_stdin(path) {
        return PathBuf::new();
    }
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Why a `file:` reference is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Absolute, or climbs out with `..`.
    Outside,
    /// Inside as written, but a symbolic link leads out.
    LinksOutside,
}

/// `reference` joined to `root`, when it stays inside `root`: lexically (no absolute path, no
/// `..` above `root`) and once symbolic links are resolved. A file that does not exist is
/// returned as joined (reading it reports it missing).
pub fn confine(root: &Path, reference: &Path) -> Result<PathBuf, Refused> {
    let mut depth = 0usize;
    for component in reference.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err(Refused::Outside),
            Component::ParentDir => depth = depth.checked_sub(1).ok_or(Refused::Outside)?,
            Component::CurDir => {}
            Component::Normal(_) => depth += 1,
        }
    }
    let joined = root.join(reference);
    let Ok(real) = joined.canonicalize() else {
        return Ok(joined);
    };
    let real_root = if root.as_os_str().is_empty() {
        std::env::current_dir()
    } else {
        root.canonicalize()
    }
    .map_err(|_| Refused::LinksOutside)?;
    if real.starts_with(&real_root) {
        Ok(joined)
    } else {
        Err(Refused::LinksOutside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_file;

    #[test]
    fn a_policy_file_is_read_once_and_kept() {
        let (_dir, path) = temp_file("p.json", "{}");
        let files = Files::default();
        assert_eq!(files.read(&path), Ok(b"{}".to_vec()));
        std::fs::write(&path, "[]").expect("p.json");
        assert_eq!(files.read(&path), Ok(b"{}".to_vec()));
        assert_eq!(files.all().len(), 1);
    }

    #[test]
    fn references_stay_inside_the_root() {
        let root = Path::new("project");
        let confine = |root: &Path, reference: &str| confine(root, Path::new(reference));
        assert_eq!(confine(root, "/etc/passwd"), Err(Refused::Outside));
        assert_eq!(confine(root, "../x.json"), Err(Refused::Outside));
        assert_eq!(confine(root, "a/../../x.json"), Err(Refused::Outside));
        assert_eq!(
            confine(root, "a/../x.json"),
            Ok(PathBuf::from("project/a/../x.json"))
        );
        assert_eq!(
            confine(Path::new(""), "p.json"),
            Ok(PathBuf::from("p.json"))
        );
    }

    #[test]
    fn symbolic_links_out_are_refused() {
        let dir = tempfile::tempdir().expect("a directory");
        let project = dir.path().join("project");
        std::fs::create_dir_all(&project).expect("project");
        std::fs::write(dir.path().join("secret"), "x").expect("secret");
        std::fs::write(project.join("inside.json"), "{}").expect("inside");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret"), project.join("out.json"))
                .expect("a link");
            assert_eq!(
                confine(&project, Path::new("out.json")),
                Err(Refused::LinksOutside)
            );
        }
        assert!(confine(&project, Path::new("inside.json")).is_ok());
    }

    #[test]
    fn fragments_are_every_yaml_file_beneath_sorted_without_hidden_ones() {
        let dir = tempfile::tempdir().expect("a directory");
        let root = dir.path();
        for file in [
            "teams/payments.yaml",
            "teams/b.YML",
            "base.yaml",
            "a/z.yml",
            "README.md",
            "policies/p.json",
            ".github/workflows/ci.yml",
            "teams/.draft.yaml",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
            std::fs::write(&path, "x: 1\n").expect("a file");
        }
        let found = fragments(root).expect("fragments");
        let shown: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            shown,
            ["a/z.yml", "base.yaml", "teams/b.YML", "teams/payments.yaml"]
        );
        assert_eq!(fragments(&root.join("policies")), Ok(Vec::new()));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_among_fragments_are_refused_not_followed() {
        let dir = tempfile::tempdir().expect("a directory");
        let outside = dir.path().join("outside");
        let root = dir.path().join("access");
        std::fs::create_dir_all(&outside).expect("outside");
        std::fs::create_dir_all(&root).expect("root");
        std::fs::write(outside.join("x.yaml"), "x: 1\n").expect("x");
        std::fs::write(root.join("a.yaml"), "x: 1\n").expect("a");
        std::os::unix::fs::symlink(outside.join("x.yaml"), root.join("link.yaml")).expect("link");
        std::os::unix::fs::symlink(&outside, root.join("linked")).expect("link");
        std::os::unix::fs::symlink(outside.join("x.yaml"), root.join("notes.txt")).expect("link");
        let refused = fragments(&root).expect_err("links refused");
        let paths: Vec<&PathBuf> = refused.iter().map(|(path, _)| path).collect();
        assert_eq!(paths, [&root.join("link.yaml"), &root.join("linked")]);
        assert!(refused[0].1.contains("symbolic link"), "{}", refused[0].1);
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("big");
        let file = std::fs::File::create(&path).expect("a file");
        file.set_len(MAX_INPUT_BYTES + 1).expect("sparse");
        let error = read(&path, true).expect_err("too large");
        assert!(error.contains("at most 16 MiB (16777216 bytes)"), "{error}");
        file.set_len(3).expect("small");
        assert_eq!(read(&path, true), Ok(vec![0, 0, 0]));
    }
}
