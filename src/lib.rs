//! retrain: keeps the machine-learning models of a trading system fresh without a person
//! in the loop. `main.rs` parses the command line and calls [`run`]; each command lives
//! in `commands/` and calls the lifecycle (`lifecycle/`: training, evaluation, drift,
//! deployment, the run's jobs, the status report), which works with the pure core
//! (`candles/`, `features/`, `model/`, `evaluation/`, `drift/`, `deploy/`, `triggers`)
//! and the state (`store/`, `artifact`).

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
pub mod kinds;
pub mod lifecycle;
pub mod lock;
pub mod model;
pub mod normal;
pub mod notify;
pub mod output;
pub mod replay;
pub mod rng;
pub mod schedule;
pub mod store;
pub mod symbol;
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
