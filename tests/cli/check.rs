//! `retrain check`: a sound state passes; what a crash leaves behind is found, named with
//! its fix, and removed by `--repair` without touching a registered version; damage that
//! cannot be repaired is reported and left for a person. The crash-torture test (SIGKILL
//! at many instants of a real `run`, `check` after each) is here too.

use std::io::BufRead;
use std::process::Stdio;

use super::support::*;

/// `check --json`, with its exit code.
fn check(case: &Case, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(extra);
    let run = case.run(args);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    (run.code, report)
}

/// The problems of a report: (part, subject, repaired).
fn problems(report: &serde_json::Value) -> Vec<(String, String, bool)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["part"].as_str().unwrap().to_string(),
                p["subject"].as_str().unwrap().to_string(),
                p["repaired"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn btc(case: Case) -> Case {
    btc_fleet_on(case, "training:\n  search:\n    max_trials: 2\n")
}

#[test]
fn a_train_killed_while_writing_leaves_files_that_check_finds_and_repair_removes() {
    let case = btc(Case::new());
    train(&case, "BTC", "trending", &["--trials", "2"]).assert_exit(0);
    let (code, report) = check(&case, &[]);
    assert_eq!((code, &report["ok"]), (Some(0), &serde_json::json!(true)), "{report:#}");
    let sound = case.artifacts();

    // Killed after its files were written and before its registry row: v2's files stay
    // (a folder renamed into place, or objects under their final keys).
    let killed = case.run_with_env(
        &[("RETRAIN_FAILPOINT", "train:written")],
        ["train", "--symbol", "BTC", "--regime", "trending", "--trials", "2"],
    );
    assert!(killed.stderr.contains("failpoint train:written"), "{killed:?}");
    let (code, report) = check(&case, &[]);
    assert_eq!(code, Some(6), "{report:#}");
    let found = problems(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0].0, "leftovers");
    assert!(found[0].1.ends_with("BTC/trending/v2"), "{found:?}");
    assert!(report["problems"][0]["fix"].as_str().unwrap().contains("--repair"), "{report:#}");

    // Killed between its data files and its manifest: a temporary folder, or objects
    // without a manifest. Starting, it removed v2's files: their writer is dead.
    let killed = case.run_with_env(
        &[("RETRAIN_FAILPOINT", "artifact:files-synced")],
        ["train", "--symbol", "BTC", "--regime", "trending", "--trials", "2"],
    );
    assert!(killed.stderr.contains("failpoint artifact:files-synced"), "{killed:?}");
    assert!(case.artifacts().iter().all(|(path, _)| !path.contains("/v2/")), "v2's files are gone");
    let (code, report) = check(&case, &[]);
    assert_eq!(code, Some(6), "{report:#}");
    let found = problems(&report);
    assert!(!found.is_empty() && found.iter().all(|(part, subject, repaired)| part == "leftovers"
        && subject.contains("v3")
        && !repaired), "{found:?}");

    let (code, report) = check(&case, &["--repair"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert!(problems(&report).iter().all(|(_, _, repaired)| *repaired), "{report:#}");
    assert_eq!(case.artifacts(), sound, "exactly the killed writers' files are gone");
    assert_eq!(check(&case, &[]).0, Some(0));
    // Numbers are never handed out twice: the next version is v4.
    train(&case, "BTC", "trending", &["--trials", "2"]).assert_exit(0);
    assert_eq!(column::<i64>(&case, "SELECT version FROM model_versions ORDER BY version"), [1, 4]);
    assert_eq!(check(&case, &[]).0, Some(0));
}

#[test]
fn a_damaged_artifact_is_reported_with_its_file_and_never_repaired_away() {
    let case = btc(Case::new());
    train(&case, "BTC", "trending", &["--trials", "2"]).assert_exit(0);
    let original = flip_a_byte(&case, "BTC/trending/v1/model.json");
    let run = case.run(["check"]);
    run.assert_exit(6).stdout_contains("BTC trending v1 (candidate)").stdout_contains("model.json: checksum mismatch");
    let (code, report) = check(&case, &["--repair"]);
    assert_eq!(code, Some(6), "{report:#}");
    assert_eq!(problems(&report), [("artifacts".into(), "BTC trending v1 (candidate)".into(), false)]);
    assert_ne!(case.artifact("BTC/trending/v1/model.json"), original, "left as it was found");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM model_versions"), 1, "the version stays registered");
}

/// SQLite: a run killed in its job leaves the run marked running; the manual request it
/// was answering is asked for again (not lost), and the next run does it.
#[test]
fn a_killed_runs_rows_are_repaired_and_its_manual_request_is_done_by_the_next_run() {
    let case = btc(Case::sqlite());
    case.run(["queue", "add", "--symbol", "BTC", "--regime", "trending", "--reason", "new features"])
        .assert_exit(0);
    let killed = case.run_with_env(&[("RETRAIN_FAILPOINT", "train:written")], ["run", "--now", "2022-02-01T06:00:00Z"]);
    assert!(killed.stderr.contains("failpoint train:written"), "{killed:?}");

    let run = case.run(["check"]);
    run.assert_exit(6).stdout_contains("died without finishing, 1 job(s) marked running");
    let (code, report) = check(&case, &["--repair"]);
    assert_eq!(code, Some(0), "{report:#}");
    let parts: Vec<String> = problems(&report).into_iter().map(|(part, _, _)| part).collect();
    assert_eq!(parts, ["leftovers", "runs"], "{report:#}");
    assert_eq!(column::<String>(&case, "SELECT status FROM runs"), ["killed"]);
    let jobs: Vec<(String, String, String)> =
        rows(&case, "SELECT trigger, status, reason FROM jobs ORDER BY id", |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
    assert_eq!(jobs[0].1, "abandoned");
    assert_eq!(jobs[1], ("manual".into(), "queued".into(), "new features".into()), "asked for again");

    case.run(["run", "--now", "2022-02-01T07:00:00Z"]).assert_exit(0);
    let done: Vec<(String, String)> =
        rows(&case, "SELECT status, reason FROM jobs WHERE id = 2", |r| Ok((r.get(0)?, r.get(1)?)));
    assert_eq!(done[0].0, "succeeded");
    assert!(done[0].1.starts_with("manual request 2: new features"), "{done:?}");
    assert_eq!(check(&case, &[]).0, Some(0));
}

/// Crash torture, the CI-sized part of scripts/torture/crash.sh: `run` on the BTC month
/// (four regimes retrained every hour) is killed with SIGKILL after a pseudo-random number
/// of its output lines (chosen without a clock: no sleep, and the same lines on every
/// machine), eight times; after each kill `check` finds nothing but what a crash may leave (leftovers of a writer that
/// died, a run marked running) and never a damaged database, artifact or deployment
/// record. The next run, not killed, finishes the work, and the state checks clean.
#[test]
fn runs_killed_at_many_instants_leave_only_what_the_next_run_repairs() {
    let case = Case::sqlite().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending, sideways, volatile, consolidation]\n\
         {OPEN_GATES}training:\n  search:\n    max_trials: 2\n\
         schedule:\n  jobs:\n    - models: '*'\n      cron: '0 * * * *'\n"
    ));
    case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    let mut seed: u64 = 0x5eed;
    let mut kills = 0;
    for hour in 0..8 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // A run here prints 10 lines (the plan's 5, then each of 4 jobs, then its end):
        // killed after at most 8, it is always still working.
        let after_lines = (seed >> 33) % 9;
        let now = format!("2022-02-01T{:02}:00:00Z", hour);
        let mut child = case
            .command()
            .args(["run", "--now", &now])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < after_lines && lines.next().is_some_and(|l| l.is_ok()) {
            seen += 1;
        }
        child.kill().unwrap(); // SIGKILL, wherever it is
        let status = child.wait().unwrap();
        kills += usize::from(status.code().is_none());
        let (_, report) = check(&case, &[]);
        for (part, subject, _) in problems(&report) {
            assert!(
                part == "leftovers" || part == "runs",
                "kill {hour} after {after_lines} lines: {part} problem at {subject}: {report:#}"
            );
        }
    }
    assert_eq!(kills, 8, "every run was killed while it worked, none finished");
    let run = case.run(["run", "--now", "2022-02-01T09:00:00Z"]);
    run.assert_exit(0);
    let (code, report) = check(&case, &[]);
    assert_eq!(code, Some(0), "after the next run: {report:#}");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM jobs WHERE status = 'running'"), 0);
    case.run(["versions", "--symbol", "BTC"]).assert_exit(0);
}

/// Full disks: every write site of collect, train, promote, rollback and run under a
/// file-size limit (RLIMIT_FSIZE, as `prlimit --fsize` sets it) just below what it needs.
/// The write fails with EFBIG (the binary ignores SIGXFSZ); the command exits 1 naming
/// what it could not write, and the state is whole: unchanged, or with the failure
/// recorded, and `check` clean. The state is a SQLite file and a models folder on both
/// runs of the suite: a file-size limit is about local files.
mod full_disk {
    use std::os::unix::process::CommandExt;

    use super::super::support::*;

    /// Run `args` in `case` with no file of more than `bytes` writable.
    fn limited(case: &Case, bytes: u64, args: &[&str]) -> Run {
        let mut command = case.command();
        command.args(args);
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let output = command.output().unwrap();
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run:?}");
        run
    }

    /// Under `bytes`, `args` fails with exit 1 naming `what`, and the state is exactly
    /// as it was and `check` finds nothing.
    #[track_caller]
    fn refused_whole(case: &Case, bytes: u64, args: &[&str], what: &str) {
        let before = case.dump_all();
        let run = limited(case, bytes, args);
        run.assert_exit(1).stderr_contains(what);
        assert_eq!(case.dump_all(), before, "{args:?} under {bytes} bytes changed the state");
        case.run(["check"]).assert_exit(0);
    }

    /// A project with the sample collected and v1 (production) and v2 (a candidate) of
    /// SYNTH trending; the gates open.
    fn project() -> Case {
        let case = Case::sqlite().config(OPEN_GATES).with_trained_model("1", "1");
        case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"]).assert_exit(0);
        train(&case, "SYNTH", "trending", &["--trials", "1", "--seed", "2"]).assert_exit(0);
        case
    }

    /// SQLite appends a transaction to its `-wal` file first: a limit of one page (4096
    /// bytes, less than a frame and its header) fails the first write of any command.
    const ONE_PAGE: u64 = 4096;

    #[test]
    fn collect_on_a_full_disk() {
        let case = project();
        let ada = data("ADABTC-1m-2021-11-27.csv");
        let args = ["collect", "--symbol", "ADA", "--interval", "1m", "--file", ada.to_str().unwrap()];
        refused_whole(&case, ONE_PAGE, &args, "cannot write");
        refused_whole(&case, ONE_PAGE, &args, "retrain.db");
        // A fresh folder: the new database cannot be made; nothing half-made is used.
        let fresh = Case::sqlite();
        let run = limited(&fresh, ONE_PAGE, &args);
        run.assert_exit(1).stderr_contains("cannot write");
        fresh.run(args).assert_exit(0).stdout_contains("10 inserted");
    }

    #[test]
    fn train_on_a_full_disk() {
        let case = project();
        let args = ["train", "--symbol", "SYNTH", "--regime", "trending", "--trials", "1", "--seed", "3"];
        // The reservation of v3 in the database.
        refused_whole(&case, ONE_PAGE, &args, "cannot write");
        // The artifact's files: model.json and reference.json are larger than this. The
        // version number stays used (numbers never repeat); nothing else is left.
        let model = std::fs::metadata(case.path("models/SYNTH/trending/v2/model.json")).unwrap().len();
        let before = case.dump_all();
        let run = limited(&case, model - 1, &args);
        run.assert_exit(1).stderr_contains("File too large").stderr_contains("models/SYNTH/trending/.v3.tmp-");
        let but_the_counter = |dump: String| -> String {
            dump.lines().filter(|line| !line.starts_with("version_counters:")).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(but_the_counter(case.dump_all()), but_the_counter(before));
        case.run(["check"]).assert_exit(0);
        // With room, the next train registers v4.
        train(&case, "SYNTH", "trending", &["--trials", "1", "--seed", "3"]).assert_exit(0);
        assert_eq!(column::<i64>(&case, "SELECT version FROM model_versions ORDER BY version"), [1, 2, 4]);
        case.run(["check"]).assert_exit(0);
    }

    #[test]
    fn promote_and_rollback_on_a_full_disk() {
        let case = project();
        let promote = ["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2"];
        refused_whole(&case, ONE_PAGE, &promote, "cannot write");
        case.run(promote).assert_exit(0);
        let rollback = ["rollback", "--symbol", "SYNTH", "--regime", "trending", "--reason", "worse live"];
        refused_whole(&case, ONE_PAGE, &rollback, "cannot write");
        case.run(rollback).assert_exit(0).stdout_contains("v1 is production");
        assert_eq!(count(&case, "SELECT COUNT(*) FROM deployments"), 3);
    }

    #[test]
    fn run_on_a_full_disk() {
        let case = btc_fleet_on(Case::sqlite(), "training:\n  search:\n    max_trials: 1\n");
        let now = ["run", "--now", "2022-02-01T06:00:00Z"];
        // Its first write: the run's row.
        refused_whole(&case, ONE_PAGE, &now, "cannot write");
        // Room in the database but not for an artifact: the job fails, and says why; the
        // run records it (exit 1), and nothing half-written stays.
        let run = limited(&case, 100_000, &now);
        run.assert_exit(1).stdout_contains("File too large");
        assert_eq!(column::<String>(&case, "SELECT status FROM jobs"), ["failed"]);
        assert_eq!(count(&case, "SELECT COUNT(*) FROM model_versions"), 0);
        case.run(["check"]).assert_exit(0);
        // With room again, the next run does the work (asked for by hand: the automatic
        // triggers wait out gates.cooldown_hours after the failed job).
        case.run(["queue", "add", "--symbol", "BTC", "--regime", "trending", "--reason", "disk freed"])
            .assert_exit(0);
        let next = case.run(["run", "--now", "2022-02-01T07:00:00Z"]);
        next.assert_exit(0);
        let live = count(&case, "SELECT COUNT(*) FROM model_versions WHERE status = 'production'");
        assert_eq!(live, 1, "{}", next.stdout);
        case.run(["check"]).assert_exit(0);
    }
}
