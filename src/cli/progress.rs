//! Progress on stderr for the slow phases (reading live state, applying): one line, redrawn in
//! place with a spinner, cleared when the phase ends. Only when stderr is a terminal and not
//! `-q`: in a pipeline or a redirect nothing is written, so stderr holds only messages and
//! stdout only data.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Printer;
use super::output::Verbosity;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK: Duration = Duration::from_millis(100);
/// Erase the current line and return to its start.
const CLEAR: &str = "\r\x1b[2K";

/// Whether progress is shown: a terminal on stderr, and not `-q`.
pub fn enabled(verbosity: Verbosity, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && verbosity > Verbosity::Quiet
}

/// The line drawn for `message` at spinner frame `frame`.
pub fn line(frame: usize, message: &str) -> String {
    format!("{CLEAR}{} {message}", FRAMES[frame % FRAMES.len()])
}

struct Shared {
    message: Mutex<String>,
    stop: AtomicBool,
}

/// A spinner line on stderr; a no-op when disabled. Dropping it clears the line.
pub struct Progress {
    shared: Option<Arc<Shared>>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl Progress {
    pub fn new(printer: &Printer) -> Self {
        if enabled(printer.verbosity, std::io::stderr().is_terminal()) {
            Self::start()
        } else {
            Self::disabled()
        }
    }

    pub fn disabled() -> Self {
        Progress {
            shared: None,
            ticker: Mutex::new(None),
        }
    }

    fn start() -> Self {
        let shared = Arc::new(Shared {
            message: Mutex::new(String::new()),
            stop: AtomicBool::new(false),
        });
        let ticking = shared.clone();
        let ticker = std::thread::spawn(move || {
            let mut frame = 0;
            while !ticking.stop.load(Ordering::SeqCst) {
                let message = ticking
                    .message
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if !message.is_empty() {
                    let mut stderr = std::io::stderr().lock();
                    let _ = write!(stderr, "{}", line(frame, &message));
                    let _ = stderr.flush();
                }
                frame += 1;
                std::thread::sleep(TICK);
            }
        });
        Progress {
            shared: Some(shared),
            ticker: Mutex::new(Some(ticker)),
        }
    }

    /// Shows `message` (e.g. `reading cluster demo…`) from the next tick.
    pub fn phase(&self, message: impl Into<String>) {
        if let Some(shared) = &self.shared {
            *shared
                .message
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = message.into();
        }
    }

    /// Stops the spinner and clears its line, so the next message starts on a clean line.
    pub fn finish(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        shared.stop.store(true, Ordering::SeqCst);
        let ticker = self
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(ticker) = ticker {
            let _ = ticker.join();
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "{CLEAR}");
            let _ = stderr.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_only_on_a_terminal_and_not_quiet() {
        assert!(enabled(Verbosity::Default, true));
        assert!(enabled(Verbosity::Verbose, true));
        assert!(!enabled(Verbosity::Quiet, true));
        assert!(!enabled(Verbosity::Default, false));
    }

    #[test]
    fn a_line_redraws_in_place_with_the_next_frame() {
        assert_eq!(line(0, "reading IAM…"), "\r\x1b[2K⠋ reading IAM…");
        assert_eq!(line(1, "x"), "\r\x1b[2K⠙ x");
        assert_eq!(line(FRAMES.len(), "x"), line(0, "x"));
    }

    #[test]
    fn disabled_progress_does_nothing() {
        let progress = Progress::disabled();
        progress.phase("applying 1/2…");
        progress.finish();
        assert!(progress.shared.is_none());
    }
}
