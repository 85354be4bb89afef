//! The one door to the state: the SQLite connection, its migrations and every query.
//! No SQL is written anywhere else.

mod alerts;
mod candles;
pub mod copy;
pub mod db;
mod deploy;
mod drift;
mod fleet;
mod health;
mod jobs;
mod migrations;
mod models;
mod signals;
mod trades;

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::Connection;

use db::{Begin, Db, Dialect};

pub use alerts::{AlertCounts, AlertRow, NewAlert, Raised};
pub use candles::{CollectRecord, LastCollect, SeriesSummary, UpsertCounts};
pub use deploy::{AbTest, CanaryEnd, Change, DeploymentRow};
pub use drift::DriftSummary;
pub use fleet::{DriftFeature, DriftPoint, EvaluationPoint, ResolvedSignal};
pub use health::{Disagreement, Duplicated, OpenRun, StrayJob};
pub use jobs::{
    BegunRun, Claimed, JobResult, JobRow, JobTotals, LastJob, NewJob, PlannedJob, RunRow, RunningJob,
    SuccessfulRun, Unsent,
};
pub use migrations::MIGRATIONS;
pub use models::{
    ComparisonRecord, LatestEvaluation, NewEvaluation, NewVersion, PendingArtifact, RegisteredModel,
    StoredEvaluation, VersionRow,
};
pub use signals::{NewSignal, Outcome, Pending, Resolution, SignalRow, StoredSignal};
pub use trades::TradeOutcomeCount;

/// Where the state's database is: a SQLite file (the embedded default), or a
/// PostgreSQL server for a fleet that many workers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` (or `postgresql://`) URL.
    Postgres(String),
}

impl Location {
    /// A URL with a PostgreSQL scheme names a server; anything else is a file path.
    pub fn parse(text: &str, base_dir: &Path) -> Location {
        if is_postgres_url(text) {
            Location::Postgres(text.to_string())
        } else {
            Location::Sqlite(base_dir.join(text))
        }
    }

    /// For messages: the file, or the URL with its password (if any) replaced by `***`.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact_password(url),
        }
    }

    /// The SQLite file, if that is where the state is.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }
}

/// Whether `text` is a PostgreSQL connection URL.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let authority_end = url[scheme_end..].find(['/', '?']).map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &url[..scheme_end], &authority[..colon], &url[scheme_end + at..])
        }
        _ => url.to_string(),
    }
}

/// An open, migrated database.
pub struct Store {
    db: Db,
    location: Location,
    /// The job (id, worker) whose lease every publishing write checks, when a worker does
    /// a job through this connection.
    fence: Option<(i64, String)>,
}

impl Store {
    /// Open (creating a SQLite file and its folder if missing) and bring the schema up to
    /// date. Two processes opening one PostgreSQL state at once migrate it once: the
    /// migration holds an advisory lock.
    pub fn open(location: &Location) -> anyhow::Result<Store> {
        let mut db = match location {
            Location::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating the folder of the database {}", path.display()))?;
                }
                let conn = Connection::open(path)
                    .with_context(|| format!("opening the database {}", path.display()))?;
                configure(&conn)
                    .map_err(|e| db::sqlite_error(&conn, e))
                    .with_context(|| format!("configuring the database {}", path.display()))?;
                Db::sqlite(conn)
            }
            Location::Postgres(url) => connect_postgres(url)?,
        };
        migrations::migrate_to(&mut db, MIGRATIONS.len())
            .with_context(|| format!("migrating the database {}", location.display()))?;
        Ok(Store { db, location: location.clone(), fence: None })
    }

    /// Open a database that must already hold a state (any schema version: it is migrated).
    /// `None` when there is none: no SQLite file, or a PostgreSQL database never migrated.
    pub fn open_existing(location: &Location) -> anyhow::Result<Option<Store>> {
        if !Store::exists(location)? {
            return Ok(None);
        }
        Store::open(location).map(Some)
    }

    /// Whether a state is there: the SQLite file, or a PostgreSQL database that was
    /// migrated at least once.
    pub fn exists(location: &Location) -> anyhow::Result<bool> {
        match location {
            Location::Sqlite(path) => Ok(path.exists()),
            Location::Postgres(url) => Ok(migrations::schema_version(&connect_postgres(url)?)? > 0),
        }
    }

    /// Open an existing database to read, never to write: not its schema (it must be
    /// current: any other command migrates it), not its journal mode, not a row. A replay
    /// reads the user's candles this way.
    pub fn open_read_only(location: &Location) -> anyhow::Result<Store> {
        let db = match location {
            Location::Sqlite(path) => {
                use rusqlite::OpenFlags;
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags)
                    .with_context(|| format!("opening the database {} to read", path.display()))?;
                conn.busy_timeout(std::time::Duration::from_secs(10))?;
                Db::sqlite(conn)
            }
            Location::Postgres(url) => {
                let db = connect_postgres(url)?;
                db.batch("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")?;
                db
            }
        };
        let store = Store { db, location: location.clone(), fence: None };
        let version = store.schema_version()?;
        if version != MIGRATIONS.len() as i64 {
            anyhow::bail!(
                "the database {} is at schema version {version}, this retrain reads {}: run `retrain status` \
                 once to migrate it",
                location.display(),
                MIGRATIONS.len()
            );
        }
        Ok(store)
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> anyhow::Result<i64> {
        Ok(migrations::schema_version(&self.db)?)
    }

    /// Bytes the state's database takes: its file, or the PostgreSQL database's size.
    pub fn size_bytes(&self) -> anyhow::Result<u64> {
        match &self.location {
            Location::Sqlite(path) => Ok(std::fs::metadata(path).map_or(0, |m| m.len())),
            Location::Postgres(_) => {
                let bytes: i64 =
                    self.db.query_row("SELECT pg_database_size(current_database())", &[], |r| r.get(0))?;
                Ok(bytes.max(0) as u64)
            }
        }
    }

    /// The connection, for the store's own modules.
    fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn db::ToValue],
        f: impl FnOnce(&db::Row<'_>) -> db::Result<T>,
    ) -> db::Result<T> {
        self.db.query_row(sql, params, f)
    }

    fn transaction(&mut self, begin: Begin) -> db::Result<db::Tx<'_>> {
        self.db.transaction(begin)
    }

    /// From now on, publish (register a version, change what is live) only while `worker`
    /// still holds job `id`: a worker whose lease ran out while it was away, and whose job
    /// another worker took over, must not publish beside it.
    pub fn set_fence(&mut self, job: i64, worker: &str) {
        self.fence = Some((job, worker.to_string()));
    }
}

/// Inside a publishing transaction: the fenced job is still the worker's. On PostgreSQL
/// the job's row stays locked until the transaction ends, so a takeover waits for it.
fn check_fence(tx: &Db, fence: &Option<(i64, String)>) -> anyhow::Result<()> {
    let Some((job, worker)) = fence else { return Ok(()) };
    let lock = if tx.dialect() == Dialect::Postgres { " FOR UPDATE" } else { "" };
    let held = tx
        .query_opt(
            &format!("SELECT id FROM jobs WHERE id = ?1 AND worker = ?2 AND status = 'running'{lock}"),
            db::params![job, worker],
            |r| r.get::<i64>(0),
        )?
        .is_some();
    anyhow::ensure!(
        held,
        "job {job} is no longer this worker's ({worker}): its lease ran out and another worker took it over; \
         nothing was published"
    );
    Ok(())
}

/// A connection to the database at `location`, as it is: not created, not migrated. For
/// what reads or writes tables as tables (copying a state, the tests).
pub fn connect(location: &Location) -> anyhow::Result<Db> {
    match location {
        Location::Sqlite(path) => {
            use rusqlite::OpenFlags;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags)
                .with_context(|| format!("opening the database {}", path.display()))?;
            configure(&conn)
                .map_err(|e| db::sqlite_error(&conn, e))
                .with_context(|| format!("configuring the database {}", path.display()))?;
            Ok(Db::sqlite(conn))
        }
        Location::Postgres(url) => connect_postgres(url),
    }
}

/// Connect to a PostgreSQL URL: verified TLS when the URL asks for it (`sslmode=require`,
/// see [`tls`]), in the clear otherwise. `prefer`, the default, is in the clear even when
/// the server offers TLS: with a verifying client it would fail on any server whose
/// certificate is not in the roots (libpq's `prefer` encrypts without verifying, which
/// this client never does).
fn connect_postgres(url: &str) -> anyhow::Result<Db> {
    let config: postgres::Config =
        url.parse().with_context(|| format!("reading the database URL {}", redact_password(url)))?;
    let client = match config.get_ssl_mode() {
        postgres::config::SslMode::Require => config.connect(tls::connector()?),
        _ => config.connect(postgres::NoTls),
    }
    .with_context(|| format!("connecting to the database {}", redact_password(url)))?;
    Ok(Db::postgres(client))
}

mod tls;

/// A PostgreSQL session-level advisory lock, held as long as this value (its connection)
/// lives; the server lets go when the connection drops, however the process ended.
pub struct SessionLock {
    _db: Db,
}

/// Take advisory lock `key` on the server at `url` for this process, waiting for it.
pub fn session_lock(url: &str, key: i64, holder: &str) -> anyhow::Result<SessionLock> {
    let db = connect_postgres(url)?;
    let name: String = holder.chars().take(60).collect();
    db.query_row("SELECT set_config('application_name', ?1, false)", db::params![name], |_| Ok(()))?;
    db.query_row("SELECT pg_advisory_lock(?1)", db::params![key], |_| Ok(()))?;
    Ok(SessionLock { _db: db })
}

/// Wait until no session holds advisory lock `key` exclusively (a plan being made), then
/// go on without holding it.
pub fn wait_for_session_lock(url: &str, key: i64) -> anyhow::Result<()> {
    let db = connect_postgres(url)?;
    db.query_row("SELECT pg_advisory_lock_shared(?1)", db::params![key], |_| Ok(()))?;
    db.query_row("SELECT pg_advisory_unlock_shared(?1)", db::params![key], |_| Ok(()))?;
    Ok(())
}

/// Column `index` of `row`, JSON text decoded into `T`: stored metrics and reports are read
/// back into their types here, once, and a row that does not decode is an error naming it.
fn json_column<T: serde::de::DeserializeOwned>(row: &db::Row<'_>, index: usize) -> db::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| db::Error::Decode { column: index, message: e.to_string() })
}

/// Column `index` of `row` as JSON when it is not NULL.
fn json_column_opt<T: serde::de::DeserializeOwned>(row: &db::Row<'_>, index: usize) -> db::Result<Option<T>> {
    match row.cell(index)? {
        db::Cell::Null => Ok(None),
        _ => json_column(row, index).map(Some),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_redacted_urls() {
        let base = Path::new("/state");
        assert_eq!(Location::parse("retrain.db", base), Location::Sqlite("/state/retrain.db".into()));
        let url = "postgresql://fleet:s3cret@db.internal:5432/retrain?sslmode=require";
        assert_eq!(Location::parse(url, base), Location::Postgres(url.into()));
        assert_eq!(
            Location::parse(url, base).display(),
            "postgresql://fleet:***@db.internal:5432/retrain?sslmode=require"
        );
        assert_eq!(redact_password("postgres://fleet@db/retrain"), "postgres://fleet@db/retrain");
        assert_eq!(redact_password("postgres://db:5432/retrain"), "postgres://db:5432/retrain");
    }
}
