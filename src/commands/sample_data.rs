//! `retrain sample-data`: write the synthetic candle file used by the quickstart.

use crate::candles::time::format_minute;
use crate::cli::SampleDataArgs;
use crate::config::Regime;
use crate::error::{Failure, code};
use crate::output::write_atomic;
use crate::synth;

/// The most candles one file gets: ten years of minutes, about 500 MB of CSV.
const MAX_BARS: usize = 5_256_000;

pub fn run(args: &SampleDataArgs) -> anyhow::Result<u8> {
    let (interval, start) = (args.interval, args.start);
    // --days is 1 to 3650 (clap checks); the candles are bounded too, since a small
    // interval makes many of them a day, all held in memory.
    let bars = (i64::from(args.days) * 86_400_000 / interval.millis()) as usize;
    if bars > MAX_BARS {
        return Err(Failure::Usage(format!(
            "--days {} at {interval} is {bars} candles; at most {MAX_BARS} are generated at once",
            args.days
        ))
        .into());
    }
    let spec = synth::Spec { start: interval.bucket(start), interval, bars, seed: args.seed };
    let candles = synth::generate(&spec);
    write_atomic(&args.out, synth::to_csv(&candles).as_bytes())?;
    let counts: Vec<String> = Regime::ALL
        .iter()
        .map(|r| format!("{} {r}", candles.iter().filter(|c| c.regime == *r).count()))
        .collect();
    println!(
        "wrote {}: {} {interval} candles from {} (seed {}); regimes: {}",
        args.out.display(),
        candles.len(),
        format_minute(spec.start),
        args.seed,
        counts.join(", ")
    );
    Ok(code::OK)
}
