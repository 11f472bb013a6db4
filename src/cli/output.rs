//! How the CLI speaks: a `Printer` for messages on stderr (quiet / default / verbose, colour
//! only on a terminal and never with `NO_COLOR`), and `CliError`, an error with a hint.

use std::io::{IsTerminal, Write};

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
                    Err(CliError::new(format!("cannot write to stdout: {error}")))
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
