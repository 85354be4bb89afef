//! `retrain promote`: every gate against a candidate, then production (or a canary test)
//! in one transaction, or nothing at all.

use serde_json::json;

use super::{actor, champion_vs_challenger, existing_store, load_artifact, parse_regime, version_view};
use crate::candles::time::{format_minute, now_millis};
use crate::cli::PromoteArgs;
use crate::config::{Regime, Resolved};
use crate::deploy::gates::{self, Evidence, Gate, RecentDrift, Versus};
use crate::drift;
use crate::error::{Failure, code};
use crate::evaluation::Record;
use crate::evaluation::score::{self, Requested};
use crate::failpoint;
use crate::output::Table;
use crate::store::{Change, Store, VersionRow};

pub fn run(resolved: &Resolved, args: &PromoteArgs) -> anyhow::Result<u8> {
    let regime = parse_regime(&args.regime)?;
    if args.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Failure::Usage("--reason: say why, it is recorded with the deployment".into()).into());
    }
    if let Some(split) = args.canary.filter(|p| !(*p > 0.0 && *p < 100.0)) {
        return Err(
            Failure::Usage(format!("--canary {split}: a percent between 0 and 100, exclusive")).into()
        );
    }
    let mut store = existing_store(resolved)?;
    let versions = store.versions(&args.symbol, Some(regime))?;
    let candidate = pick(&versions, &args.symbol, regime, args.version)?;
    let champion = versions.iter().find(|v| v.status == "production");
    if args.canary.is_some() && champion.is_none() {
        return Err(Failure::Usage(format!(
            "{} {regime} has no production version to test v{} against: promote it without --canary",
            args.symbol, candidate.version
        ))
        .into());
    }
    if let Some(test) = store.running_test(&args.symbol, regime.as_str())? {
        let running = versions.iter().find(|v| v.id == test.challenger_id).map_or(0, |v| v.version);
        return Err(Failure::Refused(format!(
            "a canary test of {} {regime} v{running} is running: `retrain evaluate --canary` ends it once both arms \
             have deployment.canary.min_signals resolved signals, and `retrain rollback` aborts it; nothing changed",
            args.symbol
        ))
        .into());
    }

    let now = now_millis();
    let checked = check_gates(resolved, &store, candidate, champion, now)?;
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
            "{} {regime} v{} not promoted: {decision}",
            args.symbol, candidate.version
        ))
        .into());
    }

    let change = Change {
        symbol: args.symbol.clone(),
        regime: regime.to_string(),
        reason: args.reason.clone().unwrap_or_else(|| "every gate passed".into()),
        gates: Some(serde_json::to_string(&checked)?),
        forced: args.force,
        actor: actor(),
        at: now,
    };
    match (args.canary, champion) {
        (Some(split), Some(champion)) => {
            store.start_canary(candidate.id, champion.id, split, &change)?;
        }
        _ => {
            store.promote(candidate.id, champion.map(|c| c.id), &change)?;
        }
    }
    failpoint::hit("promote:committed");
    if !args.json {
        match (args.canary, champion) {
            (Some(split), Some(champion)) => println!(
                "{} {regime}: canary test started: v{} serves {split}% of predictions, v{} stays in production",
                args.symbol, candidate.version, champion.version
            ),
            (_, Some(champion)) => println!(
                "{} {regime}: v{} is production, v{} archived",
                args.symbol, candidate.version, champion.version
            ),
            _ => println!("{} {regime}: v{} is production", args.symbol, candidate.version),
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
        None => versions.iter().find(|v| v.status == "candidate").ok_or_else(|| {
            Failure::Usage(format!(
                "{symbol} {regime} has no candidate version: train one, or name an archived one with --version"
            ))
        })?,
    };
    match found.status.as_str() {
        "production" => {
            Err(Failure::Usage(format!("{symbol} {regime} v{} is already production", found.version)))
        }
        "canary" => Err(Failure::Usage(format!(
            "{symbol} {regime} v{} is in a canary test: `retrain evaluate --canary` ends it",
            found.version
        ))),
        _ => Ok(found),
    }
}

/// Gather the evidence and check every gate. The candidate's artifact must pass its
/// checksum (or the command is refused); the champion's is compared if it does.
pub(super) fn check_gates(
    resolved: &Resolved,
    store: &Store,
    candidate: &VersionRow,
    champion: Option<&VersionRow>,
    now: i64,
) -> anyhow::Result<Vec<Gate>> {
    let settings = &resolved.settings;
    let loaded = load_artifact(resolved, candidate)?;
    let (interval, view) = version_view(store, candidate, &loaded)?;
    let test: Record = match store.evaluation_of_kind(candidate.id, "test")? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} {} v{}: its stored test evaluation cannot be read: {e}",
                candidate.symbol,
                candidate.regime,
                candidate.version
            )
        })?,
        None => Record::default(),
    };

    let versus = match champion {
        None => Versus::FirstModel,
        Some(champion) => {
            let not_comparable =
                |why: String| Versus::NotComparable { champion_version: champion.version, why };
            if champion.interval != candidate.interval {
                not_comparable(format!(
                    "it trades {} candles, the candidate {}",
                    champion.interval, candidate.interval
                ))
            } else {
                match load_artifact(resolved, champion) {
                    Err(damaged) => not_comparable(damaged.to_string()),
                    Ok(champion_model) => {
                        let (_, champion_view) = version_view(store, champion, &champion_model)?;
                        match champion_vs_challenger(
                            settings,
                            interval,
                            (&champion_model, &champion_view),
                            (&loaded, &view),
                            Requested::Between(i64::MIN, i64::MAX),
                        ) {
                            Ok((_, comparison)) => {
                                Versus::Compared { champion_version: champion.version, comparison }
                            }
                            Err(why) => not_comparable(why),
                        }
                    }
                }
            }
        }
    };

    let days = settings.drift.window_days;
    let recent = score::window(&view.table.open_time, Requested::LastDays(days), 0)
        .map(|window| window.filter(|&i| view.predictions[i].is_some()).collect::<Vec<usize>>());
    let drift = match recent {
        Ok(rows) if !rows.is_empty() => {
            let report = drift::model::against_reference(&view, &loaded.reference, &rows, &settings.drift);
            report
                .features
                .iter()
                .filter_map(|f| f.ks_statistic.map(|ks| (ks, &f.name)))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map_or(RecentDrift::NotMeasured("no feature could be measured".into()), |(ks, name)| {
                    RecentDrift::Measured { max_ks: ks, feature: name.clone(), rows: rows.len() }
                })
        }
        Ok(_) => RecentDrift::NotMeasured(format!(
            "no bar of the last {days} days (drift.window_days) is in the {} regime",
            candidate.regime
        )),
        Err(why) => RecentDrift::NotMeasured(why),
    };
    let hours_since_deployment = store
        .last_deployment_at(&candidate.symbol, &candidate.regime)?
        .map(|at| (now - at) as f64 / 3_600_000.0);
    Ok(gates::check(&Evidence { test, versus, drift, hours_since_deployment }, &settings.gates))
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
