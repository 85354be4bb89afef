//! The `retrain` binary: parse the command line, run it, turn the outcome into an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = retrain::cli::Cli::parse();
    retrain::run(cli)
}
