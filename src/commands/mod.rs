//! One module per command: each reads its arguments, calls the lifecycle (or the core),
//! and renders the result. No command imports another; what two share lives in
//! `lifecycle/` or below.

mod alerts;
mod backup;
mod check;
mod collect;
mod drift_check;
mod evaluate;
mod features;
mod history;
mod init;
mod predict;
mod promote;
mod prune;
mod queue;
mod replay;
mod report;
mod restore;
mod rollback;
mod run;
mod sample_data;
mod schedule;
mod state;
mod status;
mod train;
mod versions;

use crate::cli::{Cli, Command, Configured};
use crate::config;
use crate::lifecycle::existing_store;

/// Resolve the settings once, then run the command; the `Ok` value is the exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let explicit = cli.config.as_deref();
    let command = match cli.command {
        // `init` writes the config it then reads; `sample-data` and `state` need none.
        Command::Init => return init::run(explicit),
        Command::SampleData(args) => return sample_data::run(&args),
        Command::State(args) => return state::run(&args),
        Command::Configured(command) => command,
    };
    let r = &config::load(explicit)?;
    match &command {
        Configured::Collect(args) => collect::run(r, args),
        Configured::Status(args) => status::run(r, args),
        Configured::Report(args) => report::run(r, args),
        Configured::Features(args) => features::run(r, args),
        Configured::Train(args) => train::run(r, args),
        Configured::Evaluate(args) => evaluate::run(r, args),
        Configured::DriftCheck(args) => drift_check::run(r, args),
        Configured::Versions(args) => versions::run(r, args),
        Configured::Promote(args) => promote::run(r, args),
        Configured::Rollback(args) => rollback::run(r, args),
        Configured::History(args) => history::run(r, args),
        Configured::Predict(args) => predict::run(r, args),
        Configured::Run(args) => run::run(r, args),
        Configured::Replay(args) => replay::run(r, args),
        Configured::Queue(args) => queue::run(r, args),
        Configured::Schedule(args) => schedule::run(r, args),
        Configured::Alerts(args) => alerts::run(r, args),
        Configured::Check(args) => check::run(r, args),
        Configured::Backup(args) => backup::run(r, args),
        Configured::Restore(args) => restore::run(r, args),
        Configured::Prune(args) => prune::run(r, args),
    }
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

/// The window asked for by --from/--to or --window-days, if any.
fn requested_window(
    from: Option<i64>,
    to: Option<i64>,
    days: Option<u32>,
) -> Option<crate::evaluation::score::Requested> {
    use crate::evaluation::score::Requested;
    match (from, to, days) {
        (None, None, None) => None,
        (_, _, Some(days)) => Some(Requested::LastDays(days)),
        (from, to, None) => Some(Requested::Between(from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX))),
    }
}
