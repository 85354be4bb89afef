//! `retrain queue`: manual retrain requests for the next `run`.

use serde_json::json;

use super::existing_store;
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::cli::{QueueAction, QueueArgs};
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::output::Table;
use crate::store::NewJob;
use crate::triggers::TriggerKind;

pub fn run(resolved: &Resolved, args: &QueueArgs) -> anyhow::Result<u8> {
    let mut store = existing_store(resolved)?;
    match &args.action {
        QueueAction::Add { symbol, regime, priority, reason } => {
            if reason.trim().is_empty() {
                return Err(Failure::Usage("--reason: say why, it is recorded with the job".into()).into());
            }
            let job = NewJob {
                symbol: symbol.to_string(),
                regime: *regime,
                trigger: TriggerKind::Manual,
                reason: reason.clone(),
                priority: *priority,
                severity: None,
            };
            let id = store.queue_job(&job, wall_millis())?;
            println!(
                "queued request {id}: retrain {symbol} {regime} ({priority} priority) at the next `retrain run`"
            );
        }
        QueueAction::List { json } => {
            let queued = store.requests()?;
            if *json {
                let rows: Vec<_> = queued
                    .iter()
                    .map(|j| json!({"id": j.id, "symbol": j.symbol, "regime": j.regime, "priority": j.priority, "reason": j.reason, "requested_at": format_rfc3339(j.requested_at)}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&json!({"queued": rows}))?);
            } else if queued.is_empty() {
                println!("no requests are waiting");
            } else {
                let mut table = Table::new(["ID", "SYMBOL", "REGIME", "PRIORITY", "REQUESTED", "REASON"]);
                for j in &queued {
                    table.row(vec![
                        j.id.to_string(),
                        j.symbol.clone(),
                        j.regime.to_string(),
                        j.priority.to_string(),
                        format_minute(j.requested_at),
                        j.reason.clone(),
                    ]);
                }
                print!("{}", table.render());
            }
        }
        QueueAction::Cancel { id } => {
            if !store.cancel_job(*id)? {
                return Err(Failure::Usage(format!(
                    "no waiting request {id}: `retrain queue list` shows the ones that can be cancelled"
                ))
                .into());
            }
            println!("request {id} cancelled");
        }
    }
    Ok(code::OK)
}
