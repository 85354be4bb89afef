//! `retrain versions`: a symbol's model versions, newest first per regime.

use serde_json::json;

use super::existing_store;
use crate::artifact::{self, Manifest};
use crate::candles::time::{format_minute, format_rfc3339};
use crate::cli::VersionsArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::evaluation::Record;
use crate::output::Table;

/// The checksum state of a version whose files `prune` deleted.
const PRUNED: &str = "pruned";

pub fn run(resolved: &Resolved, args: &VersionsArgs) -> anyhow::Result<u8> {
    let store = existing_store(resolved)?;
    let versions = store.versions(&args.symbol, args.regime)?;
    let models = resolved.models()?;
    // A pruned version has no files left to check.
    let checked: Vec<Result<Manifest, String>> = versions
        .iter()
        .map(|v| match v.pruned_at {
            Some(_) => Err(PRUNED.to_string()),
            None => artifact::verify(&models, &v.artifact_path, &v.sha256),
        })
        .collect();

    if args.json {
        let rows: Vec<_> = versions
            .iter()
            .zip(&checked)
            .map(|(v, check)| {
                json!({
                    "symbol": v.symbol,
                    "regime": v.regime,
                    "version": v.version,
                    "status": v.status,
                    "interval": v.interval,
                    "model": v.model_kind,
                    "hyperparameters": serde_json::from_str::<serde_json::Value>(&v.hyperparameters).unwrap_or_default(),
                    "created_at": format_rfc3339(v.created_at),
                    "train": {"from": format_rfc3339(v.train.0), "to": format_rfc3339(v.train.1)},
                    "validation": {"from": format_rfc3339(v.validation.0), "to": format_rfc3339(v.validation.1)},
                    "test": {"from": format_rfc3339(v.test.0), "to": format_rfc3339(v.test.1)},
                    "latest_evaluation": v.latest_evaluation.as_ref().map(|e| json!({"kind": e.kind, "metrics": e.record})),
                    "artifact": models.locate(&v.artifact_path),
                    "sha256": v.sha256,
                    "checksum": match check { Ok(_) => "ok".to_string(), Err(e) => e.clone() },
                    "pruned_at": v.pruned_at.map(format_rfc3339),
                    "importance": args.importance.then(|| ranked(check).map(|rows| {
                        rows.iter().map(|(feature, impurity, permutation)| json!({
                            "feature": feature, "impurity": impurity, "permutation": permutation,
                        })).collect::<Vec<_>>()
                    })),
                    "calibration": check.as_ref().ok().map(|m| calibration_json(m, args.calibration)),
                    "refreshed": check.as_ref().ok().and_then(|m| m.refreshed.as_ref()),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"versions": rows}))?);
        return Ok(code::OK);
    }
    if versions.is_empty() {
        println!(
            "no versions of {} yet: train one with `retrain train --symbol {} --regime R`",
            args.symbol, args.symbol
        );
        return Ok(code::OK);
    }
    let mut table = Table::new([
        "REGIME",
        "VERSION",
        "STATUS",
        "INTERVAL",
        "MODEL",
        "TRAINED",
        "TEST WINDOW",
        "EVAL",
        "F1",
        "AUC",
        "CHECKSUM",
    ]);
    for (v, check) in versions.iter().zip(&checked) {
        let (kind, f1, auc) = match &v.latest_evaluation {
            Some(e) => match e.record {
                Record { classification: Some(m), .. } => (
                    e.kind.to_string(),
                    format!("{:.3}", m.f1),
                    m.roc_auc.map_or("-".into(), |a| format!("{a:.3}")),
                ),
                _ => (e.kind.to_string(), "-".into(), "-".into()),
            },
            None => ("-".into(), "-".into(), "-".into()),
        };
        table.row(vec![
            v.regime.to_string(),
            format!("v{}", v.version),
            v.status.to_string(),
            v.interval.to_string(),
            v.model_kind.as_str().to_string(),
            format_minute(v.created_at),
            format!("{} .. {}", format_minute(v.test.0), format_minute(v.test.1)),
            kind,
            f1,
            auc,
            match check {
                Ok(_) => "ok".into(),
                Err(e) if e == PRUNED => PRUNED.into(),
                Err(_) => "FAILED".into(),
            },
        ]);
    }
    print!("{}", table.render());
    for (v, check) in versions.iter().zip(&checked) {
        if let Err(problem) = check
            && problem != PRUNED
        {
            println!("  {} v{}: {problem}", v.regime, v.version);
        }
    }
    if args.importance {
        for (v, check) in versions.iter().zip(&checked) {
            println!();
            match ranked(check) {
                Some(rows) => {
                    println!(
                        "{} {} v{}: what the model uses, most important first",
                        v.symbol, v.regime, v.version
                    );
                    let mut table = Table::new(["FEATURE", "IMPURITY", "PERMUTATION"]);
                    for (feature, impurity, permutation) in rows {
                        table.row(vec![
                            feature.to_string(),
                            format!("{impurity:.4}"),
                            format!("{permutation:+.4}"),
                        ]);
                    }
                    print!("{}", table.render());
                }
                None if check.is_err() => {
                    println!("{} {} v{}: the artifact fails its check", v.symbol, v.regime, v.version)
                }
                None => println!(
                    "{} {} v{}: no importances (trained before versions kept them)",
                    v.symbol, v.regime, v.version
                ),
            }
        }
    }
    if args.calibration {
        for (v, check) in versions.iter().zip(&checked) {
            println!();
            let title = format!("{} {} v{}", v.symbol, v.regime, v.version);
            match check {
                Ok(manifest) => print_calibration(&title, manifest),
                Err(_) => println!("{title}: the artifact fails its check"),
            }
        }
    }
    Ok(code::OK)
}

/// The calibration's method and expected calibration errors; with `tables`, the map and
/// both reliability tables too.
fn calibration_json(manifest: &Manifest, tables: bool) -> serde_json::Value {
    let method = manifest.calibration.as_ref().map_or("none", |c| c.method().as_str());
    let reliability = manifest.reliability.as_ref();
    let mut doc = json!({
        "method": method,
        "test_ece_before": reliability.map(|r| r.before.ece),
        "test_ece_after": reliability.map(|r| r.after.ece),
    });
    if tables {
        doc["map"] = json!(manifest.calibration);
        doc["test_reliability"] = json!(reliability);
    }
    doc
}

fn print_calibration(title: &str, manifest: &Manifest) {
    let method = manifest.calibration.as_ref().map_or("none", |c| c.method().as_str());
    let Some(reliability) = &manifest.reliability else {
        println!("{title}: calibration {method}; no reliability kept (trained before versions kept it)");
        return;
    };
    println!(
        "{title}: calibration {method}, expected calibration error on the test rows {:.4} before, {:.4} after",
        reliability.before.ece, reliability.after.ece
    );
    let mut table = Table::new([
        "P(UP)",
        "ROWS",
        "PREDICTED",
        "OBSERVED",
        "ROWS AFTER",
        "PREDICTED AFTER",
        "OBSERVED AFTER",
    ]);
    for k in 0..crate::model::calibrate::BINS {
        let find = |bins: &[crate::model::calibrate::Bin]| {
            bins.iter().find(|b| (b.from * 10.0).round() as usize == k).copied()
        };
        let (before, after) = (find(&reliability.before.bins), find(&reliability.after.bins));
        if before.is_none() && after.is_none() {
            continue;
        }
        let cells = |b: Option<crate::model::calibrate::Bin>| match b {
            Some(b) => {
                [b.rows.to_string(), format!("{:.3}", b.mean_predicted), format!("{:.3}", b.observed_rate)]
            }
            None => ["0".to_string(), "-".to_string(), "-".to_string()],
        };
        let mut row = vec![format!("{:.1}-{:.1}", k as f64 / 10.0, (k + 1) as f64 / 10.0)];
        row.extend(cells(before));
        row.extend(cells(after));
        table.row(row);
    }
    print!("{}", table.render());
}

/// A version's features with their impurity and permutation importance, by impurity
/// first; `None` when the artifact fails its check or predates importances.
fn ranked(manifest: &Result<Manifest, String>) -> Option<Vec<(&str, f64, f64)>> {
    let manifest = manifest.as_ref().ok()?;
    let importance = manifest.importance.as_ref()?;
    let mut rows: Vec<(&str, f64, f64)> = manifest
        .features
        .iter()
        .zip(importance.impurity.iter().zip(&importance.permutation))
        .map(|(name, (impurity, permutation))| (name.as_str(), *impurity, *permutation))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(b.0)));
    Some(rows)
}
