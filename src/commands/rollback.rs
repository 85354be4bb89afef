//! `retrain rollback`: an earlier production version becomes production again.

use super::{actor, existing_store, load_artifact, parse_regime};
use crate::candles::time::now_millis;
use crate::cli::RollbackArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::failpoint;
use crate::store::Change;

pub fn run(resolved: &Resolved, args: &RollbackArgs) -> anyhow::Result<u8> {
    let regime = parse_regime(&args.regime)?;
    if args.reason.trim().is_empty() {
        return Err(Failure::Usage("--reason: say why, it is recorded with the rollback".into()).into());
    }
    let mut store = existing_store(resolved)?;
    let versions = store.versions(&args.symbol, Some(regime))?;
    let history = store.deployments(Some(&args.symbol), Some(regime.as_str()))?;
    let current = versions.iter().find(|v| v.status == "production");
    let name = format!("{} {regime}", args.symbol);
    let target_version = match args.to {
        Some(n) => n,
        None => {
            // The version the current one replaced when it was promoted. Rows of earlier
            // rollbacks are skipped, so that rolling back twice walks further back instead
            // of returning to the version just rolled away from.
            let current = current.ok_or_else(|| {
                Failure::Refused(format!("{name} has no production version: nothing to roll back"))
            })?;
            history
                .iter()
                .rev()
                .find(|d| {
                    d.to_version == Some(current.version)
                        && d.from_version != d.to_version
                        && d.action != "rollback"
                })
                .and_then(|d| d.from_version)
                .ok_or_else(|| {
                    Failure::Refused(format!(
                        "{name} v{} is the first production version: there is none before it to roll back to",
                        current.version
                    ))
                })?
        }
    };
    let target = versions
        .iter()
        .find(|v| v.version == target_version)
        .ok_or_else(|| Failure::Usage(format!("{name} has no version v{target_version}")))?;
    if target.status == "production" {
        return Err(Failure::Usage(format!("{name} v{target_version} is already production")).into());
    }
    let was_live = history.iter().any(|d| d.to_version == Some(target_version));
    if !was_live || target.status != "archived" {
        return Err(Failure::Refused(format!(
            "{name} v{target_version} ({}) was never in production: `retrain promote --version {target_version}` \
             puts it there through the gates",
            target.status
        ))
        .into());
    }
    load_artifact(resolved, target)?;
    let change = Change {
        symbol: args.symbol.clone(),
        regime: regime.to_string(),
        reason: args.reason.clone(),
        gates: None,
        forced: false,
        actor: actor(),
        at: now_millis(),
    };
    let aborted = store.running_test(&args.symbol, regime.as_str())?;
    store.rollback(target.id, current.map(|c| c.id), &change)?;
    failpoint::hit("rollback:committed");
    match current {
        Some(c) => println!("{name}: v{target_version} is production again, v{} archived", c.version),
        None => println!("{name}: v{target_version} is production again"),
    }
    if let Some(test) = aborted {
        let challenger = versions.iter().find(|v| v.id == test.challenger_id).map_or(0, |v| v.version);
        println!("{name}: the canary test of v{challenger} was aborted and v{challenger} archived");
    }
    Ok(code::OK)
}
