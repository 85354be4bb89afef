//! `backup` and `restore`: a state copied into a folder while a run works, and put back
//! into an empty state on the suite's backend, reads the same; a damaged backup, a
//! backup over another, and a restore over a state are refused and change nothing.

use crate::support::{Case, btc_fleet_on, count, json, on_postgres, paused_run};

const CONFIG: &str = "symbols:\n  - symbol: SYNTH\n    interval: 5m\n";

/// The quickstart's state on the suite's backend: the sample collected, then `run`.
fn quickstart() -> Case {
    let case = Case::new().config(CONFIG).with_sample();
    case.run(["run"]).assert_exit(0);
    case
}

#[test]
fn a_backup_restored_into_an_empty_state_reads_the_same_and_checks_clean() {
    let first = quickstart();
    let folder = tempfile::tempdir().unwrap();
    let to = folder.path().join("nightly");
    let backup = json(&first.run(["backup", "--to", to.to_str().unwrap(), "--json"]));
    assert_eq!(backup["backup"]["versions"], 4);
    assert_eq!(backup["backup"]["files"].as_array().unwrap().len(), 1 + 4 * 3, "the database and 12 artifact files");
    assert!(to.join("retrain.db").is_file() && to.join("backup.json").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(folder.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("nightly")], "no temporary folder stays");

    let second = Case::new().config(CONFIG);
    let restored = json(&second.run(["restore", "--from", to.to_str().unwrap(), "--json"]));
    assert_eq!((restored["versions"].as_i64(), restored["files"].as_i64()), (Some(4), Some(12)));
    assert_eq!(second.dump_all(), first.dump_all(), "every row of every table");
    assert_eq!(second.artifacts(), first.artifacts(), "every artifact file");
    second.run(["check"]).assert_exit(0).stdout_contains("no problem found");
    second.run(["predict", "--symbol", "SYNTH"]).assert_exit(0);
    // Restoring again, over the restored state, is refused.
    let again = second.run(["restore", "--from", to.to_str().unwrap()]);
    again.assert_exit(2).stderr_contains("only into an empty state");
}

/// SQLite's online backup: a run paused inside its job (holding the run lock, its run
/// and job rows written) does not stop a backup, which sees the state as it was.
#[test]
fn a_backup_is_taken_while_a_run_works() {
    let case = btc_fleet_on(Case::sqlite(), "training:\n  search:\n    max_trials: 2\n");
    let mut working = paused_run(&case, "2022-02-01T06:00:00Z");
    let folder = tempfile::tempdir().unwrap();
    let to = folder.path().join("b");
    case.run(["backup", "--to", to.to_str().unwrap()]).assert_exit(0).stdout_contains("0 version(s)");
    drop(working.stdin.take());
    assert_eq!(working.wait().unwrap().code(), Some(0), "the run went on and finished");

    let restored = Case::sqlite();
    restored.run(["restore", "--from", to.to_str().unwrap()]).assert_exit(0);
    assert_eq!(count(&restored, "SELECT COUNT(*) FROM jobs WHERE status = 'running'"), 1, "the job as it was");
    // The run of the backup is not alive in the restored state: check says so and repairs it.
    restored.run(["check", "--repair"]).assert_exit(0).stdout_contains("repaired");
}

#[test]
fn a_damaged_backup_or_a_folder_in_use_is_refused_and_nothing_is_written() {
    let first = quickstart();
    let folder = tempfile::tempdir().unwrap();
    let to = folder.path().join("b");
    first.run(["backup", "--to", to.to_str().unwrap()]).assert_exit(0);
    let over = first.run(["backup", "--to", to.to_str().unwrap()]);
    over.assert_exit(2).stderr_contains("is not empty");

    let model = to.join("models/SYNTH/trending/v1/model.json");
    let mut bytes = std::fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&model, bytes).unwrap();
    let second = Case::new().config(CONFIG);
    let run = second.run(["restore", "--from", to.to_str().unwrap()]);
    run.assert_exit(3).stderr_contains("model.json: checksum mismatch").stderr_contains("nothing was restored");
    assert!(!second.has_state() || on_postgres() && count(&second, "SELECT COUNT(*) FROM model_versions") == 0);
    assert!(second.artifacts().is_empty(), "no artifact was written");

    let nothing = second.run(["restore", "--from", folder.path().to_str().unwrap()]);
    nothing.assert_exit(2).stderr_contains("backup.json");
}
