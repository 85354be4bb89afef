//! One module per command: each reads what it needs, calls the core, writes, prints.

mod collect;
mod evaluate;
mod features;
mod init;
mod sample_data;
mod status;
mod train;
mod versions;

use crate::candles::Interval;
use crate::cli::{Cli, Command};
use crate::config::{self, Regime, Resolved};
use crate::error::Failure;
use crate::store::Store;

/// Resolve the settings once, then run the command; the `Ok` value is the exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Init => init::run(cli.config.as_deref()),
        Command::SampleData(args) => sample_data::run(&args),
        Command::Collect(args) => collect::run(&config::load(cli.config.as_deref())?, &args),
        Command::Status(args) => status::run(&config::load(cli.config.as_deref())?, &args),
        Command::Features(args) => features::run(&config::load(cli.config.as_deref())?, &args),
        Command::Train(args) => train::run(&config::load(cli.config.as_deref())?, &args),
        Command::Evaluate(args) => evaluate::run(&config::load(cli.config.as_deref())?, &args),
        Command::Versions(args) => versions::run(&config::load(cli.config.as_deref())?, &args),
    }
}

/// `--interval`, or the config's default interval.
fn interval_or_default(resolved: &Resolved, flag: Option<&str>) -> Result<Interval, Failure> {
    match flag {
        Some(text) => text.parse().map_err(|e| Failure::Usage(format!("--interval: {e}"))),
        None => Ok(resolved.default_interval()),
    }
}

fn parse_regime(text: &str) -> Result<Regime, Failure> {
    text.parse().map_err(|e| Failure::Usage(format!("--regime: {e}")))
}

/// Open the store if it exists; a read command on a fresh folder has nothing to read.
fn existing_store(resolved: &Resolved) -> anyhow::Result<Store> {
    let path = resolved.database_path();
    if !path.exists() {
        return Err(Failure::Usage(format!(
            "no database at {}: run `retrain init` and `retrain collect` first",
            path.display()
        ))
        .into());
    }
    Store::open(&path)
}
