//! `status`: what the store holds, as a table and as JSON.

use crate::support::{Case, OPEN_GATES, collect, column, data, json, on_postgres, sample, train};

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

    // A run that died holding the lock: status names it, and the next run cleans up. The
    // run lock is SQLite's; on PostgreSQL a dead worker's job is taken over when its lease
    // runs out, and status shows the worker and its lease (tests/store/fleet.rs).
    let dead = Case::sqlite()
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

/// The three renderings of one status report, reviewed as insta snapshots: after a first
/// `run` on the sample, with a manual request waiting. Wall-clock times, durations and the
/// database size are masked; everything else must match byte for byte.
#[test]
fn status_renders_the_reviewed_snapshots() {
    let case = Case::new()
        .config(&format!(
            "symbols:\n  - symbol: SYNTH\n    interval: 5m\n    regimes: [trending, volatile]\n\
             training:\n  search:\n    max_trials: 2\nschedule:\n  max_concurrent_jobs: 1\n{OPEN_GATES}"
        ))
        .with_sample();
    // One job at a time, so that the jobs' numbers (in the deployments' reasons) are fixed.
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
    // On the PostgreSQL run every rendering is the same but for where the database is, and
    // is checked against the same snapshots (named without the test target's name).
    let database = case.location().display();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    let _snapshots = settings.bind_to_scope();
    let here =
        |text: &str| if on_postgres() { text.replace(&database, "./retrain.db") } else { text.to_string() };
    let masked = mask(&here(&case.run(["status"]).assert_exit(0).stdout));
    insta::assert_snapshot!("status_text", masked);
    let mut doc: serde_json::Value =
        serde_json::from_str(&here(&case.run(["status", "--json"]).assert_exit(0).stdout)).unwrap();
    mask_json(&mut doc);
    insta::assert_snapshot!("status_json", serde_json::to_string_pretty(&doc).unwrap());
    let gauges = case.run(["status", "--prometheus"]).assert_exit(0).stdout.clone();
    insta::assert_snapshot!("status_prometheus", mask_gauges(&gauges));
    let mut detail = json(&case.run(["status", "--symbol", "SYNTH", "--json"]));
    mask_json(&mut detail);
    insta::assert_snapshot!("status_detail_json", serde_json::to_string_pretty(&detail).unwrap());

    // Forced colours (CLICOLOR_FORCE, as a pager gets them): the same text once the
    // escapes are taken out, columns still aligned, and a tick only where colours are.
    let coloured = case.run_with_env(&[("CLICOLOR_FORCE", "1")], ["status"]).assert_exit(0).stdout.clone();
    assert!(coloured.contains("\x1b[1mHEALTH\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[32m✔ healthy\x1b[0m"), "{coloured}");
    assert!(
        coloured.contains("\x1b[33mmanual (high)"),
        "a model that needs a retrain is yellow:\n{coloured}"
    );
    // The sample is stationary: the fresh models' drift is none, which has no colour.
    assert!(coloured.contains("  none 0m  "), "no drift is plain:\n{coloured}");
    let stripped = strip_escapes(&coloured).replace("✔ healthy", "healthy");
    assert_eq!(mask(&here(&stripped)), masked);
    // NO_COLOR wins over CLICOLOR_FORCE.
    let plain = case.run_with_env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], ["status"]);
    plain.assert_exit(0);
    assert_eq!(mask(&here(&plain.stdout)), masked);
}

/// Every value of a status report that the wall clock or the machine decides (times,
/// durations, sizes, the sample's path), masked.
fn mask_json(value: &mut serde_json::Value) {
    const MASKED: [&str; 9] = [
        "at",
        "source",
        "requested_at",
        "trained_at",
        "last_successful_run",
        "database_bytes",
        "average_seconds",
        "elapsed_seconds",
        "production_age_days",
    ];
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if MASKED.contains(&key.as_str()) && !child.is_null() {
                    *child = "[masked]".into();
                } else {
                    mask_json(child);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

/// The gauges whose value is a wall-clock time or an age, masked.
fn mask_gauges(text: &str) -> String {
    text.lines()
        .map(|line| {
            let timed = line.starts_with("retrain_model_production_age_seconds")
                || line.starts_with("retrain_last_successful_run_timestamp_seconds");
            match line.rsplit_once(' ') {
                Some((head, _)) if timed => format!("{head} [masked]\n"),
                _ => format!("{line}\n"),
            }
        })
        .collect()
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

/// The TEST column (and its gauge) is production's test metric: a newer candidate that
/// fails its gates must not lend production its score.
#[test]
fn the_test_column_is_production_s_metric_not_a_newer_failing_candidate() {
    let case = Case::new().with_trained_model("1", "1");
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--force", "--reason", "first"])
        .assert_exit(0);
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "9"]).assert_exit(0);
    // v2 fails the default gates: it stays a candidate.
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--dry-run"]).assert_exit(3);
    let f1 = |version: i64| -> f64 {
        let sql = format!(
            "SELECT e.metrics FROM evaluations e
             JOIN model_versions v ON v.id = e.version_id WHERE v.version = {version} AND e.kind = 'test'"
        );
        let metrics: serde_json::Value = serde_json::from_str(&column::<String>(&case, &sql)[0]).unwrap();
        metrics["classification"]["f1"].as_f64().unwrap()
    };
    let (production, candidate) = (f1(1), f1(2));
    assert!((production - candidate).abs() > 1e-3, "the versions must score apart: {production} {candidate}");

    let doc = json(&case.run(["status", "--json"]));
    let model = &doc["models"][0];
    assert_eq!((model["production"].as_i64(), model["candidate"].as_i64()), (Some(1), Some(2)));
    assert_eq!(model["production_test_metric"].as_f64(), Some(production));
    assert_eq!(model["test_history"].as_array().map(Vec::len), Some(2), "the trend still covers both");

    let text = case.run(["status"]).assert_exit(0).stdout.clone();
    let row = text.lines().find(|l| l.starts_with("SYNTH trending")).unwrap();
    assert!(row.contains(&format!("  {production:.3} ")), "{row}");
    assert!(!row.contains(&format!("{candidate:.3}")), "{row}");

    let gauges = case.run(["status", "--prometheus"]).assert_exit(0).stdout.clone();
    let gauge = gauges
        .lines()
        .find(|l| l.starts_with("retrain_model_test_metric{"))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse::<f64>().unwrap());
    assert_eq!(gauge, Some(production));
}

/// Models trained and promoted by hand have rows though no config lists them (and `run`
/// leaves them alone); a configured model without a version says it has none yet.
#[test]
fn models_trained_by_hand_have_rows_and_configured_ones_without_versions_say_so() {
    let case = Case::new().config("symbols:\n  - symbol: OTHER\n    regimes: [volatile]\n").with_sample();
    let regimes = ["trending", "sideways", "volatile", "consolidation"];
    for regime in regimes {
        train(&case, "SYNTH", regime, &["--trials", "1"]).assert_exit(0);
        case.run(["promote", "--symbol", "SYNTH", "--regime", regime, "--force", "--reason", "by hand"])
            .assert_exit(0);
    }
    let text = case.run(["status"]).assert_exit(0).stdout.clone();
    for regime in regimes {
        let row = text.lines().find(|l| l.starts_with(&format!("SYNTH {regime} "))).unwrap_or_else(|| {
            panic!("no row for SYNTH {regime}:\n{text}");
        });
        assert!(row.contains(" v1 "), "{row}");
    }
    assert!(text.contains("  OTHER volatile: no version yet"), "{text}");
    assert!(!text.contains("no models"), "{text}");

    let doc = json(&case.run(["status", "--json"]));
    let models = doc["models"].as_array().unwrap();
    assert_eq!(models.len(), 5, "{doc}");
    assert_eq!(
        (models[0]["symbol"].as_str(), models[0]["keeping"].as_str()),
        (Some("OTHER"), Some("configured"))
    );
    assert!(models[0]["production"].is_null());
    for model in &models[1..] {
        assert_eq!((model["symbol"].as_str(), model["keeping"].as_str()), (Some("SYNTH"), Some("not_kept")));
        assert_eq!(model["production"].as_i64(), Some(1));
        assert!(model["needs_retrain"].is_null(), "run leaves a model no config lists alone: {model}");
        assert!(model["not_due"].as_str().unwrap().starts_with("not kept"), "{model}");
    }
    // The dry run says the same of each.
    let dry = case.run(["run", "--dry-run"]);
    dry.assert_exit(0).stdout_contains("nothing is due");
    for regime in regimes {
        dry.stdout_contains(&format!("SYNTH {regime}: not kept"));
    }
    dry.stdout_contains(
        "OTHER volatile: not due: 0 bars of the regime, fewer than triggers.min_initial_rows 1000",
    );

    // The detail, as JSON too.
    let detail = json(&case.run(["status", "--symbol", "SYNTH", "--json"]));
    let shown: Vec<&str> =
        detail["models"].as_array().unwrap().iter().map(|m| m["regime"].as_str().unwrap()).collect();
    assert_eq!(shown, regimes);
    for model in detail["models"].as_array().unwrap() {
        assert_eq!(model["versions"][0]["status"], "production");
        assert_eq!(model["deployments"][0]["action"], "promote");
        assert_eq!(model["deployments"][0]["forced"], true);
        assert_eq!(model["deployments"][0]["reason"], "by hand");
    }
    let one = json(&case.run(["status", "--symbol", "SYNTH", "--regime", "volatile", "--json"]));
    assert_eq!(one["models"].as_array().map(Vec::len), Some(1));
}

/// The bars of each regime with every feature defined, counted from the table `features`
/// exported: the independent count `run` and `status` must agree with.
fn regime_bars(path: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let regime = header.iter().position(|h| *h == "regime").unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let complete = cells[1..regime].iter().all(|c| !c.is_empty());
        if complete && !cells[regime].is_empty() {
            *counts.entry(cells[regime].to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// NEEDS RETRAIN is what `run --dry-run` at the same instant plans, by the same code. On a
/// daily series whose regimes hold fewer bars than triggers.min_initial_rows nothing is due
/// and the dry run names each model with its count; with the threshold between the
/// regimes' counts, the models at or above it are due in both, and only they.
#[test]
fn needs_retrain_is_exactly_what_a_dry_run_plans_on_daily_data() {
    let case = Case::new();
    case.run(["sample-data", "--interval", "1d", "--days", "2148", "--out", "daily.csv"]).assert_exit(0);
    collect(&case, "GOOG", "1d", &case.path("daily.csv")).assert_exit(0);
    case.run(["features", "--symbol", "GOOG", "--interval", "1d", "--out", "features.csv"]).assert_exit(0);
    let counts = regime_bars(&case.path("features.csv"));
    assert_eq!(counts.len(), 4, "{counts:?}");
    let mut sorted: Vec<usize> = counts.values().copied().collect();
    sorted.sort_unstable();
    assert!(sorted[1] < sorted[2], "two regimes must sit below the middle threshold: {counts:?}");
    let mut case = case;
    for threshold in [sorted[3] + 1, sorted[2]] {
        case = case.config(&format!(
            "symbols:\n  - symbol: GOOG\n    interval: 1d\ntriggers:\n  min_initial_rows: {threshold}\n"
        ));
        let doc = json(&case.run(["status", "--json"]));
        let dry = case.run(["run", "--dry-run"]);
        dry.assert_exit(0);
        let mut due = 0;
        for (regime, bars) in &counts {
            let model =
                doc["models"].as_array().unwrap().iter().find(|m| m["regime"] == regime.as_str()).unwrap();
            let planned = dry.stdout.contains(&format!("would run GOOG {regime}:"));
            assert_eq!(
                model["needs_retrain"].is_string(),
                planned,
                "{regime} at {threshold}: {model}\n{}",
                dry.stdout
            );
            assert_eq!(
                planned,
                *bars >= threshold,
                "{regime}: {bars} bars, threshold {threshold}\n{}",
                dry.stdout
            );
            if planned {
                due += 1;
                let reason = format!("no production model yet and {bars} bars of the regime");
                assert!(model["needs_retrain"].as_str().unwrap().contains(&reason), "{model}");
            } else {
                let why = format!(
                    "not due: {bars} bars of the regime, fewer than triggers.min_initial_rows {threshold}"
                );
                dry.stdout_contains(&format!("GOOG {regime}: {why}"));
                assert_eq!(model["not_due"].as_str(), Some(why.as_str()));
            }
        }
        assert_eq!(due, if threshold > sorted[3] { 0 } else { 2 });
        if due == 0 {
            dry.stdout_contains("nothing is due");
        }
    }
}
