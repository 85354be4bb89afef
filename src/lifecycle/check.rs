//! `retrain check`: everything that must hold of a state after any crash, checked, with
//! the fix for each problem found; with `repair`, the fixes that lose nothing are made.
//!
//! What holds (the crash-torture test asserts the same after every kill):
//! - the database file is sound (SQLite's `integrity_check` and `foreign_key_check`);
//! - a model has at most one production and one canary version, and a canary has a
//!   running canary test;
//! - every registered version's artifact is there and matches its checksums;
//! - every artifact folder belongs to a registered version, or is being written by a
//!   process that is alive (a pending version, or a temporary folder); a writer that died
//!   leaves files that the next train of its model, the next run or `--repair` removes;
//! - no run is marked running without its process, and no job is marked running outside
//!   a running run (SQLite; on PostgreSQL a lost worker's job is taken over by the next).
//!
//! A repair never deletes a registered version: it removes the files of unregistered
//! versions whose writer died, temporary folders, and stale reservations, and marks runs
//! that died as killed and their jobs abandoned, as the next run would.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::artifact::{self, Models};
use crate::candles::time::{format_rfc3339, wall_millis};
use crate::config::{Regime, Resolved};
use crate::kinds::VersionStatus;
use crate::lock::{Busy, RunLock, pid_alive, writer_alive};
use crate::store::{Location, Store};

/// The parts of a check, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Database,
    Deployment,
    Artifacts,
    Leftovers,
    Runs,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Database => "database",
            Part::Deployment => "deployment",
            Part::Artifacts => "artifacts",
            Part::Leftovers => "leftovers",
            Part::Runs => "runs",
        }
    }
}

/// Something wrong, where, and how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub part: Part,
    /// What it is about: a file, a version, a run.
    pub subject: String,
    pub problem: String,
    pub fix: String,
    /// Fixed by this check's `--repair`.
    pub repaired: bool,
}

/// One part as checked: what was looked at.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub part: Part,
    pub summary: String,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub database: String,
    pub models: String,
    pub checked: Vec<Checked>,
    pub problems: Vec<Problem>,
    /// Writes under way, which are no problem: a writer alive.
    pub in_progress: Vec<String>,
    /// Bytes of every artifact file.
    pub artifact_bytes: u64,
}

impl Report {
    /// Problems that are still there.
    pub fn remaining(&self) -> usize {
        self.problems.iter().filter(|p| !p.repaired).count()
    }
}

/// Check the state of `resolved`; with `repair`, fix what loses nothing.
pub fn check(resolved: &Resolved, repair: bool) -> anyhow::Result<Report> {
    let mut store = super::existing_store(resolved)?;
    let models = resolved.models()?;
    let location = resolved.database();
    // Runs and jobs are repaired only while no run can be working: on SQLite, under the
    // run lock (a run holding it is alive and keeps its own rows).
    let lock = match (&location, repair) {
        (Location::Sqlite(path), true) => {
            let holder = format!("retrain check --repair, pid {}", std::process::id());
            match RunLock::acquire(&path.with_file_name("retrain.lock"), &holder) {
                Ok(lock) => Some(Ok(lock)),
                Err(Busy::Held(by)) => Some(Err(by)),
                Err(Busy::Io(e)) => return Err(anyhow::anyhow!("taking the run lock: {e}")),
            }
        }
        _ => None,
    };
    let mut report = Report {
        database: location.display(),
        models: models.display(),
        checked: Vec::new(),
        problems: Vec::new(),
        in_progress: Vec::new(),
        artifact_bytes: 0,
    };
    database(&store, &mut report)?;
    deployment(&store, &mut report)?;
    artifacts(&mut store, &models, repair, &mut report)?;
    match &location {
        Location::Sqlite(_) => {
            let free = match &lock {
                None | Some(Ok(_)) => Ok(()),
                Some(Err(by)) => Err(by.as_str()),
            };
            runs(&mut store, repair, free, &mut report)?;
        }
        Location::Postgres(_) => leases(&store, &mut report)?,
    }
    Ok(report)
}

fn database(store: &Store, report: &mut Report) -> anyhow::Result<()> {
    let summary = match store.integrity_problems()? {
        Some(problems) => {
            for problem in &problems {
                report.problems.push(Problem {
                    part: Part::Database,
                    subject: report.database.clone(),
                    problem: problem.clone(),
                    fix:
                        "the file is damaged: move it aside and put back a copy made by `retrain state copy`"
                            .into(),
                    repaired: false,
                });
            }
            "integrity_check and foreign_key_check".to_string()
        }
        None => "PostgreSQL checks its own pages and foreign keys".to_string(),
    };
    report.checked.push(Checked {
        part: Part::Database,
        summary: format!("{summary}, schema v{}", store.schema_version()?),
    });
    Ok(())
}

fn deployment(store: &Store, report: &mut Report) -> anyhow::Result<()> {
    for d in store.duplicated_live_versions()? {
        let versions: Vec<String> = d.versions.iter().map(|v| format!("v{v}")).collect();
        report.problems.push(Problem {
            part: Part::Deployment,
            subject: format!("{} {}", d.symbol, d.regime),
            problem: format!("{} versions are {}: {}", versions.len(), d.status, versions.join(", ")),
            fix: format!(
                "keep one: `retrain rollback --symbol {} --regime {}` or `retrain promote`; the schema's unique \
                 indexes forbid this, so the database was changed by hand",
                d.symbol, d.regime
            ),
            repaired: false,
        });
    }
    for (symbol, regime, version) in store.canaries_without_test()? {
        report.problems.push(Problem {
            part: Part::Deployment,
            subject: format!("{symbol} {regime} v{version}"),
            problem: "a canary version with no running canary test".into(),
            fix: format!(
                "promote it (`retrain promote --symbol {symbol} --regime {regime} --version {version}`) or roll \
                 back (`retrain rollback --symbol {symbol} --regime {regime}`)"
            ),
            repaired: false,
        });
    }
    for d in store.deployment_record_disagreements()? {
        let (symbol, regime, live, recorded) = (d.symbol, d.regime, d.live, d.recorded);
        let name = |v: Option<i64>| v.map_or("none".to_string(), |v| format!("v{v}"));
        report.problems.push(Problem {
            part: Part::Deployment,
            subject: format!("{symbol} {regime}"),
            problem: format!(
                "production is {} but the deployment record ends with {}",
                name(live),
                name(recorded)
            ),
            fix: format!(
                "set what is live with a recorded change: `retrain promote --symbol {symbol} --regime {regime} \
                 --version N --force --reason \"...\"` or `retrain rollback`; the record is only ever appended \
                 to, so the database was changed by hand"
            ),
            repaired: false,
        });
    }
    let models = store.registered_models()?.len();
    report.checked.push(Checked {
        part: Part::Deployment,
        summary: format!(
            "{models} model(s): one production and one canary at most, as the deployment record says"
        ),
    });
    Ok(())
}

/// A version's folder as the registry names it.
fn folder(symbol: &str, regime: Regime, version: i64) -> String {
    format!("{symbol}/{}/v{version}", regime.as_str())
}

fn artifacts(store: &mut Store, models: &Models, repair: bool, report: &mut Report) -> anyhow::Result<()> {
    let versions = store.all_versions()?;
    for v in versions.iter().filter(|v| v.pruned_at.is_none()) {
        if let Err(problem) = artifact::verify(models, &v.artifact_path, &v.sha256) {
            let live = matches!(v.status, VersionStatus::Production | VersionStatus::Canary);
            report.problems.push(Problem {
                part: Part::Artifacts,
                subject: format!("{} {} v{} ({})", v.symbol, v.regime, v.version, v.status),
                problem,
                fix: if live {
                    format!(
                        "put back its files from a copy (`retrain state copy` of the models); until then it is never \
                         loaded: promote another version (`retrain rollback --symbol {} --regime {}`)",
                        v.symbol, v.regime
                    )
                } else {
                    "put back its files from a copy (`retrain state copy` of the models); it is not live, so \
                     nothing serves from it meanwhile"
                        .to_string()
                },
                repaired: false,
            });
        }
    }
    report.checked.push(Checked {
        part: Part::Artifacts,
        summary: format!(
            "{} registered version(s) with files, every file against its SHA-256; {} pruned",
            versions.iter().filter(|v| v.pruned_at.is_none()).count(),
            versions.iter().filter(|v| v.pruned_at.is_some()).count()
        ),
    });

    // Every folder under the models, by what owns it.
    let registered: BTreeSet<&str> =
        versions.iter().filter(|v| v.pruned_at.is_none()).map(|v| v.artifact_path.as_str()).collect();
    let pruned: BTreeSet<&str> =
        versions.iter().filter(|v| v.pruned_at.is_some()).map(|v| v.artifact_path.as_str()).collect();
    let pending = store.pending_artifacts()?;
    let counters: BTreeMap<(String, String), i64> = store
        .version_counters()?
        .into_iter()
        .map(|(symbol, regime, last)| ((symbol, regime.as_str().to_string()), last))
        .collect();
    let files = models.list()?;
    report.artifact_bytes = files.iter().map(|(_, size)| size).sum();
    let mut folders: BTreeMap<String, u64> = BTreeMap::new();
    for (path, size) in &files {
        let parts: Vec<&str> = path.split('/').collect();
        let version = parts.get(2).and_then(|p| p.strip_prefix('v')).and_then(|n| n.parse::<i64>().ok());
        match (parts.len(), version) {
            (4, Some(_)) => *folders.entry(parts[..3].join("/")).or_default() += 1,
            _ => report.problems.push(Problem {
                part: Part::Leftovers,
                subject: models.locate(path),
                problem: format!("not part of any version's folder ({size} bytes)"),
                fix: format!(
                    "move it out of {}: retrain keeps only <SYMBOL>/<regime>/v<N>/ there",
                    models.display()
                ),
                repaired: false,
            }),
        }
    }
    let now = wall_millis();
    for (relative, count) in &folders {
        if registered.contains(relative.as_str()) {
            continue;
        }
        if pruned.contains(relative.as_str()) {
            let repaired = repair && {
                models.remove_dir(relative)?;
                true
            };
            report.problems.push(Problem {
                part: Part::Leftovers,
                subject: models.locate(relative),
                problem: format!(
                    "files ({count}) of a version marked pruned: a prune stopped before deleting them"
                ),
                fix: "`retrain check --repair` removes them (so does the next `retrain prune`)".into(),
                repaired,
            });
            continue;
        }
        let pending_row = pending.iter().find(|p| folder(&p.symbol, p.regime, p.version) == *relative);
        if let Some(p) = pending_row
            && writer_alive(&p.writer, p.started_at, now)
        {
            report.in_progress.push(format!(
                "{}: being written by {} since {}",
                models.locate(relative),
                p.writer,
                format_rfc3339(p.started_at)
            ));
            continue;
        }
        let parts: Vec<&str> = relative.split('/').collect();
        let number: i64 = parts[2][1..].parse().unwrap_or(i64::MAX);
        let reserved =
            counters.get(&(parts[0].to_string(), parts[1].to_string())).is_some_and(|last| number <= *last);
        let subject = models.locate(relative);
        if !reserved {
            report.problems.push(Problem {
                part: Part::Leftovers,
                subject,
                problem: format!("a version folder ({count} files) whose number this state never handed out"),
                fix: format!(
                    "move it away: does another state write to {}? (each state needs a models folder of its own)",
                    models.display()
                ),
                repaired: false,
            });
            continue;
        }
        let problem = match pending_row {
            Some(p) => format!(
                "files of a version never registered: its writer ({}, since {}) died before registering it",
                p.writer,
                format_rfc3339(p.started_at)
            ),
            None => "files of a version never registered (its writer died before registering it)".to_string(),
        };
        let repaired = repair && {
            models.remove_dir(relative)?;
            if let Some(p) = pending_row {
                store.forget_pending(&p.symbol, p.regime, p.version)?;
            }
            true
        };
        report.problems.push(Problem {
            part: Part::Leftovers,
            subject,
            problem,
            fix: "`retrain check --repair` removes them (so does the next train of the model); nothing uses them"
                .into(),
            repaired,
        });
    }
    // Reservations whose writer died before writing anything.
    for p in &pending {
        let relative = folder(&p.symbol, p.regime, p.version);
        if folders.contains_key(&relative) || writer_alive(&p.writer, p.started_at, now) {
            if !folders.contains_key(&relative) {
                report.in_progress.push(format!(
                    "{} {} v{}: reserved by {} since {}, being trained",
                    p.symbol,
                    p.regime,
                    p.version,
                    p.writer,
                    format_rfc3339(p.started_at)
                ));
            }
            continue;
        }
        let repaired = repair && {
            store.forget_pending(&p.symbol, p.regime, p.version)?;
            true
        };
        report.problems.push(Problem {
            part: Part::Leftovers,
            subject: format!("{} {} v{}", p.symbol, p.regime, p.version),
            problem: format!(
                "reserved by {} at {}, which died before writing it",
                p.writer,
                format_rfc3339(p.started_at)
            ),
            fix: "`retrain check --repair` forgets the reservation (the number is never handed out again)"
                .into(),
            repaired,
        });
    }
    for (relative, pid) in models.temporaries()? {
        if pid.is_some_and(pid_alive) {
            report.in_progress.push(format!(
                "{}: being written by pid {}",
                models.locate(&relative),
                pid.unwrap_or(0)
            ));
            continue;
        }
        let repaired = repair && {
            models.remove_dir(&relative)?;
            true
        };
        report.problems.push(Problem {
            part: Part::Leftovers,
            subject: models.locate(&relative),
            problem: "a temporary folder left by a writer that died".into(),
            fix: "`retrain check --repair` removes it (so does the next train of the model)".into(),
            repaired,
        });
    }
    report.checked.push(Checked {
        part: Part::Leftovers,
        summary: format!("{} file(s) in {} version folder(s)", files.len(), folders.len()),
    });
    Ok(())
}

/// SQLite: runs marked running whose process is gone, and jobs marked running outside a
/// running run. `free` is whether this check holds the run lock (with --repair), or who does.
fn runs(store: &mut Store, repair: bool, free: Result<(), &str>, report: &mut Report) -> anyhow::Result<()> {
    let now = wall_millis();
    let open = store.open_runs()?;
    let mut open_alive = 0;
    for run in &open {
        if pid_alive(run.pid) {
            open_alive += 1;
            report.in_progress.push(format!(
                "run {} (pid {}) since {}, {} job(s) running",
                run.id,
                run.pid,
                format_rfc3339(run.started_at),
                run.running_jobs
            ));
            continue;
        }
        let repaired = repair && free.is_ok() && {
            store.mark_run_killed(run.id, now)?;
            true
        };
        report.problems.push(Problem {
            part: Part::Runs,
            subject: format!("run {} (pid {})", run.id, run.pid),
            problem: format!(
                "started {} and died without finishing, {} job(s) marked running",
                format_rfc3339(run.started_at),
                run.running_jobs
            ),
            fix: repair_fix(free, "marks it killed and its jobs abandoned"),
            repaired,
        });
    }
    let stray = if open_alive == 0 { store.stray_running_jobs()? } else { Vec::new() };
    for job in stray {
        let repaired = repair && free.is_ok() && {
            store.abandon_stray_job(job.id, now)?;
            true
        };
        report.problems.push(Problem {
            part: Part::Runs,
            subject: format!("job {} ({} {})", job.id, job.symbol, job.regime),
            problem: match job.run_id {
                Some(run) => format!("marked running, but its run {run} is over"),
                None => "marked running, but no run took it".into(),
            },
            fix: repair_fix(free, "marks it abandoned"),
            repaired,
        });
    }
    report
        .checked
        .push(Checked { part: Part::Runs, summary: format!("{} run(s) marked running", open.len()) });
    Ok(())
}

fn repair_fix(free: Result<(), &str>, what: &str) -> String {
    match free {
        Ok(()) => {
            format!("the next `retrain run` {what} and does the work again; so does `retrain check --repair`")
        }
        Err(by) => format!("the next `retrain run` {what}; a run is working now ({by}), so --repair left it"),
    }
}

/// PostgreSQL: jobs whose worker's lease ran out are taken over by the next worker, which
/// is no problem; they are reported as under way.
fn leases(store: &Store, report: &mut Report) -> anyhow::Result<()> {
    let running = store.running_jobs()?;
    for job in &running {
        report.in_progress.push(format!(
            "job {} ({} {}) on {}",
            job.id,
            job.symbol,
            job.regime,
            job.worker.as_deref().unwrap_or("a worker")
        ));
    }
    report.checked.push(Checked {
        part: Part::Runs,
        summary: format!(
            "{} job(s) running; a lost worker's job is taken over when its lease runs out",
            running.len()
        ),
    });
    Ok(())
}

/// Remove what writers that died left: the files and reservations of versions they never
/// registered, and their temporary folders (of one model, or of all). The next train of a
/// model and the next run call this; it never touches a registered version or the files
/// of a writer still alive. Returns what it removed, for the run's log.
pub fn remove_dead_writes(
    store: &mut Store,
    models: &Models,
    only: Option<(&str, Regime)>,
) -> anyhow::Result<Vec<String>> {
    let now = wall_millis();
    let mut removed = Vec::new();
    for p in store.pending_artifacts()? {
        if only.is_some_and(|(s, r)| s != p.symbol || r != p.regime)
            || writer_alive(&p.writer, p.started_at, now)
        {
            continue;
        }
        let relative = folder(&p.symbol, p.regime, p.version);
        models.remove_dir(&relative)?;
        store.forget_pending(&p.symbol, p.regime, p.version)?;
        removed
            .push(format!("{} {} v{} (reserved by {}, which died)", p.symbol, p.regime, p.version, p.writer));
    }
    match only {
        Some((symbol, regime)) => models.remove_leftovers(symbol, regime.as_str()),
        None => {
            for (relative, pid) in models.temporaries()? {
                if !pid.is_some_and(pid_alive) {
                    models.remove_dir(&relative)?;
                }
            }
        }
    }
    Ok(removed)
}
