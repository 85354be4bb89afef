//! `retrain alerts`: the open alerts (or all), acknowledge one, resolve one.

use serde_json::json;

use super::existing_store;
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::cli::{AlertAction, AlertsArgs};
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::output::Table;

pub fn run(resolved: &Resolved, args: &AlertsArgs) -> anyhow::Result<u8> {
    let mut store = existing_store(resolved)?;
    let missing =
        |id: i64| Failure::Usage(format!("no open alert {id}: `retrain alerts` lists the open ones"));
    match &args.action {
        Some(AlertAction::Ack { id }) => {
            if !store.acknowledge_alert(*id, wall_millis())? {
                return Err(missing(*id).into());
            }
            println!("alert {id} acknowledged; it stays open until resolved");
        }
        Some(AlertAction::Resolve { id, resolution }) => {
            if resolution.trim().is_empty() {
                return Err(Failure::Usage("--resolution: say how it was resolved".into()).into());
            }
            if !store.resolve_alert(*id, resolution, wall_millis())? {
                return Err(missing(*id).into());
            }
            println!("alert {id} resolved: {resolution}");
        }
        None => {
            let alerts = store.alerts(args.all)?;
            if args.json {
                let rows: Vec<_> = alerts
                    .iter()
                    .map(|a| {
                        json!({
                            "id": a.id,
                            "kind": a.kind,
                            "severity": a.severity,
                            "symbol": a.symbol,
                            "regime": a.regime,
                            "message": a.message,
                            "created_at": format_rfc3339(a.created_at),
                            "acknowledged_at": a.acknowledged_at.map(format_rfc3339),
                            "resolved_at": a.resolved_at.map(format_rfc3339),
                            "resolution": a.resolution,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&json!({"alerts": rows}))?);
            } else if alerts.is_empty() {
                println!("{}", if args.all { "no alerts yet" } else { "no open alerts" });
            } else {
                let mut table = Table::new(["ID", "RAISED (UTC)", "SEVERITY", "KIND", "STATE", "MESSAGE"]);
                for a in &alerts {
                    let state = match (a.resolved_at, a.acknowledged_at) {
                        (Some(_), _) => format!("resolved: {}", a.resolution.as_deref().unwrap_or("")),
                        (None, Some(_)) => "acknowledged".into(),
                        (None, None) => "open".into(),
                    };
                    table.row(vec![
                        a.id.to_string(),
                        format_minute(a.created_at),
                        a.severity.to_string(),
                        a.kind.to_string(),
                        state,
                        a.message.clone(),
                    ]);
                }
                print!("{}", table.render());
            }
        }
    }
    Ok(code::OK)
}
