//! The `statescope` binary: parses the command line, runs the command or the terminal UI,
//! and turns every error into one line on stderr with a meaningful exit code.

use std::process::ExitCode;

use clap::Parser;
use statescope::cli::{self, Cli, Command, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::View { file }) => statescope::ui::run(&cli.schema, file.as_deref()),
        Some(command) => cli::run(&cli, command),
        None => statescope::ui::run(&cli.schema, cli.file.as_deref()),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ProblemsFound) => ExitCode::from(1),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("statescope: error: {}", one_line(&error));
            ExitCode::from(2)
        }
    }
}

/// A reader that closed the pipe early (`| head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
