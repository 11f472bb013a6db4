//! Diagnostics: a message, a place (file:line:col), a snippet with a caret, and a hint.

use std::fmt;
use std::path::{Path, PathBuf};

/// One mistake in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub file: PathBuf,
    /// 1-based; 0 when the mistake has no position (a missing file).
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub hint: Option<String>,
    /// The source line, for the snippet.
    pub snippet: Option<String>,
}

impl Diagnostic {
    pub fn file_error(path: &Path, message: &str) -> Self {
        Diagnostic {
            message: format!("cannot read `{}`: {message}", path.display()),
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            hint: None,
            snippet: None,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line > 0 {
            writeln!(
                f,
                " --> {}:{}:{}",
                self.file.display(),
                self.line,
                self.column
            )?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every diagnostic of one load, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(list: Vec<Diagnostic>) -> Self {
        Diagnostics(list)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}
