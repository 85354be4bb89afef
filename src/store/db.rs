//! One connection to the state, over SQLite or PostgreSQL: the store writes each query
//! once, with SQLite's `?N` placeholders, and this module runs it on either backend.
//! Values cross it as a few neutral kinds (integer, real, text), which both databases
//! store the same way, so that a row reads back identical wherever it was written.
//!
//! SQLite is the embedded default: a file beside the config, one writer at a time.
//! PostgreSQL serves fleets that run many workers on many machines; there a transaction
//! that SQLite would take `IMMEDIATE` (read, then write on what it read) takes a
//! transaction-scoped advisory lock instead, so that the two backends serialise the same
//! writers and every command behaves the same on both.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, Type};

/// Which database a [`Db`] talks to, for the few statements that must be spelled
/// differently (they sit side by side where they are used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("column {column}: {message}")]
    Decode { column: usize, message: String },
    #[error("the query returned no row")]
    NoRow,
    /// SQLite could not write its file (or its `-wal` beside it): a full disk, a file-size
    /// limit, an I/O error. The statement's transaction is rolled back whole.
    #[error("cannot write {file}: {message} (is the disk full, or a file-size limit reached?)")]
    Write { file: String, message: String },
}

/// A SQLite error, naming the database file when the failure is a write that the disk or
/// the operating system refused.
pub(crate) fn sqlite_error(conn: &rusqlite::Connection, error: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::{DiskFull, SystemIoFailure};
    match &error {
        rusqlite::Error::SqliteFailure(e, _) if matches!(e.code, DiskFull | SystemIoFailure) => {
            Error::Write {
                file: conn.path().filter(|p| !p.is_empty()).unwrap_or("the database").to_string(),
                message: error.to_string(),
            }
        }
        _ => Error::Sqlite(error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The server's own words (message, detail, constraint) rather than the client's "db error".
fn postgres_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("PostgreSQL: {}", db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => format!("PostgreSQL: {error}"),
    }
}

impl Error {
    /// Whether the statement broke a unique index (two production versions, a version
    /// number taken twice): the same question on both backends.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            Error::Postgres(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }
}

/// The kind of a bound value, which PostgreSQL needs even for a NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Int,
    Real,
    Text,
}

impl Kind {
    fn postgres(self) -> Type {
        match self {
            Kind::Int => Type::INT8,
            Kind::Real => Type::FLOAT8,
            Kind::Text => Type::TEXT,
        }
    }
}

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null(Kind),
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
}

impl Value<'_> {
    fn kind(&self) -> Kind {
        match self {
            Value::Null(kind) => *kind,
            Value::Int(_) => Kind::Int,
            Value::Real(_) => Kind::Real,
            Value::Text(_) => Kind::Text,
        }
    }
}

/// A Rust value that binds as one [`Value`].
pub trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

/// The kind a type always binds as, so that `None` of it binds as a typed NULL.
pub trait Typed {
    const KIND: Kind;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value<'_> {
                Value::Int(*self as i64)
            }
        }
        impl Typed for $t {
            const KIND: Kind = Kind::Int;
        }
    )*};
}
int_values!(i64, i32, u32, i8, usize);

impl ToValue for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}
impl Typed for bool {
    const KIND: Kind = Kind::Int;
}

impl ToValue for f64 {
    fn to_value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}
impl Typed for f64 {
    const KIND: Kind = Kind::Real;
}

impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}
impl Typed for str {
    const KIND: Kind = Kind::Text;
}

impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}
impl Typed for String {
    const KIND: Kind = Kind::Text;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}
impl<T: Typed + ?Sized> Typed for &T {
    const KIND: Kind = T::KIND;
}

impl<T: ToValue + Typed> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Some(value) => value.to_value(),
            None => Value::Null(T::KIND),
        }
    }
}

/// Bind values to a statement: `params![symbol, regime, limit]`.
#[macro_export]
#[doc(hidden)]
macro_rules! __store_params {
    ($($value:expr),* $(,)?) => {
        &[$(&$value as &dyn $crate::store::db::ToValue),*] as &[&dyn $crate::store::db::ToValue]
    };
}
pub use crate::__store_params as params;

/// Store a type with `as_str` and `FromStr<Err = String>` as its text.
macro_rules! sql_text {
    ($name:ty) => {
        impl $crate::store::db::ToValue for $name {
            fn to_value(&self) -> $crate::store::db::Value<'_> {
                $crate::store::db::Value::Text(std::borrow::Cow::Borrowed(self.as_str()))
            }
        }

        impl $crate::store::db::Typed for $name {
            const KIND: $crate::store::db::Kind = $crate::store::db::Kind::Text;
        }

        impl $crate::store::db::FromCell for $name {
            fn from_cell(cell: $crate::store::db::Cell<'_>) -> Result<$name, String> {
                cell.text()?.parse()
            }
        }
    };
}
pub(crate) use sql_text;

/// One value of a row as read, borrowed from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl<'a> Cell<'a> {
    /// The text of a text cell; anything else is a decoding error.
    pub fn text(self) -> Result<&'a str, String> {
        match self {
            Cell::Text(text) => Ok(text),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

/// A Rust value read from one [`Cell`].
pub trait FromCell: Sized {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String>;
}

impl FromCell for i64 {
    fn from_cell(cell: Cell<'_>) -> Result<i64, String> {
        match cell {
            Cell::Int(i) => Ok(i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl FromCell for i8 {
    fn from_cell(cell: Cell<'_>) -> Result<i8, String> {
        i8::try_from(i64::from_cell(cell)?).map_err(|e| e.to_string())
    }
}

impl FromCell for u8 {
    fn from_cell(cell: Cell<'_>) -> Result<u8, String> {
        u8::try_from(i64::from_cell(cell)?).map_err(|e| e.to_string())
    }
}

impl FromCell for bool {
    fn from_cell(cell: Cell<'_>) -> Result<bool, String> {
        Ok(i64::from_cell(cell)? != 0)
    }
}

impl FromCell for f64 {
    fn from_cell(cell: Cell<'_>) -> Result<f64, String> {
        match cell {
            Cell::Real(r) => Ok(r),
            // SQLite keeps an integral REAL as an integer on disk in some paths, and an
            // aggregate of integers is an integer on both backends.
            Cell::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromCell for String {
    fn from_cell(cell: Cell<'_>) -> Result<String, String> {
        Ok(cell.text()?.to_string())
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: Cell<'_>) -> Result<Option<T>, String> {
        match cell {
            Cell::Null => Ok(None),
            cell => T::from_cell(cell).map(Some),
        }
    }
}

/// A row of a result, on either backend.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a [Owned]),
}

impl Row<'_> {
    /// Column `index`, decoded into `T`.
    pub fn get<T: FromCell>(&self, index: usize) -> Result<T> {
        let cell = self.cell(index)?;
        T::from_cell(cell).map_err(|message| Error::Decode { column: index, message })
    }

    /// Column `index` as read.
    pub fn cell(&self, index: usize) -> Result<Cell<'_>> {
        match &self.inner {
            RowInner::Sqlite(row) => {
                use rusqlite::types::ValueRef;
                Ok(match row.get_ref(index)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(i) => Cell::Int(i),
                    ValueRef::Real(r) => Cell::Real(r),
                    ValueRef::Text(bytes) => Cell::Text(std::str::from_utf8(bytes).map_err(|e| {
                        Error::Decode { column: index, message: format!("text that is not UTF-8: {e}") }
                    })?),
                    ValueRef::Blob(bytes) => Cell::Blob(bytes),
                })
            }
            RowInner::Postgres(cells) => {
                let owned = cells.get(index).ok_or_else(|| Error::Decode {
                    column: index,
                    message: format!("the row has {} columns", cells.len()),
                })?;
                Ok(owned.cell())
            }
        }
    }

    /// How many columns the row has.
    pub fn len(&self) -> usize {
        match &self.inner {
            RowInner::Sqlite(row) => row.as_ref().column_count(),
            RowInner::Postgres(cells) => cells.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A PostgreSQL value, decoded once whatever its column type.
#[derive(Debug, Clone, PartialEq)]
enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Owned {
    fn cell(&self) -> Cell<'_> {
        match self {
            Owned::Null => Cell::Null,
            Owned::Int(i) => Cell::Int(*i),
            Owned::Real(r) => Cell::Real(*r),
            Owned::Text(t) => Cell::Text(t),
            Owned::Blob(b) => Cell::Blob(b),
        }
    }
}

impl<'a> postgres::types::FromSql<'a> for Owned {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Owned, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Owned::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Owned::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Owned::Int(i16::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Owned::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Owned::Real(f32::from_sql(ty, raw)?.into()),
            // A comparison reads as SQLite's 0 or 1.
            Type::BOOL => Owned::Int(bool::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Owned::Text(String::from_sql(ty, raw)?)
            }
            Type::BYTEA => Owned::Blob(raw.to_vec()),
            // What pg_advisory_lock() and set_config-like calls return.
            Type::VOID => Owned::Null,
            _ => return Err(format!("a column of type {ty}, which the store never reads").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Owned, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Owned::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A NUMERIC in PostgreSQL's binary form (what `SUM` and `AVG` of a BIGINT return): an
/// integer when it has no fraction digits, as SQLite's `SUM` of integers is, else the
/// nearest double of its decimal text (as SQLite's `AVG` is a double).
fn numeric(raw: &[u8]) -> Result<Owned, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> Result<u16, String> {
        raw.get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated NUMERIC".to_string())
    };
    let digits = word(0)? as usize;
    let weight = word(1)? as i16 as i64;
    let sign = word(2)?;
    let scale = word(3)?;
    if sign == 0xC000 {
        return Ok(Owned::Real(f64::NAN));
    }
    let groups: Vec<u16> = (0..digits).map(|i| word(4 + i)).collect::<Result<_, _>>()?;
    // Decimal text: the base-10000 groups at positions weight, weight-1, ...
    let mut integer = String::new();
    let mut fraction = String::new();
    for position in (0..=weight.max(0)).rev() {
        let index = weight - position;
        let group = if (0..digits as i64).contains(&index) { groups[index as usize] } else { 0 };
        integer.push_str(&format!("{group:04}"));
    }
    let mut position = -1;
    while (weight - position) < digits as i64 || fraction.len() < scale as usize {
        let index = weight - position;
        let group = if (0..digits as i64).contains(&index) { groups[index as usize] } else { 0 };
        fraction.push_str(&format!("{group:04}"));
        position -= 1;
    }
    let integer = integer.trim_start_matches('0');
    let integer = if integer.is_empty() { "0" } else { integer };
    let negative = if sign == 0x4000 { "-" } else { "" };
    if scale == 0 {
        let text = format!("{negative}{integer}");
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Owned::Int(i));
        }
    }
    let text = format!("{negative}{integer}.{}", if fraction.is_empty() { "0" } else { &fraction });
    Ok(Owned::Real(text.parse::<f64>()?))
}

impl postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null(_) => Ok(IsNull::Yes),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Real(r) => r.to_sql(ty, out),
            Value::Text(t) => t.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

/// How a transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Reads, or writes that do not depend on what they read.
    Deferred,
    /// A read that turns into a write: one such transaction at a time per state.
    Immediate,
    /// Schema changes: alone against everything.
    Exclusive,
}

/// The advisory lock keys of PostgreSQL (any 64-bit numbers nobody else uses; these spell
/// "retrain" and a letter).
pub const LOCK_WRITE: i64 = 0x7265_7472_6169_6e57;
pub const LOCK_MIGRATE: i64 = 0x7265_7472_6169_6e4d;
pub const LOCK_PLAN: i64 = 0x7265_7472_6169_6e50;

/// An open connection.
pub struct Db {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<Pg>>),
}

struct Pg {
    client: postgres::Client,
    /// Prepared statements by their text and parameter kinds: `status` asks the same
    /// questions of hundreds of models, and a prepare is a round trip.
    statements: HashMap<(String, Vec<Kind>), postgres::Statement>,
}

impl Pg {
    fn statement(&mut self, sql: &str, values: &[Value<'_>]) -> Result<postgres::Statement> {
        let kinds: Vec<Kind> = values.iter().map(Value::kind).collect();
        let key = (sql.to_string(), kinds);
        if let Some(statement) = self.statements.get(&key) {
            return Ok(statement.clone());
        }
        let types: Vec<Type> = key.1.iter().map(|k| k.postgres()).collect();
        let statement = self.client.prepare_typed(&postgres_placeholders(sql), &types)?;
        self.statements.insert(key, statement.clone());
        Ok(statement)
    }
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N`, outside quoted text.
fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

fn bound<'a>(params: &'a [&'a dyn ToValue]) -> Vec<Value<'a>> {
    params.iter().map(|p| p.to_value()).collect()
}

impl Db {
    /// Wrap an open SQLite connection.
    pub fn sqlite(conn: rusqlite::Connection) -> Db {
        Db { inner: Inner::Sqlite(conn) }
    }

    /// Connect to PostgreSQL.
    pub fn postgres(client: postgres::Client) -> Db {
        Db { inner: Inner::Postgres(Box::new(RefCell::new(Pg { client, statements: HashMap::new() }))) }
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (its online backup, its pragmas).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(conn) => Some(conn),
            Inner::Postgres(_) => None,
        }
    }

    /// Run a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<usize> {
        let values = bound(params);
        match &self.inner {
            Inner::Sqlite(conn) => {
                let run = || conn.prepare_cached(sql)?.execute(rusqlite::params_from_iter(values.iter()));
                run().map_err(|e| sqlite_error(conn, e))
            }
            Inner::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql, &values)?;
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    values.iter().map(|v| v as &(dyn postgres::types::ToSql + Sync)).collect();
                Ok(pg.client.execute(&statement, &refs)? as usize)
            }
        }
    }

    /// Every row of a query, each through `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let values = bound(params);
        let mut out = Vec::new();
        match &self.inner {
            Inner::Sqlite(conn) => {
                let failed = |e| sqlite_error(conn, e);
                let mut statement = conn.prepare_cached(sql).map_err(failed)?;
                let mut rows = statement.query(rusqlite::params_from_iter(values.iter())).map_err(failed)?;
                while let Some(row) = rows.next().map_err(failed)? {
                    out.push(f(&Row { inner: RowInner::Sqlite(row) })?);
                }
            }
            Inner::Postgres(pg) => {
                let rows = {
                    let mut pg = pg.borrow_mut();
                    let statement = pg.statement(sql, &values)?;
                    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                        values.iter().map(|v| v as &(dyn postgres::types::ToSql + Sync)).collect();
                    pg.client.query(&statement, &refs)?
                };
                let mut cells = Vec::new();
                for row in rows {
                    cells.clear();
                    for index in 0..row.len() {
                        cells.push(row.try_get::<_, Owned>(index)?);
                    }
                    out.push(f(&Row { inner: RowInner::Postgres(&cells) })?);
                }
            }
        }
        Ok(out)
    }

    /// The first row of a query through `f`, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut first = None;
        // Every row is read (the queries that use this return one row or none); only the
        // first goes through `f`.
        self.query_map(sql, params, |row| {
            if let Some(f) = f.take() {
                first = Some(f(row)?);
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// The first row of a query through `f`; no row is an error.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?.ok_or(Error::NoRow)
    }

    /// Statements with no parameters and no result, one after another.
    pub fn batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| sqlite_error(conn, e)),
            Inner::Postgres(pg) => Ok(pg.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Begin a transaction; it rolls back unless committed.
    pub fn transaction(&mut self, begin: Begin) -> Result<Tx<'_>> {
        match (&self.inner, begin) {
            (Inner::Sqlite(_), Begin::Deferred) => self.batch("BEGIN DEFERRED")?,
            (Inner::Sqlite(_), Begin::Immediate) => self.batch("BEGIN IMMEDIATE")?,
            (Inner::Sqlite(_), Begin::Exclusive) => self.batch("BEGIN EXCLUSIVE")?,
            (Inner::Postgres(_), Begin::Deferred) => self.batch("BEGIN")?,
            (Inner::Postgres(_), Begin::Immediate) => {
                self.batch(&format!("BEGIN; SELECT pg_advisory_xact_lock({LOCK_WRITE})"))?
            }
            (Inner::Postgres(_), Begin::Exclusive) => self.batch(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({LOCK_MIGRATE}); SELECT pg_advisory_xact_lock({LOCK_WRITE})"
            ))?,
        }
        Ok(Tx { db: self, done: false })
    }
}

/// An open transaction: every [`Db`] method works on it; dropped without
/// [`commit`](Tx::commit), it rolls back.
pub struct Tx<'a> {
    db: &'a Db,
    done: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.db.batch("COMMIT")
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;

    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // A failed rollback leaves the connection unusable, and the next statement
            // says so; the error that led here is the one to report.
            let _ = self.db.batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            postgres_placeholders("SELECT '?1', x FROM t WHERE a = ?1 AND b IS ?12 OR c = '?'"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b IS $12 OR c = '?'"
        );
    }

    fn numeric_bytes(weight: i16, sign: u16, scale: u16, groups: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in
            [groups.len() as u16, weight as u16, sign, scale].into_iter().chain(groups.iter().copied())
        {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_read_as_sqlite_would_return_them() {
        // 123456789 = 1|2345|6789 in base 10000, weight 2.
        assert_eq!(numeric(&numeric_bytes(2, 0, 0, &[1, 2345, 6789])).unwrap(), Owned::Int(123_456_789));
        // 20000 = 2 at weight 1, trailing zero group dropped.
        assert_eq!(numeric(&numeric_bytes(1, 0, 0, &[2])).unwrap(), Owned::Int(20_000));
        assert_eq!(numeric(&numeric_bytes(0, 0x4000, 0, &[7])).unwrap(), Owned::Int(-7));
        assert_eq!(numeric(&numeric_bytes(0, 0, 0, &[])).unwrap(), Owned::Int(0));
        // 2.5 with 16 fraction digits, as AVG(bigint) returns it.
        assert_eq!(numeric(&numeric_bytes(0, 0, 16, &[2, 5000])).unwrap(), Owned::Real(2.5));
        // 0.0001234 = 0 . 0001 2340, weight -1.
        assert_eq!(numeric(&numeric_bytes(-1, 0, 7, &[1, 2340])).unwrap(), Owned::Real(0.000_123_4));
        assert_eq!(numeric(&numeric_bytes(0, 0x4000, 1, &[3, 5000])).unwrap(), Owned::Real(-3.5));
        assert!(numeric(&[0, 1]).is_err());
    }
}
