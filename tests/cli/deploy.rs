//! Deployment: promote behind gates, roll back, the record of what was live when,
//! predictions as signals resolved by later candles, canary tests, automatic rollback;
//! crashes at any step and damaged artifacts leave production whole.

use std::collections::BTreeMap;

use crate::{Case, OPEN_GATES, Run, data, sample};

/// Almost every bar trending (volatile only at a 500-bar high of volatility), so that
/// one model serves nearly all predictions.
const ONE_REGIME: &str = "regimes:
  trend_adx: 0.0
  volatile_percentile: 1.0
";

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.assert_exit(0).stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn db(case: &Case) -> rusqlite::Connection {
    rusqlite::Connection::open(case.path("retrain.db")).expect("opening the database")
}

/// (regime, version) -> status.
fn statuses(case: &Case) -> BTreeMap<(String, i64), String> {
    let conn = db(case);
    let mut statement = conn.prepare("SELECT regime, version, status FROM model_versions").unwrap();
    statement
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn production(case: &Case, regime: &str) -> Option<i64> {
    statuses(case).iter().find(|((r, _), s)| r == regime && *s == "production").map(|((_, v), _)| *v)
}

fn count(case: &Case, sql: &str) -> i64 {
    db(case).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The state is whole: at most one production version per model, the deployment record
/// ends where the statuses are, and a canary exists exactly while its test runs.
#[track_caller]
fn assert_whole(case: &Case, context: &str) {
    let conn = db(case);
    let per_model: Vec<(String, String, i64, Option<i64>, i64, i64)> = conn
        .prepare(
            "SELECT v.symbol, v.regime,
                    SUM(v.status = 'production'),
                    (SELECT t.version FROM deployments d JOIN model_versions t ON t.id = d.to_version_id
                     WHERE d.symbol = v.symbol AND d.regime = v.regime ORDER BY d.id DESC LIMIT 1),
                    SUM(v.status = 'canary'),
                    (SELECT COUNT(*) FROM ab_tests a WHERE a.symbol = v.symbol AND a.regime = v.regime
                     AND a.ended_at IS NULL)
             FROM model_versions v GROUP BY v.symbol, v.regime",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (symbol, regime, productions, recorded, canaries, running) in per_model {
        assert!(productions <= 1, "{context}: {symbol} {regime} has {productions} production versions");
        let live: Option<i64> = conn
            .query_row(
                "SELECT version FROM model_versions WHERE symbol = ?1 AND regime = ?2 AND status = 'production'",
                [&symbol, &regime],
                |r| r.get(0),
            )
            .ok();
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
fn latest_regime(case: &Case, symbol: &str, interval: &str) -> String {
    let run = case.run(["predict", "--symbol", symbol, "--interval", interval]);
    run.assert_exit(3).stderr_contains("has no production model: promote one");
    let after = run.stderr.split(") is ").nth(1).expect("the refusal names the regime");
    after.split(',').next().unwrap().to_string()
}

fn flip_a_byte(case: &Case, relative: &str) -> Vec<u8> {
    let path = case.path(relative);
    let original = std::fs::read(&path).unwrap();
    let mut bytes = original.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    original
}

fn train(case: &Case, symbol: &str, regime: &str, seed: &str) {
    case.run(["train", "--symbol", symbol, "--regime", regime, "--trials", "2", "--seed", seed])
        .assert_exit(0);
}

/// The sample's first `rows` candles, then `collect` and `predict` one new candle at a
/// time for `steps` candles from row `start`; returns how many predictions were served.
struct Feed {
    header: String,
    rows: Vec<String>,
}

impl Feed {
    fn sample() -> Feed {
        let text = std::fs::read_to_string(sample()).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap().to_string();
        Feed { header, rows: lines.map(str::to_string).collect() }
    }

    fn collect(&self, case: &Case, rows: std::ops::Range<usize>) -> Run {
        let body: String = self.rows[rows].iter().map(|l| format!("{l}\n")).collect();
        let path = case.write("feed.csv", format!("{}\n{body}", self.header));
        let run =
            case.run(["collect", "--symbol", "SYNTH", "--interval", "5m", "--file", path.to_str().unwrap()]);
        run.assert_exit(0);
        run
    }

    /// One candle at a time, each predicted; predictions of a bar in a regime without a
    /// production model are refused (exit 3) and not counted.
    fn step(&self, case: &Case, rows: std::ops::Range<usize>) -> (usize, String) {
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

#[test]
fn the_whole_story_on_real_data() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let case = Case::new().config(
        "gates:
  min_f1: 0.1
  min_precision: 0.1
  min_recall: 0.05
  min_win_rate: 0.0
  min_profit_factor: 0.0
  min_trades: 1
  max_feature_drift_ks: 1.0
",
    );
    let text = std::fs::read_to_string(&btc).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let early: String = lines[..40_001].iter().map(|l| format!("{l}\n")).collect();
    let early_path = case.write("early.csv", early);
    let collect = |path: &std::path::Path| case.collect_5m("BTC", path);
    collect(&early_path).assert_exit(0);
    let regime = latest_regime(&case, "BTC", "5m");
    let regime = regime.as_str();
    train(&case, "BTC", regime, "1");
    train(&case, "BTC", regime, "2");
    case.run(["evaluate", "--symbol", "BTC", "--regime", regime, "--version", "1", "--window-days", "30"])
        .assert_exit(0);

    // The first model passes the comparison gates by definition; the second is refused
    // (the 24 h cooldown at least), and nothing changes.
    case.run(["promote", "--symbol", "BTC", "--regime", regime, "--version", "1"])
        .assert_exit(0)
        .stdout_contains("a first model passes by definition")
        .stdout_contains(&format!("BTC {regime}: v1 is production"));
    let before = (statuses(&case), count(&case, "SELECT COUNT(*) FROM deployments"));
    let refused = case.run(["promote", "--symbol", "BTC", "--regime", regime, "--version", "2"]);
    refused.assert_exit(3).stderr_contains("not promoted");
    let cooldown = refused.stdout.lines().find(|l| l.starts_with("cooldown_hours")).unwrap();
    assert!(cooldown.contains("FAIL"), "{}", refused.stdout);
    assert!(refused.stdout.contains("of production v1 on"), "compared on shared bars: {}", refused.stdout);
    assert_eq!((statuses(&case), count(&case, "SELECT COUNT(*) FROM deployments")), before);

    // Predict the latest bar, then collect the rest of the month: the signal resolves.
    let signal = json(&case.run(["predict", "--symbol", "BTC", "--interval", "5m", "--json"]));
    assert_eq!((signal["version"].as_i64(), signal["regime"].as_str()), (Some(1), Some(regime)));
    let bar =
        chrono::DateTime::parse_from_rfc3339(signal["bar"].as_str().unwrap()).unwrap().timestamp_millis();
    collect(&btc).assert_exit(0).stdout_contains("resolved 1 signal(s) of BTC 5m");
    let (market, realised, win, position, cost): (f64, f64, Option<bool>, i64, f64) = db(&case)
        .query_row(
            "SELECT market_return, realised_return, win, position, cost_per_side FROM signals",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    // Independently from the file: the entry is the close the model saw (the last 1m close
    // of early.csv), the exit the last 1m close of the 5m bar 12 bars later.
    let close_of = |line: &str| line.split(',').nth(4).unwrap().parse::<f64>().unwrap();
    let minute = |line: &str| {
        chrono::NaiveDateTime::parse_from_str(&line[..19], "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_millis()
    };
    let entry = close_of(lines[40_000]);
    let exit_bar = bar + 12 * 300_000;
    let exit = lines[1..].iter().rev().find(|l| minute(l) < exit_bar + 300_000).map(|l| close_of(l)).unwrap();
    assert!((market - (exit / entry - 1.0)).abs() < 1e-12, "{market} vs {}", exit / entry - 1.0);
    let expected = if position == 1 { market - 2.0 * cost } else { 0.0 };
    assert!((realised - expected).abs() < 1e-12);
    assert_eq!(win, (position == 1).then_some(expected > 0.0), "a flat signal is no trade");

    // Force v2 in, then roll back to v1: the record answers what was live when.
    case.run([
        "promote",
        "--symbol",
        "BTC",
        "--regime",
        regime,
        "--version",
        "2",
        "--force",
        "--reason",
        "one day early",
    ])
    .assert_exit(0)
    .stdout_contains("forced past");
    case.run(["rollback", "--symbol", "BTC", "--regime", regime, "--reason", "v2 lost money"])
        .assert_exit(0)
        .stdout_contains("v1 is production again, v2 archived");
    assert_eq!(production(&case, regime), Some(1));
    assert_whole(&case, "after the rollback");
    let record = json(&case.run(["history", "--symbol", "BTC", "--regime", regime, "--json"]));
    let rows = record["deployments"].as_array().unwrap();
    let actions: Vec<(&str, Option<i64>, bool)> = rows
        .iter()
        .map(|d| (d["action"].as_str().unwrap(), d["to"].as_i64(), d["forced"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("promote", Some(1), false), ("promote", Some(2), true), ("rollback", Some(1), false)]
    );
    assert_eq!(rows[1]["reason"], "one day early");
    assert_eq!(rows[0]["gates"].as_array().unwrap().len(), 11, "every gate is stored with the decision");
    for (row, live) in rows.iter().zip([1, 2, 1]) {
        let at = row["at"].as_str().unwrap();
        let answer =
            json(&case.run(["history", "--symbol", "BTC", "--regime", regime, "--at", at, "--json"]));
        assert_eq!(answer["live"][0]["live"].as_i64(), Some(live), "at {at}");
    }
    case.run(["history", "--symbol", "BTC", "--regime", regime, "--at", "2020-01-01"])
        .assert_exit(0)
        .stdout_contains("no version was live yet");
}

#[test]
fn a_crash_at_any_step_of_promote_and_rollback_leaves_the_state_whole() {
    let case = Case::new().config(OPEN_GATES).with_trained_model("1", "1");
    train(&case, "SYNTH", "trending", "2");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--force"]).assert_exit(2);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--force", "--reason", " "])
        .assert_exit(2)
        .stderr_contains("--reason: say why");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1", "--dry-run"])
        .assert_exit(0)
        .stdout_contains("dry run: every gate passes; nothing changed");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM deployments"), 0, "a dry run changes nothing");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"]).assert_exit(0);
    // With a 24 h cooldown, the dry run of v2 fails that gate only, and says so with exit 3.
    let strict = OPEN_GATES.replace("cooldown_hours: 0.0", "cooldown_hours: 24.0");
    case.write("config.yaml", &strict);
    let dry =
        case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2", "--dry-run"]);
    dry.assert_exit(3).stdout_contains("dry run: 1 gate(s) fail (cooldown_hours); nothing changed");
    case.write("config.yaml", OPEN_GATES);
    let promote = ["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2"];
    for point in ["promote:archived", "promote:switched", "promote:recorded"] {
        let run = case.run_with_env(&[("RETRAIN_FAILPOINT", point)], promote);
        assert!(run.stderr.contains(&format!("failpoint {point}")), "{point}: {run:?}");
        assert_whole(&case, point);
        assert_eq!(production(&case, "trending"), Some(1), "{point}: v1 still serves");
    }
    let run = case.run_with_env(&[("RETRAIN_FAILPOINT", "promote:committed")], promote);
    assert!(run.stderr.contains("failpoint promote:committed"));
    assert_whole(&case, "promote:committed");
    assert_eq!(production(&case, "trending"), Some(2), "committed before the crash");

    let rollback = ["rollback", "--symbol", "SYNTH", "--regime", "trending", "--reason", "test"];
    for point in ["rollback:archived", "rollback:switched", "rollback:recorded"] {
        let run = case.run_with_env(&[("RETRAIN_FAILPOINT", point)], rollback);
        assert!(run.stderr.contains(&format!("failpoint {point}")), "{point}: {run:?}");
        assert_whole(&case, point);
        assert_eq!(production(&case, "trending"), Some(2), "{point}: v2 still serves");
    }
    case.run(rollback).assert_exit(0);
    assert_eq!(production(&case, "trending"), Some(1));
    assert_eq!(count(&case, "SELECT COUNT(*) FROM deployments"), 3);
    assert_whole(&case, "after the rollback");
    // v1 was the first production version: nothing before it.
    case.run(rollback).assert_exit(3).stderr_contains("v1 is the first production version");
    // A never-deployed candidate is not a rollback target.
    train(&case, "SYNTH", "trending", "3");
    case.run(["rollback", "--symbol", "SYNTH", "--regime", "trending", "--to", "3", "--reason", "x"])
        .assert_exit(3)
        .stderr_contains("v3 (candidate) was never in production");
}

#[test]
fn a_flipped_byte_is_refused_by_promote_rollback_and_predict() {
    let case = Case::new().config(OPEN_GATES).with_sample();
    let regime = latest_regime(&case, "SYNTH", "5m");
    let regime = regime.as_str();
    train(&case, "SYNTH", regime, "1");
    train(&case, "SYNTH", regime, "2");
    case.run(["promote", "--symbol", "SYNTH", "--regime", regime, "--version", "1"]).assert_exit(0);
    let v2 = format!("models/SYNTH/{regime}/v2/model.json");
    let original = flip_a_byte(&case, &v2);
    let before = case.dump() + &format!("{:?}", statuses(&case));
    case.run([
        "promote",
        "--symbol",
        "SYNTH",
        "--regime",
        regime,
        "--version",
        "2",
        "--force",
        "--reason",
        "x",
    ])
    .assert_exit(3)
    .stderr_contains(&format!("{regime}/v2/model.json: checksum mismatch"));
    assert_eq!(case.dump() + &format!("{:?}", statuses(&case)), before, "nothing changed");
    let served = json(&case.run(["predict", "--symbol", "SYNTH", "--interval", "5m", "--json"]));
    assert_eq!(served["version"], 1, "production keeps serving the last good version");

    std::fs::write(case.path(&v2), original).unwrap();
    case.run(["promote", "--symbol", "SYNTH", "--regime", regime, "--version", "2"]).assert_exit(0);
    flip_a_byte(&case, &format!("models/SYNTH/{regime}/v1/reference.json"));
    case.run(["rollback", "--symbol", "SYNTH", "--regime", regime, "--reason", "x"])
        .assert_exit(3)
        .stderr_contains(&format!("{regime}/v1/reference.json: checksum mismatch"));
    assert_eq!(production(&case, regime), Some(2));
    flip_a_byte(&case, &v2);
    case.run(["predict", "--symbol", "SYNTH", "--interval", "5m"])
        .assert_exit(3)
        .stderr_contains(&format!("{regime}/v2/model.json: checksum mismatch"));
    assert_eq!(count(&case, "SELECT COUNT(*) FROM signals"), 1, "no signal from a damaged model");
    assert_whole(&case, "end");
}

#[test]
fn a_canary_routes_by_bar_and_ends_with_a_recorded_decision() {
    let case = Case::new().config(&format!(
        "{OPEN_GATES}{ONE_REGIME}deployment:\n  canary:\n    min_signals: 4\n    min_confidence: 0.8\n"
    ));
    let feed = Feed::sample();
    feed.collect(&case, 0..6000);
    train(&case, "SYNTH", "trending", "1");
    train(&case, "SYNTH", "trending", "2");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"]).assert_exit(0);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2", "--canary", "50"])
        .assert_exit(0)
        .stdout_contains("canary test started: v2 serves 50% of predictions, v1 stays in production");
    assert_whole(&case, "canary started");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"])
        .assert_exit(2)
        .stderr_contains("already production");
    train(&case, "SYNTH", "trending", "3");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "3"])
        .assert_exit(3)
        .stderr_contains("a canary test of SYNTH trending v2 is running");
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--canary"])
        .assert_exit(0)
        .stdout_contains("running: 0 and 0 resolved signals, 4 needed in each arm");

    let (served, _) = feed.step(&case, 6000..6040);
    assert!(served >= 30, "{served} of 40 bars predicted");
    // Each signal went to the arm its bar hashes to, and stays there if predicted again.
    let conn = db(&case);
    let arms: Vec<(String, i64, i64)> = conn
        .prepare("SELECT s.arm, s.open_time, v.version FROM signals s JOIN model_versions v ON v.id = s.version_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(arms.iter().all(|(arm, _, v)| (arm == "challenger") == (*v == 2)), "{arms:?}");
    // The arm is SHA-256("SYMBOL:open_time")'s first 8 bytes as a share of 2^64, below 50%.
    for (arm, bar, _) in &arms {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("SYNTH:{bar}").as_bytes());
        let share = u64::from_be_bytes(digest[..8].try_into().unwrap()) as f64 / 2f64.powi(64) * 100.0;
        assert_eq!(arm == "challenger", share < 50.0, "bar {bar}");
    }
    let challengers = arms.iter().filter(|(arm, _, _)| arm == "challenger").count();
    assert!((5..=served - 5).contains(&challengers), "{challengers} of {served} to the challenger");
    case.run(["predict", "--symbol", "SYNTH", "--interval", "5m"])
        .assert_exit(0)
        .stdout_contains("already recorded");

    let report = case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--canary"]);
    report.assert_exit(0).stdout_contains("ended: ");
    // The decision is the textbook one-sided two-proportion z-test on the stored trades.
    let (mut wins, mut trades, mut returns, mut n) = ([0.0f64; 2], [0.0f64; 2], [0.0f64; 2], [0.0f64; 2]);
    let mut statement = conn
        .prepare("SELECT arm = 'challenger', win, realised_return FROM signals WHERE resolved_at IS NOT NULL")
        .unwrap();
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, Option<bool>>(1)?, r.get::<_, f64>(2)?)))
        .unwrap();
    for row in rows {
        let (challenger, win, r) = row.unwrap();
        let i = usize::from(challenger);
        n[i] += 1.0;
        returns[i] += r;
        if let Some(win) = win {
            trades[i] += 1.0;
            wins[i] += f64::from(u8::from(win));
        }
    }
    let (p0, p1) = (wins[0] / trades[0], wins[1] / trades[1]);
    let pooled = (wins[0] + wins[1]) / (trades[0] + trades[1]);
    let z = (p1 - p0) / (pooled * (1.0 - pooled) * (1.0 / trades[0] + 1.0 / trades[1])).sqrt();
    let confidence = normal_cdf(z);
    let promote = z.is_finite() && confidence >= 0.8 && returns[1] / n[1] >= returns[0] / n[0];
    let expected = if promote {
        "v2 promoted to production, v1 archived"
    } else {
        "v2 archived, v1 stays in production"
    };
    report.stdout_contains(expected);
    if z.is_finite() {
        report.stdout_contains(&format!("{confidence:.3}"));
    }
    assert_eq!(production(&case, "trending"), Some(if promote { 2 } else { 1 }));
    let last: (String, String) = conn
        .query_row("SELECT action, reason FROM deployments ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(last.0, "canary_end");
    assert_whole(&case, "canary ended");
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--canary"])
        .assert_exit(2)
        .stderr_contains("no canary test of SYNTH trending is running");
}

/// Phi(z) by the error function's series; independent of the binary's erfc.
fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    // erf by its Maclaurin series (converges for the |x| < 3 of these tests).
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    0.5 * (1.0 + 2.0 / std::f64::consts::PI.sqrt() * sum)
}

#[test]
fn a_fresh_promotion_that_degrades_live_is_rolled_back() {
    let config = format!("{OPEN_GATES}{ONE_REGIME}triggers:\n  min_signals: 8\n  performance_decay: 0.1\n");
    let case = Case::new().config(&config);
    let feed = Feed::sample();
    feed.collect(&case, 0..6000);
    train(&case, "SYNTH", "trending", "1");
    train(&case, "SYNTH", "trending", "2");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"]).assert_exit(0);
    feed.step(&case, 6000..6030);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2"]).assert_exit(0);
    // Now every signal is long (threshold 0): v2 trades every bar, costs and all.
    case.write("config.yaml", format!("{config}evaluation:\n  threshold: 0.001\n"));
    let (_, log) = feed.step(&case, 6030..6060);

    let conn = db(&case);
    let rate = |version: i64| -> (f64, i64) {
        conn.query_row(
            "SELECT AVG(win), COUNT(win) FROM signals s JOIN model_versions v ON v.id = s.version_id
             WHERE v.version = ?1 AND resolved_at IS NOT NULL",
            [version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let ((old, old_n), (new, new_n)) = (rate(1), rate(2));
    assert!(
        new < 0.9 * old,
        "the setup must degrade: v2 wins {new:.3} of {new_n} trades, v1 {old:.3} of {old_n}"
    );
    assert!(log.contains("v2 rolled back to v1: live win rate"), "{log}");
    assert_eq!(production(&case, "trending"), Some(1));
    let alert: (String, String) =
        conn.query_row("SELECT kind, severity FROM alerts", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(alert, ("automatic_rollback".to_string(), "high".to_string()));
    assert_whole(&case, "after the automatic rollback");
    let history = case.run(["history", "--symbol", "SYNTH"]);
    history.assert_exit(0).stdout_contains("automatic rollback: live win rate");
}
