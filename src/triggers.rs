//! What makes `run` retrain a model, each with its reason and priority, and the order
//! jobs run in. Pure: the facts are gathered by the caller.

use std::cmp::Ordering;

use serde::Serialize;

use crate::config::{Settings, Severity};

/// Priorities, lowest first.
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];

/// Trigger kinds in the order they break priority ties.
pub const KINDS: [&str; 7] = ["drift", "performance", "decay", "manual", "initial", "schedule", "age"];

/// One reason to retrain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    pub kind: &'static str,
    pub priority: &'static str,
    pub reason: String,
}

/// A manual request waiting in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub priority: String,
    pub reason: String,
    pub requested_at: i64,
}

/// What `run` knows about one model.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The model has a production version.
    pub has_production: bool,
    /// Age in days of the production version, if any.
    pub production_age_days: Option<f64>,
    /// Bars of the regime with complete features (for a first model).
    pub regime_rows: usize,
    /// The schedule that came due since the last run, said in words.
    pub schedule_due: Option<String>,
    /// Hours since the model's last job started (by the runs' clocks).
    pub hours_since_job: Option<f64>,
    /// Live trades of the production version since its promotion: (signals, win rate).
    pub live: Option<(usize, Option<f64>)>,
    /// The production version's gate metric: (test value, recent value, relative drop).
    pub decay: Option<(f64, f64, f64)>,
    pub drift: Option<Severity>,
    pub queued: Vec<Queued>,
}

/// Every trigger that fires, and the ones held back by the cooldown (with why).
pub fn evaluate(f: &Facts, s: &Settings) -> (Vec<Trigger>, Vec<String>) {
    let t = &s.triggers;
    let mut fired = Vec::new();
    let mut automatic = Vec::new();
    for q in &f.queued {
        let priority = PRIORITIES.iter().find(|p| **p == q.priority).copied().unwrap_or("medium");
        fired.push(Trigger {
            kind: "manual",
            priority,
            reason: format!("manual request {}: {}", q.id, q.reason),
        });
    }
    if let Some(reason) = &f.schedule_due {
        fired.push(Trigger { kind: "schedule", priority: "medium", reason: reason.clone() });
    }
    if let Some(severity) = f.drift.filter(|d| *d >= t.drift_severity) {
        let name = crate::store::severity_name(severity);
        let trigger = Trigger {
            kind: "drift",
            priority: if severity == Severity::Critical { "urgent" } else { "high" },
            reason: format!(
                "{name} drift, at or above triggers.drift_severity {}",
                crate::store::severity_name(t.drift_severity)
            ),
        };
        // Critical drift runs now, cooldown or not.
        if severity == Severity::Critical { fired.push(trigger) } else { automatic.push(trigger) }
    }
    if let Some((signals, Some(rate))) = f.live
        && signals >= t.min_signals as usize
        && rate < t.min_win_rate
    {
        automatic.push(Trigger {
            kind: "performance",
            priority: "high",
            reason: format!(
                "live win rate {:.1}% after {signals} resolved signals, below triggers.min_win_rate {:.0}%",
                100.0 * rate,
                100.0 * t.min_win_rate
            ),
        });
    }
    if let Some((test, recent, drop)) = f.decay.filter(|d| d.2 > t.performance_decay) {
        automatic.push(Trigger {
            kind: "decay",
            priority: "high",
            reason: format!(
                "{} fell from {test:.4} on its test window to {recent:.4} recently ({:.1}% down, more than \
                 triggers.performance_decay {:.0}%)",
                s.evaluation.metric.as_str(),
                100.0 * drop,
                100.0 * t.performance_decay
            ),
        });
    }
    if let Some(age) = f.production_age_days.filter(|a| *a > t.max_age_days) {
        automatic.push(Trigger {
            kind: "age",
            priority: "low",
            reason: format!(
                "production version is {age:.1} days old, more than triggers.max_age_days {}",
                t.max_age_days
            ),
        });
    }
    if !f.has_production && f.regime_rows >= t.min_initial_rows as usize {
        automatic.push(Trigger {
            kind: "initial",
            priority: "medium",
            reason: format!(
                "no production model yet and {} bars of the regime (triggers.min_initial_rows {})",
                f.regime_rows, t.min_initial_rows
            ),
        });
    }
    let mut held = Vec::new();
    let cooling = f.hours_since_job.filter(|h| *h < s.gates.cooldown_hours);
    for trigger in automatic {
        match cooling {
            Some(hours) => held.push(format!(
                "{} held back: the last job started {hours:.1} h ago, within gates.cooldown_hours {} ({})",
                trigger.kind, s.gates.cooldown_hours, trigger.reason
            )),
            None => fired.push(trigger),
        }
    }
    (fired, held)
}

fn rank<T: PartialEq>(list: &[T], item: &T) -> usize {
    list.iter().position(|x| x == item).unwrap_or(list.len())
}

/// The job a model's triggers make: the highest priority among them, its first trigger
/// by kind order, every reason.
pub fn merge(triggers: &[Trigger]) -> Option<Trigger> {
    let top = triggers.iter().max_by(|a, b| {
        rank(&PRIORITIES, &a.priority)
            .cmp(&rank(&PRIORITIES, &b.priority))
            .then(rank(&KINDS, &b.kind).cmp(&rank(&KINDS, &a.kind)))
    })?;
    let reason = triggers.iter().map(|t| t.reason.as_str()).collect::<Vec<_>>().join("; ");
    Some(Trigger { kind: top.kind, priority: top.priority, reason })
}

/// Run order: urgent first, then by trigger kind, then the oldest request, then by name.
pub fn order(a: (&Trigger, i64, &str), b: (&Trigger, i64, &str)) -> Ordering {
    rank(&PRIORITIES, &b.0.priority)
        .cmp(&rank(&PRIORITIES, &a.0.priority))
        .then(rank(&KINDS, &a.0.kind).cmp(&rank(&KINDS, &b.0.kind)))
        .then(a.1.cmp(&b.1))
        .then(a.2.cmp(b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(triggers: &[Trigger]) -> Vec<&str> {
        triggers.iter().map(|t| t.kind).collect()
    }

    #[test]
    fn each_trigger_fires_at_its_threshold_and_the_cooldown_holds_the_automatic_ones() {
        let s = Settings::default();
        let quiet = Facts { has_production: true, production_age_days: Some(1.0), ..Facts::default() };
        assert!(evaluate(&quiet, &s).0.is_empty());
        let busy = Facts {
            has_production: true,
            production_age_days: Some(31.0),
            live: Some((20, Some(0.40))),
            decay: Some((0.6, 0.5, 1.0 / 6.0)),
            drift: Some(Severity::High),
            schedule_due: Some("schedule".into()),
            ..Facts::default()
        };
        let (fired, held) = evaluate(&busy, &s);
        assert_eq!(kinds(&fired), ["schedule", "drift", "performance", "decay", "age"]);
        assert!(held.is_empty());
        let cooling = Facts { hours_since_job: Some(3.0), ..busy.clone() };
        let (fired, held) = evaluate(&cooling, &s);
        assert_eq!(kinds(&fired), ["schedule"], "schedules are not held back");
        assert_eq!(held.len(), 4);
        let critical = Facts { drift: Some(Severity::Critical), ..cooling };
        let (fired, _) = evaluate(&critical, &s);
        assert_eq!(kinds(&fired), ["schedule", "drift"]);
        assert_eq!(merge(&fired).unwrap().priority, "urgent");
        // Below the thresholds: 19 signals, 10% decay, medium drift, 30 days.
        let calm = Facts {
            has_production: true,
            production_age_days: Some(30.0),
            live: Some((19, Some(0.1))),
            decay: Some((0.6, 0.54, 0.1)),
            drift: Some(Severity::Medium),
            ..Facts::default()
        };
        assert!(evaluate(&calm, &s).0.is_empty());
        let first = Facts { regime_rows: 1000, ..Facts::default() };
        assert_eq!(kinds(&evaluate(&first, &s).0), ["initial"]);
        assert!(evaluate(&Facts { regime_rows: 999, ..Facts::default() }, &s).0.is_empty());
    }

    #[test]
    fn jobs_run_urgent_first_then_by_kind_then_oldest() {
        let t = |kind, priority| Trigger { kind, priority, reason: String::new() };
        let mut jobs = [
            (t("schedule", "medium"), 5, "A"),
            (t("manual", "urgent"), 9, "B"),
            (t("age", "low"), 1, "C"),
            (t("decay", "high"), 7, "D"),
            (t("schedule", "medium"), 2, "E"),
            (t("manual", "medium"), 3, "F"),
        ];
        jobs.sort_by(|a, b| order((&a.0, a.1, a.2), (&b.0, b.1, b.2)));
        let names: Vec<&str> = jobs.iter().map(|j| j.2).collect();
        assert_eq!(names, ["B", "D", "F", "E", "A", "C"]);
    }
}
