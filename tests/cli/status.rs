//! `status`: what the store holds, as a table and as JSON.

use crate::support::{Case, OPEN_GATES, collect, data, json, sample, train};

#[test]
fn an_empty_store_says_how_to_begin() {
    Case::new().run(["status"]).assert_exit(0).stdout_contains("no candles yet");
}

#[test]
fn series_show_counts_ranges_and_gaps() {
    let (btc, xrp) = (data("btc-perp-20211231-20220201_1m.csv"), data("XRP_ETH-1m.feather"));
    let case = Case::new();
    for (symbol, path) in [("BTC", &btc), ("XRP", &xrp)] {
        collect(&case, symbol, "1m", path).assert_exit(0);
    }
    case.run(["status"])
        .assert_exit(0)
        .stdout_contains("SYMBOL  INTERVAL  CANDLES  FIRST             LAST              GAPS  MISSING")
        .stdout_contains("BTC     1m        45031    2021-12-31 23:01  2022-02-01 05:31  0     0")
        .stdout_contains("XRP     1m        2469     2019-10-11 00:00  2019-10-13 11:19  676   1091");

    let doc = json(&case.run(["status", "--json"]));
    let xrp = &doc["series"][1];
    assert_eq!(xrp["symbol"], "XRP");
    assert_eq!(xrp["candles"], 2469);
    assert_eq!(xrp["gaps"], 676);
    assert_eq!(xrp["missing_bars"], 1091);
    assert_eq!(xrp["first_open_time"], "2019-10-11T00:00:00Z");
    assert!((xrp["last_collect"]["quality_score"].as_f64().unwrap() - 0.923).abs() < 0.001);
}

#[test]
fn the_fleet_alerts_and_the_health_probe_follow_what_run_did() {
    let case = Case::new()
        .config(&format!(
            "symbols:\n  - symbol: SYNTH\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}"
        ))
        .with_sample();
    case.run(["status", "--check"])
        .assert_exit(1)
        .stdout_contains("unhealthy: no successful `retrain run` yet");
    case.run(["status"])
        .assert_exit(0)
        .stdout_contains("SYNTH trending  -     -    -     -")
        .stdout_contains("initial (medium): no production model yet");
    case.run(["run"]).assert_exit(0);
    case.run(["status", "--check"]).assert_exit(0).stdout_contains("healthy");
    let status = case.run(["status"]);
    status
        .assert_exit(0)
        .stdout_contains("SYNTH trending  v1")
        .stdout_contains("initial")
        .stdout_contains("JOBS 1 finished, 100% succeeded");
    let doc = json(&case.run(["status", "--json"]));
    let model = &doc["models"][0];
    assert_eq!((model["symbol"].as_str(), model["production"].as_i64()), (Some("SYNTH"), Some(1)));
    assert_eq!(model["last_job"]["trigger"], "initial");
    assert_eq!(model["last_job"]["status"], "succeeded");
    assert!(model["needs_retrain"].is_null(), "{model}");
    assert!(doc["jobs"]["average_improvement"].is_null(), "a first version has no parent to improve on");
    // The same facts as Prometheus gauges, read back with a real parser.
    let text = case.run(["status", "--prometheus"]).assert_exit(0).stdout.clone();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    let value = |name: &str| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        match sample.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(value("retrain_model_production_version"), 1.0);
    assert_eq!(value("retrain_model_needs_retrain"), 0.0);
    assert_eq!(value("retrain_healthy"), 1.0);
    assert_eq!(value("retrain_jobs_succeeded"), 1.0);
    let f1 = model["test_history"][0].as_f64().unwrap();
    assert!((value("retrain_model_test_metric") - f1).abs() < 1e-12);
    let labelled = scrape.samples.iter().find(|s| s.metric == "retrain_model_production_version").unwrap();
    assert_eq!(
        (labelled.labels.get("symbol"), labelled.labels.get("regime")),
        (Some("SYNTH"), Some("trending"))
    );

    // The detail view: the version, the deployment that made it live, its checks.
    case.run(["status", "--symbol", "SYNTH", "--regime", "trending"])
        .assert_exit(0)
        .stdout_contains("SYNTH trending (5m)")
        .stdout_contains("v1       production")
        .stdout_contains("promote - -> v1 by run: job 1 (initial): every gate passed")
        .stdout_contains("last drift check of v1");
    case.run(["status", "--symbol", "NOPE"])
        .assert_exit(0)
        .stdout_contains("no versions of NOPE: train one first");

    // A failed job raises a high alert: the probe fails until it is resolved.
    case.run(["queue", "add", "--symbol", "NOPE", "--regime", "trending", "--reason", "no data"])
        .assert_exit(0);
    case.run(["run"]).assert_exit(1);
    case.run(["status", "--check"]).assert_exit(1).stdout_contains("1 open alert(s) at high or above");
    case.run(["alerts"]).assert_exit(0).stdout_contains("training_failure  open");
    case.run(["alerts", "ack", "1"]).assert_exit(0);
    case.run(["alerts"]).assert_exit(0).stdout_contains("acknowledged");
    case.run(["status", "--check"]).assert_exit(1);
    case.run(["alerts", "resolve", "1", "--resolution", "NOPE was a typo"]).assert_exit(0);
    case.run(["alerts", "resolve", "1", "--resolution", "again"])
        .assert_exit(2)
        .stderr_contains("no open alert 1");
    case.run(["alerts"]).assert_exit(0).stdout_contains("no open alerts");
    case.run(["alerts", "--all"]).assert_exit(0).stdout_contains("resolved: NOPE was a typo");
    case.run(["status", "--check"]).assert_exit(0);
}

#[test]
fn a_failed_first_training_a_canary_and_a_dead_run_each_render_sensibly() {
    // A market too small to train, with a first model due at once: the job fails.
    let text = std::fs::read_to_string(sample()).unwrap();
    let small: String = text.lines().take(900).map(|l| format!("{l}\n")).collect();
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: TINY\n    interval: 5m\n    regimes: [trending]\ntriggers:\n  min_initial_rows: 10\n{OPEN_GATES}"
    ));
    let path = case.write("small.csv", small);
    collect(&case, "TINY", "5m", &path).assert_exit(0);
    case.run(["run"]).assert_exit(1);
    case.run(["status"])
        .assert_exit(0)
        .stdout_contains("TINY trending  -     -    -     0m initial FAILED")
        .stdout_contains("JOBS 1 finished, 0% succeeded")
        .stdout_contains("ALERTS 1 open: 0 critical, 1 high");

    // Mid-canary: production v1, v2 on 20% of predictions.
    let canary = Case::new().config(OPEN_GATES).with_trained_model("1", "1");
    train(&canary, "SYNTH", "trending", &["--trials", "1", "--seed", "2"]).assert_exit(0);
    canary.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"]).assert_exit(0);
    canary
        .run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2", "--canary", "20"])
        .assert_exit(0);
    canary
        .run(["queue", "add", "--symbol", "SYNTH", "--regime", "trending", "--reason", "show it"])
        .assert_exit(0);
    canary
        .run(["status"])
        .assert_exit(0)
        .stdout_contains("SYNTH trending  v1")
        .stdout_contains("canary v2 20%")
        .stdout_contains("QUEUE\n  1 SYNTH trending (medium): show it");

    // A run that died holding the lock: status names it, and the next run cleans up.
    let dead = Case::new()
        .config(&format!(
            "symbols:\n  - symbol: SYNTH\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}"
        ))
        .with_sample();
    let killed = dead.run_with_env(&[("RETRAIN_FAILPOINT", "train:reserved")], ["run"]);
    assert!(killed.stderr.contains("failpoint train:reserved"), "{killed:?}");
    dead.run(["status"])
        .assert_exit(0)
        .stdout_contains("RUNNING job 1 SYNTH trending (initial): train")
        .stdout_contains("died without finishing; the next run marks its job abandoned");
    dead.run(["run"]).assert_exit(0).stdout_contains("marked abandoned");
    dead.run(["status"]).assert_exit(0).stdout_contains("no run is working");
}

/// The reviewed rendering of `status` after a first `run` on the sample. Wall-clock
/// times, the jobs' duration and the database size are masked; everything else must
/// match byte for byte.
/// `RETRAIN_UPDATE_SNAPSHOT=1 cargo test status_renders` rewrites the file for review.
#[test]
fn status_renders_the_reviewed_snapshot() {
    let case = Case::new()
        .config(&format!(
            "symbols:\n  - symbol: SYNTH\n    interval: 5m\n    regimes: [trending, volatile]\n\
             training:\n  search:\n    max_trials: 2\n{OPEN_GATES}"
        ))
        .with_sample();
    case.run(["run"]).assert_exit(0);
    case.run([
        "queue",
        "add",
        "--symbol",
        "SYNTH",
        "--regime",
        "sideways",
        "--priority",
        "high",
        "--reason",
        "snapshot",
    ])
    .assert_exit(0);
    let out = case.run(["status"]).assert_exit(0).stdout.clone();
    let masked = mask(&out);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/status.txt");
    if std::env::var_os("RETRAIN_UPDATE_SNAPSHOT").is_some() {
        std::fs::write(&path, &masked).unwrap();
    }
    let reviewed = std::fs::read_to_string(&path).expect("tests/fixtures/status.txt");
    assert_eq!(masked, reviewed, "status changed; review it and update the snapshot");

    // Forced colours (CLICOLOR_FORCE, as a pager gets them): the same text once the
    // escapes are taken out, columns still aligned, and a tick only where colours are.
    let coloured = case.run_with_env(&[("CLICOLOR_FORCE", "1")], ["status"]).assert_exit(0).stdout.clone();
    assert!(coloured.contains("\x1b[1mHEALTH\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[32m✔ healthy\x1b[0m"), "{coloured}");
    assert!(
        coloured.contains("\x1b[33mmanual (high)"),
        "a model that needs a retrain is yellow:\n{coloured}"
    );
    assert!(coloured.contains("\x1b[1;31mcritical 0m\x1b[0m"), "critical drift is bold red:\n{coloured}");
    let stripped = strip_escapes(&coloured).replace("✔ healthy", "healthy");
    assert_eq!(mask(&stripped), masked);
    // NO_COLOR wins over CLICOLOR_FORCE.
    let plain = case.run_with_env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], ["status"]);
    plain.assert_exit(0);
    assert_eq!(mask(&plain.stdout), masked);
}

/// `text` without its ANSI escape sequences (ESC [ ... final byte).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// Wall-clock times, the jobs' average duration and the database size masked.
fn mask(out: &str) -> String {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    out.lines()
        .map(|line| {
            let mut line = line.to_string();
            while let Some(at) = line.find(&today) {
                line.replace_range(at..at + 16, "<wall clock>    ");
            }
            if let Some(at) = line.find(" s on average") {
                let start = line[..at].rfind(' ').unwrap() + 1;
                line.replace_range(start..at, "<seconds>");
            }
            if let Some(at) = line.find(" MB)") {
                let start = line[..at].rfind('(').unwrap() + 1;
                line.replace_range(start..at + 3, "<size>");
            }
            format!("{line}\n")
        })
        .collect()
}
