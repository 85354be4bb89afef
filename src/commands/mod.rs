//! One module per command: each reads what it needs, calls the core, writes, prints.

mod alerts;
mod collect;
mod drift_check;
mod evaluate;
mod features;
mod fleet;
mod history;
mod init;
mod live;
mod predict;
mod promote;
mod queue;
mod rollback;
mod run;
mod sample_data;
mod schedule;
mod status;
mod train;
mod versions;

use std::path::Path;

use crate::artifact::{self, Loaded};
use crate::candles::Interval;
use crate::candles::time::TimeParser;
use crate::cli::{Cli, Command};
use crate::config::{self, Regime, Resolved, Settings};
use crate::error::Failure;
use crate::evaluation::compare::Comparison;
use crate::evaluation::score::{self, Requested, View};
use crate::evaluation::versus;
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
        Command::Promote(args) => promote::run(&config::load(cli.config.as_deref())?, &args),
        Command::Rollback(args) => rollback::run(&config::load(cli.config.as_deref())?, &args),
        Command::History(args) => history::run(&config::load(cli.config.as_deref())?, &args),
        Command::Predict(args) => predict::run(&config::load(cli.config.as_deref())?, &args),
        Command::Run(args) => run::run(&config::load(cli.config.as_deref())?, &args),
        Command::Queue(args) => queue::run(&config::load(cli.config.as_deref())?, &args),
        Command::Schedule(args) => schedule::run(&config::load(cli.config.as_deref())?, &args),
        Command::Alerts(args) => alerts::run(&config::load(cli.config.as_deref())?, &args),
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

/// Load a version's artifact, verifying every checksum; a failure names the file and
/// refuses the command (exit 3): a damaged model is never used.
fn load_artifact(resolved: &Resolved, version: &VersionRow) -> Result<Loaded, Failure> {
    artifact::load(&resolved.models_dir(), Path::new(&version.artifact_path), &version.sha256).map_err(|e| {
        Failure::Refused(format!(
            "{} {} v{}: the artifact fails its check: {e}",
            version.symbol, version.regime, version.version
        ))
    })
}

/// Who changes what is live, for the deployment record: `$USER` (or `$LOGNAME`), else the
/// account of the process's user id, as `whoami` finds it (cron often sets no `$USER`).
fn actor() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(unix)]
fn account_name() -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes only into `entry` and `buffer`, whose sizes it is given,
    // and `found` points at `entry` (or is null) afterwards; the name is copied out
    // before either goes away.
    unsafe {
        let status =
            libc::getpwuid_r(libc::getuid(), &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found);
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        Some(std::ffi::CStr::from_ptr(entry.pw_name).to_string_lossy().into_owned())
    }
}

#[cfg(not(unix))]
fn account_name() -> Option<String> {
    None
}

/// Champion and challenger on the bars neither saw (after the later validation window
/// and its embargo) within `requested`: the shared window's first and last bar and the
/// comparison, or why the two share no such bar.
fn champion_vs_challenger(
    settings: &Settings,
    interval: Interval,
    champion: (&Loaded, &View),
    challenger: (&Loaded, &View),
    requested: Requested,
) -> Result<((i64, i64), Comparison), String> {
    let times = &challenger.1.table.open_time;
    let unseen = [champion.0, challenger.0]
        .iter()
        .map(|m| score::unseen_start(times, m.manifest.validation.to, m.manifest.label.horizon_bars as usize))
        .max()
        .unwrap_or(0);
    let (window, comparison) =
        versus::compare_views(settings, interval, champion.1, challenger.1, requested, unseen)?;
    Ok(((times[window.start], times[window.end - 1]), comparison))
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
