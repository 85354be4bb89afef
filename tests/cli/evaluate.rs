//! `evaluate`: trading metrics that a reader can recompute from the exported returns,
//! honest comparisons, defined values on empty windows, degradation alerts.

use crate::support::{Case, count, data, db, json, on_postgres, train};

fn trained(extra_config: &str) -> Case {
    Case::new().config(extra_config).with_trained_model("3", "5")
}

/// The reported number, or NaN for null.
fn number(value: &serde_json::Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

#[track_caller]
fn agree(ours: f64, reported: &serde_json::Value, name: &str) {
    let reported = number(reported);
    assert!(
        (ours - reported).abs() <= 1e-9 * reported.abs().max(1.0),
        "{name}: recomputed {ours}, reported {reported}"
    );
}

#[test]
fn the_exported_returns_give_the_reported_metrics() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let case = Case::new();
    case.collect_5m("BTC", &btc).assert_exit(0);
    train(&case, "BTC", "volatile", &["--interval", "5m", "--trials", "3"]).assert_exit(0);
    let run = case.run([
        "evaluate",
        "--symbol",
        "BTC",
        "--regime",
        "volatile",
        "--window-days",
        "30",
        "--export-returns",
        "r.csv",
        "--json",
    ]);
    let doc = json(&run);
    let t = &doc["trading"];

    // An independent computation from the file alone.
    let text = std::fs::read_to_string(case.path("r.csv")).unwrap();
    let rows: Vec<(i64, i8, f64, f64)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let time = chrono::DateTime::parse_from_rfc3339(f[0]).unwrap().timestamp_millis();
            (time, f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect();
    let r: Vec<f64> = rows.iter().map(|row| row.3).collect();
    let n = r.len() as f64;
    assert_eq!(t["bars"], r.len());
    let periods: f64 = 365.25 * 288.0;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    agree(mean / var.sqrt() * periods.sqrt(), &t["sharpe"], "sharpe");
    let downside = (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    agree(mean * periods.sqrt() / downside, &t["sortino"], "sortino");
    let mut equity = vec![1.0];
    for x in &r {
        equity.push(equity.last().unwrap() * (1.0 + x));
    }
    agree(equity.last().unwrap() - 1.0, &t["total_return"], "total return");
    let mut peak = 1.0_f64;
    let worst = equity.iter().map(|e| {
        peak = peak.max(*e);
        1.0 - e / peak
    });
    agree(worst.fold(0.0, f64::max), &t["max_drawdown"], "max drawdown");
    agree(rows.iter().filter(|row| row.1 != 0).count() as f64 / n, &t["exposure"], "exposure");
    agree((equity.last().unwrap()).powf(periods / n) - 1.0, &t["annual_return"], "annual return");
    // Trades: runs of one position, closed when it changes; costs of 7 bps a side.
    let cost = 0.0007;
    let mut trades = Vec::new();
    let mut open: Option<(i8, f64)> = None;
    for &(_, position, market, _) in &rows {
        if let Some((_, growth)) = open.filter(|(side, _)| *side != position) {
            trades.push(growth * (1.0 - cost) - 1.0);
            open = None;
        }
        if position != 0 {
            let step = 1.0 + f64::from(position) * market;
            open = Some(open.map_or((position, (1.0 - cost) * step), |(s, g)| (s, g * step)));
        }
    }
    assert_eq!(t["trades"], trades.len());
    if !trades.is_empty() {
        agree(
            trades.iter().filter(|x| **x > 0.0).count() as f64 / trades.len() as f64,
            &t["win_rate"],
            "win rate",
        );
        agree(trades.iter().sum::<f64>() / trades.len() as f64, &t["average_trade"], "average trade");
    }
    // Equity in the file is the running product.
    let reported_equity: Vec<f64> =
        text.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    for (a, b) in reported_equity.iter().zip(&equity[1..]) {
        assert!((a - b).abs() < 1e-12);
    }
    assert!(doc["classification"]["f1"].is_number());
}

#[test]
fn an_identical_challenger_is_a_coin_flip_and_never_better() {
    let case = trained("");
    train(&case, "SYNTH", "trending", &["--trials", "3", "--seed", "5"]).assert_exit(0);
    let doc = json(&case.run([
        "evaluate",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--compare",
        "--champion",
        "1",
        "--version",
        "2",
        "--json",
    ]));
    let c = &doc["comparison"];
    assert_eq!(c["probability_better"], 0.5);
    assert_eq!(c["difference"], 0.0);
    assert_eq!(c["verdict"], "no_clear_difference");
    case.run([
        "evaluate",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--compare",
        "--champion",
        "1",
        "--version",
        "2",
    ])
    .assert_exit(0)
    .stdout_contains("P(challenger better) 0.500")
    .stdout_contains("no clear difference");
}

#[test]
fn too_few_shared_bars_are_inconclusive_never_a_win() {
    let case = trained("evaluation:\n  min_compare_bars: 100000\n");
    train(&case, "SYNTH", "trending", &["--trials", "3", "--seed", "6"]).assert_exit(0);
    let doc = json(&case.run([
        "evaluate",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--compare",
        "--champion",
        "1",
        "--json",
    ]));
    assert_eq!(doc["comparison"]["verdict"], "inconclusive");
    assert!(doc["comparison"]["probability_better"].is_null());
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--compare"])
        .assert_exit(2)
        .stderr_contains("no champion to compare with");
}

#[test]
fn a_window_without_trades_has_defined_values() {
    let case = trained("evaluation:\n  threshold: 0.99\n");
    let run = case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--json"]);
    let doc = json(&run);
    let t = &doc["trading"];
    assert_eq!(t["trades"], 0);
    assert_eq!(t["exposure"], 0.0);
    assert_eq!(t["total_return"], 0.0);
    for undefined in ["sharpe", "sortino", "calmar", "win_rate", "profit_factor", "average_trade", "hit_rate"]
    {
        assert!(t[undefined].is_null(), "{undefined}: {}", t[undefined]);
    }
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending"])
        .assert_exit(0)
        .stdout_contains("sharpe undefined")
        .stdout_contains("trades 0  win rate undefined");
}

#[test]
fn only_unseen_bars_are_evaluated() {
    let case = trained("");
    case.run([
        "evaluate",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-10",
    ])
    .assert_exit(3)
    .stderr_contains("the window holds no bar the version never saw");
    let doc = json(&case.run([
        "evaluate",
        "--symbol",
        "SYNTH",
        "--regime",
        "trending",
        "--window-days",
        "365",
        "--json",
    ]));
    let manifest = case.manifest("SYNTH/trending/v1");
    let from = chrono::DateTime::parse_from_rfc3339(doc["window"]["from"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert!(from > manifest["validation"]["to"].as_i64().unwrap() + 12 * 300_000);
    case.run(["versions", "--symbol", "SYNTH"]).assert_exit(0).stdout_contains("backtest");
}

#[test]
fn a_degraded_production_model_raises_one_alert() {
    let case = trained("");
    // Put v1 in production, with a test F1 it cannot live up to.
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--force", "--reason", "test"])
        .assert_exit(0);
    let set_f1 = if on_postgres() {
        "UPDATE evaluations SET metrics = jsonb_set(metrics::jsonb, '{classification,f1}', '0.99')::text
         WHERE kind = 'test'"
    } else {
        "UPDATE evaluations SET metrics = json_set(metrics, '$.classification.f1', 0.99) WHERE kind = 'test'"
    };
    db(&case).execute(set_f1, &[]).unwrap();
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--production"])
        .assert_exit(0)
        .stdout_contains("degraded beyond triggers.performance_decay")
        .stdout_contains("alert 1 raised: SYNTH trending v1: f1 fell from 0.9900 on its test window to");
    case.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending", "--production"])
        .assert_exit(0)
        .stdout_contains("alert 1 still open");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM alerts WHERE kind = 'performance_degradation'"), 1);
}
