//! The status report as Prometheus gauges (text exposition format 0.0.4), for
//! node_exporter's textfile collector.

use std::fmt::Write;

use crate::config::Severity;
use crate::lifecycle::status::{ModelRow, StatusReport};

/// A label value in the exposition format: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The report as Prometheus gauges (text exposition format 0.0.4).
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP retrain_{name} {help}");
        let _ = writeln!(out, "# TYPE retrain_{name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "retrain_{name}{labels} {value}");
        }
    };
    let model = |m: &ModelRow| format!("{{symbol=\"{}\",regime=\"{}\"}}", label(&m.symbol), m.regime);
    let per_model = |f: &dyn Fn(&ModelRow) -> Option<f64>| -> Vec<(String, f64)> {
        report.models.iter().filter_map(|m| f(m).map(|v| (model(m), v))).collect()
    };
    gauge(
        "model_production_version",
        "Production version number, 0 without one.",
        per_model(&|m| Some(m.production.unwrap_or(0) as f64)),
    );
    gauge(
        "model_production_age_seconds",
        "Age of the production version.",
        per_model(&|m| m.production_age_days.map(|d| d * 86_400.0)),
    );
    gauge(
        "model_test_metric",
        "The gate metric (evaluation.metric) of the production version on its test window.",
        per_model(&|m| m.production_test_metric),
    );
    gauge(
        "model_live_win_rate",
        "Win rate of live trades since the promotion.",
        per_model(&|m| m.live_win_rate),
    );
    gauge(
        "model_live_signals",
        "Resolved live signals since the promotion.",
        per_model(&|m| Some(m.live_signals as f64)),
    );
    gauge(
        "model_drift_severity",
        "Severity of the last drift report: 0 none, 1 low, 2 medium, 3 high, 4 critical.",
        per_model(&|m| m.drift.as_ref().map(|d| f64::from(Severity::rank(d.severity)))),
    );
    gauge(
        "model_needs_retrain",
        "1 when run would retrain the model now.",
        per_model(&|m| Some(f64::from(u8::from(m.needs_retrain.is_some())))),
    );
    gauge(
        "open_alerts",
        "Open alerts by severity.",
        Severity::ALL
            .iter()
            .map(|s| (format!("{{severity=\"{s}\"}}"), report.open_alerts.get(*s) as f64))
            .collect(),
    );
    gauge(
        "jobs_finished",
        "Finished jobs among the newest status.recent_jobs.",
        vec![(String::new(), report.jobs.finished as f64)],
    );
    gauge(
        "jobs_succeeded",
        "Succeeded jobs among the newest status.recent_jobs.",
        vec![(String::new(), report.jobs.succeeded as f64)],
    );
    if let Some(at) = report.health.last_successful_run {
        gauge(
            "last_successful_run_timestamp_seconds",
            "When the last run with no failed job or collect ended.",
            vec![(String::new(), at as f64 / 1000.0)],
        );
    }
    gauge(
        "healthy",
        "1 when status --check passes.",
        vec![(String::new(), f64::from(u8::from(report.health.healthy)))],
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped_as_the_exposition_format_asks() {
        assert_eq!(super::label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(super::label("x\ny"), r"x\ny");
        assert_eq!(super::label("BTCUSDT"), "BTCUSDT");
    }
}
