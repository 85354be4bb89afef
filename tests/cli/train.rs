//! `train` and `versions`: registered candidates, reproducible artifacts, checksums that
//! catch a flipped byte, crashes that leave the state whole; gradient boosting through
//! every command that uses a model.

use crate::support::deploy::{Feed, latest_regime};
use crate::support::{Case, OPEN_GATES, collect, flip_a_byte, json, sample, train};

fn collected() -> Case {
    Case::new().with_sample()
}

fn artifact_files(case: &Case, version: u32) -> Vec<(String, Vec<u8>)> {
    ["manifest.json", "model.json", "reference.json"]
        .iter()
        .map(|name| (name.to_string(), case.artifact(&format!("SYNTH/trending/v{version}/{name}"))))
        .collect()
}

#[test]
fn a_train_registers_a_verified_candidate() {
    let case = collected();
    train(&case, "SYNTH", "trending", &["--trials", "3"])
        .assert_exit(0)
        .stdout_contains("trained SYNTH trending v1 (random-forest, 5m)")
        .stdout_contains("search    3 trials, validation f1");
    case.run(["versions", "--symbol", "SYNTH"])
        .assert_exit(0)
        .stdout_contains("trending  v1       candidate  5m        random-forest");
    let doc = json(&case.run(["versions", "--symbol", "SYNTH", "--json"]));
    let v1 = &doc["versions"][0];
    assert_eq!(v1["checksum"], "ok");
    assert_eq!(v1["latest_evaluation"]["kind"], "test");
    let f1 = v1["latest_evaluation"]["metrics"]["classification"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.0 && f1 <= 1.0);

    let manifest = case.manifest("SYNTH/trending/v1");
    assert_eq!(
        manifest["features"].as_array().unwrap().len(),
        manifest["scaling"]["mean"].as_array().unwrap().len()
    );
    assert_eq!(manifest["search"]["trials"], 3);
    // The three parts follow each other in time, with the embargo between them.
    let t = |part: &str, end: &str| manifest[part][end].as_i64().unwrap();
    assert!(t("train", "to") + 12 * 300_000 < t("validation", "from"));
    assert!(t("validation", "to") + 12 * 300_000 < t("test", "from"));
    assert_eq!(manifest["test_metrics"]["rows"], manifest["test"]["rows"]);

    let second = train(&case, "SYNTH", "trending", &["--trials", "3", "--model", "decision-tree", "--json"]);
    let report = json(&second);
    assert_eq!(report["version"], 2);
    assert_eq!(report["hyperparameters"]["n_trees"], 1);
}

/// `training.model: gradient-boosting` from the config, as `run` trains it, and
/// `--model gradient-boosting`: reproducible whatever the threads, promoted, served by
/// `predict`, compared with a forest by `evaluate --compare`, checked by `drift-check`.
#[test]
fn gradient_boosting_trains_reproducibly_and_serves_like_a_forest() {
    let config = format!(
        "symbols:
  - symbol: SYNTH
    interval: 5m
training:
  model: gradient-boosting
  search:
    max_trials: 2
    boosting:
      iterations: [30, 60]
      learning_rate: [0.1]
      max_depth: [3]
      min_leaf_weight: [1.0]
      subsample: [0.8]
      colsample: [0.8]
{OPEN_GATES}"
    );
    let case = Case::new().config(&config).with_sample();
    let regime = latest_regime(&case, "SYNTH", "5m");
    let regime = regime.as_str();
    let args = ["train", "--symbol", "SYNTH", "--regime", regime, "--seed", "3", "--json"];
    let report = json(&case.run_with_env(&[("RAYON_NUM_THREADS", "1")], args));
    assert_eq!(report["model"], "gradient-boosting");
    assert_eq!(report["search"]["trials"].as_array().map(Vec::len), Some(2));
    let iterations = report["hyperparameters"]["iterations"].as_u64();
    assert!(matches!(iterations, Some(30 | 60)), "{}", report["hyperparameters"]);
    case.run_with_env(&[("RAYON_NUM_THREADS", "2")], args).assert_exit(0);
    let model = |v: u32| case.artifact(&format!("SYNTH/{regime}/v{v}/model.json"));
    assert!(model(1) == model(2), "one thread and two fit the same booster");
    let manifest = case.manifest(&format!("SYNTH/{regime}/v1"));
    assert_eq!(manifest["model"], "gradient-boosting");
    let gains: Vec<f64> =
        manifest["importance"]["impurity"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!((gains.iter().sum::<f64>() - 1.0).abs() < 1e-9, "gain shares: {gains:?}");

    // A forest goes live first; the booster challenges it, then replaces it.
    train(&case, "SYNTH", regime, &["--model", "random-forest", "--trials", "2"]).assert_exit(0);
    let promote = |version: &str| {
        case.run(["promote", "--symbol", "SYNTH", "--regime", regime, "--version", version]).assert_exit(0);
    };
    promote("3");
    let doc = json(&case.run(["evaluate", "--symbol", "SYNTH", "--regime", regime, "--version", "1", "--compare", "--json"]));
    let p = doc["comparison"]["probability_better"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{doc}");
    promote("1");
    let served = json(&case.run(["predict", "--symbol", "SYNTH", "--interval", "5m", "--json"]));
    assert_eq!(served["version"], 1);
    let p = served["probability_up"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0, "{served}");
    case.run(["drift-check", "--symbol", "SYNTH", "--regime", regime]).assert_exit(0);

    // An incremental refresh refits the production booster with its hyperparameters:
    // forust-ml cannot continue boosting a fitted model.
    let args = ["train", "--symbol", "SYNTH", "--regime", regime, "--refresh", "incremental", "--json"];
    let refit = json(&case.run(args));
    assert_eq!(refit["refresh"]["refreshed"]["method"], "refit", "{refit}");
    assert_eq!(refit["refresh"]["refreshed"]["from_version"], 1);
    assert_eq!(refit["hyperparameters"], report["hyperparameters"]);
    assert_eq!(refit["search"]["trials"].as_array().map(Vec::len), Some(1));

    // `run` trains the other regimes' first models with the config's family.
    case.run(["run"]).assert_exit(0);
    let doc = json(&case.run(["versions", "--symbol", "SYNTH", "--json"]));
    let versions = doc["versions"].as_array().unwrap();
    let others: Vec<&serde_json::Value> = versions.iter().filter(|v| v["regime"] != regime).collect();
    assert!(!others.is_empty(), "{doc}");
    assert!(others.iter().all(|v| v["model"] == "gradient-boosting"), "{doc}");
}

/// `training.refresh: incremental`: nothing to refresh without a production version or
/// newer bars (the search runs, and says why); then the production forest's oldest
/// quarter of trees replaced by trees grown on the bars it never learned from, with its
/// features, scaling and hyperparameters, reproducibly.
#[test]
fn an_incremental_refresh_replaces_the_oldest_trees_with_trees_of_the_newest_bars() {
    let case = Case::new();
    let feed = Feed::sample();
    feed.collect(&case, 0..7000);
    let incremental = ["--trials", "2", "--refresh", "incremental"];
    train(&case, "SYNTH", "trending", &incremental)
        .assert_exit(0)
        .stdout_contains("refresh   not incremental: SYNTH trending has no production version to refresh")
        .stdout_contains("search    2 trials");
    let promote = ["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"];
    case.run(promote.iter().chain(&["--force", "--reason", "the base"])).assert_exit(0);
    train(&case, "SYNTH", "trending", &incremental)
        .assert_exit(0)
        .stdout_contains("refresh   not incremental: only 0 training rows are newer than production v1's training window");

    feed.collect(&case, 7000..12_960);
    let case = case.config("training:\n  refresh: incremental\n");
    train(&case, "SYNTH", "trending", &[])
        .assert_exit(0)
        .stdout_contains("refresh   incremental from v1: the oldest 25 of 100 trees replaced by trees grown on the");
    let trees = |v: u32| -> Vec<serde_json::Value> {
        let model: serde_json::Value =
            serde_json::from_slice(&case.artifact(&format!("SYNTH/trending/v{v}/model.json"))).unwrap();
        model["trees"].as_array().unwrap().clone()
    };
    let (base, refreshed) = (trees(1), trees(3));
    assert_eq!(base.len(), 100, "the base's n_trees");
    assert_eq!(refreshed.len(), 100);
    assert!(refreshed[..75] == base[25..], "the base's newest 75 trees are kept, oldest first");
    assert!(refreshed[75..].iter().all(|t| !base.contains(t)), "25 new trees");
    let (v1, v3) = (case.manifest("SYNTH/trending/v1"), case.manifest("SYNTH/trending/v3"));
    for key in ["features", "scaling", "hyperparameters", "config_hash"] {
        assert_eq!(v1[key], v3[key], "{key}");
    }
    let r = &v3["refreshed"];
    assert_eq!((r["from_version"].as_u64(), r["method"].as_str()), (Some(1), Some("replace-oldest")));
    assert_eq!((r["kept_trees"].as_u64(), r["new_trees"].as_u64()), (Some(75), Some(25)));
    let rows = r["rows"].as_u64().unwrap();
    assert!(rows >= 200 && rows < v3["train"]["rows"].as_u64().unwrap(), "{r}");
    assert!(v3["train"]["to"].as_i64() > v1["train"]["to"].as_i64());
    assert_eq!(v3["search"]["trials"], 1);
    assert_eq!(v1.get("refreshed"), None, "a searched model's manifest has no refresh");

    train(&case, "SYNTH", "trending", &[]).assert_exit(0);
    assert!(trees(4) == refreshed, "the same base, data and seed refresh to the same forest");
    let doc = json(&case.run(["versions", "--symbol", "SYNTH", "--json"]));
    let v3 = doc["versions"].as_array().unwrap().iter().find(|v| v["version"] == 3).unwrap();
    assert_eq!(v3["checksum"], "ok");
    assert_eq!(v3["refreshed"]["from_version"], 1);
}

/// `training.calibration: platt` on real BTC bars: the same model as without it, a map
/// that lowers the test rows' calibration error, and `predict` serving the mapped P(up).
#[test]
fn a_calibrated_version_serves_the_calibrated_probability() {
    let btc = crate::support::data("btc-perp-20211231-20220201_1m.csv");
    let config = |method: &str| format!("training:\n  calibration: {method}\n{OPEN_GATES}");
    let case = Case::new().config(&config("none"));
    case.collect_5m("BTC", &btc).assert_exit(0);
    let regime = latest_regime(&case, "BTC", "5m");
    let regime = regime.as_str();
    let args = ["--interval", "5m", "--trials", "2", "--seed", "5"];
    train(&case, "BTC", regime, &args).assert_exit(0);
    let case = case.config(&config("platt"));
    train(&case, "BTC", regime, &args).assert_exit(0);
    let file = |v: u32, name: &str| case.artifact(&format!("BTC/{regime}/v{v}/{name}"));
    assert!(file(1, "model.json") == file(2, "model.json"), "calibration does not change the search");
    let (plain, calibrated) = (case.manifest(&format!("BTC/{regime}/v1")), case.manifest(&format!("BTC/{regime}/v2")));
    assert_eq!(plain["calibration"], serde_json::Value::Null);
    let map = &calibrated["calibration"];
    assert_eq!(map["method"], "platt");
    let (a, b) = (map["a"].as_f64().unwrap(), map["b"].as_f64().unwrap());
    assert!(a < 0.0, "a model that ranks up bars higher keeps its order: {map}");
    let ece = |m: &serde_json::Value, when: &str| m["reliability"][when]["ece"].as_f64().unwrap();
    assert_eq!(ece(&calibrated, "before"), ece(&plain, "after"), "the same model before its map");
    assert!(ece(&calibrated, "after") < ece(&calibrated, "before"), "{}", calibrated["reliability"]);

    let served = |version: &str| {
        case.run(["promote", "--symbol", "BTC", "--regime", regime, "--version", version]).assert_exit(0);
        json(&case.run(["predict", "--symbol", "BTC", "--interval", "5m", "--json"]))["probability_up"]
            .as_f64()
            .unwrap()
    };
    let raw = served("1");
    let mapped = served("2");
    let platt = 1.0 / (1.0 + (a * raw + b).exp());
    assert!((mapped - platt).abs() < 1e-12, "served {mapped}, Platt's map of {raw} is {platt}");

    case.run(["versions", "--symbol", "BTC", "--regime", regime, "--calibration"])
        .assert_exit(0)
        .stdout_contains(&format!("BTC {regime} v2: calibration platt, expected calibration error on the test rows"))
        .stdout_contains("P(UP)");
    let doc = json(&case.run(["versions", "--symbol", "BTC", "--regime", regime, "--calibration", "--json"]));
    let v2 = &doc["versions"][0]["calibration"];
    assert_eq!(v2["method"], "platt");
    assert_eq!(v2["test_ece_after"].as_f64(), Some(ece(&calibrated, "after")));
    let bins = v2["test_reliability"]["after"]["bins"].as_array().unwrap();
    let rows: u64 = bins.iter().map(|b| b["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, calibrated["test"]["rows"].as_u64().unwrap(), "every test row in one bin");
}

/// `training.splits: histogram` reaches the forest: reproducible, and another forest than
/// exact splits grow on the sample's continuous features (more than 255 distinct values).
#[test]
fn histogram_splits_train_reproducible_forests_of_their_own() {
    let histogram = || Case::new().config("training:\n  splits: histogram\n").with_sample();
    let (a, b, exact) = (histogram(), histogram(), collected());
    for case in [&a, &b, &exact] {
        train(case, "SYNTH", "trending", &["--trials", "3", "--seed", "5"]).assert_exit(0);
    }
    assert!(artifact_files(&a, 1) == artifact_files(&b, 1), "histogram artifacts differ");
    assert!(artifact_files(&a, 1)[1].1 != artifact_files(&exact, 1)[1].1, "the same forest as exact splits");
    a.run(["evaluate", "--symbol", "SYNTH", "--regime", "trending"]).assert_exit(0);
}

#[test]
fn the_same_data_config_and_seed_give_byte_identical_artifacts() {
    let (a, b) = (collected(), collected());
    train(&a, "SYNTH", "trending", &["--trials", "3", "--seed", "5"]).assert_exit(0);
    train(&b, "SYNTH", "trending", &["--trials", "3", "--seed", "5"]).assert_exit(0);
    assert!(artifact_files(&a, 1) == artifact_files(&b, 1), "artifacts differ");
    train(&b, "SYNTH", "trending", &["--trials", "3", "--seed", "6"]).assert_exit(0);
    let (first, other) = (artifact_files(&b, 1), artifact_files(&b, 2));
    assert!(first[1].1 != other[1].1, "another seed, another model");
}

/// Each version keeps what it uses: both importances for every feature of its manifest,
/// shown most important first by `versions --importance`; byte-identical artifacts above
/// show they are reproducible.
#[test]
fn versions_show_each_model_s_feature_importances() {
    let case = collected();
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "5"]).assert_exit(0);
    let manifest = case.manifest("SYNTH/trending/v1");
    let features: Vec<&str> =
        manifest["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let impurity: Vec<f64> =
        manifest["importance"]["impurity"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(impurity.len(), features.len());
    assert!((impurity.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{impurity:?}");
    assert_eq!(manifest["importance"]["permutation"].as_array().map(Vec::len), Some(features.len()));

    let doc = json(&case.run(["versions", "--symbol", "SYNTH", "--importance", "--json"]));
    let rows = doc["versions"][0]["importance"].as_array().unwrap();
    assert_eq!(rows.len(), features.len());
    let ranked: Vec<f64> = rows.iter().map(|r| r["impurity"].as_f64().unwrap()).collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "most important first: {ranked:?}");
    let top = rows[0]["feature"].as_str().unwrap();
    let index = features.iter().position(|f| *f == top).unwrap();
    assert_eq!(rows[0]["impurity"].as_f64(), Some(impurity[index]));
    case.run(["versions", "--symbol", "SYNTH", "--importance"])
        .assert_exit(0)
        .stdout_contains("SYNTH trending v1: what the model uses, most important first")
        .stdout_contains("FEATURE")
        .stdout_contains(&format!("{top} "));
    assert!(
        json(&case.run(["versions", "--symbol", "SYNTH", "--json"]))["versions"][0]["importance"].is_null()
    );
}

#[test]
fn a_flipped_byte_is_caught_and_the_file_named() {
    let case = collected();
    train(&case, "SYNTH", "trending", &["--trials", "3"]).assert_exit(0);
    flip_a_byte(&case, "SYNTH/trending/v1/model.json");
    case.run(["versions", "--symbol", "SYNTH"])
        .assert_exit(0)
        .stdout_contains("FAILED")
        .stdout_contains("v1/model.json: checksum mismatch");
}

#[test]
fn a_crash_at_any_step_leaves_no_version_pointing_at_partial_files() {
    let case = collected();
    // A folder's temporary folders; an object store has none (its data files wait at
    // their final keys for the manifest).
    let leftovers = || {
        std::fs::read_dir(case.path("models/SYNTH/trending"))
            .map(|entries| {
                entries
                    .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"))
                    .count()
            })
            .unwrap_or(0)
    };
    let remote = case.models().is_remote();
    let listed = |version: u32, name: &str| {
        let path = format!("SYNTH/trending/v{version}/{name}");
        case.models().list().unwrap().iter().any(|(p, _)| *p == path)
    };
    for (point, version) in [("train:reserved", 1), ("artifact:files-synced", 2), ("train:written", 3)] {
        let run = case.run_with_env(
            &[("RETRAIN_FAILPOINT", point)],
            ["train", "--symbol", "SYNTH", "--regime", "trending", "--trials", "1"],
        );
        assert_ne!(run.code, Some(0), "{point}: {run:?}");
        assert!(run.stderr.contains(&format!("failpoint {point}")), "{point}: {}", run.stderr);
        case.run(["versions", "--symbol", "SYNTH"])
            .assert_exit(0)
            .stdout_contains("no versions of SYNTH yet");
        // Published (a manifest at its final place) only once every file was written.
        assert_eq!(listed(version, "manifest.json"), point == "train:written", "{point}: v{version}");
        // A crash while writing leaves only a temporary folder, or data files without a
        // manifest in an object store, which nothing trusts.
        let unpublished = point == "artifact:files-synced";
        assert_eq!(leftovers(), usize::from(unpublished && !remote), "{point}");
        assert_eq!(
            listed(version, "model.json"),
            point == "train:written" || (unpublished && remote),
            "{point}"
        );
    }
    // The next train takes a number never handed out before and clears temporary folders.
    train(&case, "SYNTH", "trending", &["--trials", "3"])
        .assert_exit(0)
        .stdout_contains("trained SYNTH trending v4");
    assert_eq!(leftovers(), 0);
    case.run(["versions", "--symbol", "SYNTH"]).assert_exit(0).stdout_contains("v4").stdout_contains("ok");
}

#[test]
fn data_that_cannot_train_is_refused_with_the_numbers() {
    let case = Case::new();
    let text = std::fs::read_to_string(sample()).unwrap();
    let short: String = text.lines().take(1500).map(|l| format!("{l}\n")).collect();
    let path = case.write("short.csv", short);
    collect(&case, "S", "5m", &path).assert_exit(0);
    train(&case, "S", "volatile", &[])
        .assert_exit(3)
        .stderr_contains("not enough data for the volatile regime: 1499 candles")
        .stderr_contains("each part needs at least 200 rows (training.min_rows_per_part)");
    case.run(["versions", "--symbol", "S"]).assert_exit(0).stdout_contains("no versions");

    let case = collected().config("label:\n  threshold_bps: 5000\n");
    train(&case, "SYNTH", "trending", &["--trials", "3"])
        .assert_exit(3)
        .stderr_contains("are all labelled 0");
    train(&case, "NONE", "trending", &[]).assert_exit(2).stderr_contains("no 5m candles of NONE");
    train(&case, "SYNTH", "bullish", &[]).assert_exit(2).stderr_contains("unknown regime \"bullish\"");
}
