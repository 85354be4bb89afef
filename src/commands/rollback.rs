//! `retrain rollback`: an earlier production version becomes production again.

use super::{actor, existing_store};
use crate::candles::time::wall_millis;
use crate::cli::RollbackArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::failpoint;
use crate::kinds::VersionStatus;
use crate::lifecycle::deploy;
use crate::store::Change;

pub fn run(resolved: &Resolved, args: &RollbackArgs) -> anyhow::Result<u8> {
    let (symbol, regime) = (&args.symbol, args.regime);
    if args.reason.trim().is_empty() {
        return Err(Failure::Usage("--reason: say why, it is recorded with the rollback".into()).into());
    }
    let mut store = existing_store(resolved)?;
    let versions = store.versions(symbol, Some(regime))?;
    let history = store.deployments(Some(symbol), Some(regime))?;
    let name = format!("{symbol} {regime}");
    let target = deploy::rollback_target(resolved, &versions, &history, args.to, &name)?;
    let current = versions.iter().find(|v| v.status == VersionStatus::Production);
    let change = Change {
        symbol: symbol.to_string(),
        regime,
        reason: args.reason.clone(),
        gates: None,
        forced: false,
        actor: actor(),
        at: wall_millis(),
    };
    let aborted = store.running_test(symbol, regime)?;
    store.rollback(target.id, current.map(|c| c.id), &change)?;
    failpoint::hit("rollback:committed");
    match current {
        Some(c) => println!("{name}: v{} is production again, v{} archived", target.version, c.version),
        None => println!("{name}: v{} is production again", target.version),
    }
    if let Some(test) = aborted {
        let challenger = versions.iter().find(|v| v.id == test.challenger_id).map_or(0, |v| v.version);
        println!("{name}: the canary test of v{challenger} was aborted and v{challenger} archived");
    }
    Ok(code::OK)
}
