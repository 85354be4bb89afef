//! Deployment: the gates a candidate must pass, its promotion (or canary start), and the
//! rollback to an earlier production version. Each change of what is live is one store
//! transaction that says why.

use super::evaluate::champion_vs_challenger;
use super::{load_artifact, version_view};
use crate::config::{DriftMethod, Resolved};
use crate::deploy::gates::{self, Evidence, Gate, RecentDrift, Versus};
use crate::drift;
use crate::error::Failure;
use crate::evaluation::score::{self, Requested};
use crate::evaluation::versus;
use crate::kinds::{DeploymentAction, VersionStatus};
use crate::store::{Change, DeploymentRow, Store, VersionRow};

/// Gather the evidence at `now` and check every gate. The candidate's artifact must pass
/// its checksum (or this is refused); the champion's is compared if it does.
pub fn check_gates(
    resolved: &Resolved,
    store: &Store,
    candidate: &VersionRow,
    champion: Option<&VersionRow>,
    now: i64,
) -> anyhow::Result<Vec<Gate>> {
    let settings = &resolved.settings;
    let loaded = load_artifact(resolved, candidate)?;
    let view = version_view(store, candidate, &loaded)?;
    let test = store.test_record(candidate.id)?.unwrap_or_default();

    let versus = match champion {
        None => {
            let unseen = score::unseen_start(
                &view.table.open_time,
                loaded.manifest.validation.to,
                loaded.manifest.label.horizon_bars as usize,
            );
            Versus::FirstModel {
                baselines: versus::against_baselines(settings, candidate.interval, &view, unseen),
            }
        }
        Some(champion) => {
            let not_comparable =
                |why: String| Versus::NotComparable { champion_version: champion.version, why };
            if champion.interval != candidate.interval {
                not_comparable(format!(
                    "it trades {} candles, the candidate {}",
                    champion.interval, candidate.interval
                ))
            } else {
                match load_artifact(resolved, champion) {
                    Err(damaged) => not_comparable(damaged.to_string()),
                    Ok(champion_model) => {
                        let champion_view = version_view(store, champion, &champion_model)?;
                        match champion_vs_challenger(
                            settings,
                            candidate.interval,
                            (&champion_model, &champion_view),
                            (&loaded, &view),
                            Requested::Between(i64::MIN, i64::MAX),
                        ) {
                            Ok(compared) => Versus::Compared {
                                champion_version: champion.version,
                                comparison: compared.comparison,
                            },
                            Err(why) => not_comparable(why),
                        }
                    }
                }
            }
        }
    };

    let days = settings.drift.window_days;
    // Which drift gate applies when nothing can be measured: the one the model would be
    // judged by.
    let judged_calibrated =
        settings.drift.method == DriftMethod::Calibrated && loaded.reference.calibration.is_some();
    let recent = score::window(&view.table.open_time, Requested::LastDays(days), 0)
        .map(|window| window.filter(|&i| view.predictions[i].is_some()).collect::<Vec<usize>>());
    let drift = match recent {
        Ok(rows) if !rows.is_empty() => {
            let importance = loaded.manifest.importance.as_ref().map(|i| i.impurity.as_slice());
            let report =
                drift::model::against_reference(&view, &loaded.reference, importance, &rows, &settings.drift);
            match (report.method, report.weighted_share) {
                (DriftMethod::Calibrated, Some(share)) => RecentDrift::Calibrated {
                    share,
                    drifted: report.features.iter().filter(|f| f.drifted).map(|f| f.name.clone()).collect(),
                    rows: rows.len(),
                },
                _ => report
                    .features
                    .iter()
                    .filter_map(|f| f.ks_statistic.map(|ks| (ks, &f.name)))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map_or(
                        RecentDrift::NotMeasured {
                            why: "no feature could be measured".into(),
                            calibrated: false,
                        },
                        |(ks, name)| RecentDrift::Measured {
                            max_ks: ks,
                            feature: name.clone(),
                            rows: rows.len(),
                        },
                    ),
            }
        }
        Ok(_) => RecentDrift::NotMeasured {
            why: format!(
                "no bar of the last {days} days (drift.window_days) is in the {} regime",
                candidate.regime
            ),
            calibrated: judged_calibrated,
        },
        Err(why) => RecentDrift::NotMeasured { why, calibrated: judged_calibrated },
    };
    let hours_since_deployment = store
        .last_deployment_at(&candidate.symbol, candidate.regime)?
        .map(|at| (now - at) as f64 / 3_600_000.0);
    Ok(gates::check(&Evidence { test, versus, drift, hours_since_deployment }, &settings.gates))
}

/// How a candidate goes live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GoLive {
    /// It becomes production at once; the champion (if any) is archived.
    Production,
    /// A canary test: this percent of predictions goes to it until the test ends.
    Canary(f64),
}

/// Make `candidate` production, or start its canary test against `champion`, as `change`
/// says. The champion's artifact must pass its checksum for a canary, which will serve
/// from it.
pub fn go_live(
    resolved: &Resolved,
    store: &mut Store,
    candidate: &VersionRow,
    champion: Option<&VersionRow>,
    how: GoLive,
    change: &Change,
) -> anyhow::Result<()> {
    match (how, champion) {
        (GoLive::Canary(split), Some(champion)) => {
            load_artifact(resolved, champion)?;
            store.start_canary(candidate.id, champion.id, split, change)?;
        }
        (GoLive::Canary(_), None) => {
            return Err(Failure::Usage(format!(
                "{} {} has no production version to test v{} against",
                candidate.symbol, candidate.regime, candidate.version
            ))
            .into());
        }
        (GoLive::Production, _) => {
            store.promote(candidate.id, champion.map(|c| c.id), change)?;
        }
    }
    Ok(())
}

/// The version a rollback of a model goes back to: `to` when given, else the version the
/// current one replaced when it was promoted. It must have been live before and pass its
/// checksum.
pub fn rollback_target<'a>(
    resolved: &Resolved,
    versions: &'a [VersionRow],
    history: &[DeploymentRow],
    to: Option<i64>,
    name: &str,
) -> anyhow::Result<&'a VersionRow> {
    let current = versions.iter().find(|v| v.status == VersionStatus::Production);
    let target_version = match to {
        Some(n) => n,
        None => {
            // The rows of earlier rollbacks are skipped, so that rolling back twice walks
            // further back instead of returning to the version just rolled away from.
            let current = current.ok_or_else(|| {
                Failure::Refused(format!("{name} has no production version: nothing to roll back"))
            })?;
            history
                .iter()
                .rev()
                .find(|d| {
                    d.to_version == Some(current.version)
                        && d.from_version != d.to_version
                        && d.action != DeploymentAction::Rollback
                })
                .and_then(|d| d.from_version)
                .ok_or_else(|| {
                    Failure::Refused(format!(
                        "{name} v{} is the first production version: there is none before it to roll back to",
                        current.version
                    ))
                })?
        }
    };
    let target = versions
        .iter()
        .find(|v| v.version == target_version)
        .ok_or_else(|| Failure::Usage(format!("{name} has no version v{target_version}")))?;
    if target.status == VersionStatus::Production {
        return Err(Failure::Usage(format!("{name} v{target_version} is already production")).into());
    }
    let was_live = history.iter().any(|d| d.to_version == Some(target_version));
    if !was_live || target.status != VersionStatus::Archived {
        return Err(Failure::Refused(format!(
            "{name} v{target_version} ({}) was never in production: `retrain promote --version {target_version}` \
             puts it there through the gates",
            target.status
        ))
        .into());
    }
    load_artifact(resolved, target)?;
    Ok(target)
}
