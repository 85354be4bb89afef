//! One symbol's detail as text: per model, its versions, deployments, production's last
//! checks and the newest signals.

use std::fmt::Write;

use crate::candles::time::format_minute;
use crate::config::{Regime, Severity};
use crate::lifecycle::detail::Detail;
use crate::output::Table;

/// One symbol's models in detail, as text.
pub fn render(detail: &Detail, regime: Option<Regime>) -> String {
    let mut out = String::new();
    let symbol = &detail.symbol;
    for m in &detail.models {
        let _ = writeln!(out, "{symbol} {} ({})", m.regime, m.interval);
        let mut table =
            Table::new(["VERSION", "STATUS", "TRAINED", "TEST F1", "AUC", "SHARPE", "TRADES", "LATEST EVAL"]);
        for v in &m.versions {
            let c = v.test.and_then(|t| t.classification);
            let t = v.test.and_then(|t| t.trading);
            table.row(vec![
                format!("v{}", v.version),
                v.status.to_string(),
                format_minute(v.trained_at),
                c.map_or("-".into(), |c| format!("{:.3}", c.f1)),
                c.and_then(|c| c.roc_auc).map_or("-".into(), |a| format!("{a:.3}")),
                t.and_then(|t| t.sharpe).map_or("-".into(), |s| format!("{s:.2}")),
                t.map_or("-".into(), |t| t.trades.to_string()),
                v.latest_evaluation.map_or("-".into(), |k| k.to_string()),
            ]);
        }
        out.push_str(&table.render());
        let version = |v: Option<i64>| v.map_or("-".to_string(), |v| format!("v{v}"));
        for d in &m.deployments {
            let _ = writeln!(
                out,
                "  {} {}{} {} -> {}{} by {}: {}",
                format_minute(d.at),
                d.action,
                if d.forced { " (forced)" } else { "" },
                version(d.from),
                version(d.to),
                d.canary.map_or(String::new(), |c| format!(", canary v{c}")),
                d.by,
                d.reason
            );
        }
        if let Some(e) = &m.last_evaluation {
            let _ = writeln!(
                out,
                "  last evaluation of v{} on bars up to {} (at {}): f1 {}, sharpe {}",
                e.version,
                format_minute(e.window_to),
                format_minute(e.at),
                e.metrics.classification.map_or("-".into(), |c| format!("{:.3}", c.f1)),
                e.metrics.trading.and_then(|t| t.sharpe).map_or("-".into(), |s| format!("{s:.2}"))
            );
        }
        if let Some(d) = &m.last_drift {
            let _ = writeln!(
                out,
                "  last drift check of v{} on bars up to {} (at {}): {}",
                d.version,
                format_minute(d.window_to),
                format_minute(d.at),
                d.severity.map_or("no drift", Severity::as_str)
            );
        }
        for s in &m.signals {
            let _ = writeln!(
                out,
                "  signal {} v{}{} P(up) {:.3} {}: {}",
                format_minute(s.bar),
                s.version,
                s.arm.map_or(String::new(), |a| format!(" ({a})")),
                s.probability_up,
                match s.position {
                    1 => "long",
                    -1 => "short",
                    _ => "flat",
                },
                match (s.realised_return, s.win) {
                    (None, _) => "open".to_string(),
                    (Some(r), Some(true)) => format!("won {:+.3}%", 100.0 * r),
                    (Some(r), Some(false)) => format!("lost {:+.3}%", 100.0 * r),
                    (Some(_), None) => "no trade".to_string(),
                }
            );
        }
        let _ = writeln!(out);
    }
    if detail.models.is_empty() {
        let _ = writeln!(
            out,
            "no versions of {symbol}{}: train one first",
            regime.map_or(String::new(), |r| format!(" {r}"))
        );
    }
    out
}
