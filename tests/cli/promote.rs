//! `promote`: behind the gates or forced with a reason, as a dry run, or as a canary test
//! that `predict` routes by bar and `evaluate --canary` ends; a crash at any step of a
//! promotion or a rollback leaves production whole.

use crate::support::deploy::{Feed, ONE_REGIME, assert_whole, production};
use crate::support::{Case, OPEN_GATES, count, db, json, train};

#[test]
fn a_crash_at_any_step_of_promote_and_rollback_leaves_the_state_whole() {
    let case = Case::new().config(OPEN_GATES).with_trained_model("1", "1");
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "2"]).assert_exit(0);
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
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "3"]).assert_exit(0);
    case.run(["rollback", "--symbol", "SYNTH", "--regime", "trending", "--to", "3", "--reason", "x"])
        .assert_exit(3)
        .stderr_contains("v3 (candidate) was never in production");
}

#[test]
fn a_canary_routes_by_bar_and_ends_with_a_recorded_decision() {
    let case = Case::new().config(&format!(
        "{OPEN_GATES}{ONE_REGIME}deployment:\n  canary:\n    min_signals: 4\n    min_confidence: 0.8\n"
    ));
    let feed = Feed::sample();
    feed.collect(&case, 0..6000);
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "1"]).assert_exit(0);
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "2"]).assert_exit(0);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"]).assert_exit(0);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2", "--canary", "50"])
        .assert_exit(0)
        .stdout_contains("canary test started: v2 serves 50% of predictions, v1 stays in production");
    assert_whole(&case, "canary started");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"])
        .assert_exit(2)
        .stderr_contains("already production");
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "3"]).assert_exit(0);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "3"])
        .assert_exit(3)
        .stderr_contains("a canary test of SYNTH trending v2 is running");
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--canary"])
        .assert_exit(0)
        .stdout_contains("running: 0 and 0 resolved signals, 4 needed in each arm");
    // The same standing for programs.
    let standing =
        json(&case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--canary", "--json"]));
    assert_eq!((standing["champion"].as_i64(), standing["challenger"].as_i64()), (Some(1), Some(2)));
    assert_eq!(standing["traffic_split"].as_f64(), Some(50.0));
    assert_eq!(standing["decision"]["complete"], false);
    assert!(standing["ended"].is_null(), "{standing}");
    assert!(standing["decision"]["reason"].as_str().unwrap().contains("4 needed in each arm"), "{standing}");

    let (served, _) = feed.step(&case, 6000..6040);
    assert!(served >= 30, "{served} of 40 bars predicted");
    // Each signal went to the arm its bar hashes to, and stays there if predicted again.
    let conn = db(&case);
    let arms: Vec<(String, i64, i64)> = conn
        .query_map(
            "SELECT s.arm, s.open_time, v.version FROM signals s JOIN model_versions v ON v.id = s.version_id",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
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
    let rows = conn
        .query_map(
            "SELECT arm = 'challenger', win, realised_return FROM signals WHERE resolved_at IS NOT NULL",
            &[],
            |r| Ok((r.get::<bool>(0)?, r.get::<Option<bool>>(1)?, r.get::<f64>(2)?)),
        )
        .unwrap();
    for (challenger, win, r) in rows {
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
        .query_row("SELECT action, reason FROM deployments ORDER BY id DESC LIMIT 1", &[], |r| {
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
