//! Many workers, one fleet, on real servers: four `retrain run` processes started at once
//! against one PostgreSQL state and one S3 bucket do every due job exactly once and end
//! where one process on SQLite and a models folder ends, byte for byte; a worker killed in the middle of training loses its job to
//! another once its lease runs out, and nothing half-made is left.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::gates::OPEN_GATES;
use crate::postgres::TestDatabase;
use crate::s3::TestBucket;

const NOW: &str = "2024-01-13T00:00:00Z";

/// `symbols` synthetic symbols (12 days of 5m candles each, seeds 1..) with all four
/// regimes kept, small models, one job at a time per process; `schedule` adds keys to
/// that section.
fn config(symbols: usize, schedule: &str) -> String {
    let mut out = String::from("symbols:\n");
    for i in 0..symbols {
        out.push_str(&format!(
            "  - symbol: S{i}\n    interval: 5m\n    regimes: [trending, sideways, volatile, consolidation]\n"
        ));
    }
    out.push_str(
        "training:\n  min_rows_per_part: 50\n  search:\n    max_trials: 1\ntriggers:\n  min_initial_rows: 200\n\
         schedule:\n  max_concurrent_jobs: 1\n",
    );
    out + schedule + OPEN_GATES
}

/// The binary in `dir`, with `env` and none of the test's own `RETRAIN_*` variables.
fn retrain(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RETRAIN_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command
}

#[track_caller]
fn ok(output: Output) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    stdout.into_owned()
}

/// A project folder with the config and every symbol's candles collected.
fn project(root: &Path, name: &str, symbols: usize, schedule: &str, env: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.yaml"), config(symbols, schedule)).unwrap();
    for i in 0..symbols {
        let file = root.join(format!("s{i}.csv"));
        if !file.exists() {
            let seed = (i + 1).to_string();
            let args = ["sample-data", "--out", file.to_str().unwrap(), "--days", "12", "--seed", &seed];
            ok(retrain(root, &[]).args(args).output().unwrap());
        }
        let symbol = format!("S{i}");
        let args = ["collect", "--symbol", &symbol, "--interval", "5m", "--file", file.to_str().unwrap()];
        ok(retrain(&dir, env).args(args).output().unwrap());
    }
    dir
}

/// Every artifact file, by path under the models' root, with its bytes.
fn files(models: &retrain::artifact::Models) -> BTreeMap<String, Vec<u8>> {
    let listed = models.list().unwrap();
    listed.into_iter().map(|(path, _)| (path.clone(), models.get(&path).unwrap())).collect()
}

/// A fleet's servers: a database and a bucket of its own, and the environment that points
/// a process at both (the state's URL, the models' URL, the bucket's keys).
struct Servers {
    database: TestDatabase,
    bucket: TestBucket,
    env: Vec<(&'static str, String)>,
}

impl Servers {
    fn new() -> Servers {
        let (database, bucket) = (TestDatabase::create(), TestBucket::create());
        let mut env = vec![
            ("RETRAIN_DATABASE_URL", database.url.clone()),
            ("RETRAIN_STATE_MODELS_DIR", bucket.url("models")),
        ];
        env.extend(bucket.env());
        Servers { database, bucket, env }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(key, value)| (*key, value.as_str())).collect()
    }
}

const VERSIONS: &str =
    "SELECT symbol || ' ' || regime || ' v' || version || ' ' || status || ' ' || sha256 || ' ' || created_at
     FROM model_versions ORDER BY symbol, regime, version";
const DEPLOYMENTS: &str = "SELECT d.symbol || ' ' || d.regime || ' ' || d.action || ' ' || COALESCE(CAST(t.version AS TEXT), '-')
         || ' ' || d.reason || ' ' || d.created_at
     FROM deployments d LEFT JOIN model_versions t ON t.id = d.to_version_id ORDER BY d.symbol, d.regime, d.id";

fn sqlite_rows(dir: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("retrain.db")).unwrap();
    let mut statement = conn.prepare(sql).unwrap();
    statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn postgres_rows(database: &TestDatabase, sql: &str) -> Vec<String> {
    database.client().query(sql, &[]).unwrap().iter().map(|r| r.get(0)).collect()
}

/// What `status --json` says of each model, without what the wall clock decides.
fn status_models(dir: &Path, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_str(&ok(retrain(dir, env).args(["status", "--json"]).output().unwrap())).unwrap();
    doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let keep =
                ["symbol", "regime", "production", "production_test_metric", "candidate", "test_history"];
            keep.iter().map(|k| (k.to_string(), m[*k].clone())).collect()
        })
        .collect()
}

#[test]
fn four_workers_started_at_once_do_every_job_once_and_end_where_one_sqlite_run_does() {
    let root = tempfile::tempdir().unwrap();
    let servers = Servers::new();
    let (database, bucket) = (&servers.database, &servers.bucket);
    let env = servers.env();
    let url = env.as_slice();

    let alone = project(root.path(), "sqlite", 10, "", &[]);
    let single = ok(retrain(&alone, &[]).args(["run", "--now", NOW]).output().unwrap());
    assert!(single.contains("run done: 40 job(s), 0 failed"), "{single}");

    let fleet = project(root.path(), "postgres", 10, "", url);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            retrain(&fleet, url)
                .args(["run", "--now", NOW])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let said: Vec<String> = workers.into_iter().map(|w| ok(w.wait_with_output().unwrap())).collect();
    let planners = said.iter().filter(|s| s.contains("run done:")).count();
    let joined = said.iter().filter(|s| s.contains("a run planned while this one waited")).count();
    assert_eq!((planners, joined), (1, 3), "one plans, the others work on its plan:\n{said:#?}");

    // Every due job ran exactly once, each by one worker, none taken over.
    let mut client = database.client();
    let jobs =
        client.query("SELECT symbol, regime, status, attempts, worker FROM jobs ORDER BY id", &[]).unwrap();
    assert_eq!(jobs.len(), 40);
    let mut per_model = BTreeMap::new();
    let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
    for job in &jobs {
        let (symbol, regime, status): (String, String, String) = (job.get(0), job.get(1), job.get(2));
        assert_eq!((status.as_str(), job.get::<_, i64>(3)), ("succeeded", 1), "{symbol} {regime}");
        *per_model.entry((symbol, regime)).or_insert(0) += 1;
        *per_worker.entry(job.get(4)).or_default() += 1;
    }
    assert_eq!(per_model.len(), 40);
    assert!(per_model.values().all(|&n| n == 1));
    println!("jobs per worker: {per_worker:?}");
    assert!(per_worker.len() >= 2, "the work was shared: {per_worker:?}");
    let done_lines: usize = said.iter().map(|s| s.matches(") done in ").count()).sum();
    assert_eq!(done_lines, 40, "each job's result was reported once");

    // The same versions, deployments and artifacts as the single process on SQLite.
    let versions = sqlite_rows(&alone, VERSIONS);
    assert_eq!(versions.len(), 40);
    assert_eq!(postgres_rows(database, VERSIONS), versions);
    let deployments = sqlite_rows(&alone, DEPLOYMENTS);
    assert!(!deployments.is_empty(), "the open gates promote");
    assert_eq!(postgres_rows(database, DEPLOYMENTS), deployments);
    assert!(!fleet.join("models").exists(), "the fleet's models are in the bucket");
    let (a, b) =
        (files(&retrain::artifact::Models::Local(alone.join("models"))), files(&bucket.models("models")));
    assert_eq!(a.len(), b.len());
    assert!(a.len() >= 120, "three files per version: {}", a.len());
    for (path, bytes) in &a {
        assert!(b.get(path) == Some(bytes), "{path} differs");
    }
    // And status says the same of every model.
    assert_eq!(status_models(&fleet, url), status_models(&alone, &[]));
}

#[test]
fn a_worker_killed_while_training_loses_its_job_to_another_when_its_lease_runs_out() {
    let root = tempfile::tempdir().unwrap();
    let servers = Servers::new();
    let (database, bucket) = (&servers.database, &servers.bucket);
    let env = servers.env();
    let url = env.as_slice();
    let dir = project(root.path(), "fleet", 1, "  lease_seconds: 1.0\n", url);

    // The planner claims the first job and stops inside its training, the version number
    // reserved and nothing written: then it is killed.
    let mut first = retrain(&dir, url)
        .args(["run", "--now", NOW])
        .env("RETRAIN_FAILPOINT", "pause:train:reserved")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(first.stderr.take().unwrap()).lines();
    assert!(lines.by_ref().map_while(Result::ok).any(|l| l.contains("pausing")), "the run never trained");
    let pid = first.id();
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    let mut client = database.client();
    let held =
        client.query_one("SELECT id, worker, attempts FROM jobs WHERE status = 'running'", &[]).unwrap();
    let (job, dead): (i64, String) = (held.get(0), held.get(1));
    assert!(dead.ends_with(&format!(" {pid}")), "{dead}");
    let status = ok(retrain(&dir, url).args(["status"]).output().unwrap());
    assert!(
        status.contains(&format!("RUNNING job {job} ")) && status.contains(&format!("on {dead}")),
        "{status}"
    );

    // A worker does the three jobs left, then waits beside the dead one's until its lease
    // runs out, and takes it over.
    let worker = ok(retrain(&dir, url).args(["run", "--worker-only"]).output().unwrap());
    assert!(
        worker.contains(&format!("job {job} S0 ")) && worker.contains(&format!("taken over from {dead}")),
        "{worker}"
    );
    assert!(worker.contains("done: 4 job(s), 0 failed"), "{worker}");
    let rows = client.query("SELECT id, status, attempts, worker FROM jobs ORDER BY id", &[]).unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let (id, status, attempts, by): (i64, String, i64, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(status, "succeeded");
        assert_ne!(by, dead, "job {id}");
        assert_eq!(attempts, if id == job { 2 } else { 1 }, "job {id}");
    }
    // Nothing half-made: one version per model, each with its files and verified
    // checksums; the killed attempt's version number is never used.
    let versions = postgres_rows(database, VERSIONS);
    assert_eq!(versions.len(), 4, "{versions:#?}");
    let on_disk = files(&bucket.models("models"));
    assert_eq!(on_disk.len(), 12, "{:?}", on_disk.keys().collect::<Vec<_>>());
    let listed = ok(retrain(&dir, url).args(["versions", "--symbol", "S0"]).output().unwrap());
    assert_eq!(listed.matches(" ok").count(), 4, "{listed}");
}
