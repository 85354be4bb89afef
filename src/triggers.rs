//! What makes `run` retrain a model, each with its reason and priority, and the order
//! jobs run in. Pure: the facts are gathered by the caller.

use std::cmp::Ordering;

use serde::Serialize;

use crate::config::{Settings, Severity};
use crate::kinds::text_enum;

text_enum! {
    /// How urgent a job is, lowest first.
    pub enum Priority {
        Low => "low",
        Medium => "medium",
        High => "high",
        Urgent => "urgent",
    }
}

text_enum! {
    /// Why a job runs, in the order that breaks ties between equal priorities.
    pub enum TriggerKind {
        Drift => "drift",
        Performance => "performance",
        Decay => "decay",
        Manual => "manual",
        Initial => "initial",
        Schedule => "schedule",
        Age => "age",
    }
}

/// One reason to retrain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub priority: Priority,
    pub reason: String,
    /// The drift severity a drift trigger fires on (kept with the job, for the back-off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.priority, self.reason)
    }
}

/// A manual request waiting in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub priority: Priority,
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
    /// Live trades of the production version since its promotion.
    pub live: Option<Live>,
    /// The production version's gate metric, recently against its test window, when
    /// measured since the model's last job.
    pub decay: Option<Decay>,
    /// The production version's drift severity (`None` inside: no feature drifted), when
    /// measured since the model's last job.
    pub drift: Option<Option<Severity>>,
    /// The retrains for drift or decay of the production version that left it in place.
    pub refused: Option<Refused>,
    pub queued: Vec<Queued>,
}

/// The retrains for drift or decay that the gates refused since the production version
/// went live: what the back-off waits on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refused {
    pub count: usize,
    /// Hours since the latest of them started.
    pub hours_since: f64,
    /// When the latest started (ms, by its run's clock).
    pub last_at: i64,
    /// The drift severity the latest drift retrain was for.
    pub severity: Option<Severity>,
}

impl Refused {
    /// The back-off after `count` refused retrains: `hours`, doubled for each after the first.
    pub fn wait_hours(&self, hours: f64) -> f64 {
        hours * 2f64.powi(self.count.saturating_sub(1).min(60) as i32)
    }
}

/// The production version's resolved live signals since its promotion.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Live {
    pub signals: usize,
    /// `None` without a trade (every signal flat).
    pub win_rate: Option<f64>,
}

/// The production version's gate metric on recent bars against its test window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay {
    pub test: f64,
    pub recent: f64,
    /// (test - recent) / |test|.
    pub relative_drop: f64,
}

/// What the triggers say of a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Every trigger that fires.
    pub fired: Vec<Trigger>,
    /// Triggers held back by the cooldown or the back-off, each with why.
    pub held: Vec<String>,
    /// When drift or decay may fire again, if the back-off holds one back (ms).
    pub backoff_until: Option<i64>,
}

impl Verdict {
    /// The job the triggers make, if any.
    pub fn job(&self) -> Option<Trigger> {
        merge(&self.fired)
    }
}

/// Every trigger that fires, and the ones held back by the cooldown (with why).
pub fn evaluate(f: &Facts, s: &Settings) -> Verdict {
    let t = &s.triggers;
    let mut fired = Vec::new();
    let mut automatic = Vec::new();
    for q in &f.queued {
        fired.push(Trigger {
            kind: TriggerKind::Manual,
            priority: q.priority,
            reason: format!("manual request {}: {}", q.id, q.reason),
            severity: None,
        });
    }
    let mut held = Vec::new();
    if let Some(reason) = &f.schedule_due {
        // A schedule cannot train a first model the data cannot hold: it would fail, and
        // raise a training_failure alert, every time it came due.
        if !f.has_production && f.regime_rows < t.min_initial_rows as usize {
            held.push(format!(
                "schedule held back: no production model yet and {} bars of the regime, fewer than \
                 triggers.min_initial_rows {} ({reason})",
                f.regime_rows, t.min_initial_rows
            ));
        } else {
            fired.push(Trigger {
                kind: TriggerKind::Schedule,
                priority: Priority::Medium,
                reason: reason.clone(),
                severity: None,
            });
        }
    }
    let mut backoff_until = None;
    if let Some(severity) = f.drift.flatten().filter(|d| *d >= t.drift_severity) {
        let trigger = Trigger {
            kind: TriggerKind::Drift,
            priority: if severity == Severity::Critical { Priority::Urgent } else { Priority::High },
            reason: format!("{severity} drift, at or above triggers.drift_severity {}", t.drift_severity),
            severity: Some(severity),
        };
        // A drift the last retrains could not fix waits out the back-off, unless it grew.
        let grew = f.refused.is_some_and(|r| r.severity.is_none_or(|last| severity > last));
        match backing_off(f, s).filter(|_| !grew) {
            Some((why, until)) => {
                held.push(format!("{} held back: {why} ({})", trigger.kind, trigger.reason));
                backoff_until = Some(until);
            }
            // Critical drift runs now, cooldown or not.
            None if severity == Severity::Critical => fired.push(trigger),
            None => automatic.push(trigger),
        }
    }
    if let Some(Live { signals, win_rate: Some(rate) }) = f.live
        && signals >= t.min_signals as usize
        && rate < t.min_win_rate
    {
        automatic.push(Trigger {
            kind: TriggerKind::Performance,
            priority: Priority::High,
            reason: format!(
                "live win rate {:.1}% after {signals} resolved signals, below triggers.min_win_rate {:.0}%",
                100.0 * rate,
                100.0 * t.min_win_rate
            ),
            severity: None,
        });
    }
    if let Some(d) = f.decay.filter(|d| d.relative_drop > t.performance_decay) {
        let trigger = Trigger {
            kind: TriggerKind::Decay,
            priority: Priority::High,
            reason: format!(
                "{} fell from {:.4} on its test window to {:.4} recently ({:.1}% down, more than \
                 triggers.performance_decay {:.0}%)",
                s.evaluation.metric.as_str(),
                d.test,
                d.recent,
                100.0 * d.relative_drop,
                100.0 * t.performance_decay
            ),
            severity: None,
        };
        match backing_off(f, s) {
            Some((why, until)) => {
                held.push(format!("{} held back: {why} ({})", trigger.kind, trigger.reason));
                backoff_until = Some(until);
            }
            None => automatic.push(trigger),
        }
    }
    if let Some(age) = f.production_age_days.filter(|a| *a > t.max_age_days) {
        automatic.push(Trigger {
            kind: TriggerKind::Age,
            priority: Priority::Low,
            reason: format!(
                "production version is {age:.1} days old, more than triggers.max_age_days {}",
                t.max_age_days
            ),
            severity: None,
        });
    }
    if !f.has_production && f.regime_rows >= t.min_initial_rows as usize {
        automatic.push(Trigger {
            kind: TriggerKind::Initial,
            priority: Priority::Medium,
            reason: format!(
                "no production model yet and {} bars of the regime (triggers.min_initial_rows {})",
                f.regime_rows, t.min_initial_rows
            ),
            severity: None,
        });
    }
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
    Verdict { fired, held, backoff_until }
}

/// Why drift and decay may not fire yet, when the back-off after refused retrains of the
/// production version has not passed: how many, and when they may fire again (also
/// returned, in ms).
fn backing_off(f: &Facts, s: &Settings) -> Option<(String, i64)> {
    let r = f.refused?;
    let wait = r.wait_hours(s.triggers.drift_backoff_hours);
    (r.hours_since < wait).then(|| {
        let until = r.last_at + (wait * 3_600_000.0).round() as i64;
        let why = format!(
            "{} retrain{} for drift or decay left production in place, the last {:.1} h ago; the back-off \
             (triggers.drift_backoff_hours {}, doubled per refused retrain) is {wait} h, until {}",
            r.count,
            if r.count == 1 { "" } else { "s" },
            r.hours_since,
            s.triggers.drift_backoff_hours,
            crate::candles::time::format_minute(until)
        );
        (why, until)
    })
}

/// Why a model with no trigger firing is not due, in one line: the cooldown's notes if it
/// held a trigger back, else each trigger's standing against its threshold.
pub fn not_due(f: &Facts, verdict: &Verdict, s: &Settings) -> String {
    if !verdict.held.is_empty() {
        return verdict.held.join("; ");
    }
    let t = &s.triggers;
    if !f.has_production {
        return format!(
            "{} bars of the regime, fewer than triggers.min_initial_rows {}",
            f.regime_rows, t.min_initial_rows
        );
    }
    let mut parts = Vec::new();
    if let Some(age) = f.production_age_days {
        parts.push(format!("production {age:.1} days old (triggers.max_age_days {})", t.max_age_days));
    }
    parts.push(match f.live {
        Some(Live { signals, win_rate: Some(rate) }) if signals >= t.min_signals as usize => format!(
            "live win rate {:.1}% of {signals} signals (triggers.min_win_rate {:.0}%)",
            100.0 * rate,
            100.0 * t.min_win_rate
        ),
        Some(Live { signals, .. }) if signals < t.min_signals as usize => {
            format!("{signals} resolved live signals, fewer than triggers.min_signals {}", t.min_signals)
        }
        Some(Live { signals, .. }) => {
            format!("{signals} resolved live signals, none a trade: no live win rate")
        }
        None => "no live signals".to_string(),
    });
    parts.push(match f.drift {
        Some(Some(severity)) => format!("{severity} drift (triggers.drift_severity {})", t.drift_severity),
        Some(None) => "no drift".to_string(),
        None => "drift not measured since its last job".to_string(),
    });
    parts.push(match f.decay {
        Some(d) => format!(
            "{} {:+.1}% against its test window (triggers.performance_decay {:.0}%)",
            s.evaluation.metric.as_str(),
            -100.0 * d.relative_drop,
            100.0 * t.performance_decay
        ),
        None => format!("{} not measured since its last job", s.evaluation.metric.as_str()),
    });
    parts.push("no schedule due".to_string());
    parts.join(", ")
}

/// The job a model's triggers make: the highest priority among them, its first trigger
/// by kind order, every reason.
pub fn merge(triggers: &[Trigger]) -> Option<Trigger> {
    let top = triggers.iter().max_by(|a, b| a.priority.cmp(&b.priority).then(b.kind.cmp(&a.kind)))?;
    let reason = triggers.iter().map(|t| t.reason.as_str()).collect::<Vec<_>>().join("; ");
    let severity = triggers.iter().filter_map(|t| t.severity).max();
    Some(Trigger { kind: top.kind, priority: top.priority, reason, severity })
}

/// Run order: urgent first, then by trigger kind, then the oldest request, then by name.
pub fn order(a: (&Trigger, i64, &str), b: (&Trigger, i64, &str)) -> Ordering {
    b.0.priority.cmp(&a.0.priority).then(a.0.kind.cmp(&b.0.kind)).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(triggers: &[Trigger]) -> Vec<&str> {
        triggers.iter().map(|t| t.kind.as_str()).collect()
    }

    #[test]
    fn each_trigger_fires_at_its_threshold_and_the_cooldown_holds_the_automatic_ones() {
        let s = Settings::default();
        let quiet = Facts { has_production: true, production_age_days: Some(1.0), ..Facts::default() };
        assert!(evaluate(&quiet, &s).fired.is_empty());
        let busy = Facts {
            has_production: true,
            production_age_days: Some(31.0),
            live: Some(Live { signals: 20, win_rate: Some(0.40) }),
            decay: Some(Decay { test: 0.6, recent: 0.5, relative_drop: 1.0 / 6.0 }),
            drift: Some(Some(Severity::High)),
            schedule_due: Some("schedule".into()),
            ..Facts::default()
        };
        let Verdict { fired, held, .. } = evaluate(&busy, &s);
        assert_eq!(kinds(&fired), ["schedule", "drift", "performance", "decay", "age"]);
        assert!(held.is_empty());
        let cooling = Facts { hours_since_job: Some(3.0), ..busy.clone() };
        let Verdict { fired, held, .. } = evaluate(&cooling, &s);
        assert_eq!(kinds(&fired), ["schedule"], "schedules are not held back");
        assert_eq!(held.len(), 4);
        // A schedule waits for a first model's rows, as the initial trigger does.
        let young = Facts { schedule_due: Some("schedule".into()), regime_rows: 999, ..Facts::default() };
        let Verdict { fired, held, .. } = evaluate(&young, &s);
        assert!(fired.is_empty(), "{fired:?}");
        assert_eq!(held.len(), 1);
        assert!(held[0].starts_with("schedule held back: no production model yet and 999 bars"), "{held:?}");
        let ready = Facts { regime_rows: 1000, ..young };
        assert_eq!(kinds(&evaluate(&ready, &s).fired), ["schedule", "initial"]);
        let critical = Facts { drift: Some(Some(Severity::Critical)), ..cooling };
        let fired = evaluate(&critical, &s).fired;
        assert_eq!(kinds(&fired), ["schedule", "drift"]);
        assert_eq!(merge(&fired).unwrap().priority, Priority::Urgent);
        // Below the thresholds: 19 signals, 10% decay, medium drift, 30 days.
        let calm = Facts {
            has_production: true,
            production_age_days: Some(30.0),
            live: Some(Live { signals: 19, win_rate: Some(0.1) }),
            decay: Some(Decay { test: 0.6, recent: 0.54, relative_drop: 0.1 }),
            drift: Some(Some(Severity::Medium)),
            ..Facts::default()
        };
        let verdict = evaluate(&calm, &s);
        assert!(verdict.fired.is_empty());
        assert_eq!(
            not_due(&calm, &verdict, &s),
            "production 30.0 days old (triggers.max_age_days 30), 19 resolved live signals, fewer than \
             triggers.min_signals 20, medium drift (triggers.drift_severity high), f1 -10.0% against its test \
             window (triggers.performance_decay 10%), no schedule due"
        );
        // Enough signals, none of them a trade: no win rate to judge, and it says so.
        let flat = Facts { live: Some(Live { signals: 100, win_rate: None }), ..calm };
        let verdict = evaluate(&flat, &s);
        assert!(verdict.fired.is_empty());
        assert!(
            not_due(&flat, &verdict, &s)
                .contains(", 100 resolved live signals, none a trade: no live win rate,")
        );
        let first = Facts { regime_rows: 1000, ..Facts::default() };
        assert_eq!(kinds(&evaluate(&first, &s).fired), ["initial"]);
        let short = Facts { regime_rows: 999, ..Facts::default() };
        let verdict = evaluate(&short, &s);
        assert!(verdict.fired.is_empty());
        assert_eq!(
            not_due(&short, &verdict, &s),
            "999 bars of the regime, fewer than triggers.min_initial_rows 1000"
        );
        let held = evaluate(&Facts { hours_since_job: Some(1.0), ..first }, &s);
        assert!(held.fired.is_empty());
        assert!(not_due(&short, &held, &s).starts_with("initial held back: the last job started 1.0 h ago"));
    }

    /// A drift the gates refused to fix waits out the back-off, doubled per refused retrain,
    /// unless it grows; decay waits too; the other triggers do not.
    #[test]
    fn refused_retrains_back_off_until_the_drift_grows() {
        let s = Settings::default();
        assert_eq!(s.triggers.drift_backoff_hours, 24.0);
        let refused = |count, hours_since, severity| Refused { count, hours_since, last_at: 0, severity };
        let drifting = Facts {
            has_production: true,
            production_age_days: Some(2.0),
            drift: Some(Some(Severity::Critical)),
            decay: Some(Decay { test: 0.6, recent: 0.3, relative_drop: 0.5 }),
            hours_since_job: Some(30.0),
            refused: Some(refused(1, 23.9, Some(Severity::Critical))),
            ..Facts::default()
        };
        let verdict = evaluate(&drifting, &s);
        assert!(verdict.fired.is_empty(), "{:?}", verdict.fired);
        assert_eq!(verdict.held.len(), 2);
        assert!(
            verdict.held[0].starts_with(
                "drift held back: 1 retrain for drift or decay left production in place, the last 23.9 h ago; \
                 the back-off (triggers.drift_backoff_hours 24, doubled per refused retrain) is 24 h, until \
                 1970-01-02 00:00"
            ),
            "{}",
            verdict.held[0]
        );
        assert!(verdict.held[1].starts_with("decay held back: 1 retrain"));
        assert_eq!(verdict.backoff_until, Some(24 * 3_600_000), "the last retrain at 0, plus 24 h");
        // Past the back-off both fire again.
        let waited = Facts { refused: Some(refused(1, 24.0, Some(Severity::Critical))), ..drifting.clone() };
        assert_eq!(kinds(&evaluate(&waited, &s).fired), ["drift", "decay"]);
        // The wait doubles: the third refused retrain means 96 hours.
        let third = Facts { refused: Some(refused(3, 95.0, Some(Severity::Critical))), ..drifting.clone() };
        assert!(evaluate(&third, &s).fired.is_empty());
        assert!(evaluate(&third, &s).held[0].contains("is 96 h"));
        let third = Facts { refused: Some(refused(3, 96.0, Some(Severity::Critical))), ..drifting.clone() };
        assert_eq!(kinds(&evaluate(&third, &s).fired), ["drift", "decay"]);
        // A drift that grew fires at once (a decay retrain's severity is none: any drift grew).
        let grew = Facts { refused: Some(refused(1, 1.0, Some(Severity::High))), ..drifting.clone() };
        assert_eq!(kinds(&evaluate(&grew, &s).fired), ["drift"]);
        let after_decay = Facts { refused: Some(refused(1, 1.0, None)), ..drifting.clone() };
        assert_eq!(kinds(&evaluate(&after_decay, &s).fired), ["drift"]);
        // Other triggers do not wait on it.
        let old = Facts { production_age_days: Some(31.0), ..drifting };
        assert_eq!(kinds(&evaluate(&old, &s).fired), ["age"]);
        // The job carries the severity it fired for.
        assert_eq!(merge(&evaluate(&waited, &s).fired).unwrap().severity, Some(Severity::Critical));
    }

    #[test]
    fn jobs_run_urgent_first_then_by_kind_then_oldest() {
        use {Priority as P, TriggerKind as K};
        let t = |kind, priority| Trigger { kind, priority, reason: String::new(), severity: None };
        let mut jobs = [
            (t(K::Schedule, P::Medium), 5, "A"),
            (t(K::Manual, P::Urgent), 9, "B"),
            (t(K::Age, P::Low), 1, "C"),
            (t(K::Decay, P::High), 7, "D"),
            (t(K::Schedule, P::Medium), 2, "E"),
            (t(K::Manual, P::Medium), 3, "F"),
        ];
        jobs.sort_by(|a, b| order((&a.0, a.1, a.2), (&b.0, b.1, b.2)));
        let names: Vec<&str> = jobs.iter().map(|j| j.2).collect();
        assert_eq!(names, ["B", "D", "F", "E", "A", "C"]);
    }
}
