//! `retrain versions`: a symbol's model versions, newest first per regime.

use serde_json::json;

use super::existing_store;
use crate::artifact;
use crate::candles::time::{format_minute, format_rfc3339};
use crate::cli::VersionsArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::evaluation::Record;
use crate::output::Table;

pub fn run(resolved: &Resolved, args: &VersionsArgs) -> anyhow::Result<u8> {
    let store = existing_store(resolved)?;
    let versions = store.versions(&args.symbol, args.regime)?;
    let models_dir = resolved.models_dir();
    let checked: Vec<Result<(), String>> = versions
        .iter()
        .map(|v| artifact::verify(&models_dir, std::path::Path::new(&v.artifact_path), &v.sha256).map(|_| ()))
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
                    "artifact": models_dir.join(&v.artifact_path).display().to_string(),
                    "sha256": v.sha256,
                    "checksum": match check { Ok(()) => "ok".to_string(), Err(e) => e.clone() },
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
            if check.is_ok() { "ok".into() } else { "FAILED".into() },
        ]);
    }
    print!("{}", table.render());
    for (v, check) in versions.iter().zip(&checked) {
        if let Err(problem) = check {
            println!("  {} v{}: {problem}", v.regime, v.version);
        }
    }
    Ok(code::OK)
}
