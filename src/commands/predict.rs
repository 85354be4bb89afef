//! `retrain predict`: the latest stored candle through the production model of its
//! regime (or the canary's arm), recorded as a signal.

use serde_json::json;

use super::existing_store;
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::cli::PredictArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::lifecycle::live;

pub fn run(resolved: &Resolved, args: &PredictArgs) -> anyhow::Result<u8> {
    let interval = args.interval.unwrap_or(resolved.settings.data.interval);
    let mut store = existing_store(resolved)?;
    let p =
        live::predict(resolved, &mut store, &args.symbol, interval, args.now.unwrap_or_else(wall_millis))?;
    // An earlier predict of the same bar recorded what it said then; that stands.
    let signal = match p.signal.position {
        1 => "long",
        -1 => "short",
        _ => "flat",
    };
    if args.json {
        let doc = json!({
            "symbol": args.symbol,
            "interval": interval,
            "bar": format_rfc3339(p.bar),
            "regime": p.regime,
            "version": p.version,
            "arm": p.arm,
            "probability_up": p.signal.probability,
            "threshold": p.rules.threshold,
            "signal": signal,
            "horizon_bars": p.horizon_bars,
            "signal_id": p.signal.id,
            "recorded": p.signal.new,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{} {interval} bar {}: regime {}, v{}{}, P(up) {:.4} (threshold {}): {signal}{}",
            args.symbol,
            format_minute(p.bar),
            p.regime,
            p.version,
            p.arm.map_or(String::new(), |arm| format!(" ({arm} of the canary test)")),
            p.signal.probability,
            p.rules.threshold,
            if p.signal.new {
                format!("; recorded, resolved by `collect` once {} later bars arrive", p.horizon_bars)
            } else {
                "; already recorded for this bar".to_string()
            }
        );
    }
    Ok(code::OK)
}
