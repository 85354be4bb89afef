//! `replay`: `run`'s lifecycle walked over history in scratch states, the configured policy
//! against the baselines. No look-ahead (a month more of candles changes nothing), the
//! user's state untouched, three ticks equal to three production runs, a planted change
//! of market behaviour that retraining must win on, and random walks it must not.

use chrono::{DateTime, Duration, Utc};
use retrain::rng::SplitMix64;
use retrain::store::Location;

use crate::support::{Case, OPEN_GATES, data, db, json, printed_rows};

const BTC: &str = "btc-perp-20211231-20220201_1m.csv";

/// The BTC minutes that opened before `before` (the header kept): what a collect at that
/// instant would have read.
fn btc_minutes_before(before: DateTime<Utc>) -> String {
    let text = std::fs::read_to_string(data(BTC)).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let cut = before.format("%Y-%m-%d %H:%M:%S").to_string();
    for line in lines.take_while(|l| l[..19] < *cut) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A candle CSV with every timestamp `days` later.
fn shifted(csv: &str, days: i64) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let t = chrono::NaiveDateTime::parse_from_str(&line[..19], "%Y-%m-%d %H:%M:%S").unwrap()
            + Duration::days(days);
        out.push_str(&format!("{}{}\n", t.format("%Y-%m-%d %H:%M:%S"), &line[19..]));
    }
    out
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Small models, quickly: BTC 5m with every regime, two trials, a first model on 300 bars.
const BTC_CONFIG: &str = "symbols:
  - symbol: BTC
    interval: 5m
training:
  min_rows_per_part: 50
  search:
    max_trials: 2
triggers:
  min_initial_rows: 300
";

/// The report without its wall-clock part.
fn without_timing(run: &crate::support::Run) -> serde_json::Value {
    let mut report = json(run);
    report.as_object_mut().unwrap().remove("timing").expect("a timing section");
    report
}

#[test]
fn candles_after_to_change_nothing_and_the_users_state_is_never_written() {
    let to = at("2022-01-07T12:00:00Z");
    let cut = Case::new().config(BTC_CONFIG);
    let minutes = cut.write("btc-until-to.csv", btc_minutes_before(to));
    cut.collect_5m("BTC", &minutes).assert_exit(0);
    // The whole BTC month, then the same month again 32 days later: more than a month of
    // candles after --to.
    let full = Case::new().config(BTC_CONFIG);
    full.collect_5m("BTC", &data(BTC)).assert_exit(0);
    let later =
        full.write("btc-32-days-later.csv", shifted(&std::fs::read_to_string(data(BTC)).unwrap(), 32));
    full.collect_5m("BTC", &later).assert_exit(0);
    // A model of the user's own, which the replay must neither use nor touch.
    full.run(["train", "--symbol", "BTC", "--regime", "sideways", "--trials", "1"]).assert_exit(0);
    let state = full.state_snapshot();
    let models = full.artifacts();
    assert!(!models.is_empty());

    let args = ["replay", "--from", "2022-01-06T00:00:00Z", "--to", "2022-01-07T12:00:00Z", "--every", "2h"];
    let with_json = |case: &Case| case.run(args.iter().copied().chain(["--json"]));
    let short = without_timing(&with_json(&cut));
    let long = without_timing(&with_json(&full));
    assert_eq!(short, long, "a candle after --to changed the replay");

    // It replayed something: four policies, models trained, bars traded, a verdict.
    let names: Vec<&str> =
        short["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["configured", "never", "calendar", "calendar-gated"]);
    assert_eq!(short["ticks"], 19);
    assert_eq!(short["bars"], 12 * 36 - 1, "the bars from --from whose next bar closed by --to");
    let never = &short["policies"][1];
    assert!(never["counts"]["retrains"].as_u64().unwrap() >= 1, "{never}");
    assert!(never["counts"]["signals"].as_u64().unwrap() > 0, "{never}");
    assert!(short["verdict"].as_str().unwrap().starts_with("the configured policy "), "{}", short["verdict"]);

    assert!(full.state_snapshot() == state, "the user's database changed");
    assert!(full.artifacts() == models, "the user's models changed");
}

#[test]
fn three_ticks_of_a_replay_are_three_production_runs() {
    // Gates any model passes, with comparisons on the short test windows of small models;
    // one job at a time, so that job numbers follow the run order in both states.
    let config = format!(
        "{BTC_CONFIG}{OPEN_GATES}evaluation:\n  min_compare_bars: 50\nschedule:\n  max_concurrent_jobs: 1\n"
    );
    let ticks = [at("2022-01-20T00:00:00Z"), at("2022-01-20T00:05:00Z"), at("2022-01-20T00:10:00Z")];

    // Production: at each tick, collect what had closed, predict the new bar, run.
    let production = Case::new().config(&config);
    for (i, t) in ticks.iter().enumerate() {
        let now = t.to_rfc3339();
        let minutes = production.write(&format!("cut-{i}.csv"), btc_minutes_before(*t));
        let collect = production.run([
            "collect",
            "--symbol",
            "BTC",
            "--interval",
            "1m",
            "--resample",
            "5m",
            "--now",
            &now,
            "--file",
            minutes.to_str().unwrap(),
        ]);
        collect.assert_exit(0);
        // Before the first model, and for a bar whose regime has none, predict refuses.
        let predict = production.run(["predict", "--symbol", "BTC", "--now", &now]);
        assert!(matches!(predict.code, Some(0) | Some(3)), "{predict:?}");
        production.run(["run", "--now", &now]).assert_exit(0);
    }

    let user = Case::new().config(&config);
    user.collect_5m("BTC", &data(BTC)).assert_exit(0);
    let kept = user.path("kept");
    user.run([
        "replay",
        "--from",
        &ticks[0].to_rfc3339(),
        "--to",
        &ticks[2].to_rfc3339(),
        "--every",
        "5m",
        "--keep",
        kept.to_str().unwrap(),
    ])
    .assert_exit(0);

    // The replay's scratch state is SQLite; production is on the suite's backend.
    let replayed = retrain::store::connect(&Location::Sqlite(kept.join("configured/retrain.db"))).unwrap();
    let produced = db(&production);
    for (what, sql) in [
        (
            "versions",
            "SELECT symbol, regime, version, status, sha256, created_at
             FROM model_versions ORDER BY symbol, regime, version",
        ),
        (
            "deployments",
            "SELECT d.symbol, d.regime, d.action, f.version, t.version, d.reason, d.gates, d.forced, d.actor,
                 d.created_at
             FROM deployments d LEFT JOIN model_versions f ON f.id = d.from_version_id
                 LEFT JOIN model_versions t ON t.id = d.to_version_id ORDER BY d.id",
        ),
        (
            "signals",
            "SELECT s.symbol, s.regime, s.open_time, v.version, s.probability, s.position, s.created_at
             FROM signals s JOIN model_versions v ON v.id = s.version_id ORDER BY s.open_time",
        ),
    ] {
        let (a, b) = (printed_rows(&replayed, sql), printed_rows(&produced, sql));
        assert_eq!(a, b, "{what} differ");
        assert!(!a.is_empty(), "no {what}: the test would prove nothing");
    }
}

/// A market whose one-bar returns follow r_t = phi r_{t-1} + noise, phi flipping sign at
/// `flip_day` (never when `None`): momentum, then mean reversion. Five-minute candles
/// from 2022-03-01.
fn ar_series(seed: u64, days: i64, phi: f64, flip_day: Option<f64>) -> String {
    let mut rng = SplitMix64(seed);
    let start: DateTime<Utc> = at("2022-03-01T00:00:00Z");
    let mut out = String::from("timestamp,open,high,low,close,volume\n");
    let (mut close, mut r) = (100.0f64, 0.0f64);
    for i in 0..days * 288 {
        let flipped = flip_day.is_some_and(|d| i as f64 >= d * 288.0);
        r = if flipped { -phi } else { phi } * r + 0.001 * rng.normal();
        let open = close;
        close = open * r.exp();
        let high = open.max(close) * (1.0 + (0.0003 * rng.normal()).abs());
        let low = open.min(close) * (1.0 - (0.0003 * rng.normal()).abs());
        let volume = 100.0 * (0.3 * rng.normal()).exp();
        let t = start + Duration::minutes(5 * i);
        out.push_str(&format!("{},{open},{high},{low},{close},{volume}\n", t.format("%Y-%m-%d %H:%M:%S")));
    }
    out
}

/// One model that sees every bar (no bar is trending, volatile or in a squeeze), labels
/// of the next bar's direction, a rolling window of four days, small parts; `fee_bps`
/// per side.
fn ar_config(fee_bps: &str) -> String {
    format!(
        "symbols:
  - symbol: AR
    interval: 5m
    regimes: [sideways]
regimes:
  trend_adx: 100
  volatile_percentile: 1.0
  squeeze_percentile: 0.0
label:
  horizon_bars: 1
  threshold_bps: 0
  fee_bps: 0
evaluation:
  fee_bps: {fee_bps}
  slippage_bps: 0
  min_compare_bars: 100
  window_days: 1
training:
  window_days: 4
  min_rows_per_part: 100
  search:
    max_trials: 4
triggers:
  min_initial_rows: 500
drift:
  window_days: 1
gates:
  max_feature_drift_ks: 1.0
  max_drifted_importance: 1.0
"
    )
}

fn probability_against_never(report: &serde_json::Value, policy: &str) -> f64 {
    report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["policy"] == policy && c["baseline"] == "never")
        .and_then(|c| c["sharpe"]["probability_better"].as_f64())
        .unwrap_or_else(|| panic!("no comparison of {policy} with never: {report}"))
}

#[test]
fn when_the_market_turns_the_triggers_retrain_and_beat_never_retraining() {
    let case = Case::new().config(&ar_config("0.5"));
    let series = case.write("ar.csv", ar_series(2, 14, 0.7, Some(7.0)));
    crate::support::collect(&case, "AR", "5m", &series).assert_exit(0);
    // The same policy with canary tests: a variant, one more row.
    let canary = case.write(
        "canary.yaml",
        format!(
            "{}deployment:\n  canary:\n    enabled: true\n    traffic_split: 30\n    min_signals: 20\n",
            ar_config("0.5")
        ),
    );
    let run = case.run([
        "replay",
        "--from",
        "2022-03-04",
        "--to",
        "2022-03-15",
        "--policy",
        canary.to_str().unwrap(),
        "--export",
        "bars.csv",
        "--json",
    ]);
    let report = json(&run);
    let p = probability_against_never(&report, "configured");
    for policy in report["policies"].as_array().unwrap() {
        eprintln!(
            "{}: total return {}, Sharpe {}, counts {}",
            policy["name"], policy["fleet"]["total_return"], policy["fleet"]["sharpe"], policy["counts"]
        );
    }
    eprintln!("{}", report["verdict"]);
    assert!(p >= 0.9, "P(configured better than never) = {p}: {}", report["verdict"]);
    let configured = &report["policies"][0];
    assert!(configured["counts"]["promotions"].as_u64().unwrap() >= 2, "{configured}");
    // Retrains answered the turn: a trigger other than the first model's caused a promotion.
    let retrained = configured["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["kind"] != "initial" && t["promoted"].as_u64().unwrap() > 0);
    assert!(retrained, "{}", configured["triggers"]);
    assert!(report["verdict"].as_str().unwrap().contains("beats never-retrain"), "{}", report["verdict"]);
    // Canary tests ran in the variant, and its bars were served by both arms' versions.
    let tested = &report["policies"][4];
    assert!(tested["counts"]["canaries"].as_u64().unwrap() >= 1, "{tested}");
    let csv = std::fs::read_to_string(case.path("bars.csv")).unwrap();
    let mut versions: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("canary,"))
        .filter_map(|l| l.split(',').nth(4).filter(|v| !v.is_empty()))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    assert!(versions.len() >= 3, "versions that served the canary policy's bars: {versions:?}");
}

#[test]
fn on_random_walks_no_policy_beats_never_retraining_by_more_than_luck() {
    let mut declared = Vec::new();
    for seed in 1..=10u64 {
        // No costs: on a random walk any trading pays for nothing, and not trading would
        // "beat" trading by the costs alone.
        let case = Case::new().config(&ar_config("0"));
        let series = case.write("walk.csv", ar_series(seed, 10, 0.0, None));
        crate::support::collect(&case, "AR", "5m", &series).assert_exit(0);
        let report = json(&case.run([
            "replay",
            "--from",
            "2022-03-04",
            "--to",
            "2022-03-11",
            "--every",
            "3h",
            "--json",
        ]));
        // Declared better: P(better) at the 0.9 level corrected for the policies compared.
        let better: Vec<String> = report["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["baseline"] == "never" && c["sharpe"]["verdict"] == "challenger_better")
            .map(|c| format!("{} (P {})", c["policy"], c["sharpe"]["probability_better"]))
            .collect();
        let dsr = report["deflated"]["dsr"].as_f64();
        let against_never: Vec<f64> = ["configured", "calendar", "calendar-gated"]
            .iter()
            .map(|p| probability_against_never(&report, p))
            .collect();
        eprintln!("seed {seed}: P(better than never) {against_never:?}, DSR {dsr:?}");
        if !better.is_empty() || dsr.is_some_and(|d| d >= 0.95) {
            declared.push(format!("seed {seed}: {better:?} better than never, DSR {dsr:?}"));
        }
    }
    assert!(declared.len() <= 1, "{declared:#?}");
}

#[test]
fn a_replay_refuses_what_it_cannot_replay() {
    let case = Case::new().config(BTC_CONFIG);
    case.collect_5m("BTC", &data(BTC)).assert_exit(0);
    let state = case.state_snapshot();
    case.run(["replay", "--from", "2022-01-10", "--to", "2022-01-09"])
        .assert_exit(2)
        .stderr_contains("is not before");
    case.run(["replay", "--from", "2022-01-10", "--to", "2022-01-11", "--symbol", "ETH"])
        .assert_exit(2)
        .stderr_contains("--symbol ETH is not under `symbols:`");
    case.run(["replay", "--from", "2021-06-01", "--to", "2021-06-02"])
        .assert_exit(2)
        .stderr_contains("0 stored candles closed before --from");
    case.run(["replay", "--from", "2022-01-10", "--to", "2022-01-11", "--schedule"])
        .assert_exit(2)
        .stderr_contains("no schedule.jobs");
    case.write("mine/never/notes.txt", "my own notes");
    case.run(["replay", "--from", "2022-01-10", "--to", "2022-01-11", "--keep", "mine"])
        .assert_exit(2)
        .stderr_contains("is not the scratch state of a replay");
    assert_eq!(std::fs::read_to_string(case.path("mine/never/notes.txt")).unwrap(), "my own notes");
    assert!(!case.path("mine/configured").exists());
    assert!(case.state_snapshot() == state, "the user's database changed");
    let fresh = Case::new().config(BTC_CONFIG);
    fresh
        .run(["replay", "--from", "2022-01-10", "--to", "2022-01-11"])
        .assert_exit(2)
        .stderr_contains("no database");
    assert!(!fresh.has_state());
}

#[test]
fn a_policy_file_is_one_more_row_and_the_export_and_plot_hold_every_policy() {
    let case = Case::new().config(BTC_CONFIG);
    case.collect_5m("BTC", &data(BTC)).assert_exit(0);
    // The variant opens the gates: its first models go live where the configured ones wait.
    let variant = case
        .write("open-gates.yaml", format!("{BTC_CONFIG}{OPEN_GATES}evaluation:\n  min_compare_bars: 50\n"));
    let run = case.run([
        "replay",
        "--from",
        "2022-01-20",
        "--to",
        "2022-01-21",
        "--every",
        "6h",
        "--policy",
        variant.to_str().unwrap(),
        "--export",
        "bars.csv",
        "--plot",
        "replay.svg",
        "--json",
    ]);
    let report = json(&run);
    let policies = report["policies"].as_array().unwrap();
    let names: Vec<&str> = policies.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["configured", "never", "calendar", "calendar-gated", "open-gates"]);
    let promotions = |i: usize| policies[i]["counts"]["promotions"].as_u64().unwrap();
    assert!(promotions(4) > promotions(0), "{}", report["policies"]);
    // Four policies compared with each baseline: the bar for "better" rises.
    let threshold = report["comparisons"][0]["threshold"].as_f64().unwrap();
    assert!((threshold - 0.9f64.powf(0.25)).abs() < 1e-12, "{threshold}");
    // The file's policy is also judged against the configured one, the change it makes.
    let comparisons = report["comparisons"].as_array().unwrap();
    let against: Vec<&str> = comparisons
        .iter()
        .filter(|c| c["baseline"] == "configured")
        .map(|c| c["policy"].as_str().unwrap())
        .collect();
    assert_eq!(against, ["open-gates"]);
    let verdict = report["verdict"].as_str().unwrap();
    assert!(verdict.contains("; the open-gates policy "), "{verdict}");

    let bars = report["bars"].as_u64().unwrap() as usize;
    let csv = std::fs::read_to_string(case.path("bars.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "policy,symbol,regime,open_time,version,probability,position,market_return,strategy_return,equity"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5 * bars);
    for name in names {
        assert_eq!(rows.iter().filter(|r| r.starts_with(&format!("{name},BTC,"))).count(), bars, "{name}");
    }
    // The variant's live models served bars: a version and P(up) on its rows.
    assert!(rows.iter().any(|r| r.starts_with("open-gates,") && r.split(',').nth(4) != Some("")));

    // Each policy's equity curve, for `report --replay`: compounded from 1, ending at the
    // fleet's total return, with its retrains and promotions.
    for p in policies {
        let curve = &p["curve"];
        let equity = curve["equity"].as_array().unwrap();
        assert_eq!(equity.len(), bars + 1, "{}", p["name"]);
        assert_eq!(equity[0][1].as_f64(), Some(1.0));
        let end = equity[bars][1].as_f64().unwrap();
        let total = p["fleet"]["total_return"].as_f64().unwrap();
        assert!((end - (1.0 + total)).abs() < 1e-9, "{}: {end} vs 1 + {total}", p["name"]);
        assert_eq!(curve["retrains"].as_array().unwrap().len() as u64, p["counts"]["retrains"].as_u64().unwrap());
        assert_eq!(
            curve["promotions"].as_array().unwrap().len() as u64,
            p["counts"]["promotions"].as_u64().unwrap()
        );
    }
    case.write("replay.json", &run.stdout);
    case.run(["report", "--out", "fleet.html", "--replay", "replay.json"])
        .assert_exit(0)
        .stdout_contains("a replay of 5 policies");
    let page = std::fs::read_to_string(case.path("fleet.html")).unwrap();
    assert!(page.contains("<section id=\"replay\">") && page.contains("<td>open-gates</td>"));
    let shown = &crate::report::inlined(&page)["replay"];
    assert_eq!(shown["verdict"], verdict);
    for (p, shown) in policies.iter().zip(shown["policies"].as_array().unwrap()) {
        assert_eq!(shown["name"], p["name"]);
        let equity = shown["equity"].as_array().unwrap();
        assert_eq!(equity.len(), p["curve"]["equity"].as_array().unwrap().len());
        let first = at(p["curve"]["equity"][0][0].as_str().unwrap()).timestamp() as f64;
        assert_eq!(equity[0][0].as_f64(), Some(first), "instants in epoch seconds");
    }

    let svg = std::fs::read_to_string(case.path("replay.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("equity by policy") && svg.contains("open-gates"));
    case.run(["replay", "--from", "2022-01-20", "--to", "2022-01-21", "--plot", "replay.png"])
        .assert_exit(2)
        .stderr_contains("name a .svg file");
}
