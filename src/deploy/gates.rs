//! The promotion gates: every configured check of a candidate, each with its value,
//! threshold and verdict. Pure: the evidence is gathered by the caller.

use serde::{Deserialize, Serialize};

use crate::config::GateSettings;
use crate::evaluation::Record;
use crate::evaluation::compare::Comparison;
use crate::evaluation::versus::Baseline;

/// One gate as checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// The config key under `gates`.
    pub name: String,
    /// `None` where the value is undefined (see `note`).
    pub value: Option<f64>,
    /// `>=` or `<=`.
    pub rule: String,
    pub threshold: f64,
    pub passed: bool,
    pub note: String,
}

/// The candidate against the production version, on the same unseen bars.
#[derive(Debug, Clone)]
pub enum Versus {
    /// No production version: compared with each no-skill baseline on its unseen bars
    /// instead (or why it could not be).
    FirstModel { baselines: Result<Vec<(Baseline, Comparison)>, String> },
    /// Compared on shared bars (the comparison may still be inconclusive).
    Compared { champion_version: i64, comparison: Comparison },
    /// No shared unseen bar at all.
    NotComparable { champion_version: i64, why: String },
}

/// The candidate's drift on recent data, judged as `drift.method` says, or why it could
/// not be measured.
#[derive(Debug, Clone)]
pub enum RecentDrift {
    /// `fixed`: the largest per-feature KS statistic against the training reference.
    Measured { max_ks: f64, feature: String, rows: usize },
    /// `calibrated`: the share of the model's importance held by the features that drift
    /// past their calibrated thresholds, and those features.
    Calibrated { share: f64, drifted: Vec<String>, rows: usize },
    /// Why not; `calibrated` says which gate it fails.
    NotMeasured { why: String, calibrated: bool },
}

/// What the gates look at.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The candidate's metrics on its test window.
    pub test: Record,
    pub versus: Versus,
    pub drift: RecentDrift,
    /// Hours since the model's last deployment row, `None` if it never had one.
    pub hours_since_deployment: Option<f64>,
}

fn at_least(name: &str, value: Option<f64>, threshold: f64, note: impl Into<String>) -> Gate {
    Gate {
        name: name.into(),
        value,
        rule: ">=".into(),
        threshold,
        passed: value.is_some_and(|v| v >= threshold),
        note: note.into(),
    }
}

/// A first model against the no-skill baselines: it must beat each, so the gate's value
/// is the smallest P(better) among them (undefined if any comparison is inconclusive).
fn versus_baselines(baselines: &Result<Vec<(Baseline, Comparison)>, String>, threshold: f64) -> Gate {
    let name = "min_probability_better";
    let compared = match baselines {
        Err(why) => {
            return at_least(
                name,
                None,
                threshold,
                format!("not compared with the no-skill baselines: {why}"),
            );
        }
        Ok(compared) => compared,
    };
    let value = compared
        .iter()
        .map(|(_, c)| c.probability_better)
        .try_fold(f64::INFINITY, |low, p| p.map(|p| low.min(p)))
        .filter(|v| v.is_finite());
    let each: Vec<String> = compared
        .iter()
        .map(|(b, c)| {
            format!(
                "{} {} {:.4} vs {:.4}, P {}",
                b.describe(),
                c.metric,
                c.champion,
                c.challenger,
                c.probability_better.map_or("inconclusive".to_string(), |p| format!("{p:.3}"))
            )
        })
        .collect();
    let bars = compared.first().map_or(0, |(_, c)| c.bars);
    at_least(
        name,
        value,
        threshold,
        format!(
            "first model vs no-skill baselines on {bars} unseen bars (paired block bootstrap): {}",
            each.join("; ")
        ),
    )
}

fn at_most(name: &str, value: Option<f64>, threshold: f64, note: impl Into<String>) -> Gate {
    Gate {
        name: name.into(),
        value,
        rule: "<=".into(),
        threshold,
        passed: value.is_some_and(|v| v <= threshold),
        note: note.into(),
    }
}

/// Check every gate, in a fixed order.
pub fn check(e: &Evidence, g: &GateSettings) -> Vec<Gate> {
    let c = e.test.classification;
    let t = e.test.trading;
    let test_note = |defined: bool, what: &str| {
        if defined { "test window".to_string() } else { format!("undefined: {what}") }
    };
    let mut gates = vec![
        at_least("min_f1", c.map(|c| c.f1), g.min_f1, test_note(c.is_some(), "no labelled test row")),
        at_least(
            "min_precision",
            c.map(|c| c.precision),
            g.min_precision,
            test_note(c.is_some(), "no labelled test row"),
        ),
        at_least(
            "min_recall",
            c.map(|c| c.recall),
            g.min_recall,
            test_note(c.is_some(), "no labelled test row"),
        ),
    ];
    let trades = t.map_or(0, |t| t.trades);
    let win_rate = t.and_then(|t| t.win_rate);
    gates.push(at_least(
        "min_win_rate",
        win_rate,
        g.min_win_rate,
        test_note(win_rate.is_some(), "no closed trade"),
    ));
    gates.push(match t.map(|t| t.profit_factor) {
        Some(Some(pf)) => at_least("min_profit_factor", Some(pf), g.min_profit_factor, "test window"),
        // Gains without a single loss: the factor is unbounded, which clears any minimum.
        Some(None) if trades > 0 => Gate {
            passed: true,
            ..at_least("min_profit_factor", None, g.min_profit_factor, "no losing trade: unbounded")
        },
        _ => at_least("min_profit_factor", None, g.min_profit_factor, "undefined: no closed trade"),
    });
    gates.push(at_most(
        "max_drawdown",
        t.map(|t| t.max_drawdown),
        g.max_drawdown,
        test_note(t.is_some(), "no test bar"),
    ));
    gates.push(at_least(
        "min_trades",
        t.map(|t| t.trades as f64),
        f64::from(g.min_trades),
        test_note(t.is_some(), "no test bar"),
    ));
    gates.push(match &e.drift {
        RecentDrift::Measured { max_ks, feature, rows } => at_most(
            "max_feature_drift_ks",
            Some(*max_ks),
            g.max_feature_drift_ks,
            format!("largest KS: {feature}, reference vs {rows} recent bars"),
        ),
        RecentDrift::Calibrated { share, drifted, rows } => at_most(
            "max_drifted_importance",
            Some(*share),
            g.max_drifted_importance,
            if drifted.is_empty() {
                format!("no feature drifts past its calibrated threshold, vs {rows} recent bars")
            } else {
                format!(
                    "drifting past their calibrated thresholds: {}, vs {rows} recent bars",
                    drifted.join(", ")
                )
            },
        ),
        RecentDrift::NotMeasured { why, calibrated: true } => {
            at_most("max_drifted_importance", None, g.max_drifted_importance, why.clone())
        }
        RecentDrift::NotMeasured { why, calibrated: false } => {
            at_most("max_feature_drift_ks", None, g.max_feature_drift_ks, why.clone())
        }
    });
    match &e.versus {
        Versus::FirstModel { baselines } => {
            let first = "no production version: a first model passes by definition";
            gates.push(Gate {
                passed: true,
                ..at_least("min_f1_improvement", None, g.min_f1_improvement, first)
            });
            gates.push(versus_baselines(baselines, g.min_probability_better));
        }
        Versus::Compared { champion_version, comparison: cmp } => {
            let improvement =
                (cmp.champion != 0.0).then(|| (cmp.challenger - cmp.champion) / cmp.champion.abs());
            gates.push(at_least(
                "min_f1_improvement",
                improvement,
                g.min_f1_improvement,
                match improvement {
                    Some(_) => format!(
                        "{} {:.4} vs {:.4} of production v{champion_version} on {} shared bars",
                        cmp.metric, cmp.challenger, cmp.champion, cmp.bars
                    ),
                    None => format!("undefined: production v{champion_version} scores 0 on the shared bars"),
                },
            ));
            gates.push(at_least(
                "min_probability_better",
                cmp.probability_better,
                g.min_probability_better,
                match cmp.probability_better {
                    Some(_) => format!("paired block bootstrap vs production v{champion_version}"),
                    None => format!(
                        "inconclusive: {} shared bars, at least {} needed; never a pass",
                        cmp.bars, cmp.min_bars
                    ),
                },
            ));
        }
        Versus::NotComparable { champion_version, why } => {
            let note = format!("not comparable with production v{champion_version}: {why}");
            gates.push(at_least("min_f1_improvement", None, g.min_f1_improvement, note.clone()));
            gates.push(at_least("min_probability_better", None, g.min_probability_better, note));
        }
    }
    gates.push(match e.hours_since_deployment {
        Some(hours) => {
            at_least("cooldown_hours", Some(hours), g.cooldown_hours, "hours since the last deployment")
        }
        None => Gate {
            passed: true,
            ..at_least("cooldown_hours", None, g.cooldown_hours, "no earlier deployment of this model")
        },
    });
    gates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::backtest::Trading;
    use crate::evaluation::compare::Verdict;
    use crate::model::metrics::Classification;

    fn record(f1: f64, trades: usize, profit_factor: Option<f64>) -> Record {
        let classification = Classification {
            rows: 500,
            accuracy: 0.6,
            precision: 0.62,
            recall: 0.55,
            f1,
            roc_auc: Some(0.6),
            log_loss: 0.68,
            brier: 0.24,
            positive_rate: 0.4,
        };
        let trading = Trading {
            bars: 1000,
            total_return: 0.05,
            annual_return: Some(0.3),
            sharpe: Some(1.1),
            sortino: Some(1.5),
            max_drawdown: 0.08,
            calmar: Some(3.0),
            trades,
            win_rate: Some(0.5),
            profit_factor,
            average_trade: Some(0.001),
            exposure: 0.3,
            consistency: Some(0.6),
            hit_rate: Some(0.55),
        };
        Record { classification: Some(classification), trading: Some(trading) }
    }

    fn evidence(versus: Versus, hours: Option<f64>) -> Evidence {
        Evidence {
            test: record(0.61, 40, Some(1.3)),
            versus,
            drift: RecentDrift::Measured { max_ks: 0.1, feature: "rsi".into(), rows: 300 },
            hours_since_deployment: hours,
        }
    }

    fn comparison(champion: f64, challenger: f64, probability: Option<f64>) -> Comparison {
        Comparison {
            metric: "f1".into(),
            bars: 800,
            min_bars: 200,
            champion,
            challenger,
            difference: challenger - champion,
            probability_better: probability,
            interval: probability.map(|_| [0.0, 0.1]),
            resamples: 2000,
            block_bars: 24,
            verdict: if probability.is_some() { Verdict::ChallengerBetter } else { Verdict::Inconclusive },
        }
    }

    fn failed(gates: &[Gate]) -> Vec<&str> {
        gates.iter().filter(|g| !g.passed).map(|g| g.name.as_str()).collect()
    }

    #[test]
    fn a_first_model_must_beat_every_no_skill_baseline() {
        let beaten = |p: [Option<f64>; 3]| Versus::FirstModel {
            baselines: Ok(Baseline::ALL.iter().zip(p).map(|(b, p)| (*b, comparison(0.3, 0.6, p))).collect()),
        };
        let gates =
            check(&evidence(beaten([Some(0.99), Some(0.85), Some(0.9)]), None), &GateSettings::default());
        assert_eq!(gates.len(), 11, "one row per gate key");
        assert!(failed(&gates).is_empty(), "{gates:#?}");
        let improvement = gates.iter().find(|g| g.name == "min_f1_improvement").unwrap();
        assert!(improvement.note.contains("first model"));
        assert_eq!(improvement.value, None);
        // It must beat every baseline: the weakest win decides, an inconclusive one fails.
        let better =
            |gates: &[Gate]| gates.iter().find(|g| g.name == "min_probability_better").unwrap().clone();
        let gate = better(&gates);
        assert_eq!(gate.value, Some(0.85));
        assert!(gate.note.contains("always long f1 0.3000 vs 0.6000, P 0.850"), "{}", gate.note);
        let gates =
            check(&evidence(beaten([Some(0.99), Some(0.79), Some(0.9)]), None), &GateSettings::default());
        assert_eq!(failed(&gates), ["min_probability_better"]);
        let gates = check(&evidence(beaten([Some(0.99), None, Some(0.9)]), None), &GateSettings::default());
        assert_eq!((failed(&gates), better(&gates).value), (vec!["min_probability_better"], None));
        let none = Versus::FirstModel { baselines: Err("no labelled bar".into()) };
        assert_eq!(
            failed(&check(&evidence(none, None), &GateSettings::default())),
            ["min_probability_better"]
        );
    }

    #[test]
    fn each_threshold_is_a_boundary_and_relative_improvement_is_measured_on_shared_bars() {
        let g = GateSettings::default();
        // 0.60 -> 0.618 is +3.0%: exactly the minimum passes; 0.617 does not.
        let at = comparison(0.60, 0.618, Some(0.85));
        let gates =
            check(&evidence(Versus::Compared { champion_version: 3, comparison: at }, Some(24.0)), &g);
        assert!(failed(&gates).is_empty(), "{gates:#?}");
        let below = comparison(0.60, 0.617, Some(0.85));
        let gates =
            check(&evidence(Versus::Compared { champion_version: 3, comparison: below }, Some(23.9)), &g);
        assert_eq!(failed(&gates), ["min_f1_improvement", "cooldown_hours"]);
        let inconclusive = comparison(0.60, 0.70, None);
        let gates = check(
            &evidence(Versus::Compared { champion_version: 3, comparison: inconclusive }, Some(30.0)),
            &g,
        );
        assert_eq!(failed(&gates), ["min_probability_better"], "inconclusive is never better");
    }

    #[test]
    fn undefined_values_fail_except_an_unbounded_profit_factor() {
        let g = GateSettings::default();
        let mut e = evidence(
            Versus::FirstModel {
                baselines: Ok(Baseline::ALL.iter().map(|b| (*b, comparison(0.3, 0.6, Some(0.9)))).collect()),
            },
            None,
        );
        e.test = record(0.61, 40, None);
        assert!(failed(&check(&e, &g)).is_empty(), "no losing trade clears min_profit_factor");
        e.test = record(0.61, 0, None);
        e.test.trading.as_mut().unwrap().win_rate = None;
        assert_eq!(failed(&check(&e, &g)), ["min_win_rate", "min_profit_factor", "min_trades"]);
        e.test = record(0.39, 40, Some(1.3));
        e.drift = RecentDrift::NotMeasured { why: "no recent bar of the regime".into(), calibrated: false };
        assert_eq!(failed(&check(&e, &g)), ["min_f1", "max_feature_drift_ks"]);
        e.drift = RecentDrift::NotMeasured { why: "no recent bar of the regime".into(), calibrated: true };
        assert_eq!(failed(&check(&e, &g)), ["min_f1", "max_drifted_importance"]);
        // Calibrated: the share of importance that drifts, at most the threshold (0.2).
        e.drift = RecentDrift::Calibrated { share: 0.2, drifted: vec!["natr".into()], rows: 300 };
        assert_eq!(failed(&check(&e, &g)), ["min_f1"]);
        e.drift = RecentDrift::Calibrated { share: 0.21, drifted: vec!["natr".into()], rows: 300 };
        let gates = check(&e, &g);
        assert_eq!(failed(&gates), ["min_f1", "max_drifted_importance"]);
        let gate = gates.iter().find(|g| g.name == "max_drifted_importance").unwrap();
        assert_eq!(gate.note, "drifting past their calibrated thresholds: natr, vs 300 recent bars");
    }
}
