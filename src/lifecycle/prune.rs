//! `retrain prune --keep N`: delete the artifact files of old archived versions, keeping
//! their registry rows (marked pruned) for the record. A fleet that retrains nightly
//! otherwise grows by every version's files forever.
//!
//! Never pruned: a version that is not archived (production, canary, candidates); the
//! newest `keep` archived versions of each model; any version named by the model's last
//! deployment row (what `history` shows last for it); and the version the last change of
//! production replaced, which `rollback` returns to (the issue asked for it within
//! `deployment.watch_hours`; it is kept for as long as it is that version, since a manual
//! rollback may come later).
//!
//! The row is marked first, then the files are deleted: a prune killed in between leaves
//! files of a pruned version, which `check` reports and `check --repair` (or the next
//! prune) removes. The other order could leave a row pointing at missing files.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::{Regime, Resolved};
use crate::kinds::VersionStatus;
use crate::store::VersionRow;

/// One version pruned (or that would be).
#[derive(Debug, Clone, Serialize)]
pub struct PrunedVersion {
    pub symbol: String,
    pub regime: Regime,
    pub version: i64,
    pub files: usize,
    pub bytes: u64,
}

/// What a prune did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub keep: usize,
    pub dry_run: bool,
    pub pruned: Vec<PrunedVersion>,
    /// Archived versions kept although beyond `keep`, and why.
    pub protected: Vec<String>,
    /// Artifact bytes before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Prune the archived versions of every model beyond the newest `keep`, at `now`.
pub fn prune(resolved: &Resolved, keep: usize, dry_run: bool, now: i64) -> anyhow::Result<Report> {
    let mut store = super::existing_store(resolved)?;
    let models = resolved.models()?;
    let listed = models.list()?;
    let bytes_before: u64 = listed.iter().map(|(_, size)| size).sum();
    let mut per_folder: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for (path, size) in &listed {
        if let Some((folder, _)) = path.rsplit_once('/') {
            let entry = per_folder.entry(folder).or_default();
            entry.0 += 1;
            entry.1 += size;
        }
    }

    let versions = store.all_versions()?;
    let mut by_model: BTreeMap<(String, Regime), Vec<&VersionRow>> = BTreeMap::new();
    for v in &versions {
        by_model.entry((v.symbol.clone(), v.regime)).or_default().push(v);
    }
    // Files of versions already marked pruned: a prune stopped before deleting them.
    let mut chosen: Vec<&VersionRow> = versions
        .iter()
        .filter(|v| v.pruned_at.is_some() && per_folder.contains_key(v.artifact_path.as_str()))
        .collect();
    let mut protected = Vec::new();
    for ((symbol, regime), mut rows) in by_model {
        let named = named_by_record(&store, &symbol, regime)?;
        rows.sort_by_key(|v| std::cmp::Reverse(v.version));
        let archived = rows.iter().filter(|v| v.status == VersionStatus::Archived && v.pruned_at.is_none());
        for v in archived.skip(keep) {
            match named.get(&v.version) {
                Some(why) => protected.push(format!("{symbol} {regime} v{}: {why}", v.version)),
                None => chosen.push(v),
            }
        }
    }

    let mut pruned = Vec::new();
    for v in chosen {
        let (files, bytes) = per_folder.get(v.artifact_path.as_str()).copied().unwrap_or_default();
        if !dry_run {
            if v.pruned_at.is_none() {
                store.mark_pruned(v.id, now)?;
            }
            crate::failpoint::hit("prune:marked");
            models.remove_dir(&v.artifact_path)?;
        }
        pruned.push(PrunedVersion {
            symbol: v.symbol.clone(),
            regime: v.regime,
            version: v.version,
            files,
            bytes,
        });
    }
    let freed: u64 = pruned.iter().map(|p| p.bytes).sum();
    Ok(Report { keep, dry_run, pruned, protected, bytes_before, bytes_after: bytes_before - freed })
}

/// The versions of a model that its deployment record still needs, with why: those named
/// by its last row, and the version the last change of production replaced.
fn named_by_record(
    store: &crate::store::Store,
    symbol: &str,
    regime: Regime,
) -> anyhow::Result<BTreeMap<i64, &'static str>> {
    let rows = store.deployments(Some(symbol), Some(regime))?;
    let mut named = BTreeMap::new();
    if let Some(last) = rows.last() {
        let versions: BTreeSet<i64> =
            [last.from_version, last.to_version, last.canary_version].into_iter().flatten().collect();
        for v in versions {
            named.insert(v, "named by the model's last deployment row");
        }
    }
    if let Some(change) = rows.iter().rev().find(|d| d.from_version != d.to_version)
        && let Some(from) = change.from_version
    {
        named.insert(from, "the version `rollback` returns to");
    }
    Ok(named)
}
