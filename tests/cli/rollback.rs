//! `rollback` done by the system itself: a fresh promotion whose live results fall behind
//! its predecessor's is rolled back, with an alert and a record. (Rollbacks asked for by
//! hand, and crashes during them, are tested with the promotions they undo: in
//! `history` and `promote`.)

use crate::support::deploy::{Feed, ONE_REGIME, assert_whole, production};
use crate::support::{Case, OPEN_GATES, db, train};

#[test]
fn a_fresh_promotion_that_degrades_live_is_rolled_back() {
    let config = format!("{OPEN_GATES}{ONE_REGIME}triggers:\n  min_signals: 8\n  performance_decay: 0.1\n");
    let case = Case::new().config(&config);
    let feed = Feed::sample();
    feed.collect(&case, 0..6000);
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "1"]).assert_exit(0);
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "2"]).assert_exit(0);
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
            retrain::store::db::params![version],
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
        conn.query_row("SELECT kind, severity FROM alerts", &[], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(alert, ("automatic_rollback".to_string(), "high".to_string()));
    assert_whole(&case, "after the automatic rollback");
    let history = case.run(["history", "--symbol", "SYNTH"]);
    history.assert_exit(0).stdout_contains("automatic rollback: live win rate");
}
