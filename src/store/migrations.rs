//! The schema, as an append-only list of migrations: numbered by their place in the list,
//! kept in `PRAGMA user_version` on SQLite and in the one-row table `retrain_schema` on
//! PostgreSQL. Never edit or reorder a shipped migration: add a new one, with a comment
//! saying why.
//!
//! Each migration is written once, in SQLite's words; PostgreSQL runs the same statements
//! with its names for the same types (see [`postgres_ddl`]), so both backends hold the
//! same tables, columns, indexes and constraints (a test of the PostgreSQL suite compares
//! them column by column).

use std::borrow::Cow;

use super::db::{Begin, Db, Dialect};

/// One step of the schema, and why it exists.
pub struct Migration {
    pub why: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        why: "candles, one row per (symbol, interval, open_time), and the log of accepted collect batches",
        sql: "
            CREATE TABLE candles (
                symbol    TEXT    NOT NULL,
                interval  TEXT    NOT NULL,
                open_time INTEGER NOT NULL,
                open      REAL    NOT NULL,
                high      REAL    NOT NULL,
                low       REAL    NOT NULL,
                close     REAL    NOT NULL,
                volume    REAL    NOT NULL,
                PRIMARY KEY (symbol, interval, open_time)
            ) WITHOUT ROWID;

            CREATE TABLE collects (
                id              INTEGER PRIMARY KEY,
                symbol          TEXT    NOT NULL,
                interval        TEXT    NOT NULL,
                source          TEXT    NOT NULL,
                finished_at     INTEGER NOT NULL,
                rows_read       INTEGER NOT NULL,
                inserted        INTEGER NOT NULL,
                updated         INTEGER NOT NULL,
                unchanged       INTEGER NOT NULL,
                rejected        INTEGER NOT NULL,
                duplicates      INTEGER NOT NULL,
                gaps            INTEGER NOT NULL,
                missing_bars    INTEGER NOT NULL,
                first_open_time INTEGER,
                last_open_time  INTEGER,
                quality_score   REAL    NOT NULL,
                reasons         TEXT    NOT NULL
            );
            CREATE INDEX collects_by_series ON collects (symbol, interval, id);
        ",
    },
    Migration {
        why: "trade outcomes of the live trading system, imported by `collect --trades`, idempotent on id",
        sql: "
            CREATE TABLE trade_outcomes (
                id            TEXT    PRIMARY KEY,
                symbol        TEXT    NOT NULL,
                opened_at     INTEGER NOT NULL,
                closed_at     INTEGER NOT NULL,
                side          TEXT    NOT NULL CHECK (side IN ('long', 'short')),
                entry_price   REAL    NOT NULL,
                exit_price    REAL    NOT NULL,
                quantity      REAL    NOT NULL,
                pnl           REAL    NOT NULL,
                model_version INTEGER
            );
            CREATE INDEX trade_outcomes_by_symbol ON trade_outcomes (symbol, closed_at);
        ",
    },
    Migration {
        why: "the model registry: versions (never reused, even after a failed train, hence the counter) and their evaluations",
        sql: "
            CREATE TABLE version_counters (
                symbol       TEXT    NOT NULL,
                regime       TEXT    NOT NULL,
                last_version INTEGER NOT NULL,
                PRIMARY KEY (symbol, regime)
            ) WITHOUT ROWID;

            CREATE TABLE model_versions (
                id               INTEGER PRIMARY KEY,
                symbol           TEXT    NOT NULL,
                regime           TEXT    NOT NULL,
                version          INTEGER NOT NULL,
                interval         TEXT    NOT NULL,
                status           TEXT    NOT NULL CHECK (status IN ('candidate', 'production', 'canary', 'archived')),
                model_kind       TEXT    NOT NULL,
                hyperparameters  TEXT    NOT NULL,
                seed             INTEGER NOT NULL,
                train_from       INTEGER NOT NULL,
                train_to         INTEGER NOT NULL,
                validation_from  INTEGER NOT NULL,
                validation_to    INTEGER NOT NULL,
                test_from        INTEGER NOT NULL,
                test_to          INTEGER NOT NULL,
                data_fingerprint TEXT    NOT NULL,
                config_hash      TEXT    NOT NULL,
                artifact_path    TEXT    NOT NULL,
                sha256           TEXT    NOT NULL,
                parent_id        INTEGER REFERENCES model_versions (id),
                created_at       INTEGER NOT NULL,
                UNIQUE (symbol, regime, version)
            );

            CREATE TABLE evaluations (
                id          INTEGER PRIMARY KEY,
                version_id  INTEGER NOT NULL REFERENCES model_versions (id),
                kind        TEXT    NOT NULL,
                window_from INTEGER NOT NULL,
                window_to   INTEGER NOT NULL,
                rows        INTEGER NOT NULL,
                metrics     TEXT    NOT NULL,
                created_at  INTEGER NOT NULL
            );
            CREATE INDEX evaluations_by_version ON evaluations (version_id, id);
        ",
    },
    Migration {
        why: "alerts raised by evaluate (and later drift, run): open until resolved, acknowledged on the way",
        sql: "
            CREATE TABLE alerts (
                id              INTEGER PRIMARY KEY,
                kind            TEXT    NOT NULL,
                severity        TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
                symbol          TEXT,
                regime          TEXT,
                version_id      INTEGER REFERENCES model_versions (id),
                message         TEXT    NOT NULL,
                details         TEXT    NOT NULL,
                created_at      INTEGER NOT NULL,
                acknowledged_at INTEGER,
                resolved_at     INTEGER,
                resolution      TEXT
            );
            CREATE INDEX alerts_open ON alerts (resolved_at, kind, version_id);
        ",
    },
    Migration {
        why: "drift checks of a model: one report per check, one row per feature",
        sql: "
            CREATE TABLE drift_reports (
                id               INTEGER PRIMARY KEY,
                version_id       INTEGER NOT NULL REFERENCES model_versions (id),
                window_from      INTEGER NOT NULL,
                window_to        INTEGER NOT NULL,
                current_rows     INTEGER NOT NULL,
                drifted_features INTEGER NOT NULL,
                share_drifted    REAL    NOT NULL,
                dataset_drift    INTEGER NOT NULL,
                severity         TEXT CHECK (severity IN ('low', 'medium', 'high', 'critical')),
                prediction       TEXT,
                label            TEXT,
                created_at       INTEGER NOT NULL
            );
            CREATE INDEX drift_reports_by_version ON drift_reports (version_id, id);

            CREATE TABLE drift_features (
                report_id      INTEGER NOT NULL REFERENCES drift_reports (id),
                feature        TEXT    NOT NULL,
                reference_rows INTEGER NOT NULL,
                current_rows   INTEGER NOT NULL,
                psi            REAL,
                ks_statistic   REAL,
                ks_p_value     REAL,
                js_distance    REAL,
                wasserstein    REAL,
                drifted        INTEGER NOT NULL,
                severity       TEXT,
                note           TEXT,
                PRIMARY KEY (report_id, feature)
            ) WITHOUT ROWID;
        ",
    },
    Migration {
        why: "deployment: the record of what was live when, canary tests, and the signals predict serves; \
              the schema itself allows one production and one canary version per model",
        sql: "
            CREATE UNIQUE INDEX one_production ON model_versions (symbol, regime) WHERE status = 'production';
            CREATE UNIQUE INDEX one_canary ON model_versions (symbol, regime) WHERE status = 'canary';

            CREATE TABLE ab_tests (
                id             INTEGER PRIMARY KEY,
                symbol         TEXT    NOT NULL,
                regime         TEXT    NOT NULL,
                champion_id    INTEGER NOT NULL REFERENCES model_versions (id),
                challenger_id  INTEGER NOT NULL REFERENCES model_versions (id),
                traffic_split  REAL    NOT NULL,
                started_at     INTEGER NOT NULL,
                ended_at       INTEGER,
                outcome        TEXT CHECK (outcome IN ('promoted', 'kept', 'aborted')),
                result         TEXT
            );
            CREATE UNIQUE INDEX one_running_test ON ab_tests (symbol, regime) WHERE ended_at IS NULL;

            -- from and to are the production versions before and after the row; the
            -- version live at a time is the `to` of the last row before it.
            CREATE TABLE deployments (
                id                 INTEGER PRIMARY KEY,
                symbol             TEXT    NOT NULL,
                regime             TEXT    NOT NULL,
                action             TEXT    NOT NULL
                                   CHECK (action IN ('promote', 'rollback', 'canary_start', 'canary_end')),
                from_version_id    INTEGER REFERENCES model_versions (id),
                to_version_id      INTEGER REFERENCES model_versions (id),
                canary_version_id  INTEGER REFERENCES model_versions (id),
                ab_test_id         INTEGER REFERENCES ab_tests (id),
                reason             TEXT    NOT NULL,
                gates              TEXT,
                forced             INTEGER NOT NULL DEFAULT 0,
                actor              TEXT    NOT NULL,
                created_at         INTEGER NOT NULL
            );
            CREATE INDEX deployments_by_model ON deployments (symbol, regime, id);

            CREATE TABLE signals (
                id              INTEGER PRIMARY KEY,
                symbol          TEXT    NOT NULL,
                interval        TEXT    NOT NULL,
                regime          TEXT    NOT NULL,
                open_time       INTEGER NOT NULL,
                version_id      INTEGER NOT NULL REFERENCES model_versions (id),
                ab_test_id      INTEGER REFERENCES ab_tests (id),
                arm             TEXT    CHECK (arm IN ('champion', 'challenger')),
                probability     REAL    NOT NULL,
                position        INTEGER NOT NULL CHECK (position IN (-1, 0, 1)),
                entry_close     REAL    NOT NULL,
                horizon_bars    INTEGER NOT NULL,
                cost_per_side   REAL    NOT NULL,
                created_at      INTEGER NOT NULL,
                resolved_at     INTEGER,
                market_return   REAL,
                realised_return REAL,
                win             INTEGER,
                UNIQUE (version_id, open_time)
            );
            CREATE INDEX signals_pending ON signals (symbol, interval, resolved_at);
            CREATE INDEX signals_by_version ON signals (version_id, created_at);
        ",
    },
    Migration {
        why: "`run`: each run (its clock, for schedules), the jobs it did or that wait in the queue, and \
              webhook posts of alerts",
        sql: "
            CREATE TABLE runs (
                id          INTEGER PRIMARY KEY,
                pid         INTEGER NOT NULL,
                now         INTEGER NOT NULL,
                started_at  INTEGER NOT NULL,
                finished_at INTEGER,
                dry_run     INTEGER NOT NULL,
                status      TEXT    NOT NULL CHECK (status IN ('running', 'finished', 'killed'))
            );

            CREATE TABLE jobs (
                id           INTEGER PRIMARY KEY,
                symbol       TEXT    NOT NULL,
                regime       TEXT    NOT NULL,
                trigger      TEXT    NOT NULL
                             CHECK (trigger IN ('manual', 'drift', 'performance', 'decay', 'initial', 'schedule', 'age')),
                reason       TEXT    NOT NULL,
                priority     TEXT    NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
                status       TEXT    NOT NULL
                             CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'abandoned')),
                requested_at INTEGER NOT NULL,
                run_id       INTEGER REFERENCES runs (id),
                started_at   INTEGER,
                finished_at  INTEGER,
                seconds      REAL,
                stage        TEXT,
                version_id   INTEGER REFERENCES model_versions (id),
                outcome      TEXT,
                error        TEXT
            );
            CREATE INDEX jobs_by_status ON jobs (status, symbol, regime);
            CREATE INDEX jobs_by_model ON jobs (symbol, regime, id);

            CREATE TABLE notifications (
                id           INTEGER PRIMARY KEY,
                alert_id     INTEGER NOT NULL REFERENCES alerts (id),
                attempted_at INTEGER NOT NULL,
                attempts     INTEGER NOT NULL,
                delivered    INTEGER NOT NULL,
                error        TEXT
            );
        ",
    },
    Migration {
        why: "`status` of a large fleet: a live model's newest outcomes come from an index that holds \
              them (no row lookups), newest first, and the versions that matter (production, canary, \
              candidates) from their own index, so that neither walks a model's history",
        sql: "
            DROP INDEX signals_by_version;
            CREATE INDEX signals_served ON signals (version_id, created_at, open_time, resolved_at, win, realised_return);
            CREATE INDEX active_versions ON model_versions (symbol, regime, version)
                WHERE status IN ('production', 'canary', 'candidate');
        ",
    },
    Migration {
        why: "a run whose collect failed is a failed run: its exit code says so, and the health probe must not \
              count it as the last successful run",
        sql: "
            ALTER TABLE runs ADD COLUMN failed_collects INTEGER NOT NULL DEFAULT 0;
        ",
    },
    Migration {
        why: "the back-off of drift and decay retrains: a job keeps the drift severity it was started for, so \
              that a drift the gates refused to fix fires again only when it grows (or the back-off passes)",
        sql: "
            ALTER TABLE jobs ADD COLUMN severity TEXT
                CHECK (severity IS NULL OR severity IN ('low', 'medium', 'high', 'critical'));
        ",
    },
    Migration {
        why: "many workers, one fleet: a run's plan is stored as queued jobs in run order (position) that any \
              worker claims; a claimed job names its worker and holds a lease (epoch ms on the database's \
              clock) that the worker renews, and a job whose lease ran out is taken over (attempts counts \
              the claims); deploy says how its candidate may go live; a run's planned_at (the database's \
              clock) tells a run that waited for the plan lock that the plan it waited for is made",
        sql: "
            ALTER TABLE runs ADD COLUMN planned_at INTEGER;
            ALTER TABLE jobs ADD COLUMN position INTEGER;
            ALTER TABLE jobs ADD COLUMN worker TEXT;
            ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
            ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE jobs ADD COLUMN deploy TEXT NOT NULL DEFAULT 'gates' CHECK (deploy IN ('gates', 'always'));
            CREATE INDEX jobs_claimable ON jobs (status, run_id, position);
        ",
    },
    Migration {
        why: "artifacts being written: a version number is reserved with the writer's name (host and pid), \
              and the row is removed when the version is registered, so that the files of a writer that died \
              in between are told from those of one still writing, and removed (`check --repair`, the next \
              train of the model, the next run); and the words of the manual request a job answers, which a \
              job of a killed run asks for again",
        sql: "
            ALTER TABLE jobs ADD COLUMN request TEXT;
            CREATE TABLE pending_artifacts (
                symbol     TEXT    NOT NULL,
                regime     TEXT    NOT NULL,
                version    INTEGER NOT NULL,
                writer     TEXT    NOT NULL,
                started_at INTEGER NOT NULL,
                PRIMARY KEY (symbol, regime, version)
            ) WITHOUT ROWID;
        ",
    },
    Migration {
        why: "`prune`: the artifact files of old archived versions are deleted; their registry rows stay, \
              marked with when",
        sql: "
            ALTER TABLE model_versions ADD COLUMN pruned_at INTEGER;
        ",
    },
    Migration {
        why: "alerts by email beside the webhook: each delivery attempt says its channel",
        sql: "
            ALTER TABLE notifications ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook'
                CHECK (channel IN ('webhook', 'email'));
        ",
    },
];

impl Migration {
    /// The migration's statements in the dialect of `dialect`.
    pub fn sql(&self, dialect: Dialect) -> Cow<'static, str> {
        match dialect {
            Dialect::Sqlite => Cow::Borrowed(self.sql),
            Dialect::Postgres => Cow::Owned(postgres_ddl(self.sql)),
        }
    }
}

/// SQLite's DDL as PostgreSQL's: a rowid key is an identity column, the storage classes
/// are the 64-bit types SQLite gives them (INTEGER is BIGINT, REAL is DOUBLE PRECISION),
/// and `WITHOUT ROWID` is how every PostgreSQL table is already kept.
pub fn postgres_ddl(sql: &str) -> String {
    sql.replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        .replace(" INTEGER", " BIGINT")
        .replace(" REAL", " DOUBLE PRECISION")
        .replace(") WITHOUT ROWID", ")")
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database has schema version {found}, newer than this retrain knows ({known}); use a newer retrain"
    )]
    TooNew { found: i64, known: usize },
    #[error(transparent)]
    Database(#[from] super::db::Error),
}

/// The schema version of the database: 0 for one never migrated.
pub fn schema_version(db: &Db) -> super::db::Result<i64> {
    match db.dialect() {
        Dialect::Sqlite => db.query_row("PRAGMA user_version", &[], |row| row.get(0)),
        Dialect::Postgres => {
            let exists: bool =
                db.query_row("SELECT to_regclass('retrain_schema') IS NOT NULL", &[], |row| row.get(0))?;
            if !exists {
                return Ok(0);
            }
            Ok(db.query_opt("SELECT version FROM retrain_schema", &[], |row| row.get(0))?.unwrap_or(0))
        }
    }
}

/// Apply the migrations the database lacks, up to `target`, in one transaction that
/// nothing else runs beside: SQLite's exclusive lock, or PostgreSQL's advisory lock (two
/// workers starting at once: the second waits, then finds the schema current).
pub fn migrate_to(db: &mut Db, target: usize) -> Result<(), MigrationError> {
    let dialect = db.dialect();
    let tx = db.transaction(Begin::Exclusive)?;
    if dialect == Dialect::Postgres {
        tx.batch("CREATE TABLE IF NOT EXISTS retrain_schema (version BIGINT NOT NULL)")?;
    }
    let current = schema_version(&tx)?;
    if current > MIGRATIONS.len() as i64 {
        return Err(MigrationError::TooNew { found: current, known: MIGRATIONS.len() });
    }
    let current = current.max(0) as usize;
    for migration in MIGRATIONS.iter().take(target).skip(current) {
        tx.batch(&migration.sql(dialect))?;
    }
    if target > current {
        match dialect {
            Dialect::Sqlite => tx.batch(&format!("PRAGMA user_version = {target}"))?,
            Dialect::Postgres => {
                tx.execute("DELETE FROM retrain_schema", &[])?;
                tx.execute(
                    "INSERT INTO retrain_schema (version) VALUES (?1)",
                    super::db::params![target as i64],
                )?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Db {
        Db::sqlite(rusqlite::Connection::open_in_memory().unwrap())
    }

    fn version(db: &Db) -> i64 {
        schema_version(db).unwrap()
    }

    #[test]
    fn migrate_twice_is_a_no_op() {
        let mut db = memory();
        migrate_to(&mut db, MIGRATIONS.len()).unwrap();
        migrate_to(&mut db, MIGRATIONS.len()).unwrap();
        assert_eq!(version(&db), MIGRATIONS.len() as i64);
    }

    #[test]
    fn an_old_database_is_migrated_and_keeps_its_rows() {
        let mut db = memory();
        migrate_to(&mut db, 1).unwrap();
        db.execute("INSERT INTO candles VALUES ('BTCUSDT', '1m', 60000, 1.0, 2.0, 0.5, 1.5, 10.0)", &[])
            .unwrap();
        assert!(db.query_map("SELECT * FROM trade_outcomes", &[], |_| Ok(())).is_err(), "v1 has no trades");

        migrate_to(&mut db, MIGRATIONS.len()).unwrap();
        assert_eq!(version(&db), MIGRATIONS.len() as i64);
        let close: f64 = db.query_row("SELECT close FROM candles", &[], |r| r.get(0)).unwrap();
        assert_eq!(close, 1.5);
        let trades: i64 = db.query_row("SELECT COUNT(*) FROM trade_outcomes", &[], |r| r.get(0)).unwrap();
        assert_eq!(trades, 0);
    }

    #[test]
    fn postgres_ddl_names_the_same_types() {
        let ddl = postgres_ddl(MIGRATIONS[0].sql);
        assert!(ddl.contains("id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"), "{ddl}");
        assert!(
            ddl.contains("open_time BIGINT NOT NULL") && ddl.contains("close     DOUBLE PRECISION"),
            "{ddl}"
        );
        assert!(
            !ddl.contains("WITHOUT ROWID") && !ddl.contains("INTEGER") && !ddl.contains(" REAL"),
            "{ddl}"
        );
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut db = memory();
        db.batch("PRAGMA user_version = 99").unwrap();
        let err = migrate_to(&mut db, MIGRATIONS.len()).unwrap_err();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
