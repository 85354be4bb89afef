//! `retrain prune --keep N`: delete the artifact files of old archived versions (see
//! `lifecycle::prune`).

use crate::candles::time::wall_millis;
use crate::cli::PruneArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::lifecycle::prune;

pub fn run(resolved: &Resolved, args: &PruneArgs) -> anyhow::Result<u8> {
    let report = prune::prune(resolved, args.keep, args.dry_run, wall_millis())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(code::OK);
    }
    let verb = if args.dry_run { "would prune" } else { "pruned" };
    for p in &report.pruned {
        println!(
            "{verb} {} {} v{}: {} files, {}",
            p.symbol,
            p.regime,
            p.version,
            p.files,
            megabytes(p.bytes)
        );
    }
    for why in &report.protected {
        println!("kept {why}");
    }
    let freed = report.bytes_before - report.bytes_after;
    println!(
        "{verb} {} version(s), {}: the artifacts {} {} to {} (keeping the newest {} archived of each model)",
        report.pruned.len(),
        megabytes(freed),
        if args.dry_run { "would go from" } else { "went from" },
        megabytes(report.bytes_before),
        megabytes(report.bytes_after),
        report.keep
    );
    Ok(code::OK)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
