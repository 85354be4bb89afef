//! `retrain init`: a commented default config (never over an existing one), the
//! database and the models folder.

use std::path::Path;

use crate::config::{self, DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_YAML};
use crate::error::code;
use crate::output::write_atomic;
use crate::store::Store;

pub fn run(explicit: Option<&Path>) -> anyhow::Result<u8> {
    let file = explicit.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
    if file.exists() {
        println!("{} exists; left as it is", file.display());
    } else {
        write_atomic(file, DEFAULT_CONFIG_YAML.as_bytes())?;
        println!("wrote {}", file.display());
    }
    // Read it back: an existing file must be valid before anything is created from it.
    let resolved = config::load(Some(file))?;
    let models = resolved.models()?;
    models.prepare()?;
    let store = Store::open(&resolved.database())?;
    println!("database {} (schema v{})", store.location().display(), store.schema_version()?);
    println!("models in {}", models.display());
    Ok(code::OK)
}
