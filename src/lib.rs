//! retrain: keeps the machine-learning models of a trading system fresh without a person
//! in the loop. `main.rs` parses the command line and calls [`run`]; each command lives
//! in `commands/`, the pure work in `candles/` (and its siblings), the state in `store/`.

pub mod artifact;
pub mod candles;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod drift;
pub mod env_vars;
pub mod error;
pub mod evaluation;
pub mod failpoint;
pub mod features;
pub mod ingest;
pub mod lock;
pub mod model;
pub mod notify;
pub mod output;
pub mod rng;
pub mod schedule;
pub mod store;
pub mod synth;
pub mod triggers;

use std::process::ExitCode;

/// Run a parsed command line and return the process's exit code.
pub fn run(cli: cli::Cli) -> ExitCode {
    match commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => error::report(&error),
    }
}
