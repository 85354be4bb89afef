//! `retrain report`: the fleet as one self-contained web page. The lifecycle gathers the
//! report ([`crate::lifecycle::report`]); `html` lays it out, tables rendered here and
//! charts drawn in the browser by uPlot, inlined with the data, so that the page opens
//! from a CI artifact or `file://` with no network.

mod html;
mod replay;

use crate::candles::time::wall_millis;
use crate::cli::ReportArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::lifecycle::existing_store;
use crate::lifecycle::report::{self, Options};
use crate::output::write_atomic;

pub fn run(resolved: &Resolved, args: &ReportArgs) -> anyhow::Result<u8> {
    if !args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
    {
        return Err(Failure::Usage(format!(
            "--out {}: the report is one HTML page; name a .html file",
            args.out.display()
        ))
        .into());
    }
    // Read the replay first: a bad file changes nothing.
    let replay = args.replay.as_deref().map(replay::read).transpose()?;
    let mut store = existing_store(resolved)?;
    let options = Options { symbol: args.symbol.as_ref().map(|s| s.to_string()), days: args.days };
    let report = report::report(resolved, &mut store, wall_millis(), &options)?;
    let page = html::page(resolved, &report, replay.as_ref())?;
    write_atomic(&args.out, page.as_bytes())?;
    println!(
        "wrote {} ({} models, {} days of history{}, {:.0} kB)",
        args.out.display(),
        report.models.len(),
        report.days,
        replay.as_ref().map_or(String::new(), |r| format!(", a replay of {} policies", r.policies.len())),
        page.len() as f64 / 1e3
    );
    Ok(code::OK)
}
