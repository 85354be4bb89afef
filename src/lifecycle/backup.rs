//! `retrain backup` and `retrain restore`: a consistent copy of a whole state, taken while
//! runs may be working, and put back into an empty state.
//!
//! A backup is a folder: `retrain.db` (a SQLite database, whatever the state's backend),
//! `models/` (the files of every version the database registers, in the usual layout) and
//! `backup.json` (what was copied, with every file's SHA-256). It is built under a
//! temporary name beside the target and renamed into place once complete and synced, so
//! a folder named like the target is always a whole backup.
//!
//! Consistency: the database is copied first, from one snapshot (SQLite's online backup
//! API, in one step under a read transaction, so that writers go on meanwhile; on
//! PostgreSQL the store's copy reads every table in one repeatable-read transaction).
//! Then the artifacts of exactly the versions that snapshot registers are copied, each
//! checked against its checksums. Files are never rewritten once published, so a version
//! registered in the snapshot still has the bytes it was registered with.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::artifact::{self, Models, sha256_hex};
use crate::candles::time::{format_rfc3339, wall_millis};
use crate::config::Resolved;
use crate::error::Failure;
use crate::store::{Location, Store, copy};

pub const DATABASE_FILE: &str = "retrain.db";
pub const MODELS_FOLDER: &str = "models";
pub const INDEX_FILE: &str = "backup.json";

/// `backup.json`: what a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub tool: String,
    pub created_at: String,
    /// The state it was taken from.
    pub database: String,
    pub models: String,
    pub schema_version: i64,
    /// Registered versions with files (pruned ones have none).
    pub versions: usize,
    /// The database file and every artifact file, '/'-separated, relative to the backup.
    pub files: Vec<IndexedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Index {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Take a backup of the state of `resolved` into `to`, which must not exist or be an
/// empty folder.
pub fn backup(resolved: &Resolved, to: &Path) -> anyhow::Result<Index> {
    refuse_non_empty(to)?;
    let location = resolved.database();
    let store = super::existing_store(resolved)?;
    let models = resolved.models()?;
    drop(store);
    let staging = staging_path(to)?;
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let built = build(&location, &models, &staging);
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    let index = built?;
    if to.exists() {
        // An empty folder: rename(2) replaces it.
        std::fs::remove_dir(to).with_context(|| format!("replacing the empty {}", to.display()))?;
    }
    std::fs::rename(&staging, to)
        .with_context(|| format!("renaming {} to {}", staging.display(), to.display()))?;
    sync_dir(to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    Ok(index)
}

fn build(location: &Location, models: &Models, staging: &Path) -> anyhow::Result<Index> {
    let database = staging.join(DATABASE_FILE);
    match location {
        Location::Sqlite(path) => online_backup(path, &database)?,
        Location::Postgres(_) => {
            copy::copy(location, &Location::Sqlite(database.clone()))?;
        }
    }
    let snapshot = Store::open_read_only(&Location::Sqlite(database.clone()))?;
    let versions = snapshot.all_versions()?;
    let schema_version = snapshot.schema_version()?;
    drop(snapshot);

    let mut files = vec![indexed(DATABASE_FILE, &std::fs::read(&database).context("reading the copy back")?)];
    let copied = Models::Local(staging.join(MODELS_FOLDER));
    let mut damaged = Vec::new();
    for v in versions.iter().filter(|v| v.pruned_at.is_none()) {
        match artifact::verified_files(models, &v.artifact_path, &v.sha256) {
            Ok(version_files) => {
                let (manifest, data) = version_files.split_last().expect("a manifest");
                let data: Vec<(&str, &[u8])> = data.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
                copied.publish(&v.artifact_path, &data, (manifest.0.as_str(), &manifest.1))?;
                for (name, bytes) in &version_files {
                    files.push(indexed(&format!("{MODELS_FOLDER}/{}/{name}", v.artifact_path), bytes));
                }
            }
            Err(problem) => damaged.push(format!("{} {} v{}: {problem}", v.symbol, v.regime, v.version)),
        }
    }
    if !damaged.is_empty() {
        anyhow::bail!(
            "{} artifact(s) fail their check, so no backup was written (`retrain check` lists them): {}",
            damaged.len(),
            damaged.join("; ")
        );
    }
    let index = Index {
        tool: concat!("retrain ", env!("CARGO_PKG_VERSION")).to_string(),
        created_at: format_rfc3339(wall_millis()),
        database: location.display(),
        models: models.display(),
        schema_version,
        versions: versions.iter().filter(|v| v.pruned_at.is_none()).count(),
        files,
    };
    crate::output::write_atomic(&staging.join(INDEX_FILE), &serde_json::to_vec_pretty(&index)?)?;
    sync_dir(staging);
    Ok(index)
}

/// SQLite's online backup of `from` into a new file `to`: every page in one step, so one
/// read transaction sees one state while writers (in WAL mode) go on.
fn online_backup(from: &Path, to: &Path) -> anyhow::Result<()> {
    use rusqlite::{Connection, OpenFlags, backup};
    let source = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", from.display()))?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    let mut target = Connection::open(to).with_context(|| format!("creating {}", to.display()))?;
    {
        let copy = backup::Backup::new(&source, &mut target)?;
        let mut attempts = 0;
        loop {
            match copy.step(-1).with_context(|| format!("backing up {}", from.display()))? {
                backup::StepResult::Done => break,
                backup::StepResult::More => continue,
                backup::StepResult::Busy | backup::StepResult::Locked if attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                _ => anyhow::bail!("backing up {}: the database stayed locked for 10 s", from.display()),
            }
        }
    }
    // One self-contained file: no -wal beside it.
    target.pragma_update(None, "journal_mode", "DELETE")?;
    let problems: String = target.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    anyhow::ensure!(problems == "ok", "the copy of {} fails its integrity check: {problems}", from.display());
    drop(target);
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", to.display()))?;
    Ok(())
}

fn indexed(path: &str, bytes: &[u8]) -> IndexedFile {
    IndexedFile { path: path.to_string(), bytes: bytes.len() as u64, sha256: sha256_hex(bytes) }
}

fn refuse_non_empty(to: &Path) -> anyhow::Result<()> {
    if to.is_file() {
        return Err(Failure::Usage(format!(
            "{}: a file; name a folder that does not exist yet",
            to.display()
        ))
        .into());
    }
    if let Ok(mut entries) = std::fs::read_dir(to)
        && entries.next().is_some()
    {
        return Err(Failure::Usage(format!(
            "{} is not empty: a backup goes into a new or empty folder, never over another",
            to.display()
        ))
        .into());
    }
    Ok(())
}

fn staging_path(to: &Path) -> anyhow::Result<PathBuf> {
    let name = to
        .file_name()
        .ok_or_else(|| Failure::Usage(format!("{}: name a folder", to.display())))?
        .to_string_lossy();
    let parent = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    Ok(parent.join(format!(".{name}.tmp-{}", std::process::id())))
}

fn sync_dir(path: &Path) {
    if let Ok(dir) = std::fs::File::open(path) {
        let _ = dir.sync_all();
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub from: String,
    pub database: String,
    pub models: String,
    pub tables: usize,
    pub rows: u64,
    pub versions: usize,
    pub files: usize,
    pub bytes: u64,
}

/// Put the backup at `from` into the (empty) state of `resolved`, then verify it: every
/// file of the backup is checked against `backup.json` before anything is written; the
/// database copy is compared table by table; every restored version's artifact is
/// checked against its checksums.
pub fn restore(resolved: &Resolved, from: &Path) -> anyhow::Result<Restored> {
    let index_path = from.join(INDEX_FILE);
    let text = std::fs::read(&index_path).map_err(|e| {
        Failure::Usage(format!(
            "{}: {e} (is {} a backup made by `retrain backup`?)",
            index_path.display(),
            from.display()
        ))
    })?;
    let index: Index = serde_json::from_slice(&text)
        .map_err(|e| Failure::Input(format!("{}: {e}", index_path.display())))?;
    for file in &index.files {
        let path = from.join(&file.path);
        let bytes = std::fs::read(&path).map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))?;
        if sha256_hex(&bytes) != file.sha256 {
            return Err(Failure::Refused(format!(
                "{}: checksum mismatch ({} has {}); the backup is damaged and nothing was restored",
                path.display(),
                INDEX_FILE,
                file.sha256
            ))
            .into());
        }
    }
    let location = resolved.database();
    let models = resolved.models()?;
    if Store::exists(&location)? && !matches!(location, Location::Postgres(_)) {
        return Err(Failure::Usage(format!(
            "{} exists: a backup is restored only into an empty state (move the old one aside first)",
            location.display()
        ))
        .into());
    }
    if let Some((first, _)) = models.list()?.first() {
        return Err(Failure::Usage(format!(
            "{} is not empty (it holds {first}): a backup is restored only into an empty state",
            models.display()
        ))
        .into());
    }

    // The backup's database is read through a copy, so that the backup itself is never
    // migrated or otherwise touched.
    let scratch = scratch_path();
    std::fs::copy(from.join(DATABASE_FILE), &scratch).context("copying the backup's database")?;
    let source = Location::Sqlite(scratch.clone());
    let copied_models = artifact::copy::copy_all(&Models::Local(from.join(MODELS_FOLDER)), &models);
    let copied = copied_models.and_then(|files| copy::copy(&source, &location).map(|tables| (files, tables)));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
    }
    let (files, tables) = match copied {
        Ok(done) => done,
        Err(e) => {
            // Leave the state as empty as it was found.
            let folders: std::collections::BTreeSet<String> = models
                .list()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(path, _)| path.rsplit_once('/').map(|(folder, _)| folder.to_string()))
                .collect();
            for folder in folders {
                let _ = models.remove_dir(&folder);
            }
            return Err(e.context("restoring; the models written so far were removed"));
        }
    };
    let store = Store::open_read_only(&location)?;
    let versions = store.all_versions()?;
    for v in versions.iter().filter(|v| v.pruned_at.is_none()) {
        artifact::verify(&models, &v.artifact_path, &v.sha256).map_err(|problem| {
            anyhow::anyhow!("{} {} v{} after the restore: {problem}", v.symbol, v.regime, v.version)
        })?;
    }
    Ok(Restored {
        from: from.display().to_string(),
        database: location.display(),
        models: models.display(),
        tables: tables.tables.len(),
        rows: tables.tables.iter().map(|t| t.rows).sum(),
        versions: versions.iter().filter(|v| v.pruned_at.is_none()).count(),
        files: files.files,
        bytes: files.bytes,
    })
}

/// Where the backup's database is copied to be read, in the system's temporary folder.
fn scratch_path() -> PathBuf {
    std::env::temp_dir().join(format!("retrain-restore-{}.db", std::process::id()))
}
