//! The status report as tables for a person: models, queue, running jobs, jobs, alerts,
//! health, data; colours only when [`Paint`] says so.

use std::fmt::Write;

use crate::candles::time::format_minute;
use crate::config::{Resolved, Severity};
use crate::kinds::JobStatus;
use crate::lifecycle::assess::Keeping;
use crate::lifecycle::status::{LastCollect, ModelRow, StatusReport};
use crate::output::{Paint, Table};

/// A duration in days, hours or minutes, for ages.
fn age(days: f64) -> String {
    if days >= 1.0 {
        format!("{days:.1}d")
    } else if days * 24.0 >= 1.0 {
        format!("{:.1}h", days * 24.0)
    } else {
        format!("{:.0}m", days * 24.0 * 60.0)
    }
}

fn days_between(from: i64, to: i64) -> f64 {
    (to - from) as f64 / 86_400_000.0
}

/// The whole report as text.
pub fn render(resolved: &Resolved, report: &StatusReport, paint: Paint) -> String {
    let mut out = String::new();
    render_models(&mut out, resolved, report, paint);
    render_sections(&mut out, report, paint);
    render_data(&mut out, report, paint);
    out
}

fn render_models(out: &mut String, resolved: &Resolved, report: &StatusReport, paint: Paint) {
    if report.models.is_empty() {
        let _ = writeln!(
            out,
            "no models yet: list the markets to keep fresh under `symbols:` in config.yaml, or train one by hand"
        );
        let _ = writeln!(out);
        return;
    }
    let header = model_header(report);
    let mut table = Table::new(header.each_ref().map(String::as_str));
    for m in &report.models {
        table.row(model_cells(resolved, report, m, paint));
    }
    out.push_str(&table.render());
    for m in
        report.models.iter().filter(|m| m.production.is_none() && m.candidate.is_none() && m.canary.is_none())
    {
        if m.keeping == Keeping::Configured && m.test_history.is_empty() {
            let _ = writeln!(out, "  {} {}: no version yet", m.symbol, m.regime);
        }
    }
    for m in &report.models {
        for note in &m.notes {
            let _ = writeln!(out, "  {} {}: {note}", m.symbol, m.regime);
        }
    }
    for note in &report.left_out {
        let _ = writeln!(out, "  {note}");
    }
    let _ = writeln!(out);
}

/// The header of the models' table.
pub(crate) fn model_header(report: &StatusReport) -> [String; 10] {
    [
        "MODEL".into(),
        "PROD".into(),
        "AGE".into(),
        "NEXT".into(),
        "LAST JOB".into(),
        format!("TEST {}", report.metric.as_str().to_uppercase()),
        "LIVE".into(),
        "DRIFT".into(),
        "NEXT RUN".into(),
        "NEEDS RETRAIN".into(),
    ]
}

/// One model's cells, as the terminal shows them and the web page of `report` colours
/// them.
pub(crate) fn model_cells(
    resolved: &Resolved,
    report: &StatusReport,
    m: &ModelRow,
    paint: Paint,
) -> Vec<String> {
    let triggers = &resolved.settings.triggers;
    let now = report.at;
    let next = match (&m.canary, m.candidate) {
        (Some(c), _) => format!("canary v{} {}%", c.version, c.traffic_split),
        (None, Some(v)) => format!("candidate v{v}"),
        _ => "-".into(),
    };
    let last_job = m.last_job.as_ref().map_or("-".to_string(), |j| {
        let failed = if j.status == JobStatus::Failed { paint.red(" FAILED") } else { String::new() };
        format!("{} {}{failed}", age(days_between(j.at, now)), j.trigger)
    });
    vec![
        format!("{} {}", m.symbol, m.regime),
        m.production.map_or("-".into(), |v| format!("v{v}")),
        m.production_age_days.map_or("-".into(), age),
        next,
        last_job,
        test_cell(m, paint),
        live_cell(m, triggers.min_signals as usize, triggers.min_win_rate, paint),
        m.drift.as_ref().map_or("-".to_string(), |d| {
            let name = d.severity.map_or("none", Severity::as_str);
            let text = format!("{name} {}", age(days_between(d.at, now)));
            d.severity.map_or(text.clone(), |s| paint.severity(s.as_str(), &text))
        }),
        m.next_scheduled.map_or("-".into(), format_minute),
        needs_cell(m, paint),
    ]
}

/// Production's test metric, then the trend over the newest versions (and their
/// sparkline on a terminal).
fn test_cell(m: &ModelRow, paint: Paint) -> String {
    let value = m.production_test_metric.map_or("-".to_string(), |v| format!("{v:.3}"));
    match m.trend {
        Some(t) if paint.on => {
            let t = match t {
                "improving" => paint.green(t),
                "declining" => paint.red(t),
                _ => t.to_string(),
            };
            format!("{value} {} {t}", m.sparkline)
        }
        Some(t) => format!("{value} {t}"),
        None => value,
    }
}

fn live_cell(m: &ModelRow, min_signals: usize, min_win_rate: f64, paint: Paint) -> String {
    match m.live_win_rate {
        Some(r) => {
            let text = format!("{:.0}% of {}", 100.0 * r, m.live_signals);
            if m.live_signals >= min_signals && r < min_win_rate { paint.red(&text) } else { text }
        }
        None if m.live_signals > 0 => format!("no trade in {}", m.live_signals),
        None => "-".into(),
    }
}

fn needs_cell(m: &ModelRow, paint: Paint) -> String {
    match &m.needs_retrain {
        Some(reason) if reason.contains("(urgent)") => paint.red(reason),
        Some(reason) => paint.yellow(reason),
        None => match m.backoff_until {
            Some(until) => {
                paint.dim(&format!("no: drift and decay backed off until {}", format_minute(until)))
            }
            None => paint.dim("no"),
        },
    }
}

fn render_sections(out: &mut String, report: &StatusReport, paint: Paint) {
    if !report.queue.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("QUEUE"));
        for j in &report.queue {
            let _ = writeln!(out, "  {} {} {} ({}): {}", j.id, j.symbol, j.regime, j.priority, j.reason);
        }
    }
    for j in &report.running {
        let eta = match j.usual_seconds {
            Some(a) if a > j.elapsed_seconds => {
                format!(", about {:.0} s left (usually {a:.0} s)", a - j.elapsed_seconds)
            }
            Some(a) => format!(", over its usual {a:.0} s"),
            None => String::new(),
        };
        let holder = match (&j.worker, j.lease_seconds_left) {
            (Some(worker), Some(left)) if left >= 0.0 => format!(" on {worker}, lease {left:.0} s left"),
            (Some(worker), Some(left)) => {
                format!(" on {worker}, whose lease ran out {:.0} s ago: the next worker takes it over", -left)
            }
            (Some(worker), None) => format!(" on {worker}"),
            (None, _) => String::new(),
        };
        let attempt = if j.attempts > 1 { format!(", attempt {}", j.attempts) } else { String::new() };
        let _ = writeln!(
            out,
            "{} job {} {} {} ({}): {}{eta}{holder}{attempt}",
            paint.bold("RUNNING"),
            j.id,
            j.symbol,
            j.regime,
            j.trigger,
            j.stage.map_or("starting", |s| s.as_str())
        );
    }
    let jobs = &report.jobs;
    if jobs.finished > 0 {
        let rate = format!("{:.0}% succeeded", 100.0 * jobs.succeeded as f64 / jobs.finished as f64);
        let which = if jobs.finished as usize >= jobs.recent {
            format!(" (the newest {})", jobs.recent)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} {} finished{which}, {}, {} on average, {} {} per retrain against the parent version",
            paint.bold("JOBS"),
            jobs.finished,
            if jobs.succeeded < jobs.finished { paint.yellow(&rate) } else { rate },
            jobs.average_seconds.map_or("-".to_string(), |a| format!("{a:.1} s")),
            jobs.average_improvement.map_or("-".to_string(), |d| format!("{d:+.4}")),
            report.metric.as_str()
        );
    }
    let open = report.open_alerts;
    if open.total() > 0 {
        let count = |s: Severity| {
            let n = open.get(s);
            let text = format!("{n} {s}");
            if n > 0 { paint.severity(s.as_str(), &text) } else { text }
        };
        let _ = writeln!(
            out,
            "{} {} open: {}, {}, {}, {} (`retrain alerts`)",
            paint.bold("ALERTS"),
            open.total(),
            count(Severity::Critical),
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low)
        );
    }
    let health = &report.health;
    let holder = match &health.run {
        Some(r) if r.alive => format!("run pid {} working since {}", r.pid, format_minute(r.started_at)),
        Some(r) => paint.yellow(&format!(
            "the run of pid {} started {} died without finishing; the next run marks its job abandoned",
            r.pid,
            format_minute(r.started_at)
        )),
        None => "no run is working".into(),
    };
    // A tick or a cross on a terminal only: plain text stays plain words.
    let verdict = match (health.healthy, paint.on) {
        (true, true) => paint.green("✔ healthy"),
        (true, false) => "healthy".to_string(),
        (false, true) => paint.red(&format!("✘ {}", health.problems.join("; "))),
        (false, false) => health.problems.join("; "),
    };
    let _ = writeln!(
        out,
        "{} {} ({:.1} MB{}), {holder}, {verdict}",
        paint.bold("HEALTH"),
        report.database,
        report.database_bytes as f64 / 1e6,
        report.artifact_bytes.map_or(String::new(), |bytes| format!(", models {:.1} MB", bytes as f64 / 1e6))
    );
    let _ = writeln!(out);
}

/// A series' latest accepted batch: when, rows inserted and updated, its quality.
pub(crate) fn last_collect(c: &LastCollect) -> String {
    format!("{} (+{} ~{}, quality {:.3})", format_minute(c.at), c.inserted, c.updated, c.quality_score)
}

fn render_data(out: &mut String, report: &StatusReport, paint: Paint) {
    if report.series.is_empty() {
        let _ = writeln!(
            out,
            "no candles yet: add some with `retrain collect --symbol S --interval I --file PATH`"
        );
    } else {
        let _ = writeln!(out, "{}", paint.bold("DATA"));
        let mut table =
            Table::new(["SYMBOL", "INTERVAL", "CANDLES", "FIRST", "LAST", "GAPS", "MISSING", "LAST COLLECT"]);
        for s in &report.series {
            let last_collect = s.last_collect.as_ref().map_or("-".to_string(), last_collect);
            table.row(vec![
                s.symbol.clone(),
                s.interval.to_string(),
                s.candles.to_string(),
                format_minute(s.first_open_time),
                format_minute(s.last_open_time),
                s.gaps.to_string(),
                s.missing_bars.to_string(),
                last_collect,
            ]);
        }
        out.push_str(&table.render());
    }
    if !report.trade_outcomes.is_empty() {
        let _ = writeln!(out);
        let mut table = Table::new(["SYMBOL", "TRADE OUTCOMES", "LAST CLOSED"]);
        for t in &report.trade_outcomes {
            table.row(vec![t.symbol.clone(), t.count.to_string(), format_minute(t.last_closed_at)]);
        }
        out.push_str(&table.render());
    }
}
