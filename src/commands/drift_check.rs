//! `retrain drift-check`: a model's recent features, predictions and labels against its
//! training reference, or two files against each other.

use std::collections::BTreeSet;

use serde_json::json;

use super::{existing_store, load_artifact, parse_regime, requested_window, version_view};
use crate::candles::time::{format_minute, format_rfc3339, now_millis};
use crate::cli::{DriftCheckArgs, SeverityArg};
use crate::config::{Resolved, Severity};
use crate::drift::{self, Column, FeatureDrift, Report};
use crate::error::{Failure, code};
use crate::evaluation::score::{self, Requested};
use crate::ingest::table;
use crate::output::Table;
use crate::store::{NewAlert, Raised, Store, VersionRow, severity_name};

pub fn run(resolved: &Resolved, args: &DriftCheckArgs) -> anyhow::Result<u8> {
    let report = match (&args.reference, &args.current) {
        (Some(reference), Some(current)) => ad_hoc(resolved, args, reference, current)?,
        _ => model(resolved, args)?,
    };
    let Some(severity) = report else { return Ok(code::OK) };
    let fail_on = args.fail_on.map(|f| match f {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    });
    Ok(match (fail_on, severity) {
        (Some(limit), Some(found)) if found >= limit => code::DRIFT,
        _ => code::OK,
    })
}

/// The model mode; returns the overall severity, or `None` when there was nothing to measure.
fn model(resolved: &Resolved, args: &DriftCheckArgs) -> anyhow::Result<Option<Option<Severity>>> {
    let settings = &resolved.settings;
    let symbol = args.symbol.as_deref().unwrap_or_default();
    let regime = parse_regime(args.regime.as_deref().unwrap_or_default())?;
    let mut store = existing_store(resolved)?;
    let versions = store.versions(symbol, Some(regime))?;
    let version = match args.version {
        Some(n) => versions.iter().find(|v| v.version == n),
        None => versions.iter().find(|v| v.status == "production").or(versions.first()),
    }
    .ok_or_else(|| Failure::Usage(format!("no such version of {symbol} {regime}: train one first")))?;
    let requested = requested_window(args.from.as_deref(), args.to.as_deref(), args.window_days)?
        .unwrap_or(Requested::LastDays(settings.drift.window_days));
    let m = measure(resolved, &mut store, version, requested, true, true)?;
    let (from, to) = m.window;
    let title = format!(
        "drift of {symbol} {regime} v{} ({}) on {} .. {}",
        version.version,
        version.status,
        format_minute(from),
        format_minute(to)
    );
    let Some(report) = m.report else {
        println!(
            "{title}: no bar of the window is in the {regime} regime with complete features; nothing to compare"
        );
        return Ok(None);
    };
    let (rows, reference, alert) = (m.rows, m.reference, m.alert);
    if args.json {
        let doc = json!({
            "symbol": symbol,
            "regime": regime,
            "version": version.version,
            "window": {"from": format_rfc3339(from), "to": format_rfc3339(to), "rows": rows},
            "reference_rows": reference.0,
            "report": report,
            "alert": alert.as_ref().map(|(raised, message)| json!({"new": matches!(raised, Raised::New(_)), "message": message})),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{title}: {} bars of the regime vs the training reference ({} rows, sample of {})",
            rows, reference.0, reference.1
        );
        print_report(&report);
        if let Some((raised, message)) = &alert {
            let state = if matches!(raised, Raised::New(_)) { "raised" } else { "already open" };
            println!("alert {state}: {message}");
        }
    }
    Ok(Some(report.severity))
}

/// A model check, stored, with its alert.
pub(super) struct Measured {
    pub window: (i64, i64),
    pub rows: usize,
    /// (training rows, sample size) of the reference.
    pub reference: (usize, usize),
    /// `None` when no bar of the window is in the regime with complete features.
    pub report: Option<Report>,
    pub alert: Option<(Raised, String)>,
}

/// Measure a version's drift on `requested` against its reference; with `record_it`,
/// store the report and, with `alert_it`, raise a `model_drift` alert at medium or more.
pub(super) fn measure(
    resolved: &Resolved,
    store: &mut Store,
    version: &VersionRow,
    requested: Requested,
    record_it: bool,
    alert_it: bool,
) -> anyhow::Result<Measured> {
    let settings = &resolved.settings;
    let loaded = load_artifact(resolved, version)?;
    let (_, view) = version_view(store, version, &loaded)?;
    let window = score::window(&view.table.open_time, requested, 0)
        .map_err(|e| Failure::Usage(format!("drift-check: {e}")))?;
    let times = &view.table.open_time;
    let (from, to) = (times[window.start], times[window.end - 1]);
    let rows: Vec<usize> = window.clone().filter(|&i| view.predictions[i].is_some()).collect();
    if rows.is_empty() {
        return Ok(Measured {
            window: (from, to),
            rows: 0,
            reference: Default::default(),
            report: None,
            alert: None,
        });
    }

    let reference = &loaded.reference;
    let (symbol, regime) = (&version.symbol, &version.regime);
    let report = drift::model::against_reference(&view, reference, &rows, &settings.drift);

    let now = now_millis();
    let mut alert = None;
    if !record_it {
        let reference = (reference.training_rows, reference.sample.first().map_or(0, Vec::len));
        return Ok(Measured { window: (from, to), rows: rows.len(), reference, report: Some(report), alert });
    }
    store.insert_drift_report(version.id, (from, to), &report, now)?;
    if let Some(severity) = report.severity.filter(|s| alert_it && *s >= Severity::Medium) {
        let message = format!(
            "{symbol} {regime} v{}: {} drift on {} .. {}: {} of {} features drift ({:.0}%){}",
            version.version,
            severity_name(severity),
            format_minute(from),
            format_minute(to),
            report.drifted_features,
            report.features.len(),
            100.0 * report.share_drifted,
            report
                .prediction
                .as_ref()
                .and_then(|p| p.psi)
                .map_or(String::new(), |psi| format!(", prediction PSI {psi:.3}"))
        );
        let raised = store.raise_alert(&NewAlert {
            kind: "model_drift".into(),
            severity,
            symbol: symbol.to_string(),
            regime: regime.to_string(),
            version_id: Some(version.id),
            message: message.clone(),
            details: json!({"window": [from, to], "share_drifted": report.share_drifted}).to_string(),
            created_at: now,
        })?;
        alert = Some((raised, message));
    }
    let reference = (reference.training_rows, reference.sample.first().map_or(0, Vec::len));
    Ok(Measured { window: (from, to), rows: rows.len(), reference, report: Some(report), alert })
}

/// The ad hoc mode: every shared numeric column (or those named) of two files.
fn ad_hoc(
    resolved: &Resolved,
    args: &DriftCheckArgs,
    reference_path: &std::path::Path,
    current_path: &std::path::Path,
) -> anyhow::Result<Option<Option<Severity>>> {
    let reference = table::read_numeric(reference_path)?;
    let current = table::read_numeric(current_path)?;
    let reference_names: BTreeSet<&str> = reference.iter().map(|(n, _)| n.as_str()).collect();
    let current_names: BTreeSet<&str> = current.iter().map(|(n, _)| n.as_str()).collect();
    let wanted: Vec<String> = match &args.columns {
        Some(columns) => {
            for column in columns {
                for (names, path) in [(&reference_names, reference_path), (&current_names, current_path)] {
                    if !names.contains(column.as_str()) {
                        return Err(Failure::Usage(format!(
                            "--columns: {} has no numeric column {column:?} (it has: {})",
                            path.display(),
                            names.iter().copied().collect::<Vec<_>>().join(", ")
                        ))
                        .into());
                    }
                }
            }
            columns.clone()
        }
        None => {
            reference.iter().map(|(n, _)| n.clone()).filter(|n| current_names.contains(n.as_str())).collect()
        }
    };
    if wanted.is_empty() {
        return Err(Failure::Usage(format!(
            "{} and {} share no numeric column (reference: {}; current: {})",
            reference_path.display(),
            current_path.display(),
            reference_names.iter().copied().collect::<Vec<_>>().join(", "),
            current_names.iter().copied().collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    let find = |table: &[(String, Vec<f64>)], name: &str| -> Vec<f64> {
        table.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    let pairs: Vec<(String, Vec<f64>, Vec<f64>)> =
        wanted.iter().map(|name| (name.clone(), find(&reference, name), find(&current, name))).collect();
    let inputs: Vec<Column> = pairs
        .iter()
        .map(|(n, r, c)| Column { name: n.clone(), reference: r, current: c, edges: None })
        .collect();
    let features: Vec<FeatureDrift> = drift::features(&inputs, &resolved.settings.drift);
    let report = drift::report(features, None, None, &resolved.settings.drift);
    let only = |names: &BTreeSet<&str>, other: &BTreeSet<&str>| -> Vec<String> {
        names.difference(other).map(|n| n.to_string()).collect()
    };
    if args.json {
        let doc = json!({
            "reference": reference_path.display().to_string(),
            "current": current_path.display().to_string(),
            "only_in_reference": only(&reference_names, &current_names),
            "only_in_current": only(&current_names, &reference_names),
            "report": report,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "drift of {} against {}: {} shared numeric columns",
            current_path.display(),
            reference_path.display(),
            wanted.len()
        );
        let missing = [only(&reference_names, &current_names), only(&current_names, &reference_names)];
        if args.columns.is_none() && missing.iter().any(|m| !m.is_empty()) {
            println!(
                "  left out: only in the reference: {}; only in the current: {}",
                if missing[0].is_empty() { "-".into() } else { missing[0].join(", ") },
                if missing[1].is_empty() { "-".into() } else { missing[1].join(", ") }
            );
        }
        print_report(&report);
    }
    Ok(Some(report.severity))
}

fn cell(value: Option<f64>, digits: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn p_cell(value: Option<f64>) -> String {
    match value {
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        other => cell(other, 4),
    }
}

fn print_report(report: &Report) {
    let mut table =
        Table::new(["FEATURE", "PSI", "KS", "P-VALUE", "JS", "WASSERSTEIN", "DRIFTED", "SEVERITY", "NOTE"]);
    for f in report.features.iter().chain(report.prediction.as_ref()) {
        table.row(vec![
            f.name.clone(),
            cell(f.psi, 4),
            cell(f.ks_statistic, 4),
            p_cell(f.ks_p_value),
            cell(f.js_distance, 4),
            cell(f.wasserstein, 4),
            if f.drifted { "yes".into() } else { "no".into() },
            f.severity.map_or("-".into(), |s| severity_name(s).into()),
            f.note.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", table.render());
    if let Some(label) = &report.label {
        println!(
            "labels: {:.1}% up in training ({} rows), {:.1}% now ({} rows), two-proportion p {}: {}",
            100.0 * label.reference_rate,
            label.reference_rows,
            100.0 * label.current_rate,
            label.current_rows,
            p_cell(Some(label.p_value)),
            if label.drifted { "the base rate moved" } else { "no significant change" }
        );
    }
    println!(
        "dataset: {} of {} features drift ({:.0}%): {}; severity {}",
        report.drifted_features,
        report.features.len(),
        100.0 * report.share_drifted,
        if report.dataset_drift { "dataset drift" } else { "no dataset drift" },
        report.severity.map_or("none", severity_name)
    );
}
