//! Running the accessctl binary the way a workstation would, but sealed: a cleared environment
//! whose only endpoints are loopback ones (AWS through `AWS_ENDPOINT_URL`, clusters through
//! `KUBECONFIG`), dummy credentials, no terminal on stdin, no colour.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The dummy credentials the binary signs with (moto accepts any).
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

/// `accessctl` with AWS at `aws_endpoint` and clusters from `kubeconfig`; callers add the
/// arguments (and may override any variable, e.g. `AWS_REGION` or the credentials).
pub fn command(aws_endpoint: &str, kubeconfig: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_accessctl"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("KUBECONFIG", kubeconfig)
        .env("AWS_ENDPOINT_URL", aws_endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `command` with `args`.
pub fn run(mut command: Command, args: &[&str]) -> Output {
    command.args(args).output().expect("accessctl runs")
}

/// `accessctl ARGS` for an IAM-only file (no clusters: nothing reads the kubeconfig, and no real
/// one may be reached) against `aws_endpoint`, with `dir` as HOME, on a blocking thread: for
/// tests whose runtime serves a proxy in front of moto.
pub async fn run_iam_only(args: &[&str], aws_endpoint: &str, dir: &Path) -> Output {
    let mut command = self::command(aws_endpoint, &dir.join("no-kubeconfig"));
    command.env("HOME", dir).args(args);
    tokio::task::spawn_blocking(move || command.output().expect("accessctl runs"))
        .await
        .expect("accessctl task")
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The crate root: examples, fixtures and snapshots are addressed relative to it.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `accessctl` for an offline command, sealed like [`command`], run from the crate root so
/// paths in output are relative and stable: AWS points at a closed loopback port and the
/// kubeconfig does not exist, so a command that reaches out fails fast instead of leaving
/// the machine.
pub fn offline() -> Command {
    let mut command = self::command(
        "http://127.0.0.1:9",
        &std::env::temp_dir().join("accessctl-no-kubeconfig"),
    );
    command.current_dir(root());
    command
}

/// Exit code, stdout and stderr of `accessctl ARGS` in the form pinned by insta snapshots.
pub fn transcript(args: &[&str], output: &Output) -> String {
    format!(
        "$ accessctl {}\nexit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        args.join(" "),
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every test that starts the binary goes through this module: no test file outside
/// tests/support names the binary's path, so none can run it with the developer's
/// environment (AWS_*, KUBECONFIG, a terminal) or from wherever `cargo test` was started.
#[test]
fn only_the_sealed_helper_starts_the_binary() {
    fn visit(dir: &Path, found: &mut Vec<String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{dir:?}: {error}"));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                if !path.ends_with("tests/support") {
                    visit(&path, found);
                }
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|error| panic!("{path:?}: {error}"));
                // Split so that this file does not name it either.
                let needle = concat!("CARGO_BIN", "_EXE");
                for (number, line) in text.lines().enumerate() {
                    if line.contains(needle) {
                        found.push(format!(
                            "{}:{}: {}",
                            path.display(),
                            number + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    visit(&root().join("tests"), &mut found);
    assert!(
        found.is_empty(),
        "start the binary through tests/support/binary.rs (binary::offline(), \
         binary::command(..)), not directly:\n{}",
        found.join("\n")
    );
}
