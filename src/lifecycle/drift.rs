//! Drift: a version's recent features, predictions and labels against its training
//! reference (stored, with a `model_drift` alert when asked), or two files' shared numeric
//! columns against each other.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;

use super::{RaisedAlert, load_artifact, version_view};
use crate::artifact::Loaded;
use crate::candles::time::format_minute;
use crate::config::{Resolved, Severity};
use crate::drift::{self, Column, Report};
use crate::error::Failure;
use crate::evaluation::score::{self, Requested, View};
use crate::ingest::table;
use crate::kinds::AlertKind;
use crate::store::{NewAlert, Store, VersionRow};

/// A version's drift on a window.
pub struct Measured {
    /// Open times of the window's first and last bar.
    pub window: (i64, i64),
    /// Bars of the window in the version's regime with complete features.
    pub rows: usize,
    /// Rows the reference was drawn from.
    pub reference_rows: usize,
    /// Rows of the reference sample.
    pub reference_sample: usize,
    /// `None` when no bar of the window is in the regime with complete features.
    pub report: Option<Report>,
    pub alert: Option<RaisedAlert>,
}

/// Measure a version's drift on `requested` against its reference; with `record_it`,
/// store the report at `now` and, with `alert_it`, raise a `model_drift` alert at medium
/// or more.
pub fn measure(
    resolved: &Resolved,
    store: &mut Store,
    version: &VersionRow,
    requested: Requested,
    record_it: bool,
    alert_it: bool,
    now: i64,
) -> anyhow::Result<Measured> {
    let loaded = load_artifact(resolved, version)?;
    let view = version_view(store, version, &loaded)?;
    measure_on(resolved, store, version, (&loaded, &view), requested, record_it, alert_it, now)
}

/// [`measure`] with the version's artifact loaded and its view of the candles computed
/// (predicting at least the bars of `requested`).
#[allow(clippy::too_many_arguments)]
pub fn measure_on(
    resolved: &Resolved,
    store: &mut Store,
    version: &VersionRow,
    (loaded, view): (&Loaded, &View),
    requested: Requested,
    record_it: bool,
    alert_it: bool,
    now: i64,
) -> anyhow::Result<Measured> {
    let settings = &resolved.settings;
    let window = score::window(&view.table.open_time, requested, 0)
        .map_err(|e| Failure::Usage(format!("drift-check: {e}")))?;
    let times = &view.table.open_time;
    let (from, to) = (times[window.start], times[window.end - 1]);
    let rows: Vec<usize> = window.clone().filter(|&i| view.predictions[i].is_some()).collect();
    let reference = &loaded.reference;
    let mut measured = Measured {
        window: (from, to),
        rows: rows.len(),
        reference_rows: reference.training_rows,
        reference_sample: reference.sample.first().map_or(0, Vec::len),
        report: None,
        alert: None,
    };
    if rows.is_empty() {
        return Ok(measured);
    }
    let importance = loaded.manifest.importance.as_ref().map(|i| i.impurity.as_slice());
    let report = drift::model::against_reference(view, reference, importance, &rows, &settings.drift);
    if record_it {
        store.insert_drift_report(version.id, (from, to), &report, now)?;
        if let Some(severity) = report.severity.filter(|s| alert_it && *s >= Severity::Medium) {
            let message = format!(
                "{} {} v{}: {severity} drift on {} .. {}: {} of {} features drift ({:.0}%){}",
                version.symbol,
                version.regime,
                version.version,
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
                kind: AlertKind::ModelDrift,
                severity,
                symbol: version.symbol.clone(),
                regime: Some(version.regime),
                version_id: Some(version.id),
                message: message.clone(),
                details: json!({"window": [from, to], "share_drifted": report.share_drifted}),
                created_at: now,
            })?;
            measured.alert = Some(RaisedAlert { raised, message });
        }
    }
    measured.report = Some(report);
    Ok(measured)
}

/// Two files' numeric columns compared.
pub struct BetweenFiles {
    /// The columns compared, in the reference's order.
    pub columns: Vec<String>,
    pub only_in_reference: Vec<String>,
    pub only_in_current: Vec<String>,
    pub report: Report,
}

/// Every numeric column the two files share (or only `columns`), the reference's sample
/// against the current one.
pub fn between_files(
    resolved: &Resolved,
    reference_path: &Path,
    current_path: &Path,
    columns: Option<&[String]>,
) -> anyhow::Result<BetweenFiles> {
    let reference = table::read_numeric(reference_path)?;
    let current = table::read_numeric(current_path)?;
    let reference_names: BTreeSet<&str> = reference.iter().map(|(n, _)| n.as_str()).collect();
    let current_names: BTreeSet<&str> = current.iter().map(|(n, _)| n.as_str()).collect();
    let wanted: Vec<String> = match columns {
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
            columns.to_vec()
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
    let features = drift::features(&inputs, &resolved.settings.drift);
    let report = drift::report(features, None, None, &resolved.settings.drift);
    let only = |names: &BTreeSet<&str>, other: &BTreeSet<&str>| -> Vec<String> {
        names.difference(other).map(|n| n.to_string()).collect()
    };
    Ok(BetweenFiles {
        only_in_reference: only(&reference_names, &current_names),
        only_in_current: only(&current_names, &reference_names),
        columns: wanted,
        report,
    })
}
