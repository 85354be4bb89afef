//! What only a server has: many processes opening one state at once, and a schema that
//! must be SQLite's, column for column.

use std::collections::BTreeMap;

use retrain::store::{Location, MIGRATIONS, Store};

use crate::postgres::TestDatabase;

/// Eight workers starting at the same instant against a new database: the migrations
/// run once (under the advisory lock), the others wait and find the schema current.
#[test]
fn workers_starting_at_once_migrate_once() {
    let database = TestDatabase::create();
    let location = Location::Postgres(database.url.clone());
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        let opened: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    Store::open(&location).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for handle in opened {
            assert_eq!(handle.join().unwrap().unwrap(), MIGRATIONS.len() as i64);
        }
    });
    let mut client = database.client();
    let rows = client.query("SELECT version FROM retrain_schema", &[]).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>(0), MIGRATIONS.len() as i64);
}

/// Every table, column and index of the SQLite schema, with the storage class of each
/// column, is in the PostgreSQL schema, and nothing else is (but the schema version).
#[test]
fn the_schema_is_sqlites_column_for_column() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("retrain.db");
    Store::open(&Location::Sqlite(sqlite.clone())).unwrap();
    let conn = rusqlite::Connection::open(&sqlite).unwrap();
    let mut expected: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in &tables {
        let columns = conn
            .prepare(&format!(
                "SELECT name, type, \"notnull\" OR pk FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .unwrap()
            .query_map([], |r| {
                let kind: String = r.get(1)?;
                let kind = match kind.as_str() {
                    "INTEGER" => "bigint",
                    "REAL" => "double precision",
                    "TEXT" => "text",
                    other => panic!("a column of type {other}"),
                };
                Ok((r.get::<_, String>(0)?, kind.to_string(), r.get::<_, bool>(2)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        expected.insert(table.clone(), columns);
    }
    let sqlite_indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();

    let database = TestDatabase::create();
    Store::open(&Location::Postgres(database.url.clone())).unwrap();
    let mut client = database.client();
    let mut found: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    for row in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'NO'
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'retrain_schema'
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .unwrap()
    {
        found.entry(row.get(0)).or_default().push((row.get(1), row.get(2), row.get(3)));
    }
    assert_eq!(found, expected);
    let postgres_indexes: Vec<String> = client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'
               AND indexname NOT LIKE '%_key' ORDER BY indexname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(postgres_indexes, sqlite_indexes);
}

/// `sslmode=require` is TLS verified against Mozilla's roots and `RETRAIN_DATABASE_CA`: the
/// test server's certificate, signed by a throwaway authority (`TEST_POSTGRES_CA`, which
/// scripts/test-servers/postgres.sh makes), is refused without that authority and accepted
/// with it. The role `tls_only` may log in over TLS only, so a command that works as it
/// was encrypted.
#[test]
fn tls_is_verified_against_the_authority_given() {
    let ca = std::env::var("TEST_POSTGRES_CA").unwrap_or_else(|_| {
        panic!("TEST_POSTGRES_CA is not set: the certificate authority of the test server (DIR/ca.pem of postgres.sh)")
    });
    let database = TestDatabase::create();
    let (_, at) = database.url.split_once('@').expect("a URL with a user");
    let url = format!("postgres://tls_only@{at}?sslmode=require");
    let dir = tempfile::tempdir().unwrap();
    let init = |ca: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_retrain"));
        command.current_dir(dir.path()).env("RETRAIN_DATABASE_URL", &url).env_remove("RETRAIN_DATABASE_CA");
        if let Some(ca) = ca {
            command.env("RETRAIN_DATABASE_CA", ca);
        }
        command.arg("init").output().unwrap()
    };
    let refused = init(None);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("UnknownIssuer"), "{said}");
    let tables = || -> i64 {
        database
            .client()
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(tables(), 0, "nothing was created over an unverified connection");

    let accepted = init(Some(&ca));
    assert!(accepted.status.success(), "{}", String::from_utf8_lossy(&accepted.stderr));
    assert!(tables() > 0, "init made the schema, as tls_only, over TLS");
    // And the same role in the clear is turned away: the server insists.
    let clear =
        postgres::Client::connect(&url.replace("sslmode=require", "sslmode=disable"), postgres::NoTls);
    assert!(clear.is_err());
}
