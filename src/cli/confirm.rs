//! Asking before apply: `yes` typed on a terminal, or `--auto-approve`. Without a terminal and
//! without the flag, apply refuses: a pipeline must say explicitly that it applies unreviewed.

use std::io::{BufRead, IsTerminal, Write};

use super::CliError;

/// Whether to go ahead; `Err` when there is no way to ask.
pub fn confirm(auto_approve: bool) -> Result<bool, CliError> {
    if auto_approve {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::new(
            "refusing to apply without confirmation: standard input is not a terminal",
        )
        .with_hint(
            "review the plan, then pass `--auto-approve` (pipelines apply a reviewed plan)",
        ));
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "\nDo you want to perform these actions?\n  Only `yes` will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|error| {
        CliError::new(format!(
            "cannot read the answer: {}",
            crate::words::io_reason(&error)
        ))
    })?;
    Ok(answer.trim() == "yes")
}
