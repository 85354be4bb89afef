//! Copy a whole state from one database to another: a SQLite file to PostgreSQL when a
//! fleet outgrows one machine, PostgreSQL back to a file, or a file to a file. Every table
//! of the source's schema is copied row for row, then read back and compared: the same
//! row count and the same SHA-256 of its rows in primary-key order.
//!
//! The target must hold no row, and a failed copy leaves it as it was: a SQLite file is
//! written beside its final name and renamed over it once verified; a PostgreSQL database
//! receives every table in one transaction.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::db::{self, Begin, Cell, Db, Dialect, Kind, ToValue, Value};
use super::{Location, Store, connect, migrations};
use crate::error::Failure;

/// Rows read (and inserted by one statement) at a time: few round trips, bounded memory.
const PAGE_ROWS: usize = 500;
/// Bound values per statement at most, well under SQLite's 32766 and PostgreSQL's 65535.
const PAGE_CELLS: usize = 16_000;

/// One table as copied and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopiedTable {
    pub table: String,
    pub rows: u64,
    /// SHA-256 of the table's rows in primary-key order (see [`RowDigest`]), equal in the
    /// source and the target.
    pub sha256: String,
}

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    /// The schema version both databases are at.
    pub schema_version: i64,
    /// In the order they were copied (a table after those its foreign keys reference).
    pub tables: Vec<CopiedTable>,
}

/// Copy the state at `from` into `to`, which must hold no row (a missing SQLite file is
/// created). The source is brought up to this retrain's schema first, as any command
/// would; the target is created at the same version.
pub fn copy(from: &Location, to: &Location) -> anyhow::Result<Copied> {
    if same_database(from, to) {
        return Err(Failure::Usage(format!("{} is both the source and the target", from.display())).into());
    }
    let mut source = open_source(from)?;
    match to {
        Location::Sqlite(path) => copy_to_file(&mut source, path, to),
        Location::Postgres(_) => {
            // Before migrating anything there: a database that holds rows is not touched.
            refuse_rows(&peek(to)?, to)?;
            let mut target = Store::open(to)?;
            transfer(&mut source.db, &mut target.db, to)
        }
    }
}

fn same_database(from: &Location, to: &Location) -> bool {
    match (from, to) {
        (Location::Sqlite(a), Location::Sqlite(b)) => {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
        }
        (Location::Postgres(a), Location::Postgres(b)) => a == b,
        _ => false,
    }
}

/// The source, migrated to this retrain's schema; refused when it holds no state (opening
/// it as a store would create one).
fn open_source(from: &Location) -> anyhow::Result<Store> {
    if let Location::Sqlite(path) = from {
        if !path.is_file() {
            return Err(Failure::Usage(format!("{}: no such database file", path.display())).into());
        }
        refuse_other_files(path)?;
    }
    if migrations::schema_version(&peek(from)?)? == 0 {
        return Err(Failure::Usage(format!("{} holds no retrain state", from.display())).into());
    }
    Store::open(from)
}

/// A connection that changes nothing by opening: a SQLite file as it is (no journal mode
/// set, no file created; opened to write only so that closing it removes the WAL's side
/// files, as a reader would leave them), or a PostgreSQL database as it is.
fn peek(location: &Location) -> anyhow::Result<Db> {
    match location {
        Location::Sqlite(path) => {
            use rusqlite::OpenFlags;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = rusqlite::Connection::open_with_flags(path, flags)
                .with_context(|| format!("opening the database {}", path.display()))?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            Ok(Db::sqlite(conn))
        }
        Location::Postgres(_) => connect(location),
    }
}

/// Refuse a file that is neither empty nor a SQLite database (by its first bytes): it is
/// no state to read, and none to replace.
fn refuse_other_files(path: &Path) -> anyhow::Result<()> {
    use std::io::Read;
    let mut header = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|file| file.take(16).read_to_end(&mut header))
        .with_context(|| format!("reading {}", path.display()))?;
    if header.is_empty() || header == b"SQLite format 3\0" {
        return Ok(());
    }
    Err(Failure::Usage(format!("{} is not a SQLite database", path.display())).into())
}

/// Refuse a target that holds any row, naming the first table that does.
fn refuse_rows(db: &Db, to: &Location) -> anyhow::Result<()> {
    let names = table_names(db).with_context(|| format!("listing the tables of {}", to.display()))?;
    for name in names {
        let sql = format!("SELECT 1 FROM {} LIMIT 1", quote(&name));
        if db.query_opt(&sql, &[], |_| Ok(()))?.is_some() {
            return Err(Failure::Usage(format!(
                "{} is not empty (table {name} has rows): a state is copied only into an empty database",
                to.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// Into a SQLite file: build the copy in a temporary file beside it, verify it, sync it,
/// then rename it over the final name. A failure removes the temporary file.
fn copy_to_file(source: &mut Store, path: &Path, to: &Location) -> anyhow::Result<Copied> {
    if path.exists() {
        if !path.is_file() {
            return Err(Failure::Usage(format!("{} exists and is not a file", path.display())).into());
        }
        refuse_other_files(path)?;
        refuse_rows(&peek(to)?, to)?;
    }
    let temporary = temporary_path(path);
    remove_sqlite_files(&temporary);
    let result = (|| {
        let mut target = Store::open(&Location::Sqlite(temporary.clone()))?;
        let copied = transfer(&mut source.db, &mut target.db, to)?;
        // Closing checkpoints the WAL into the file, so that the file alone is the copy.
        drop(target);
        std::fs::File::open(&temporary)
            .and_then(|file| file.sync_all())
            .with_context(|| format!("syncing {}", temporary.display()))?;
        publish_file(&temporary, path, to)?;
        Ok(copied)
    })();
    if result.is_err() {
        remove_sqlite_files(&temporary);
    }
    result
}

/// `.<name>.tmp-<pid>` in the folder of `path`.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Rename the verified copy over `path`, which holds no row (or does not exist).
fn publish_file(temporary: &Path, path: &Path, to: &Location) -> anyhow::Result<()> {
    if path.exists() {
        // Again, just before replacing it: a command may have written there meanwhile.
        refuse_rows(&peek(to)?, to)?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        // Another process's log would be replayed into the copy by the next open.
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            let wal = PathBuf::from(wal);
            anyhow::bail!(
                "{} is open in another process ({} exists): stop it and copy again",
                path.display(),
                wal.display()
            );
        }
    }
    std::fs::rename(temporary, path)
        .with_context(|| format!("renaming {} to {}", temporary.display(), path.display()))?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Copy every table of `source` into `target` (both migrated to the same schema) in one
/// transaction, verify it, and commit. The source is read from one snapshot, so that a
/// command writing there meanwhile cannot make the copy inconsistent.
fn transfer(source: &mut Db, target: &mut Db, to: &Location) -> anyhow::Result<Copied> {
    let schema_version = migrations::schema_version(source)?;
    let reading = source.transaction(Begin::Deferred)?;
    if reading.dialect() == Dialect::Postgres {
        reading.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    }
    let tables = in_copy_order(schema(&reading).context("reading the source's schema")?)?;
    // Alone against every other writer of the target until the copy commits.
    let writing = target.transaction(Begin::Exclusive)?;
    refuse_rows(&writing, to)?;
    let target_tables =
        schema(&writing).with_context(|| format!("reading the schema of {}", to.display()))?;
    for table in &tables {
        let same = target_tables.iter().find(|t| t.name == table.name).map(|t| sorted(&t.columns));
        anyhow::ensure!(
            same == Some(sorted(&table.columns)),
            "table {} differs between the source and {}: both should be at schema version {schema_version}",
            table.name,
            to.display()
        );
    }
    let mut copied = Vec::new();
    for table in &tables {
        let mut digest = RowDigest::default();
        scan(&reading, table, |page| {
            digest.add(page);
            insert(&writing, table, page)
        })
        .with_context(|| format!("copying table {}", table.name))?;
        copied.push(CopiedTable { table: table.name.clone(), rows: digest.rows, sha256: digest.hex() });
    }
    continue_identities(&writing)?;
    for (table, expected) in tables.iter().zip(&copied) {
        verify(&writing, table, expected)
            .with_context(|| format!("verifying the copy in {}", to.display()))?;
    }
    writing.commit()?;
    Ok(Copied { schema_version, tables: copied })
}

/// A table as the copy sees it.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    name: String,
    /// In the table's order.
    columns: Vec<Column>,
    /// The primary key, as indexes into `columns`, in the key's order.
    key: Vec<usize>,
    /// The tables its foreign keys reference.
    references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Column {
    name: String,
    kind: Kind,
}

/// Columns by name, for comparing two tables whatever their columns' order.
fn sorted(columns: &[Column]) -> Vec<Column> {
    let mut columns = columns.to_vec();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    columns
}

/// The state's tables in the order they were created, without the schema's bookkeeping
/// (SQLite's own tables; PostgreSQL's `retrain_schema`, which the migrations write).
fn table_names(db: &Db) -> db::Result<Vec<String>> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY rowid"
        }
        Dialect::Postgres => {
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> 'retrain_schema'
             ORDER BY c.oid"
        }
    };
    db.query_map(sql, &[], |row| row.get(0))
}

/// Every table with its columns, key and references, read from the database's catalogue.
fn schema(db: &Db) -> anyhow::Result<Vec<Table>> {
    let mut tables = Vec::new();
    for name in table_names(db)? {
        let (columns, key, references) = match db.dialect() {
            Dialect::Sqlite => sqlite_table(db, &name)?,
            Dialect::Postgres => postgres_table(db, &name)?,
        };
        anyhow::ensure!(
            !key.is_empty(),
            "table {name} has no primary key, so no order to copy and compare it in"
        );
        tables.push(Table { name, columns, key, references });
    }
    Ok(tables)
}

type Described = (Vec<Column>, Vec<usize>, Vec<String>);

fn sqlite_table(db: &Db, name: &str) -> anyhow::Result<Described> {
    let mut key_positions = Vec::new();
    let mut columns = Vec::new();
    let described = db.query_map(
        "SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid",
        db::params![name],
        |row| Ok((row.get::<String>(0)?, row.get::<String>(1)?, row.get::<i64>(2)?)),
    )?;
    for (index, (column, declared, pk)) in described.into_iter().enumerate() {
        columns.push(Column { kind: sqlite_kind(name, &column, &declared)?, name: column });
        if pk > 0 {
            key_positions.push((pk, index));
        }
    }
    key_positions.sort();
    let references = db.query_map(
        "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)",
        db::params![name],
        |row| row.get(0),
    )?;
    Ok((columns, key_positions.into_iter().map(|(_, index)| index).collect(), references))
}

/// The kind of a declared type, by SQLite's rules of type affinity.
fn sqlite_kind(table: &str, column: &str, declared: &str) -> anyhow::Result<Kind> {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        Ok(Kind::Int)
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t)) {
        Ok(Kind::Text)
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|t| upper.contains(t)) {
        Ok(Kind::Real)
    } else {
        anyhow::bail!("column {table}.{column} is declared {declared:?}, a type the state never uses")
    }
}

fn postgres_table(db: &Db, name: &str) -> anyhow::Result<Described> {
    let described = db.query_map(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name::text = ?1 ORDER BY ordinal_position",
        db::params![name],
        |row| Ok((row.get::<String>(0)?, row.get::<String>(1)?)),
    )?;
    let mut columns = Vec::new();
    for (column, data_type) in described {
        let kind = match data_type.as_str() {
            "bigint" | "integer" | "smallint" => Kind::Int,
            "double precision" | "real" => Kind::Real,
            "text" | "character varying" | "character" => Kind::Text,
            other => anyhow::bail!("column {name}.{column} is of type {other}, a type the state never uses"),
        };
        columns.push(Column { name: column, kind });
    }
    let key_names: Vec<String> = db.query_map(
        "SELECT a.attname::text FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = ?1::regclass AND i.indisprimary
         ORDER BY array_position(i.indkey::int2[], a.attnum)",
        db::params![quote(name)],
        |row| row.get(0),
    )?;
    let key = key_names
        .iter()
        .map(|k| columns.iter().position(|c| &c.name == k).context("a key column that is not a column"))
        .collect::<anyhow::Result<_>>()?;
    let references = db.query_map(
        "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid = ?1::regclass",
        db::params![quote(name)],
        |row| row.get(0),
    )?;
    Ok((columns, key, references))
}

/// Each table after the tables its foreign keys reference (a reference to itself, such as
/// a version's parent, is satisfied by copying in key order), else in creation order.
fn in_copy_order(mut tables: Vec<Table>) -> anyhow::Result<Vec<Table>> {
    let mut ordered: Vec<Table> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|table| {
            table.references.iter().all(|r| *r == table.name || ordered.iter().any(|done| done.name == *r))
        });
        let Some(index) = ready else {
            let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
            anyhow::bail!(
                "the foreign keys of tables {} form a cycle, or reference a missing table",
                names.join(", ")
            );
        };
        ordered.push(tables.remove(index));
    }
    Ok(ordered)
}

/// Every row of `table` in key order, a page at a time. Text keys are ordered by their
/// bytes on both backends (PostgreSQL's collation "C", SQLite's default), so that the
/// digest of a table is the same wherever it is kept.
fn scan(
    db: &Db,
    table: &Table,
    mut each: impl FnMut(&[Vec<Value<'static>>]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let page_rows = (PAGE_CELLS / table.columns.len().max(1)).clamp(1, PAGE_ROWS);
    let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let select = format!("SELECT {} FROM {}", columns.join(", "), quote(&table.name));
    let key_names: Vec<&str> = table.key.iter().map(|&i| columns[i].as_str()).collect();
    let read = |row: &db::Row<'_>| owned_row(row, table);
    match db.dialect() {
        Dialect::Postgres => {
            let order: Vec<String> = table
                .key
                .iter()
                .map(|&i| match table.columns[i].kind {
                    Kind::Text => format!("{} COLLATE \"C\"", columns[i]),
                    _ => columns[i].clone(),
                })
                .collect();
            // A cursor: one sort, then pages, in the transaction's snapshot. Its name is
            // the table's, so that no prepared FETCH is reused for another table's columns.
            let cursor = quote(&format!("copy_{}", table.name));
            db.batch(&format!(
                "DECLARE {cursor} NO SCROLL CURSOR FOR {select} ORDER BY {}",
                order.join(", ")
            ))?;
            loop {
                let page = db.query_map(&format!("FETCH {page_rows} FROM {cursor}"), &[], read)?;
                if page.is_empty() {
                    break;
                }
                each(&page)?;
            }
            db.batch(&format!("CLOSE {cursor}"))?;
        }
        Dialect::Sqlite => {
            // Pages after the last key read, along the primary key's index.
            let order = key_names.join(", ");
            let first = format!("{select} ORDER BY {order} LIMIT {page_rows}");
            let placeholders: Vec<String> = (1..=key_names.len()).map(|i| format!("?{i}")).collect();
            let next = format!(
                "{select} WHERE ({order}) > ({}) ORDER BY {order} LIMIT {page_rows}",
                placeholders.join(", ")
            );
            let mut page = db.query_map(&first, &[], read)?;
            while !page.is_empty() {
                each(&page)?;
                if page.len() < page_rows {
                    break;
                }
                let last = page.last().expect("a page that is not empty");
                let key: Vec<&dyn ToValue> = table.key.iter().map(|&i| &last[i] as &dyn ToValue).collect();
                page = db.query_map(&next, &key, read)?;
            }
        }
    }
    Ok(())
}

/// A row's cells as values of their columns' kinds; a value of another kind than its
/// column's (SQLite would keep one) is an error naming it. An integer in a REAL column is
/// the same number as a real.
fn owned_row(row: &db::Row<'_>, table: &Table) -> db::Result<Vec<Value<'static>>> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (index, column) in table.columns.iter().enumerate() {
        let value = match (row.cell(index)?, column.kind) {
            (Cell::Null, kind) => Value::Null(kind),
            (Cell::Int(i), Kind::Int) => Value::Int(i),
            (Cell::Int(i), Kind::Real) => Value::Real(i as f64),
            (Cell::Real(r), Kind::Real) => Value::Real(r),
            (Cell::Text(t), Kind::Text) => Value::Text(Cow::Owned(t.to_string())),
            (cell, kind) => {
                return Err(db::Error::Decode {
                    column: index,
                    message: format!(
                        "{}.{} holds {cell:?}, not a value of kind {kind:?}",
                        table.name, column.name
                    ),
                });
            }
        };
        values.push(value);
    }
    Ok(values)
}

// Values read back from a row bind as themselves (here rather than in `db`: only the copy
// binds what it read).
impl ToValue for Value<'_> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Value::Text(text) => Value::Text(Cow::Borrowed(text)),
            other => other.clone(),
        }
    }
}

/// Insert a page of rows with one statement, with their ids as they are.
fn insert(db: &Db, table: &Table, rows: &[Vec<Value<'static>>]) -> anyhow::Result<()> {
    let width = table.columns.len();
    let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let tuples: Vec<String> = (0..rows.len())
        .map(|row| {
            let cells: Vec<String> = (1..=width).map(|column| format!("?{}", row * width + column)).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let sql =
        format!("INSERT INTO {} ({}) VALUES {}", quote(&table.name), columns.join(", "), tuples.join(", "));
    let values: Vec<&dyn ToValue> = rows.iter().flatten().map(|v| v as &dyn ToValue).collect();
    db.execute(&sql, &values)?;
    Ok(())
}

/// On PostgreSQL, move each identity column's sequence past the largest id copied, so
/// that the next row gets a new id (SQLite's rowid keys continue from the largest by
/// themselves).
fn continue_identities(db: &Db) -> anyhow::Result<()> {
    if db.dialect() != Dialect::Postgres {
        return Ok(());
    }
    let identities: Vec<(String, String)> = db.query_map(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
        &[],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    for (table, column) in identities {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence(?1, ?2), largest)
             FROM (SELECT max({}) AS largest FROM {}) copied WHERE largest IS NOT NULL",
            quote(&column),
            quote(&table)
        );
        db.query_map(&sql, db::params![quote(&table), column], |_| Ok(()))
            .with_context(|| format!("continuing the ids of {table}.{column}"))?;
    }
    Ok(())
}

/// The copy of `table` has the source's row count and the digest of its rows.
fn verify(db: &Db, table: &Table, expected: &CopiedTable) -> anyhow::Result<()> {
    let counted: i64 =
        db.query_row(&format!("SELECT COUNT(*) FROM {}", quote(&table.name)), &[], |r| r.get(0))?;
    let mut digest = RowDigest::default();
    scan(db, table, |page| {
        digest.add(page);
        Ok(())
    })?;
    anyhow::ensure!(
        counted == expected.rows as i64 && digest.rows == expected.rows,
        "table {} has {counted} rows, the source {}",
        table.name,
        expected.rows
    );
    anyhow::ensure!(
        digest.hex() == expected.sha256,
        "table {} holds other values than the source's (SHA-256 {} against {})",
        table.name,
        digest.hex(),
        expected.sha256
    );
    Ok(())
}

/// SHA-256 of rows, each cell written unambiguously: a tag, then the integer or the bits
/// of the real (big-endian), or the text's length and bytes. `-0.0` counts as `0.0`:
/// SQLite stores an integral real as an integer and reads back `0.0` for it.
#[derive(Default)]
struct RowDigest {
    hasher: Sha256,
    rows: u64,
}

impl RowDigest {
    fn add(&mut self, rows: &[Vec<Value<'_>>]) {
        for row in rows {
            self.rows += 1;
            for value in row {
                match value {
                    Value::Null(_) => self.hasher.update(b"N"),
                    Value::Int(i) => {
                        self.hasher.update(b"I");
                        self.hasher.update(i.to_be_bytes());
                    }
                    Value::Real(r) => {
                        let r = if *r == 0.0 { 0.0 } else { *r };
                        self.hasher.update(b"R");
                        self.hasher.update(r.to_bits().to_be_bytes());
                    }
                    Value::Text(text) => {
                        self.hasher.update(b"T");
                        self.hasher.update((text.len() as u64).to_be_bytes());
                        self.hasher.update(text.as_bytes());
                    }
                }
            }
        }
    }

    fn hex(&self) -> String {
        self.hasher.clone().finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// An identifier quoted for either backend.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MIGRATIONS;

    fn migrated() -> Db {
        let mut db = Db::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        migrations::migrate_to(&mut db, MIGRATIONS.len()).unwrap();
        db
    }

    #[test]
    fn every_table_is_keyed_and_copied_after_what_it_references() {
        let db = migrated();
        let tables = in_copy_order(schema(&db).unwrap()).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), table_names(&db).unwrap().len(), "{names:?}");
        assert!(names.contains(&"candles") && names.contains(&"notifications"), "{names:?}");
        let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
        for table in &tables {
            for referenced in &table.references {
                assert!(position(referenced) <= position(&table.name), "{} before {referenced}", table.name);
            }
        }
        assert!(position("model_versions") < position("evaluations"));
        assert!(position("alerts") < position("notifications"));
        let candles = &tables[position("candles")];
        let key: Vec<&str> = candles.key.iter().map(|&i| candles.columns[i].name.as_str()).collect();
        assert_eq!(key, ["symbol", "interval", "open_time"]);
        assert_eq!(candles.columns[3], Column { name: "open".into(), kind: Kind::Real });
    }

    #[test]
    fn a_cycle_of_references_is_an_error() {
        let table = |name: &str, references: &str| Table {
            name: name.into(),
            columns: Vec::new(),
            key: vec![0],
            references: vec![references.into()],
        };
        let err = in_copy_order(vec![table("a", "b"), table("b", "a")]).unwrap_err();
        assert!(err.to_string().contains("a, b"), "{err}");
    }

    #[test]
    fn rows_copy_between_two_files_and_digest_the_same() {
        let mut source = migrated();
        source
            .batch(
                "INSERT INTO candles VALUES ('B', '5m', 2, 1.0, 2.0, 0.5, 1.5, 10.0), ('A', '5m', 1, 1, 2, 0, 1, 3);
                 INSERT INTO alerts (kind, severity, message, details, created_at) VALUES ('k', 'low', 'm', '{}', 1);",
            )
            .unwrap();
        let mut target = migrated();
        let location = Location::Sqlite("target.db".into());
        let copied = transfer(&mut source, &mut target, &location).unwrap();
        let candles = copied.tables.iter().find(|t| t.table == "candles").unwrap();
        assert_eq!(candles.rows, 2);
        let total: u64 = copied.tables.iter().map(|t| t.rows).sum();
        assert_eq!(total, 3);
        // An integer in a REAL column reads back as a real, on both sides.
        let low: f64 =
            target.query_row("SELECT low FROM candles WHERE symbol = 'A'", &[], |r| r.get(0)).unwrap();
        assert_eq!(low, 0.0);
        // The copy is refused now that the target has rows, and the target keeps them.
        let err = transfer(&mut source, &mut target, &location).unwrap_err();
        assert!(err.to_string().contains("target.db is not empty (table candles has rows)"), "{err}");
        let alerts: i64 = target.query_row("SELECT COUNT(*) FROM alerts", &[], |r| r.get(0)).unwrap();
        assert_eq!(alerts, 1);
    }

    #[test]
    fn the_digest_tells_values_apart_but_not_the_sign_of_zero() {
        let digest = |rows: Vec<Vec<Value<'static>>>| {
            let mut d = RowDigest::default();
            d.add(&rows);
            d.hex()
        };
        let text = |t: &str| Value::Text(Cow::Owned(t.into()));
        assert_eq!(digest(vec![vec![Value::Real(-0.0)]]), digest(vec![vec![Value::Real(0.0)]]));
        assert_ne!(digest(vec![vec![Value::Int(1)]]), digest(vec![vec![Value::Real(1.0)]]));
        assert_ne!(digest(vec![vec![text("ab"), text("c")]]), digest(vec![vec![text("a"), text("bc")]]));
        assert_ne!(digest(vec![vec![Value::Null(Kind::Int)]]), digest(vec![vec![text("")]]));
    }
}
