//! Helpers for the tests of deployment (`promote`, `rollback`, `predict`, `history`): the
//! models' statuses, the invariants a crash must keep, and a live feed of candles.

use std::collections::BTreeMap;

use super::{Case, Run, collect, db, rows, sample};

/// Almost every bar trending (volatile only at a 500-bar high of volatility), so that
/// one model serves nearly all predictions.
pub const ONE_REGIME: &str = "regimes:
  trend_adx: 0.0
  volatile_percentile: 1.0
";

/// (regime, version) -> status.
pub fn statuses(case: &Case) -> BTreeMap<(String, i64), String> {
    rows(case, "SELECT regime, version, status FROM model_versions", |r| {
        Ok(((r.get(0)?, r.get(1)?), r.get(2)?))
    })
    .into_iter()
    .collect()
}

/// The production version of `regime` (the tests of deployment keep one symbol).
pub fn production(case: &Case, regime: &str) -> Option<i64> {
    statuses(case).iter().find(|((r, _), s)| r == regime && *s == "production").map(|((_, v), _)| *v)
}

/// The state is whole: at most one production version per model, the deployment record
/// ends where the statuses are, and a canary exists exactly while its test runs.
#[track_caller]
pub fn assert_whole(case: &Case, context: &str) {
    let conn = db(case);
    let per_model: Vec<(String, String, i64, Option<i64>, i64, i64)> = rows(
        case,
        "SELECT v.symbol, v.regime,
                SUM(CASE WHEN v.status = 'production' THEN 1 ELSE 0 END),
                (SELECT t.version FROM deployments d JOIN model_versions t ON t.id = d.to_version_id
                 WHERE d.symbol = v.symbol AND d.regime = v.regime ORDER BY d.id DESC LIMIT 1),
                SUM(CASE WHEN v.status = 'canary' THEN 1 ELSE 0 END),
                (SELECT COUNT(*) FROM ab_tests a WHERE a.symbol = v.symbol AND a.regime = v.regime
                 AND a.ended_at IS NULL)
         FROM model_versions v GROUP BY v.symbol, v.regime",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
    );
    for (symbol, regime, productions, recorded, canaries, running) in per_model {
        assert!(productions <= 1, "{context}: {symbol} {regime} has {productions} production versions");
        let live: Option<i64> = conn
            .query_opt(
                "SELECT version FROM model_versions WHERE symbol = ?1 AND regime = ?2 AND status = 'production'",
                retrain::store::db::params![symbol, regime],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            live, recorded,
            "{context}: {symbol} {regime}: statuses and the deployment record disagree"
        );
        assert_eq!(
            canaries, running,
            "{context}: {symbol} {regime}: a canary without its test, or the reverse"
        );
    }
}

/// The regime of the latest stored bar, from `predict`'s refusal when that regime has
/// no production model yet.
pub fn latest_regime(case: &Case, symbol: &str, interval: &str) -> String {
    let run = case.run(["predict", "--symbol", symbol, "--interval", interval]);
    run.assert_exit(3).stderr_contains("has no production model: promote one");
    let after = run.stderr.split(") is ").nth(1).expect("the refusal names the regime");
    after.split(',').next().unwrap().to_string()
}

/// The sample's candles, delivered a few at a time as a live market would: `collect`
/// them, and `predict` each new bar.
pub struct Feed {
    header: String,
    rows: Vec<String>,
}

impl Feed {
    pub fn sample() -> Feed {
        let text = std::fs::read_to_string(sample()).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap().to_string();
        Feed { header, rows: lines.map(str::to_string).collect() }
    }

    /// Collect the sample's `rows` as SYNTH 5m.
    pub fn collect(&self, case: &Case, rows: std::ops::Range<usize>) -> Run {
        let body: String = self.rows[rows].iter().map(|l| format!("{l}\n")).collect();
        let path = case.write("feed.csv", format!("{}\n{body}", self.header));
        let run = collect(case, "SYNTH", "5m", &path);
        run.assert_exit(0);
        run
    }

    /// One candle at a time, each predicted; predictions of a bar in a regime without a
    /// production model are refused (exit 3) and not counted. Returns how many predictions
    /// were served, and what the collects printed.
    pub fn step(&self, case: &Case, rows: std::ops::Range<usize>) -> (usize, String) {
        let (mut served, mut log) = (0, String::new());
        for row in rows {
            log.push_str(&self.collect(case, row..row + 1).stdout);
            let run = case.run(["predict", "--symbol", "SYNTH", "--interval", "5m"]);
            if run.code == Some(3) {
                run.stderr_contains("has no production model");
            } else {
                run.assert_exit(0);
                served += 1;
            }
        }
        (served, log)
    }
}
