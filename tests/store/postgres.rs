//! The store's tests against PostgreSQL: `cargo test --test store_postgres` with
//! `TEST_POSTGRES_URL` naming a server (each test gets a database of its own). The same
//! suite runs against SQLite as `cargo test --test store`; what only a server has (two
//! processes migrating at once, the schema compared with SQLite's) is in `server`.

mod fleet;
#[path = "../common/gates.rs"]
mod gates;
#[path = "../common/postgres.rs"]
mod postgres;
mod server;
mod suite;

use retrain::store::{Location, Store};

/// A fresh, empty state and whatever keeps it alive.
pub struct Fresh {
    pub store: Store,
    pub location: Location,
    _database: postgres::TestDatabase,
}

pub fn fresh() -> Fresh {
    let database = postgres::TestDatabase::create();
    let location = Location::Postgres(database.url.clone());
    Fresh { store: Store::open(&location).unwrap(), location, _database: database }
}
