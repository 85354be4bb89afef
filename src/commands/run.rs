//! `retrain run`: the cron entry point. The work is the lifecycle's: this reads the
//! instant to act at (the clock, or `--now`) and whether to change anything.

use crate::candles::time::wall_millis;
use crate::cli::RunArgs;
use crate::config::Resolved;
use crate::lifecycle::run::{self, Options};

pub fn run(resolved: &Resolved, args: &RunArgs) -> anyhow::Result<u8> {
    let options = Options {
        now: args.now.unwrap_or_else(wall_millis),
        dry_run: args.dry_run,
        worker_only: args.worker_only,
    };
    run::run(resolved, options)
}
