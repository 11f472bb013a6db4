//! `accessctl completions <shell>`: a completion script on stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, CliError, EXIT_OK};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    pub shell: Shell,
}

pub fn run(args: &CompletionsArgs) -> Result<i32, CliError> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "accessctl",
        &mut std::io::stdout(),
    );
    Ok(EXIT_OK)
}
