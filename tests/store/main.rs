//! The store's tests against SQLite and a models folder: `cargo test --test store`. The
//! same suite runs against PostgreSQL and S3 as the target `store_postgres`
//! (tests/store/postgres.rs), which `.ci/run` runs with its servers.

mod suite;

use retrain::artifact::Models;
use retrain::store::{Location, Store};

/// A fresh, empty state and whatever keeps it alive.
pub struct Fresh {
    pub store: Store,
    pub location: Location,
    pub models: Models,
    _dir: tempfile::TempDir,
}

pub fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let location = Location::Sqlite(dir.path().join("retrain.db"));
    let models = Models::Local(dir.path().join("models"));
    Fresh { store: Store::open(&location).unwrap(), location, models, _dir: dir }
}
