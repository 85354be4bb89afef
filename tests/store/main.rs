//! The store's tests against SQLite: `cargo test --test store`. The same suite runs
//! against PostgreSQL as the target `store_postgres` (tests/store/postgres.rs), which
//! `.ci/run` runs with a server.

mod suite;

use retrain::store::{Location, Store};

/// A fresh, empty state and whatever keeps it alive.
pub struct Fresh {
    pub store: Store,
    pub location: Location,
    _dir: tempfile::TempDir,
}

pub fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let location = Location::Sqlite(dir.path().join("retrain.db"));
    Fresh { store: Store::open(&location).unwrap(), location, _dir: dir }
}
