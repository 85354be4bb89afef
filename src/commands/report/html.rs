//! The page: tables written here, so that every figure reads without JavaScript and is
//! the one `status` prints (the models' cells are `status`'s own, coloured as a terminal
//! colours them), and charts drawn in the browser by uPlot from the report inlined as
//! JSON. Everything is inlined: scripts, styles, data.

use std::fmt::Write;

use serde::Serialize;

use super::replay::Replay;
use crate::candles::time::{format_minute, format_second};
use crate::commands::status::text;
use crate::config::{Resolved, Severity};
use crate::kinds::{DeploymentAction, EvaluationKind};
use crate::lifecycle::report::{ModelHistory, Report};
use crate::lifecycle::status::ModelRow;
use crate::output::{Paint, html_markup as h};

/// uPlot 1.6.32 from the npm registry (`vendor/uplot/README.md` says how it was taken).
const UPLOT_JS: &str = include_str!("../../../vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../../vendor/uplot/uPlot.min.css");
const PAGE_JS: &str = include_str!("page.js");
const PAGE_CSS: &str = include_str!("page.css");

/// Open alerts listed, newest first.
const ALERT_ROWS: usize = 50;

/// Models whose sections start open; a larger fleet's start closed, drawn when opened.
const OPEN_UP_TO: usize = 12;

/// Rows listed per model in its evaluations and deployments tables, newest first (the
/// charts hold every one of the window; `history` lists them all).
const TABLE_ROWS: usize = 20;

/// What the page's script reads: the charts' series as columns, instants in epoch
/// seconds (uPlot's unit), values rounded to six decimals.
#[derive(Serialize)]
struct Data<'a> {
    at: f64,
    since: f64,
    min_win_rate: f64,
    models: Vec<ModelData>,
    jobs: JobDays,
    replay: Option<&'a Replay>,
}

#[derive(Serialize, Default)]
struct ModelData {
    metric: &'static str,
    /// Tests and backtests: time, version, 1 for a backtest, value.
    evaluations: Columns4<Option<f64>>,
    /// Promotions and rollbacks in the window: time, 1 for a rollback, the version made
    /// production.
    marks: Columns3,
    /// What was live: time, production, canary.
    timeline: Columns3,
    /// Win rate after each resolved signal: time, version, signals, trades, rate.
    win_rate: WinRates,
    /// Drift checks: time, version, severity rank (0 none .. 4 critical), drifted features.
    drift: Columns4<i64>,
}

#[derive(Serialize)]
struct Columns4<T> {
    t: Vec<f64>,
    version: Vec<i64>,
    kind: Vec<i64>,
    value: Vec<T>,
}

impl<T> Default for Columns4<T> {
    fn default() -> Self {
        Columns4 { t: Vec::new(), version: Vec::new(), kind: Vec::new(), value: Vec::new() }
    }
}

#[derive(Serialize, Default)]
struct Columns3 {
    t: Vec<f64>,
    a: Vec<Option<i64>>,
    b: Vec<Option<i64>>,
}

#[derive(Serialize, Default)]
struct WinRates {
    t: Vec<f64>,
    version: Vec<i64>,
    signals: Vec<usize>,
    trades: Vec<usize>,
    rate: Vec<Option<f64>>,
}

#[derive(Serialize, Default)]
struct JobDays {
    t: Vec<f64>,
    finished: Vec<usize>,
    succeeded: Vec<usize>,
    seconds: Vec<Option<f64>>,
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1e3
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn chart_data<'a>(report: &Report, replay: Option<&'a Replay>) -> Data<'a> {
    let models = report
        .models
        .iter()
        .map(|m| {
            let mut d = ModelData { metric: m.metric, ..ModelData::default() };
            for e in &m.evaluations {
                d.evaluations.t.push(seconds(e.at));
                d.evaluations.version.push(e.version);
                d.evaluations.kind.push(i64::from(e.kind != EvaluationKind::Test));
                d.evaluations.value.push(e.value.map(round));
            }
            for x in &m.deployments {
                if matches!(x.action, DeploymentAction::Promote | DeploymentAction::Rollback) {
                    d.marks.t.push(seconds(x.at));
                    d.marks.a.push(Some(i64::from(x.action == DeploymentAction::Rollback)));
                    d.marks.b.push(x.to);
                }
            }
            for p in &m.timeline {
                d.timeline.t.push(seconds(p.at));
                d.timeline.a.push(p.production);
                d.timeline.b.push(p.canary);
            }
            for w in &m.win_rate {
                d.win_rate.t.push(seconds(w.at));
                d.win_rate.version.push(w.version);
                d.win_rate.signals.push(w.signals);
                d.win_rate.trades.push(w.trades);
                d.win_rate.rate.push(w.rate.map(round));
            }
            for c in &m.drift {
                d.drift.t.push(seconds(c.at));
                d.drift.version.push(c.version);
                d.drift.kind.push(i64::from(Severity::rank(c.severity)));
                d.drift.value.push(c.drifted_features);
            }
            d
        })
        .collect();
    let mut jobs = JobDays::default();
    for day in &report.jobs.days {
        jobs.t.push(seconds(day.day));
        jobs.finished.push(day.finished);
        jobs.succeeded.push(day.succeeded);
        jobs.seconds.push(day.average_seconds.map(round));
    }
    Data {
        at: seconds(report.at),
        since: seconds(report.since),
        min_win_rate: report.min_win_rate,
        models,
        jobs,
        replay,
    }
}

/// The whole page.
pub fn page(resolved: &Resolved, report: &Report, replay: Option<&Replay>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(256 * 1024);
    let status = &report.status;
    let scope = report.symbol.as_ref().map_or(String::new(), |s| format!(" {s}"));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>retrain{} at {} UTC</title>\n<style>\n{UPLOT_CSS}\n{PAGE_CSS}</style>\n</head>\n<body>\n",
        h(&scope),
        format_minute(report.at)
    );
    let _ = writeln!(
        out,
        "<header><h1>retrain{}</h1><p>The fleet at {} UTC, with the history of the last {} days \
         (since {} UTC), from {}.</p>",
        h(&scope),
        format_minute(report.at),
        report.days,
        format_minute(report.since),
        h(&status.database)
    );
    out.push_str(
        "<nav><a href=\"#models\">Models</a> <a href=\"#alerts\">Alerts</a> <a href=\"#detail\">Per model</a> \
         <a href=\"#jobs\">Jobs</a> <a href=\"#data\">Data</a>",
    );
    if replay.is_some() {
        out.push_str(" <a href=\"#replay\">Replay</a>");
    }
    out.push_str("</nav>\n<noscript><p class=\"note\">The charts need JavaScript; the tables hold the same figures.</p></noscript>\n</header>\n<main>\n");
    overview(&mut out, resolved, report);
    alerts(&mut out, report);
    detail(&mut out, report);
    jobs(&mut out, report);
    data(&mut out, report);
    if let Some(replay) = replay {
        replay_section(&mut out, replay);
    }
    out.push_str("</main>\n");
    // `<` never appears raw in the inlined JSON, so no `</script>` can end it early.
    let json = serde_json::to_string(&chart_data(report, replay))?.replace('<', "\\u003c");
    let _ = write!(
        out,
        "<script>{UPLOT_JS}</script>\n<script type=\"application/json\" id=\"report-data\">{json}</script>\n\
         <script>\n{PAGE_JS}</script>\n</body>\n</html>\n"
    );
    Ok(out)
}

/// An id for a model's section.
fn anchor(symbol: &str, regime: impl std::fmt::Display) -> String {
    let clean: String = symbol
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    format!("m-{clean}-{regime}")
}

/// ", the newest 20 listed" when a table is cut.
fn newest(rows: usize) -> String {
    if rows > TABLE_ROWS { format!(", the newest {TABLE_ROWS} listed") } else { String::new() }
}

fn number(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

/// The sort keys of a model's cells, column by column (empty sorts last).
fn sort_keys(m: &ModelRow, at: i64) -> [String; 10] {
    [
        format!("{} {}", m.symbol, m.regime),
        number(m.production.map(|v| v as f64)),
        number(m.production_age_days),
        number(m.canary.as_ref().map(|c| c.version as f64).or(m.candidate.map(|v| v as f64))),
        number(m.last_job.as_ref().map(|j| ((at - j.at) as f64) / 86_400_000.0)),
        number(m.production_test_metric),
        number(m.live_win_rate),
        m.drift.as_ref().map_or(String::new(), |d| Severity::rank(d.severity).to_string()),
        number(m.next_scheduled.map(|t| t as f64)),
        match (&m.needs_retrain, m.backoff_until) {
            (Some(r), _) if r.contains("(urgent)") => "3".into(),
            (Some(_), _) => "2".into(),
            (None, Some(_)) => "1".into(),
            (None, None) => "0".into(),
        },
    ]
}

fn overview(out: &mut String, resolved: &Resolved, report: &Report) {
    let status = &report.status;
    out.push_str("<section id=\"models\">\n<h2>Models</h2>\n");
    if status.models.is_empty() {
        out.push_str(
            "<p>No models yet: list the markets to keep fresh under <code>symbols:</code> in config.yaml, \
             or train one by hand.</p>\n",
        );
    } else {
        out.push_str("<p class=\"hint\">Click a heading to sort; a model's name leads to its charts.</p>\n");
        out.push_str("<table class=\"sortable models\">\n<thead><tr>");
        for (i, name) in text::model_header(status).iter().enumerate() {
            let numeric = if i == 0 { "text" } else { "number" };
            let _ = write!(out, "<th data-type=\"{numeric}\">{}</th>", h(name));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        let paint = Paint::html();
        for m in &status.models {
            let cells = text::model_cells(resolved, status, m, paint);
            let keys = sort_keys(m, status.at);
            let _ = write!(out, "<tr data-model=\"{}\">", h(&format!("{} {}", m.symbol, m.regime)));
            for (i, (cell, key)) in cells.iter().zip(&keys).enumerate() {
                if i == 0 {
                    let _ = write!(
                        out,
                        "<td data-sort=\"{}\"><a href=\"#{}\">{}</a></td>",
                        h(key),
                        anchor(&m.symbol, m.regime),
                        h(cell)
                    );
                } else {
                    let _ = write!(out, "<td data-sort=\"{}\">{}</td>", h(key), h(cell));
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        let notes: Vec<String> = status
            .models
            .iter()
            .flat_map(|m| m.notes.iter().map(move |n| format!("{} {}: {n}", m.symbol, m.regime)))
            .chain(status.left_out.iter().cloned())
            .collect();
        if !notes.is_empty() {
            out.push_str("<ul class=\"notes\">");
            for n in notes {
                let _ = write!(out, "<li>{}</li>", h(&n));
            }
            out.push_str("</ul>\n");
        }
    }
    let health = &status.health;
    let verdict = if health.healthy {
        "<span class=\"green\">healthy</span>".to_string()
    } else {
        format!("<span class=\"red\">{}</span>", h(&health.problems.join("; ")))
    };
    let holder = match &health.run {
        Some(r) if r.alive => format!("run pid {} working since {}", r.pid, format_minute(r.started_at)),
        Some(r) => format!(
            "the run of pid {} started {} died without finishing; the next run marks its job abandoned",
            r.pid,
            format_minute(r.started_at)
        ),
        None => "no run is working".into(),
    };
    let _ = writeln!(
        out,
        "<p class=\"health\" data-healthy=\"{}\"><b>Health</b> {verdict}: {} ({:.1} MB{}), {}, last successful run {}.</p>",
        health.healthy,
        h(&status.database),
        status.database_bytes as f64 / 1e6,
        status.artifact_bytes.map_or(String::new(), |b| format!(", models {:.1} MB", b as f64 / 1e6)),
        h(&holder),
        health.last_successful_run.map_or("never".to_string(), |t| format!("{} UTC", format_minute(t)))
    );
    out.push_str("</section>\n");
}

fn alerts(out: &mut String, report: &Report) {
    let open = report.status.open_alerts;
    let _ = write!(
        out,
        "<section id=\"alerts\">\n<h2>Alerts</h2>\n<p>{} open: {} critical, {} high, {} medium, {} low.</p>\n",
        open.total(),
        open.get(Severity::Critical),
        open.get(Severity::High),
        open.get(Severity::Medium),
        open.get(Severity::Low)
    );
    if !report.alerts.is_empty() {
        let n = report.alerts.len();
        let _ = write!(
            out,
            "<details class=\"table\"{}><summary>The open alerts, newest first{}</summary>",
            if n <= 10 { " open" } else { "" },
            if n > ALERT_ROWS {
                format!(", the newest {ALERT_ROWS} listed (`retrain alerts` lists all)")
            } else {
                String::new()
            }
        );
        out.push_str(
            "<table class=\"sortable\"><thead><tr><th data-type=\"number\">ID</th><th data-type=\"text\">SEVERITY</th>\
             <th data-type=\"text\">KIND</th><th data-type=\"text\">MODEL</th><th data-type=\"text\">RAISED (UTC)</th>\
             <th data-type=\"text\">MESSAGE</th></tr></thead>\n<tbody>\n",
        );
        let paint = Paint::html();
        for a in report.alerts.iter().take(ALERT_ROWS) {
            let severity = a.severity.as_str();
            let _ = writeln!(
                out,
                "<tr><td data-sort=\"{}\">{}</td><td data-sort=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                a.id,
                a.id,
                Severity::rank(Some(a.severity)),
                h(&paint.severity(severity, severity)),
                h(&a.kind),
                h(a.model.as_deref().unwrap_or("-")),
                format_minute(a.at),
                h(&a.message),
                if a.acknowledged { " <span class=\"dim\">(acknowledged)</span>" } else { "" }
            );
        }
        out.push_str("</tbody></table></details>\n");
    }
    out.push_str("</section>\n");
}

fn detail(out: &mut String, report: &Report) {
    out.push_str("<section id=\"detail\">\n<h2>Per model</h2>\n");
    if report.models.is_empty() {
        out.push_str("<p>No model to show.</p>\n");
    }
    let open = report.models.len() <= OPEN_UP_TO;
    for (i, (m, row)) in report.models.iter().zip(&report.status.models).enumerate() {
        model(out, report, i, m, row, open);
    }
    out.push_str("</section>\n");
}

fn model(out: &mut String, report: &Report, index: usize, m: &ModelHistory, row: &ModelRow, open: bool) {
    let name = format!("{} {}", m.symbol, m.regime);
    let summary = match (row.production, &row.canary, row.candidate) {
        (Some(p), Some(c), _) => format!("production v{p}, canary v{}", c.version),
        (Some(p), None, Some(c)) => format!("production v{p}, candidate v{c}"),
        (Some(p), None, None) => format!("production v{p}"),
        (None, _, Some(c)) => format!("no production version, candidate v{c}"),
        (None, _, None) => "no production version".into(),
    };
    let _ = writeln!(
        out,
        "<details class=\"model\" id=\"{}\" data-index=\"{index}\"{}><summary><b>{}</b> {}</summary>",
        anchor(&m.symbol, m.regime),
        if open { " open" } else { "" },
        h(&name),
        h(&summary)
    );
    let metric = m.metric.to_uppercase();
    let _ = writeln!(
        out,
        "<div class=\"charts\">\
         <figure><figcaption>{metric} of every version: its test at training, later backtests; \
         promotions and rollbacks marked</figcaption><div class=\"chart\" data-chart=\"metric\"></div></figure>\
         <figure><figcaption>Which version was production or canary when</figcaption>\
         <div class=\"chart\" data-chart=\"timeline\"></div></figure>\
         <figure><figcaption>Live win rate over the newest {} resolved signals of the production version \
         ({} resolved in the window); triggers.min_win_rate {:.0}%</figcaption>\
         <div class=\"chart\" data-chart=\"win_rate\"></div></figure>\
         <figure><figcaption>Drift severity of each check of a version that went live (its check at training \
         included)</figcaption>\
         <div class=\"chart\" data-chart=\"drift\"></div></figure></div>",
        report.live_window,
        m.resolved_signals,
        100.0 * report.min_win_rate
    );
    // The versions' figures, for reading without the chart.
    if !m.evaluations.is_empty() {
        let _ = write!(
            out,
            "<details class=\"table\"><summary>Evaluations ({} in the window{})</summary><table class=\"evaluations\">\
             <thead><tr><th>VERSION</th><th>KIND</th><th>MEASURED (UTC)</th><th>WINDOW TO (UTC)</th><th>{}</th></tr></thead><tbody>",
            m.evaluations.len(),
            newest(m.evaluations.len()),
            h(&metric)
        );
        for e in m.evaluations.iter().rev().take(TABLE_ROWS) {
            let _ = write!(
                out,
                "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.version,
                e.kind,
                format_minute(e.at),
                format_minute(e.window_to),
                e.value.map_or("undefined".to_string(), |v| format!("{v:.4}"))
            );
        }
        out.push_str("</tbody></table></details>\n");
    }
    if let Some(last) = m.drift.last() {
        let _ = write!(
            out,
            "<h4>Latest drift check: v{} at {} UTC, {}, {} features drifted</h4>",
            last.version,
            format_minute(last.at),
            h(&Paint::html().severity(
                last.severity.map_or("none", Severity::as_str),
                last.severity.map_or("none", Severity::as_str)
            )),
            last.drifted_features
        );
        if !m.top_features.is_empty() {
            out.push_str(
                "<table class=\"features\"><thead><tr><th>FEATURE</th><th>PSI</th><th>KS</th><th>KS P-VALUE</th>\
                 <th>DRIFTED</th><th>SEVERITY</th></tr></thead><tbody>",
            );
            let f4 = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
            for f in &m.top_features {
                let severity = f.severity.map_or("none", Severity::as_str);
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    h(&f.feature),
                    f4(f.psi),
                    f4(f.ks_statistic),
                    f.ks_p_value.map_or("-".to_string(), |p| format!("{p:.3e}")),
                    if f.drifted { "yes" } else { "no" },
                    h(&Paint::html().severity(severity, severity))
                );
            }
            out.push_str("</tbody></table>\n");
        }
    }
    if let Some(g) = &m.gates {
        let _ = write!(
            out,
            "<h4>Latest gates: {} of {} at {} UTC{}</h4><table class=\"gates\"><thead><tr><th>GATE</th><th>VALUE</th>\
             <th>RULE</th><th>RESULT</th><th>NOTE</th></tr></thead><tbody>",
            g.action,
            g.version.map_or("-".to_string(), |v| format!("v{v}")),
            format_minute(g.at),
            if g.forced { " (forced: recorded, not obeyed)" } else { "" }
        );
        for gate in &g.gates {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                h(&gate.name),
                gate.value.map_or("undefined".to_string(), |v| format!("{v:.4}")),
                h(&gate.rule),
                gate.threshold,
                if gate.passed {
                    "<span class=\"green\">pass</span>"
                } else {
                    "<span class=\"red\">FAIL</span>"
                },
                h(&gate.note)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !m.deployments.is_empty() {
        let _ = write!(
            out,
            "<details class=\"table\"{}><summary>Deployments ({} in the window{})</summary><table class=\"deployments\">\
             <thead><tr><th>TIME (UTC)</th><th>ACTION</th><th>FROM</th><th>TO</th><th>CANARY</th><th>BY</th>\
             <th>REASON</th></tr></thead><tbody>",
            if m.deployments.len() <= 10 { " open" } else { "" },
            m.deployments.len(),
            newest(m.deployments.len())
        );
        let version = |v: Option<i64>| v.map_or("-".to_string(), |v| format!("v{v}"));
        for d in m.deployments.iter().rev().take(TABLE_ROWS) {
            let _ = write!(
                out,
                "<tr data-at=\"{}\" data-action=\"{}\"><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                crate::candles::time::format_rfc3339(d.at),
                d.action,
                format_second(d.at),
                d.action,
                if d.forced { " (forced)" } else { "" },
                version(d.from),
                version(d.to),
                version(d.canary),
                h(&d.by),
                h(&d.reason)
            );
        }
        out.push_str("</tbody></table></details>\n");
    }
    out.push_str("</details>\n");
}

fn jobs(out: &mut String, report: &Report) {
    let jobs = &report.jobs;
    let status = &report.status;
    out.push_str("<section id=\"jobs\">\n<h2>Jobs</h2>\n");
    let rate = (jobs.finished > 0).then(|| 100.0 * jobs.succeeded as f64 / jobs.finished as f64);
    let _ = writeln!(
        out,
        "<p>{} finished in the window, {} succeeded ({}), {} on average.</p>",
        jobs.finished,
        jobs.succeeded,
        rate.map_or("-".to_string(), |r| format!("{r:.0}%")),
        jobs.average_seconds.map_or("-".to_string(), |a| format!("{a:.1} s"))
    );
    out.push_str(
        "<div class=\"charts\"><figure><figcaption>Jobs per day: success rate and average duration</figcaption>\
         <div class=\"chart\" data-chart=\"jobs\"></div></figure></div>\n",
    );
    out.push_str("<h3>Queue</h3>\n");
    if status.queue.is_empty() && status.running.is_empty() {
        out.push_str("<p>Nothing waits and no job is running.</p>\n");
    } else {
        out.push_str("<ul class=\"queue\">");
        let running = status.running.iter().map(|j| {
            let stage = j.stage.map_or("starting", |s| s.as_str());
            format!("running: job {} {} {} ({}): {stage}", j.id, j.symbol, j.regime, j.trigger)
        });
        let queued = status.queue.iter().map(|q| {
            let since = format_minute(q.requested_at);
            format!(
                "queued: {} {} {} ({}) since {since} UTC: {}",
                q.id, q.symbol, q.regime, q.priority, q.reason
            )
        });
        for line in running.chain(queued) {
            let _ = write!(out, "<li>{}</li>", h(&line));
        }
        out.push_str("</ul>\n");
    }
    if !jobs.recent.is_empty() {
        let _ = writeln!(
            out,
            "<h3>The newest {} jobs</h3><table class=\"sortable jobs\"><thead><tr><th data-type=\"number\">ID</th>\
             <th data-type=\"text\">RUN AT (UTC)</th><th data-type=\"text\">MODEL</th><th data-type=\"text\">TRIGGER</th>\
             <th data-type=\"text\">STATUS</th><th data-type=\"number\">SECONDS</th><th data-type=\"number\">VERSION</th>\
             <th data-type=\"text\">RESULT</th></tr></thead><tbody>",
            jobs.recent.len()
        );
        let paint = Paint::html();
        for j in &jobs.recent {
            let status = j.status.to_string();
            let status =
                if j.status == crate::kinds::JobStatus::Failed { paint.red(&status) } else { status };
            let _ = writeln!(
                out,
                "<tr data-id=\"{}\"><td data-sort=\"{}\">{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td>\
                 <td data-sort=\"{}\">{}</td><td data-sort=\"{}\">{}</td><td>{}</td></tr>",
                j.id,
                j.id,
                j.id,
                j.run_at.map_or("-".into(), format_second),
                h(&j.symbol),
                j.regime,
                j.trigger,
                h(&status),
                number(j.seconds),
                j.seconds.map_or("-".into(), |s| format!("{s:.1}")),
                number(j.version.map(|v| v as f64)),
                j.version.map_or("-".into(), |v| format!("v{v}")),
                h(&j.result)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
}

fn data(out: &mut String, report: &Report) {
    let status = &report.status;
    out.push_str("<section id=\"data\">\n<h2>Data</h2>\n");
    if status.series.is_empty() {
        out.push_str("<p>No candles yet.</p>\n");
    } else {
        out.push_str(
            "<table><thead><tr><th>SYMBOL</th><th>INTERVAL</th><th>CANDLES</th><th>FIRST (UTC)</th><th>LAST (UTC)</th>\
             <th>GAPS</th><th>MISSING</th><th>LAST COLLECT</th></tr></thead><tbody>\n",
        );
        for s in &status.series {
            let last = s.last_collect.as_ref().map_or("-".to_string(), text::last_collect);
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                h(&s.symbol),
                s.interval,
                s.candles,
                format_minute(s.first_open_time),
                format_minute(s.last_open_time),
                s.gaps,
                s.missing_bars,
                h(&last)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
}

fn replay_section(out: &mut String, replay: &Replay) {
    let _ = write!(
        out,
        "<section id=\"replay\">\n<h2>Replay</h2>\n<p>{}: {} .. {} UTC.</p>\n<p class=\"verdict\">{}</p>\n\
         <div class=\"charts wide\"><figure><figcaption>Equity of each policy (1 at the start), its retrains \
         (hollow points) and promotions (filled points)</figcaption><div class=\"chart\" data-chart=\"equity\">\
         </div></figure></div>\n<table class=\"replay\"><thead><tr><th>POLICY</th><th>RULE</th><th>RETURN</th>\
         <th>SHARPE</th><th>MAX DRAWDOWN</th><th>TRADES</th><th>RETRAINS</th><th>PROMOTIONS</th><th>ROLLBACKS</th>\
         </tr></thead><tbody>\n",
        h(&replay.file),
        format_minute((replay.from * 1e3) as i64),
        format_minute((replay.to * 1e3) as i64),
        h(&replay.verdict)
    );
    for p in &replay.policies {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:+.2}%</td><td>{}</td><td>{:.2}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&p.name),
            h(&p.rule),
            100.0 * p.total_return,
            p.sharpe.map_or("-".to_string(), |s| format!("{s:.2}")),
            100.0 * p.max_drawdown,
            p.trades,
            p.retrains,
            p.promotions,
            p.rollbacks
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}
