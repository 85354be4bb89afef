//! One module per command: each reads what it needs, calls the core, writes, prints.

mod collect;
mod drift_check;
mod evaluate;
mod features;
mod init;
mod sample_data;
mod status;
mod train;
mod versions;

use std::path::Path;

use crate::artifact::{self, Loaded};
use crate::candles::Interval;
use crate::candles::time::TimeParser;
use crate::cli::{Cli, Command};
use crate::config::{self, Regime, Resolved};
use crate::error::Failure;
use crate::evaluation::score::{self, Requested, View};
use crate::store::{Store, VersionRow};

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
        Command::DriftCheck(args) => drift_check::run(&config::load(cli.config.as_deref())?, &args),
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

/// Load a version's artifact, verifying every checksum; the error names the file.
fn load_artifact(resolved: &Resolved, version: &VersionRow) -> anyhow::Result<Loaded> {
    artifact::load(&resolved.models_dir(), Path::new(&version.artifact_path), &version.sha256).map_err(|e| {
        anyhow::anyhow!(
            "{} {} v{}: the artifact fails its check: {e}",
            version.symbol,
            version.regime,
            version.version
        )
    })
}

/// The stored candles of a version's series, seen through the version: its features,
/// predictions and labels.
fn version_view(store: &Store, version: &VersionRow, loaded: &Loaded) -> anyhow::Result<(Interval, View)> {
    let interval: Interval = version.interval.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let candles = store.candles(&version.symbol, interval, None)?;
    let view = score::view(&candles, loaded).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((interval, view))
}

/// The window asked for by --from/--to or --window-days, if any.
fn requested_window(
    from: Option<&str>,
    to: Option<&str>,
    days: Option<u32>,
) -> Result<Option<Requested>, Failure> {
    let mut parser = TimeParser::new(None);
    let mut time =
        |flag: &str, text: &str| parser.parse(text).map_err(|e| Failure::Usage(format!("{flag}: {e}")));
    Ok(match (from, to, days) {
        (None, None, None) => None,
        (_, _, Some(days)) => Some(Requested::LastDays(days)),
        (from, to, None) => Some(Requested::Between(
            from.map(|t| time("--from", t)).transpose()?.unwrap_or(i64::MIN),
            to.map(|t| time("--to", t)).transpose()?.unwrap_or(i64::MAX),
        )),
    })
}
