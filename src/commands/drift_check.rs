//! `retrain drift-check`: a model's recent features, predictions and labels against its
//! training reference, or two files against each other.

use serde_json::json;

use super::{existing_store, requested_window};
use crate::candles::time::{format_minute, format_rfc3339, wall_millis};
use crate::cli::DriftCheckArgs;
use crate::config::{DriftMethod, Resolved, Severity};
use crate::drift::Report;
use crate::error::{Failure, code};
use crate::evaluation::score::Requested;
use crate::kinds::VersionStatus;
use crate::lifecycle::drift;
use crate::output::Table;

pub fn run(resolved: &Resolved, args: &DriftCheckArgs) -> anyhow::Result<u8> {
    let report = match (&args.reference, &args.current, &args.symbol, args.regime) {
        (Some(reference), Some(current), ..) => between_files(resolved, args, reference, current)?,
        (_, _, Some(symbol), Some(regime)) => model(resolved, args, symbol, regime)?,
        _ => {
            return Err(Failure::Usage(
                "drift-check needs --symbol and --regime, or --reference and --current".into(),
            )
            .into());
        }
    };
    let Some(severity) = report else { return Ok(code::OK) };
    Ok(match (args.fail_on, severity) {
        (Some(limit), Some(found)) if found >= limit => code::DRIFT,
        _ => code::OK,
    })
}

/// The model mode; returns the overall severity, or `None` when there was nothing to measure.
fn model(
    resolved: &Resolved,
    args: &DriftCheckArgs,
    symbol: &str,
    regime: crate::config::Regime,
) -> anyhow::Result<Option<Option<Severity>>> {
    let settings = &resolved.settings;
    let mut store = existing_store(resolved)?;
    let versions = store.versions(symbol, Some(regime))?;
    let version = match args.version {
        Some(n) => versions.iter().find(|v| v.version == n),
        None => versions.iter().find(|v| v.status == VersionStatus::Production).or(versions.first()),
    }
    .ok_or_else(|| Failure::Usage(format!("no such version of {symbol} {regime}: train one first")))?;
    let requested = requested_window(args.from, args.to, args.window_days)
        .unwrap_or(Requested::LastDays(settings.drift.window_days));
    let m = drift::measure(resolved, &mut store, version, requested, true, true, wall_millis())?;
    let (from, to) = m.window;
    let title = format!(
        "drift of {symbol} {regime} v{} ({}) on {} .. {}",
        version.version,
        version.status,
        format_minute(from),
        format_minute(to)
    );
    let Some(report) = &m.report else {
        println!(
            "{title}: no bar of the window is in the {regime} regime with complete features; nothing to compare"
        );
        return Ok(None);
    };
    if args.json {
        let doc = json!({
            "symbol": symbol,
            "regime": regime,
            "version": version.version,
            "window": {"from": format_rfc3339(from), "to": format_rfc3339(to), "rows": m.rows},
            "reference_rows": m.reference_rows,
            "report": report,
            "alert": m.alert.as_ref().map(|a| json!({"new": a.is_new(), "message": a.message})),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{title}: {} bars of the regime vs the training reference ({} rows, sample of {})",
            m.rows, m.reference_rows, m.reference_sample
        );
        print_report(report);
        if let Some(a) = &m.alert {
            println!("alert {}: {}", if a.is_new() { "raised" } else { "already open" }, a.message);
        }
    }
    Ok(Some(report.severity))
}

/// The ad hoc mode: every shared numeric column (or those named) of two files.
fn between_files(
    resolved: &Resolved,
    args: &DriftCheckArgs,
    reference_path: &std::path::Path,
    current_path: &std::path::Path,
) -> anyhow::Result<Option<Option<Severity>>> {
    let found = drift::between_files(resolved, reference_path, current_path, args.columns.as_deref())?;
    if args.json {
        let doc = json!({
            "reference": reference_path.display().to_string(),
            "current": current_path.display().to_string(),
            "only_in_reference": found.only_in_reference,
            "only_in_current": found.only_in_current,
            "report": found.report,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "drift of {} against {}: {} shared numeric columns",
            current_path.display(),
            reference_path.display(),
            found.columns.len()
        );
        let missing = [&found.only_in_reference, &found.only_in_current];
        if args.columns.is_none() && missing.iter().any(|m| !m.is_empty()) {
            let list =
                |names: &Vec<String>| if names.is_empty() { "-".to_string() } else { names.join(", ") };
            println!(
                "  left out: only in the reference: {}; only in the current: {}",
                list(missing[0]),
                list(missing[1])
            );
        }
        print_report(&found.report);
    }
    Ok(Some(found.report.severity))
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
    print_features(report);
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
    let weighted = report
        .weighted_share
        .map_or(String::new(), |w| format!(", {:.0}% of the model's importance", 100.0 * w));
    println!(
        "dataset: {} of {} features drift ({:.0}%{weighted}): {}; severity {} ({})",
        report.drifted_features,
        report.features.len(),
        100.0 * report.share_drifted,
        if report.dataset_drift { "dataset drift" } else { "no dataset drift" },
        report.severity.map_or("none", Severity::as_str),
        match report.method {
            DriftMethod::Calibrated => "calibrated",
            DriftMethod::Fixed => "fixed thresholds",
        }
    );
    if let Some(note) = &report.note {
        println!("note: {note}");
    }
}

/// Each feature's statistics; calibrated, also the limits its KS and PSI are judged
/// against and what the model uses of it.
fn print_features(report: &Report) {
    let calibrated = report.method == DriftMethod::Calibrated;
    let mut table = if calibrated {
        Table::new([
            "FEATURE",
            "IMPORTANCE",
            "KS",
            "KS LIMIT",
            "PSI",
            "PSI LIMIT",
            "P-VALUE",
            "JS",
            "WASSERSTEIN",
            "DRIFTED",
            "SEVERITY",
            "NOTE",
        ])
    } else {
        Table::new(["FEATURE", "PSI", "KS", "P-VALUE", "JS", "WASSERSTEIN", "DRIFTED", "SEVERITY", "NOTE"])
    };
    for f in report.features.iter().chain(report.prediction.as_ref()) {
        let mut cells = vec![f.name.clone()];
        if calibrated {
            cells.extend([
                cell(f.importance, 3),
                cell(f.ks_statistic, 4),
                cell(f.ks_threshold, 4),
                cell(f.psi, 4),
                cell(f.psi_threshold, 4),
            ]);
        } else {
            cells.extend([cell(f.psi, 4), cell(f.ks_statistic, 4)]);
        }
        cells.extend([
            p_cell(f.ks_p_value),
            cell(f.js_distance, 4),
            cell(f.wasserstein, 4),
            if f.drifted { "yes".into() } else { "no".into() },
            f.severity.map_or("-".into(), |s| s.as_str().into()),
            f.note.clone().unwrap_or_default(),
        ]);
        table.row(cells);
    }
    print!("{}", table.render());
}
