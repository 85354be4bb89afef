//! The store's tests against PostgreSQL and S3: `cargo test --test store_postgres` with
//! `TEST_POSTGRES_URL` and `TEST_S3_ENDPOINT` naming servers (each test gets a database and
//! a bucket of its own). The same
//! suite runs against SQLite as `cargo test --test store`; what only a server has (two
//! processes migrating at once, the schema compared with SQLite's) is in `server`.

mod fleet;
#[path = "../common/gates.rs"]
mod gates;
#[path = "../common/postgres.rs"]
mod postgres;
#[path = "../common/s3.rs"]
mod s3;
mod server;
mod suite;

use retrain::artifact::Models;
use retrain::store::{Location, Store};

/// A fresh, empty state and whatever keeps it alive.
pub struct Fresh {
    pub store: Store,
    pub location: Location,
    pub models: Models,
    _database: postgres::TestDatabase,
}

pub fn fresh() -> Fresh {
    let database = postgres::TestDatabase::create();
    let location = Location::Postgres(database.url.clone());
    let models = s3::TestBucket::create().models("models");
    Fresh { store: Store::open(&location).unwrap(), location, models, _database: database }
}
