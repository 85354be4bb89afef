//! `state copy`: a whole state moved to another database (SQLite and PostgreSQL either
//! way) or its models to another folder, verified, and never into a target that holds
//! anything. On the PostgreSQL run of the suite the targets that `Case::new()` makes are
//! PostgreSQL databases; on the SQLite run they are files, and the same tests hold.

use retrain::store::Location;

use crate::support::{Case, column, db, json, on_postgres};

const CONFIG: &str = "symbols:\n  - symbol: SYNTH\n    interval: 5m\n";

/// The --from or --to that names a case's database.
fn database(case: &Case) -> String {
    match case.location() {
        Location::Sqlite(path) => path.display().to_string(),
        Location::Postgres(url) => url,
    }
}

fn copy(case: &Case, from: &str, to: &str) -> crate::support::Run {
    case.run(["state", "copy", "--from", from, "--to", to])
}

/// The quickstart's state, on SQLite: the sample collected, then `run` trains a first
/// model per regime and puts the trending one live.
fn quickstart() -> Case {
    let case = Case::sqlite().config(CONFIG).with_sample();
    case.run(["run"]).assert_exit(0);
    case
}

/// `status --json` without what differs between two reads of one state: the time it was
/// read and what follows from it (the live model's age), where the database is and its
/// size on disk, and the last digits of a mean.
fn steady_status(case: &Case) -> serde_json::Value {
    let mut doc = json(&case.run(["status", "--json"]));
    let top = doc.as_object_mut().expect("an object");
    for volatile in ["at", "database", "database_bytes"] {
        assert!(top.remove(volatile).is_some(), "status --json has no {volatile}");
    }
    for model in doc["models"].as_array_mut().expect("models") {
        model.as_object_mut().expect("a model").remove("production_age_days");
    }
    // PostgreSQL's AVG of doubles sums in another way than SQLite's, so the mean of the
    // same rows may differ in its last digit (status's arithmetic, not the copy: the rows
    // are compared equal on their own).
    let average = &mut doc["jobs"]["average_seconds"];
    *average = serde_json::json!((average.as_f64().expect("an average") * 1e6).round() / 1e6);
    doc
}

#[test]
fn the_quickstart_state_copied_there_and_back_reads_the_same() {
    let first = quickstart();
    // On the PostgreSQL run the middle state is a PostgreSQL database with its models in
    // a bucket; here another file and another folder.
    let middle = Case::new().config(CONFIG);
    let last = Case::sqlite().config(CONFIG);

    let there = json(&middle.run([
        "state",
        "copy",
        "--from",
        &database(&first),
        "--to",
        &database(&middle),
        "--json",
    ]));
    assert_eq!((there["kind"].as_str(), there["verified"].as_bool()), (Some("database"), Some(true)));
    assert_eq!(there["tables"][0]["table"], "candles");
    assert_eq!(there["tables"][0]["rows"], 12960);
    let models = json(&middle.run([
        "state",
        "copy",
        "--from",
        &first.models().display(),
        "--to",
        &middle.models().display(),
        "--json",
    ]));
    assert_eq!(models["files"], 12, "three files of each of four versions");
    copy(&middle, &database(&middle), &database(&last))
        .assert_exit(0)
        .stdout_contains("candles            12960")
        .stdout_contains("verified: 16 tables");
    copy(&middle, &middle.models().display(), &last.models().display())
        .assert_exit(0)
        .stdout_contains("12 files");

    let rows = first.dump_all();
    for table in ["candles", "model_versions", "evaluations", "drift_features", "deployments", "runs", "jobs"]
    {
        assert!(
            rows.lines().any(|row| row.starts_with(&format!("{table}: "))),
            "the quickstart wrote no {table}"
        );
    }
    assert!(middle.dump_all() == rows, "the middle state differs from the quickstart's");
    assert!(last.dump_all() == rows, "the state copied back differs from the quickstart's");
    let artifacts = first.artifacts();
    assert!(middle.artifacts() == artifacts && last.artifacts() == artifacts, "the models differ");
    let status = steady_status(&first);
    let live = status["models"].as_array().expect("models").iter().filter(|m| m["production"] == 1).count();
    assert_eq!(live, 1, "{status}");
    assert_eq!(steady_status(&middle), status);
    assert_eq!(steady_status(&last), status);
    // The digests do not depend on the backend: the way back printed the same ones.
    let again =
        json(&middle.run(["state", "copy", "--from", &database(&middle), "--to", "again.db", "--json"]));
    assert_eq!(again["tables"], there["tables"]);
}

#[test]
fn a_target_that_holds_anything_is_refused_and_left_as_it_was() {
    let source = Case::sqlite().config(CONFIG).with_sample();
    let target = Case::new().config(CONFIG).with_sample();
    let before = target.state_snapshot();
    copy(&source, &database(&source), &database(&target))
        .assert_exit(2)
        .stderr_contains(&format!("{} is not empty (table candles has rows)", target.location().display()));
    assert!(target.state_snapshot() == before, "a refused copy changed the target");

    // A state that `init` made and nothing filled is empty: a copy may go there.
    let empty = Case::new().config(CONFIG);
    empty.run(["init"]).assert_exit(0);
    copy(&source, &database(&source), &database(&empty)).assert_exit(0);
    assert_eq!(empty.dump(), source.dump());
}

#[test]
fn what_is_neither_a_database_nor_models_is_refused_by_name() {
    let case = Case::sqlite().config(CONFIG).with_sample();
    copy(&case, "missing.db", "copy.db")
        .assert_exit(2)
        .stderr_contains("--from missing.db: neither a database");
    copy(&case, "retrain.db", "retrain.db")
        .assert_exit(2)
        .stderr_contains("is both the source and the target");
    copy(&case, "retrain.db", "s3://bucket/models")
        .assert_exit(2)
        .stderr_contains("but --from names a database");
    copy(&case, "config.yaml", "copy.db")
        .assert_exit(2)
        .stderr_contains("config.yaml is not a SQLite database");
    assert!(!case.path("copy.db").exists());
}

#[test]
fn a_copy_that_fails_half_way_leaves_the_target_as_it_was() {
    let source = Case::sqlite().config(CONFIG).with_sample();
    // A value SQLite keeps but no INTEGER column holds: the copy stops at `collects`,
    // after every candle went into the target.
    db(&source).execute("UPDATE collects SET rows_read = 'many'", &[]).unwrap();
    let target = Case::new().config(CONFIG);
    copy(&source, &database(&source), &database(&target))
        .assert_exit(1)
        .stderr_contains("copying table collects")
        .stderr_contains("collects.rows_read holds Text(\"many\")");
    // A PostgreSQL target keeps the schema it was given, and no row.
    assert_eq!(target.dump_all(), if on_postgres() { "" } else { "no database" });
    let leftovers: Vec<String> = std::fs::read_dir(target.path(""))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn ids_continue_after_the_copied_ones() {
    let source = Case::sqlite().config(CONFIG).with_sample();
    for reason in ["first", "second"] {
        source
            .run(["queue", "add", "--symbol", "SYNTH", "--regime", "trending", "--reason", reason])
            .assert_exit(0);
    }
    let target = Case::new().config(CONFIG);
    copy(&source, &database(&source), &database(&target)).assert_exit(0);
    // New rows in tables whose ids were copied: a PostgreSQL identity must not start
    // again at 1 (a unique violation), and SQLite's rowid must go on from the largest.
    target
        .run(["queue", "add", "--symbol", "SYNTH", "--regime", "sideways", "--reason", "third"])
        .assert_exit(0);
    let target = target.with_sample();
    assert_eq!(column::<i64>(&target, "SELECT id FROM jobs ORDER BY id"), [1, 2, 3]);
    assert_eq!(column::<i64>(&target, "SELECT id FROM collects ORDER BY id"), [1, 2]);
}

#[test]
fn models_copied_to_another_store_verify_and_load_from_there() {
    // On the PostgreSQL run the models are in a bucket: from there to a folder and back.
    let case = Case::new().config(CONFIG).with_trained_model("2", "1");
    let origin = case.models().display();
    let doc = json(&case.run(["state", "copy", "--from", &origin, "--to", "moved/models", "--json"]));
    assert_eq!(
        (doc["kind"].as_str(), doc["files"].as_u64(), doc["verified"].as_bool()),
        (Some("models"), Some(3), Some(true))
    );
    let beside = format!("{origin}-copy");
    copy(&case, "moved/models", &beside).assert_exit(0).stdout_contains("verified: every file read back");
    copy(&case, "moved/models", &origin)
        .assert_exit(2)
        .stderr_contains(&format!("{origin} is not empty (3 files, such as SYNTH/trending/v1/"));
    for database in ["config.yaml", "postgres://retrain@localhost/retrain"] {
        copy(&case, "moved/models", database).assert_exit(2).stderr_contains("but --from names models");
    }

    // The registry's checksums hold against each copy.
    for (models, artifact) in [
        ("moved/models", "./moved/models/SYNTH/trending/v1".to_string()),
        (&beside, format!("{beside}/SYNTH/trending/v1")),
    ] {
        let env = [("RETRAIN_STATE_MODELS_DIR", models)];
        let versions = json(&case.run_with_env(&env, ["versions", "--symbol", "SYNTH", "--json"]));
        assert_eq!(versions["versions"][0]["checksum"], "ok", "{versions}");
        assert_eq!(versions["versions"][0]["artifact"], artifact.as_str());
    }
}
