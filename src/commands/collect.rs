//! `retrain collect`: candles from a file or an exchange, or trade outcomes from a CSV.

use crate::candles::time::wall_millis;
use crate::cli::{CollectArgs, Source};
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::lifecycle::collect::{self, Input, Request, resolved_line};
use crate::output::event;

pub fn run(resolved: &Resolved, args: &CollectArgs) -> anyhow::Result<u8> {
    if let Some(path) = &args.trades {
        event(&collect::collect_trades(resolved, path)?);
        return Ok(code::OK);
    }
    let Some(symbol) = &args.symbol else {
        return Err(Failure::Usage("--symbol: say which market the candles are of".into()).into());
    };
    let interval = args.interval.unwrap_or(resolved.settings.data.interval);
    let input = match (&args.file, args.source) {
        (Some(path), _) => {
            Input::File { path, format: args.format, time_format: args.time_format.as_deref() }
        }
        (None, Some(Source::Binance)) => {
            Input::Binance { days: args.days, base_url: args.base_url.as_deref() }
        }
        (None, None) => {
            return Err(Failure::Usage("collect needs --file, --source or --trades".into()).into());
        }
    };
    let request = Request { symbol, interval, input, resample: args.resample };
    let collected = collect::collect(
        resolved,
        &request,
        &super::actor(),
        args.now.unwrap_or_else(wall_millis),
        &mut |line| event(line),
    )?;
    event(&collected.summary);
    for note in &collected.notes {
        println!("  note: {note}");
    }
    if collected.resolved.signals > 0 {
        let stored = args.resample.unwrap_or(interval);
        event(&resolved_line(symbol, stored, collected.resolved));
    }
    for done in &collected.rolled_back {
        event(done);
    }
    Ok(code::OK)
}
