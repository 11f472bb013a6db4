//! How the CLI speaks: a `Printer` for messages on stderr (quiet / default / verbose, colour
//! only on a terminal and never with `NO_COLOR`), and `CliError`, an error with a hint.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::GlobalArgs;

/// An error for people: what went wrong and what to do about it.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
    /// Already printed in full (diagnostics); only the closing line remains.
    pub details: Option<String>,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            hint: None,
            details: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
}

/// Writing accessctl's own data as JSON failed: a bug, with where to report it.
impl From<crate::render::JsonError> for CliError {
    fn from(error: crate::render::JsonError) -> Self {
        CliError::new(error.to_string())
            .with_hint("this is a bug in accessctl: please report it with the command you ran")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Default,
    Verbose,
}

#[derive(Debug)]
pub struct Printer {
    pub verbosity: Verbosity,
    /// Colour on stdout (data) and stderr (messages), decided once.
    pub stdout_color: bool,
    pub stderr_color: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let verbosity = if global.quiet {
            Verbosity::Quiet
        } else if global.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Default
        };
        let allowed = !global.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            verbosity,
            stdout_color: allowed && std::io::stdout().is_terminal(),
            stderr_color: allowed && std::io::stderr().is_terminal(),
        }
    }

    /// Data, on stdout.
    pub fn data(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .or_else(|error| {
                // A closed pipe (`accessctl plan | head`) is not an error worth reporting.
                if error.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(CliError::new(format!(
                        "cannot write to stdout: {}",
                        crate::words::io_reason(&error)
                    )))
                }
            })
    }

    /// A message for people, on stderr; silent with `-q`.
    pub fn info(&self, text: &str) {
        if self.verbosity >= Verbosity::Default {
            // Nowhere left to report a stderr that cannot be written (a closed pipe).
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    /// The one-line outcome of a command that changes things (apply's report summary), on
    /// stderr like every message; kept with `-q`, which drops everything else but data and
    /// errors.
    pub fn outcome(&self, text: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// Detail shown with `-v` only.
    pub fn verbose(&self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    pub fn error(&self, error: &CliError) {
        let mut stderr = std::io::stderr().lock();
        if let Some(details) = &error.details {
            let _ = write!(stderr, "{details}");
        }
        let label = self.paint("error", "1;31");
        let _ = writeln!(stderr, "{label}: {}", error.message);
        if let Some(hint) = &error.hint {
            let label = self.paint("hint", "1;36");
            let _ = writeln!(stderr, "{label}: {hint}");
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.stderr_color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Writes `text` to `path` whole or not at all: into a new temporary file in the same
/// directory, flushed to disk, then renamed over `path`. On any failure the temporary file is
/// removed and an existing `path` is left as it was. A symbolic link is followed (its target is
/// replaced); an existing file keeps its permissions.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let fail = |error: std::io::Error| {
        CliError::new(format!("cannot write `{}`: {error}", path.display()))
    };
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).map_err(fail)?,
        _ => path.to_path_buf(),
    };
    if target.is_dir() {
        return Err(CliError::new(format!(
            "cannot write `{}`: it is a directory",
            path.display()
        ))
        .with_hint("give the path of a file, e.g. `--out access.yaml`"));
    }
    let Some(name) = target.file_name() else {
        return Err(CliError::new(format!(
            "cannot write `{}`: it names no file",
            path.display()
        )));
    };
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut attempt = 0u32;
    let (temp, mut file) = loop {
        let candidate = dir.join(format!(
            ".{}.accessctl-{}-{attempt}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => break (candidate, file),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(error) => return Err(fail(error)),
        }
    };
    let mut result = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if result.is_ok()
        && let Ok(meta) = std::fs::metadata(&target)
    {
        result = std::fs::set_permissions(&temp, meta.permissions());
    }
    if let Err(error) = result.and_then(|()| std::fs::rename(&temp, &target)) {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(error));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_contains, temp_file};

    #[test]
    fn an_atomic_write_replaces_whole_or_leaves_the_file() {
        let (dir, path) = temp_file("access.yaml", "old\n");
        write_atomically(&path, "new\n").expect("written");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("access.yaml")]);
        let missing = dir.path().join("nowhere").join("access.yaml");
        let error = write_atomically(&missing, "x").expect_err("an error");
        assert_contains(&error.message, "nowhere");
        let error = write_atomically(dir.path(), "x").expect_err("an error");
        assert_contains(&error.message, "it is a directory");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new\n");
    }
}
