//! `retrain promote`: every gate against a candidate, then production (or a canary test)
//! in one transaction, or nothing at all.

use serde_json::json;

use super::{actor, existing_store};
use crate::candles::time::{format_minute, wall_millis};
use crate::cli::PromoteArgs;
use crate::config::{Regime, Resolved};
use crate::deploy::gates::Gate;
use crate::error::{Failure, code};
use crate::failpoint;
use crate::kinds::VersionStatus;
use crate::lifecycle::deploy::{self, GoLive};
use crate::output::Table;
use crate::store::{Change, VersionRow};

pub fn run(resolved: &Resolved, args: &PromoteArgs) -> anyhow::Result<u8> {
    let (symbol, regime) = (&args.symbol, args.regime);
    if args.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Failure::Usage("--reason: say why, it is recorded with the deployment".into()).into());
    }
    if let Some(split) = args.canary.filter(|p| !(*p > 0.0 && *p < 100.0)) {
        return Err(
            Failure::Usage(format!("--canary {split}: a percent between 0 and 100, exclusive")).into()
        );
    }
    let mut store = existing_store(resolved)?;
    let versions = store.versions(symbol, Some(regime))?;
    let candidate = pick(&versions, symbol, regime, args.version)?;
    let champion = versions.iter().find(|v| v.status == VersionStatus::Production);
    if args.canary.is_some() && champion.is_none() {
        return Err(Failure::Usage(format!(
            "{symbol} {regime} has no production version to test v{} against: promote it without --canary",
            candidate.version
        ))
        .into());
    }
    if let Some(test) = store.running_test(symbol, regime)? {
        let running = versions.iter().find(|v| v.id == test.challenger_id).map_or(0, |v| v.version);
        return Err(Failure::Refused(format!(
            "a canary test of {symbol} {regime} v{running} is running: `retrain evaluate --canary` ends it once both arms \
             have deployment.canary.min_signals resolved signals, and `retrain rollback` aborts it; nothing changed"
        ))
        .into());
    }

    let now = wall_millis();
    let checked = deploy::check_gates(resolved, &store, candidate, champion, now)?;
    let passed = checked.iter().all(|g| g.passed);
    let failed: Vec<&str> = checked.iter().filter(|g| !g.passed).map(|g| g.name.as_str()).collect();
    let what = match args.canary {
        Some(split) => format!("a canary test of v{} on {split}% of predictions", candidate.version),
        None => format!("v{} to production", candidate.version),
    };
    let decision = match (passed, args.force, args.dry_run) {
        (_, _, true) if passed => "dry run: every gate passes; nothing changed".to_string(),
        (_, _, true) => {
            format!("dry run: {} gate(s) fail ({}); nothing changed", failed.len(), failed.join(", "))
        }
        (true, _, false) => format!("every gate passes: {what}"),
        (false, true, false) => {
            format!("forced past {} failing gate(s) ({}): {what}", failed.len(), failed.join(", "))
        }
        (false, false, false) => {
            format!("refused: {} gate(s) fail ({}); nothing changed", failed.len(), failed.join(", "))
        }
    };
    print_gates(args, candidate, champion, &checked, &decision)?;
    if args.dry_run {
        return Ok(if passed { code::OK } else { code::REFUSED });
    }
    if !passed && !args.force {
        return Err(Failure::Refused(format!(
            "{symbol} {regime} v{} not promoted: {decision}",
            candidate.version
        ))
        .into());
    }

    let change = Change {
        symbol: symbol.to_string(),
        regime,
        reason: args.reason.clone().unwrap_or_else(|| "every gate passed".into()),
        gates: Some(serde_json::to_value(&checked)?),
        forced: args.force,
        actor: actor(),
        at: now,
    };
    let how = args.canary.map_or(GoLive::Production, GoLive::Canary);
    deploy::go_live(resolved, &mut store, candidate, champion, how, &change)?;
    failpoint::hit("promote:committed");
    if !args.json {
        match (args.canary, champion) {
            (Some(split), Some(champion)) => println!(
                "{symbol} {regime}: canary test started: v{} serves {split}% of predictions, v{} stays in production",
                candidate.version, champion.version
            ),
            (_, Some(champion)) => {
                println!(
                    "{symbol} {regime}: v{} is production, v{} archived",
                    candidate.version, champion.version
                )
            }
            _ => println!("{symbol} {regime}: v{} is production", candidate.version),
        }
    }
    Ok(code::OK)
}

/// The version to promote: the one named, or the newest candidate.
fn pick<'a>(
    versions: &'a [VersionRow],
    symbol: &str,
    regime: Regime,
    wanted: Option<i64>,
) -> Result<&'a VersionRow, Failure> {
    let found = match wanted {
        Some(n) => versions
            .iter()
            .find(|v| v.version == n)
            .ok_or_else(|| Failure::Usage(format!("{symbol} {regime} has no version v{n}")))?,
        None => versions.iter().find(|v| v.status == VersionStatus::Candidate).ok_or_else(|| {
            Failure::Usage(format!(
                "{symbol} {regime} has no candidate version: train one, or name an archived one with --version"
            ))
        })?,
    };
    match found.status {
        VersionStatus::Production => {
            Err(Failure::Usage(format!("{symbol} {regime} v{} is already production", found.version)))
        }
        VersionStatus::Canary => Err(Failure::Usage(format!(
            "{symbol} {regime} v{} is in a canary test: `retrain evaluate --canary` ends it",
            found.version
        ))),
        _ => Ok(found),
    }
}

fn print_gates(
    args: &PromoteArgs,
    candidate: &VersionRow,
    champion: Option<&VersionRow>,
    checked: &[Gate],
    decision: &str,
) -> anyhow::Result<()> {
    if args.json {
        let doc = json!({
            "symbol": candidate.symbol,
            "regime": candidate.regime,
            "candidate": candidate.version,
            "production": champion.map(|c| c.version),
            "gates": checked,
            "passed": checked.iter().all(|g| g.passed),
            "dry_run": args.dry_run,
            "forced": args.force,
            "canary": args.canary,
            "decision": decision,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "gates for {} {} v{} (trained {}) against {}:",
        candidate.symbol,
        candidate.regime,
        candidate.version,
        format_minute(candidate.created_at),
        champion.map_or("no production version".to_string(), |c| format!("production v{}", c.version))
    );
    let mut table = Table::new(["GATE", "VALUE", "RULE", "THRESHOLD", "VERDICT", "NOTE"]);
    for g in checked {
        let value = match g.value {
            Some(v) if g.name == "min_trades" => format!("{v:.0}"),
            Some(v) if g.name == "cooldown_hours" => format!("{v:.1}"),
            Some(v) => format!("{v:.4}"),
            None => "-".into(),
        };
        table.row(vec![
            g.name.clone(),
            value,
            g.rule.clone(),
            format!("{}", g.threshold),
            if g.passed { "pass".into() } else { "FAIL".into() },
            g.note.clone(),
        ]);
    }
    print!("{}", table.render());
    println!("{decision}");
    Ok(())
}
