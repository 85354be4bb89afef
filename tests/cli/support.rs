//! Everything the end-to-end tests share: the `Case` builder that runs the binary in a
//! temporary project folder, what one run did (`Run`), the fixture files, and the small
//! helpers that set up state or read it back from the database.

pub mod deploy;
pub mod http;
#[path = "../common/postgres.rs"]
pub mod postgres;
#[path = "../common/s3.rs"]
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::Command;

use retrain::store::Location;
use retrain::store::db::{Cell, Db, FromCell};

/// Whether this is the PostgreSQL run of the suite (the target `cli_postgres`, which
/// `.ci/run` runs with its servers): every `Case::new()` then keeps its state in a
/// database of its own on the PostgreSQL server, through `RETRAIN_DATABASE_URL`, and its
/// models in a bucket of its own on the S3 server, through `state.models_dir`, as a fleet
/// would.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME") == "cli_postgres"
}

/// A stored candle: open_time, open, high, low, close, volume.
pub type Row = (i64, f64, f64, f64, f64, f64);

#[path = "../common/gates.rs"]
mod gates;
pub use gates::OPEN_GATES;

/// The open gates with the default 24 h cooldown.
pub fn open_gates_with_cooldown() -> String {
    OPEN_GATES.replace("cooldown_hours: 0.0", "cooldown_hours: 24.0")
}

/// The file of real market data `name` in tests/data (tests/data/README.md says what each
/// is and where it came from). Panics if it is missing: no test runs without its data.
#[track_caller]
pub fn data(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    assert!(
        path.is_file(),
        "{} is missing: the tests need every file of tests/data, which the repository holds",
        path.display()
    );
    path
}

/// The committed sample candles (synthetic, made by `retrain sample-data`).
pub fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/SYNTH-5m.csv")
}

/// A fixture of tests/fixtures (responses, oracle values, reviewed renderings).
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// A temporary project folder and the commands run in it.
pub struct Case {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    /// Where the state is kept on the PostgreSQL run.
    database: Option<postgres::TestDatabase>,
    /// Where the models are kept on the PostgreSQL run.
    bucket: Option<s3::TestBucket>,
}

impl Default for Case {
    fn default() -> Case {
        Case::new()
    }
}

impl Case {
    /// A project on the suite's backend: SQLite, or a PostgreSQL database of its own.
    pub fn new() -> Case {
        if on_postgres() {
            let database = postgres::TestDatabase::create();
            let bucket = s3::TestBucket::create();
            let mut case = Case::sqlite()
                .env(retrain::env_vars::RETRAIN_DATABASE_URL, &database.url)
                .env("RETRAIN_STATE_MODELS_DIR", &bucket.url("models"));
            for (key, value) in bucket.env() {
                case = case.env(key, &value);
            }
            Case { database: Some(database), bucket: Some(bucket), ..case }
        } else {
            Case::sqlite()
        }
    }

    /// A project whose state is a SQLite file whatever the suite's backend: for what is
    /// about the file itself (where it goes, its bytes).
    pub fn sqlite() -> Case {
        Case {
            dir: tempfile::tempdir().expect("a temporary folder"),
            env: Vec::new(),
            database: None,
            bucket: None,
        }
    }

    /// Where the state's database is.
    pub fn location(&self) -> Location {
        match &self.database {
            Some(database) => Location::Postgres(database.url.clone()),
            None => Location::Sqlite(self.path("retrain.db")),
        }
    }

    /// Where the models are: the project's `models` folder, or the case's bucket.
    pub fn models(&self) -> retrain::artifact::Models {
        match &self.bucket {
            Some(bucket) => bucket.models("models"),
            None => retrain::artifact::Models::Local(self.path("models")),
        }
    }

    /// An artifact file's bytes, by its path under the models' root.
    #[track_caller]
    pub fn artifact(&self, relative: &str) -> Vec<u8> {
        self.models().get(relative).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A version's manifest, parsed.
    #[track_caller]
    pub fn manifest(&self, relative: &str) -> serde_json::Value {
        serde_json::from_slice(&self.artifact(&format!("{relative}/manifest.json"))).expect("a JSON manifest")
    }

    /// Every artifact file under the models' root with its bytes, in path order.
    pub fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        let models = self.models();
        let listed = models.list().expect("listing the models");
        listed.into_iter().map(|(path, _)| (path.clone(), self.artifact(&path))).collect()
    }

    /// Whether a command has created the state: the SQLite file, or the schema on the server.
    pub fn has_state(&self) -> bool {
        match &self.database {
            None => self.path("retrain.db").exists(),
            Some(database) => database
                .client()
                .query_one("SELECT to_regclass('retrain_schema') IS NOT NULL", &[])
                .expect("asking for the schema")
                .get(0),
        }
    }

    /// Write `config.yaml` in the project folder.
    pub fn config(self, yaml: &str) -> Case {
        std::fs::write(self.path("config.yaml"), yaml).expect("writing config.yaml");
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Case {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Collect the committed sample candles as SYNTH 5m.
    pub fn with_sample(self) -> Case {
        collect(&self, "SYNTH", "5m", &sample()).assert_exit(0);
        self
    }

    /// Collect the sample and train SYNTH's trending model with `trials` trials and `seed`.
    pub fn with_trained_model(self, trials: &str, seed: &str) -> Case {
        let case = self.with_sample();
        train(&case, "SYNTH", "trending", &["--trials", trials, "--seed", seed]).assert_exit(0);
        case
    }

    /// Collect a file of 1m candles as `symbol`, resampled to 5m.
    pub fn collect_5m(&self, symbol: &str, path: &Path) -> Run {
        self.run([
            "collect",
            "--symbol",
            symbol,
            "--interval",
            "1m",
            "--resample",
            "5m",
            "--file",
            path.to_str().unwrap(),
        ])
    }

    /// Write a file in the project folder and return its path.
    pub fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("creating a folder");
        }
        std::fs::write(&path, bytes).expect("writing a test file");
        path
    }

    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run_with_env(&[], args)
    }

    /// Run with extra environment variables for this run only.
    pub fn run_with_env<I, S>(&self, extra: &[(&str, &str)], args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.command();
        command.args(args);
        for (key, value) in extra {
            command.env(key, value);
        }
        let output = command.output().expect("running retrain");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The binary, to run in the project folder with the case's environment (and none of
    /// the test's own `RETRAIN_*` variables, which set the config file, crash points and
    /// config keys).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
        command.current_dir(self.dir.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RETRAIN_") {
                command.env_remove(key);
            }
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Every stored row of the collected data, in a stable order: equal dumps mean equal
    /// candles, batches and trades.
    pub fn dump(&self) -> String {
        self.dump_tables(&[
            ("candles", "symbol, interval, open_time"),
            ("collects", "id"),
            ("trade_outcomes", "id"),
        ])
    }

    /// Every row of every table of the state, in a stable order: equal dumps mean equal
    /// states.
    pub fn dump_all(&self) -> String {
        self.dump_tables(&[
            ("candles", "symbol, interval, open_time"),
            ("collects", "id"),
            ("trade_outcomes", "id"),
            ("version_counters", "symbol, regime"),
            ("model_versions", "id"),
            ("evaluations", "id"),
            ("alerts", "id"),
            ("drift_reports", "id"),
            ("drift_features", "report_id, feature"),
            ("ab_tests", "id"),
            ("deployments", "id"),
            ("signals", "id"),
            ("runs", "id"),
            ("jobs", "id"),
            ("notifications", "id"),
            ("pending_artifacts", "symbol, regime, version"),
        ])
    }

    fn dump_tables(&self, tables: &[(&str, &str)]) -> String {
        if !self.has_state() {
            return "no database".into();
        }
        let conn = db(self);
        let mut out = String::new();
        for (table, order) in tables {
            for row in printed_rows(&conn, &format!("SELECT * FROM {table} ORDER BY {order}")) {
                out.push_str(&format!("{table}: {row}\n"));
            }
        }
        out
    }

    /// Everything a command could have written: every row of every table, and on SQLite
    /// the database file's bytes too.
    pub fn state_snapshot(&self) -> (String, Option<Vec<u8>>) {
        let file =
            self.database.is_none().then(|| std::fs::read(self.path("retrain.db")).unwrap_or_default());
        (self.dump_all(), file)
    }

    /// Candles of a series as (open_time, open, high, low, close, volume).
    pub fn candles(&self, symbol: &str, interval: &str) -> Vec<Row> {
        db(self)
            .query_map(
                "SELECT open_time, open, high, low, close, volume FROM candles
                 WHERE symbol = ?1 AND interval = ?2 ORDER BY open_time",
                retrain::store::db::params![symbol, interval],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .unwrap()
    }
}

/// Each row of `sql` as its cells printed and joined, whichever backend `conn` is on: rows
/// of two states compare equal when their values are.
pub fn printed_rows(conn: &Db, sql: &str) -> Vec<String> {
    conn.query_map(sql, &[], |row| {
        let cells = (0..row.len()).map(|i| row.cell(i).map(cell)).collect::<Result<Vec<_>, _>>()?;
        Ok(cells.join(", "))
    })
    .unwrap()
}

fn cell(value: Cell<'_>) -> String {
    match value {
        Cell::Null => "NULL".into(),
        Cell::Int(i) => i.to_string(),
        Cell::Real(r) => format!("{r:?}"),
        Cell::Text(t) => format!("{t:?}"),
        Cell::Blob(b) => format!("{b:?}"),
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "the binary panicked:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn stdout_contains(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, text: &str) -> &Run {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}:\n{}", self.stderr);
        self
    }
}

/// The JSON a `--json` run printed; the run must have succeeded.
#[track_caller]
pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.assert_exit(0).stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// `collect --symbol .. --interval .. --file ..`.
pub fn collect(case: &Case, symbol: &str, interval: &str, file: &Path) -> Run {
    case.run(["collect", "--symbol", symbol, "--interval", interval, "--file", file.to_str().unwrap()])
}

/// `train --symbol .. --regime ..` with `extra` arguments.
pub fn train(case: &Case, symbol: &str, regime: &str, extra: &[&str]) -> Run {
    let mut args = vec!["train", "--symbol", symbol, "--regime", regime];
    args.extend_from_slice(extra);
    case.run(args)
}

/// A project that keeps BTC 5m's trending model (gates open but for the 24 h cooldown,
/// then `extra` config), with the BTC month collected as 5m candles.
pub fn btc_fleet(extra: &str) -> Case {
    btc_fleet_on(Case::new(), extra)
}

/// [`btc_fleet`] in `case`.
pub fn btc_fleet_on(case: Case, extra: &str) -> Case {
    let case = case.config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{}{extra}",
        open_gates_with_cooldown()
    ));
    case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    case
}

/// Flip one bit in the middle of an artifact file (a path under the models' root);
/// returns the original bytes.
pub fn flip_a_byte(case: &Case, relative: &str) -> Vec<u8> {
    let original = case.artifact(relative);
    let mut bytes = original.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    case.models().put(relative, &bytes, false).unwrap();
    original
}

/// The project's database, on the suite's backend, through the store's own connection
/// (queries are written in SQLite's words with `?N` placeholders and run on either).
pub fn db(case: &Case) -> Db {
    retrain::store::connect(&case.location()).expect("opening the database")
}

/// The single number a query such as `SELECT COUNT(*) ..` returns.
#[track_caller]
pub fn count(case: &Case, sql: &str) -> i64 {
    db(case).query_row(sql, &[], |r| r.get(0)).unwrap()
}

/// The first column of every row `sql` returns from the project's database.
#[track_caller]
pub fn column<T: FromCell>(case: &Case, sql: &str) -> Vec<T> {
    db(case).query_map(sql, &[], |r| r.get(0)).unwrap()
}

/// Every row of `sql` through `f`.
#[track_caller]
pub fn rows<T>(
    case: &Case,
    sql: &str,
    f: impl FnMut(&retrain::store::db::Row<'_>) -> retrain::store::db::Result<T>,
) -> Vec<T> {
    db(case).query_map(sql, &[], f).unwrap()
}

/// A `run` paused inside its job (holding the lock) until its stdin closes or it is
/// killed; returns once it says it is paused.
pub fn paused_run(case: &Case, now: &str) -> std::process::Child {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = case
        .command()
        .args(["run", "--now", now])
        .env("RETRAIN_FAILPOINT", "pause:run:job-started")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let paused = lines.by_ref().map_while(Result::ok).any(|l| l.contains("pausing"));
    assert!(paused, "the run never reached its job");
    // Keep reading, so that the run never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    child
}
