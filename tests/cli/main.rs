//! End-to-end tests: the real `retrain` binary in a temporary state folder.

mod binance;
mod collect;
mod deploy;
mod drift;
mod evaluate;
mod formats;
mod http;
mod init_config;
mod rejects;
mod run;
mod sample_data;
mod status;
mod trades;
mod train;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A stored candle: open_time, open, high, low, close, volume.
pub type Row = (i64, f64, f64, f64, f64, f64);

/// Promotion gates that any trained model passes (cooldown 0), so that a test chooses
/// what fails.
pub const OPEN_GATES: &str = "gates:
  min_f1: 0.0
  min_precision: 0.0
  min_recall: 0.0
  min_f1_improvement: -1.0
  min_win_rate: 0.0
  min_profit_factor: 0.0
  max_drawdown: 1.0
  min_trades: 0
  max_feature_drift_ks: 1.0
  min_probability_better: 0.0
  cooldown_hours: 0.0
";

/// The first column of every row `sql` returns from the project's database.
pub fn column<T: rusqlite::types::FromSql>(case: &Case, sql: &str) -> Vec<T> {
    let conn = rusqlite::Connection::open(case.path("retrain.db")).expect("opening the database");
    let mut statement = conn.prepare(sql).unwrap();
    statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// A temporary project folder and the commands run in it.
pub struct Case {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Default for Case {
    fn default() -> Case {
        Case::new()
    }
}

impl Case {
    pub fn new() -> Case {
        Case { dir: tempfile::tempdir().expect("a temporary folder"), env: Vec::new() }
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
        self.run(["collect", "--symbol", "SYNTH", "--interval", "5m", "--file", sample().to_str().unwrap()])
            .assert_exit(0);
        self
    }

    /// Collect the sample and train SYNTH's trending model with `trials` trials and `seed`.
    pub fn with_trained_model(self, trials: &str, seed: &str) -> Case {
        let case = self.with_sample();
        case.run(["train", "--symbol", "SYNTH", "--regime", "trending", "--trials", trials, "--seed", seed])
            .assert_exit(0);
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
        let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
        command
            .current_dir(self.dir.path())
            .args(args)
            .env_remove("RETRAIN_CONFIG")
            .env_remove("RETRAIN_FAILPOINT");
        for (key, value) in
            self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(extra.iter().copied())
        {
            command.env(key, value);
        }
        let output = command.output().expect("running retrain");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Every stored row of every table, in a stable order: equal dumps mean equal state.
    pub fn dump(&self) -> String {
        let db = self.path("retrain.db");
        if !db.exists() {
            return "no database".into();
        }
        let conn = rusqlite::Connection::open(&db).expect("opening the database");
        let mut out = String::new();
        for (table, order) in
            [("candles", "symbol, interval, open_time"), ("collects", "id"), ("trade_outcomes", "id")]
        {
            let mut statement = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}")).unwrap();
            let columns = statement.column_count();
            let mut rows = statement.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let cells: Vec<String> = (0..columns).map(|i| cell(row.get_ref(i).unwrap())).collect();
                out.push_str(&format!("{table}: {}\n", cells.join(", ")));
            }
        }
        out
    }

    /// Candles of a series as (open_time, open, high, low, close, volume).
    pub fn candles(&self, symbol: &str, interval: &str) -> Vec<Row> {
        let conn = rusqlite::Connection::open(self.path("retrain.db")).expect("opening the database");
        let mut statement = conn
            .prepare(
                "SELECT open_time, open, high, low, close, volume FROM candles
                 WHERE symbol = ?1 AND interval = ?2 ORDER BY open_time",
            )
            .unwrap();
        statement
            .query_map([symbol, interval], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn cell(value: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => format!("{r:?}"),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("{b:?}"),
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

/// The committed sample candles (synthetic, made by `retrain sample-data`).
pub fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/SYNTH-5m.csv")
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
