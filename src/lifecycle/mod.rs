//! The lifecycle: the work that commands and `run` share, one floor below the commands (the
//! role cargo's `ops/` plays under its `commands/`). Training and registration,
//! evaluation, drift, gates and deployment, live signals, the assessment of every model,
//! the run's jobs and the status report live here; none of it knows of clap, and every
//! function that needs "now" is given it, so that `run --now`, a replay of thousands of
//! instants, or two workers in one process each keep their own clock.

pub mod assess;
pub mod backup;
pub mod check;
pub mod collect;
pub mod deploy;
pub mod detail;
pub mod drift;
pub mod evaluate;
pub mod job;
pub mod live;
pub mod prune;
pub mod report;
pub mod run;
pub mod status;
pub mod train;

use crate::artifact::{self, Loaded};
use crate::config::Resolved;
use crate::error::Failure;
use crate::evaluation::score::{self, View};
use crate::store::{Store, VersionRow};

/// Open the store if it exists; a command that reads (or a dry run) on a fresh folder has
/// nothing to read, and must not create the database.
pub fn existing_store(resolved: &Resolved) -> anyhow::Result<Store> {
    let location = resolved.database();
    Store::open_existing(&location)?.ok_or_else(|| {
        Failure::Usage(format!(
            "no database at {}: run `retrain init` and `retrain collect` first",
            location.display()
        ))
        .into()
    })
}

/// Load a version's artifact, verifying every checksum; a failure names the file and
/// refuses (exit 3): a damaged model is never used.
pub fn load_artifact(resolved: &Resolved, version: &VersionRow) -> Result<Loaded, Failure> {
    if let Some(at) = version.pruned_at {
        return Err(Failure::Refused(format!(
            "{} {} v{}: its artifact was pruned on {} (`retrain prune`); its registry row is all that is left",
            version.symbol,
            version.regime,
            version.version,
            crate::candles::time::format_minute(at)
        )));
    }
    let models = resolved.models()?;
    artifact::load(&models, &version.artifact_path, &version.sha256).map_err(|e| {
        Failure::Refused(format!(
            "{} {} v{}: the artifact fails its check: {e}",
            version.symbol, version.regime, version.version
        ))
    })
}

/// The stored candles of a version's series, seen through the version: its features,
/// predictions and labels.
pub fn version_view(store: &Store, version: &VersionRow, loaded: &Loaded) -> anyhow::Result<View> {
    let candles = store.candles(&version.symbol, version.interval, None)?;
    score::view(&candles, loaded).map_err(|e| anyhow::anyhow!("{e}"))
}

/// An alert a step raised (or found still open), with its message.
#[derive(Debug, Clone, PartialEq)]
pub struct RaisedAlert {
    pub raised: crate::store::Raised,
    pub message: String,
}

impl RaisedAlert {
    /// The alert's id, new or open.
    pub fn id(&self) -> i64 {
        match self.raised {
            crate::store::Raised::New(id) | crate::store::Raised::AlreadyOpen(id) => id,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self.raised, crate::store::Raised::New(_))
    }
}
