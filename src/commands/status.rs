//! `retrain status`: what the store holds, per symbol and interval.

use serde_json::json;

use crate::candles::time::{format_minute, format_rfc3339};
use crate::cli::StatusArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::output::Table;
use crate::store::Store;

pub fn run(resolved: &Resolved, args: &StatusArgs) -> anyhow::Result<u8> {
    let store = Store::open(&resolved.database_path())?;
    let series = store.series_summaries()?;
    let trades = store.trade_outcome_counts()?;
    if args.json {
        let series: Vec<_> = series
            .iter()
            .map(|s| {
                json!({
                    "symbol": s.symbol,
                    "interval": s.interval,
                    "candles": s.candles,
                    "first_open_time": format_rfc3339(s.first_open_time),
                    "last_open_time": format_rfc3339(s.last_open_time),
                    "gaps": s.gaps,
                    "missing_bars": s.missing_bars,
                    "last_collect": s.last_collect.as_ref().map(|c| json!({
                        "at": format_rfc3339(c.finished_at),
                        "source": c.source,
                        "inserted": c.inserted,
                        "updated": c.updated,
                        "quality_score": c.quality_score,
                    })),
                })
            })
            .collect();
        let trades: Vec<_> = trades
            .iter()
            .map(|(symbol, count, last)| json!({"symbol": symbol, "count": count, "last_closed_at": format_rfc3339(*last)}))
            .collect();
        let doc = json!({
            "database": store.path().display().to_string(),
            "series": series,
            "trade_outcomes": trades,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(code::OK);
    }

    if series.is_empty() {
        println!("no candles yet: add some with `retrain collect --symbol S --interval I --file PATH`");
    } else {
        let mut table =
            Table::new(["SYMBOL", "INTERVAL", "CANDLES", "FIRST", "LAST", "GAPS", "MISSING", "LAST COLLECT"]);
        for s in &series {
            let last_collect = s.last_collect.as_ref().map_or("-".to_string(), |c| {
                format!(
                    "{} (+{} ~{}, quality {:.3})",
                    format_minute(c.finished_at),
                    c.inserted,
                    c.updated,
                    c.quality_score
                )
            });
            table.row(vec![
                s.symbol.clone(),
                s.interval.clone(),
                s.candles.to_string(),
                format_minute(s.first_open_time),
                format_minute(s.last_open_time),
                s.gaps.to_string(),
                s.missing_bars.to_string(),
                last_collect,
            ]);
        }
        print!("{}", table.render());
    }
    if !trades.is_empty() {
        println!();
        let mut table = Table::new(["SYMBOL", "TRADE OUTCOMES", "LAST CLOSED"]);
        for (symbol, count, last) in &trades {
            table.row(vec![symbol.clone(), count.to_string(), format_minute(*last)]);
        }
        print!("{}", table.render());
    }
    Ok(code::OK)
}
