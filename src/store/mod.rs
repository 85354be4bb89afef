//! The one door to the state: the SQLite connection, its migrations and every query.
//! No SQL is written anywhere else.

mod alerts;
mod candles;
mod deploy;
mod drift;
mod jobs;
mod migrations;
mod models;
mod signals;
mod trades;

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::Connection;

pub use alerts::{AlertCounts, AlertRow, NewAlert, Raised};
pub use candles::{CollectRecord, LastCollect, SeriesSummary, UpsertCounts};
pub use deploy::{AbTest, CanaryEnd, Change, DeploymentRow};
pub use drift::DriftSummary;
pub use jobs::{
    BegunRun, JobResult, JobRow, JobTotals, LastJob, NewJob, RunRow, RunningJob, SuccessfulRun, Unsent,
};
pub use migrations::MIGRATIONS;
pub use models::{
    ComparisonRecord, LatestEvaluation, NewEvaluation, NewVersion, RegisteredModel, StoredEvaluation,
    VersionRow,
};
pub use signals::{NewSignal, Outcome, Pending, Resolution, SignalRow, StoredSignal};
pub use trades::TradeOutcomeCount;

/// An open, migrated database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (creating the file and its folder if missing) and bring the schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the folder of the database {}", path.display()))?;
        }
        let mut conn =
            Connection::open(path).with_context(|| format!("opening the database {}", path.display()))?;
        configure(&conn).with_context(|| format!("configuring the database {}", path.display()))?;
        migrations::migrate_to(&mut conn, MIGRATIONS.len())
            .with_context(|| format!("migrating the database {}", path.display()))?;
        Ok(Store { conn, path: path.to_path_buf() })
    }

    /// Open an existing database to read, never to write: not its schema (it must be
    /// current: any other command migrates it), not its journal mode, not a row. A replay
    /// reads the user's candles this way.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Store> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening the database {} to read", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let store = Store { conn, path: path.to_path_buf() };
        let version = store.schema_version()?;
        if version != MIGRATIONS.len() as i64 {
            anyhow::bail!(
                "the database {} is at schema version {version}, this retrain reads {}: run `retrain status` \
                 once to migrate it",
                path.display(),
                MIGRATIONS.len()
            );
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> anyhow::Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// `query_row` through the connection's statement cache: `status` asks the same
    /// questions of hundreds of models, and parsing the SQL each time cost more than
    /// answering it.
    fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.conn.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Column `index` of `row`, JSON text decoded into `T`: stored metrics and reports are read
/// back into their types here, once, and a row that does not decode is an error naming it.
fn json_column<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// WAL for readers beside one writer, foreign keys enforced, a wait instead of an
/// immediate "database is locked", and full sync so that a committed collect survives a
/// power cut.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Room for every statement a command repeats (the default keeps 16).
    conn.set_prepared_statement_cache_capacity(64);
    // One plan per statement whatever values are bound: without it, SQLite built with
    // STAT4 (as bundled) parses a cached statement again whenever a bound value changes,
    // which was most of the cost of `status` asking the same question of each model.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}
