//! `retrain status`: the status report rendered as a table (`text`), as JSON, or as
//! Prometheus gauges (`prometheus`); one symbol's detail as text (`detail`) or JSON;
//! `--check` for probes. The lifecycle builds the report once; nothing here reads the
//! store.

mod detail;
mod prometheus;
pub(super) mod text;

use crate::candles::time::wall_millis;
use crate::cli::StatusArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::lifecycle::{detail as model_detail, status};
use crate::output::Paint;
use crate::store::Store;

pub fn run(resolved: &Resolved, args: &StatusArgs) -> anyhow::Result<u8> {
    let mut store = Store::open(&resolved.database())?;
    let now = wall_millis();
    if args.check {
        let health = status::health(resolved, &store, now)?;
        if health.healthy {
            println!("healthy");
            return Ok(code::OK);
        }
        for p in &health.problems {
            println!("unhealthy: {p}");
        }
        return Ok(code::RUNTIME);
    }
    if let Some(symbol) = &args.symbol {
        let detail = model_detail::detail(&store, symbol, args.regime)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&detail)?);
        } else {
            print!("{}", detail::render(&detail, args.regime));
        }
        return Ok(code::OK);
    }
    let report = status::report(resolved, &mut store, now)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.prometheus {
        print!("{}", prometheus::render(&report));
    } else {
        print!("{}", text::render(resolved, &report, Paint::stdout()));
    }
    Ok(code::OK)
}
