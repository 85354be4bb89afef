//! `init` and the config it writes: defaults, --config and RETRAIN_CONFIG, paths relative
//! to the config file, unknown keys and bad values refused by name; usage errors of the
//! command line as a whole.

use crate::support::Case;

#[test]
fn init_writes_a_config_and_never_overwrites_it() {
    let case = Case::new();
    let models = case.models();
    let init = case.run(["init"]);
    init.assert_exit(0)
        .stdout_contains("wrote config.yaml")
        .stdout_contains(&format!("schema v{}", retrain::store::MIGRATIONS.len()));
    assert!(case.has_state());
    // A folder is made; a bucket must exist already, and init checked that it answers.
    match models {
        retrain::artifact::Models::Local(_) => assert!(case.path("models").is_dir()),
        remote => {
            init.stdout_contains(&format!("models in {}", remote.display()));
        }
    }
    let written = std::fs::read_to_string(case.path("config.yaml")).unwrap();
    assert!(written.contains("quality_threshold: 0.8"));

    std::fs::write(case.path("config.yaml"), "data:\n  interval: 1h\n").unwrap();
    case.run(["init"]).assert_exit(0).stdout_contains("config.yaml exists; left as it is");
    assert_eq!(std::fs::read_to_string(case.path("config.yaml")).unwrap(), "data:\n  interval: 1h\n");
}

#[test]
fn unknown_keys_and_bad_values_are_refused_by_name() {
    let case = Case::new().config("data:\n  quality_treshold: 0.5\n");
    case.run(["status"]).assert_exit(2).stderr_contains(
        "config.yaml: data.quality_treshold: unknown field `quality_treshold`, expected one of",
    );
    let case = Case::new().config("gates:\n  min_f1: 1.7\n");
    case.run(["status"])
        .assert_exit(2)
        .stderr_contains("gates.min_f1: expected a number from 0 to 1, got 1.7");
    let case = Case::new().config("data: [1, 2]\n");
    case.run(["init"]).assert_exit(2).stderr_contains("data: invalid type");
    assert!(!case.has_state(), "a bad config creates nothing");
}

#[test]
fn paths_are_relative_to_the_config_file_chosen_by_flag_or_environment() {
    // About where a database file goes: SQLite on both runs of the suite.
    let case = Case::sqlite();
    case.write("elsewhere/prod.yaml", "state:\n  database: state/prod.db\n");
    case.run(["--config", "elsewhere/prod.yaml", "init"]).assert_exit(0);
    assert!(case.path("elsewhere/state/prod.db").exists());
    assert!(case.path("elsewhere/models").is_dir());
    assert!(!case.path("retrain.db").exists());

    let case = case.env("RETRAIN_CONFIG", "elsewhere/prod.yaml");
    case.run(["status"]).assert_exit(0).stdout_contains("no candles yet");
    case.run(["--config", "missing.yaml", "status"])
        .assert_exit(2)
        .stderr_contains("config file missing.yaml does not exist");
}

#[test]
fn usage_errors_exit_with_two() {
    let case = Case::new();
    case.run(["collect", "--symbol", "X"]).assert_exit(2).stderr_contains("--file");
    case.run(["collect", "--symbol", "X", "--interval", "7x", "--file", "a.csv"])
        .assert_exit(2)
        .stderr_contains("--interval <INTERVAL>': invalid interval \"7x\"");
    case.run(["collect", "--symbol", "BTC/USDT", "--file", "a.csv"])
        .assert_exit(2)
        .stderr_contains("names a folder");
    case.run(["frobnicate"]).assert_exit(2);
}

/// `RETRAIN_<SECTION>_<KEY>` overrides a key of the file (and the defaults); a value the
/// key refuses names the variable, and a variable that names no key is refused.
#[test]
fn environment_variables_override_the_file_and_unknown_ones_are_refused() {
    let case = Case::new().config("state:\n  database: file.db\n");
    case.run_with_env(&[("RETRAIN_STATE_DATABASE", "env.db")], ["init"])
        .assert_exit(0)
        .stdout_contains("database ./env.db");
    assert!(case.path("env.db").exists() && !case.path("file.db").exists());
    case.run_with_env(&[("RETRAIN_GATES_MIN_F1", "high")], ["status"])
        .assert_exit(2)
        .stderr_contains("environment variable RETRAIN_GATES_MIN_F1=high: gates.min_f1: invalid type");
    case.run_with_env(&[("RETRAIN_GATE_MIN_F1", "0.5")], ["status"])
        .assert_exit(2)
        .stderr_contains("environment variable RETRAIN_GATE_MIN_F1 names no config key");
    // A list cannot be set this way: its variable is unknown.
    case.run_with_env(&[("RETRAIN_SYMBOLS", "BTC")], ["status"])
        .assert_exit(2)
        .stderr_contains("names no config key");
}
