//! The command line: arguments (clap) and the commands they run.

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    0
}
