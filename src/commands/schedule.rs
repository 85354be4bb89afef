//! `retrain schedule`: fire times of the configured schedules or of any expression, and
//! the crontab line, GitHub Actions workflow or Kubernetes manifests that call `retrain
//! run` (a fleet's, on a PostgreSQL state, in [`fleet`] and [`kubernetes`]).

mod fleet;
mod kubernetes;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::candles::time::wall_millis;
use crate::cli::ScheduleArgs;
use crate::config::Resolved;
use crate::error::{Failure, code};
use crate::schedule::{self, Crontab};

pub fn run(resolved: &Resolved, args: &ScheduleArgs) -> anyhow::Result<u8> {
    if args.next > 10_000 {
        return Err(Failure::Usage(format!("--next {}: at most 10000", args.next)).into());
    }
    let from = args.from.unwrap_or_else(wall_millis);
    let from =
        DateTime::from_timestamp_millis(from).ok_or_else(|| Failure::Usage("--from: out of range".into()))?;
    if args.crontab || args.github_actions || args.kubernetes {
        print!("{}", printed(resolved, args, cadence(resolved, from)?)?);
        return Ok(code::OK);
    }
    let jobs: Vec<(String, String, String)> = match &args.expr {
        Some(expr) => vec![("--expr".into(), expr.clone(), args.tz.clone())],
        None => resolved
            .settings
            .schedule
            .jobs
            .iter()
            .map(|j| (j.models.clone(), j.cron.clone(), j.timezone.clone()))
            .collect(),
    };
    if jobs.is_empty() {
        println!(
            "no schedule.jobs in the config: `run` retrains on its other triggers only (try --expr \"0 2 * * *\")"
        );
        return Ok(code::OK);
    }
    let mut docs = Vec::new();
    for (models, expr, zone) in &jobs {
        let cron: Crontab = expr.parse().map_err(|e| Failure::Usage(format!("--expr: {e}")))?;
        let tz = schedule::zone(zone).map_err(|e| Failure::Usage(format!("--tz: {e}")))?;
        let times = cron.next(tz, from, args.next);
        if args.json {
            docs.push(json!({
                "models": models,
                "cron": expr,
                "timezone": zone,
                "next": times.iter().map(|t| json!({
                    "local": t.with_timezone(&tz).to_rfc3339(),
                    "utc": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        println!("{models}: {expr:?} in {zone}");
        for t in &times {
            println!(
                "  {}  =  {} UTC",
                t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z"),
                t.format("%Y-%m-%d %H:%M")
            );
        }
        if times.is_empty() {
            println!("  never fires");
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json!({"schedules": docs}))?);
    }
    Ok(code::OK)
}

/// The crontab line, the workflow or the manifests that call `run` every `cadence` minutes.
fn printed(resolved: &Resolved, args: &ScheduleArgs, cadence: u32) -> anyhow::Result<String> {
    let workers = args.workers.unwrap_or(fleet::WORKERS);
    if args.crontab {
        return crontab(resolved, cadence);
    }
    if args.kubernetes {
        return kubernetes::manifests(resolved, &cron_field(cadence), workers);
    }
    match resolved.database() {
        crate::store::Location::Postgres(_) => fleet::workflow(resolved, &cron_field(cadence), workers),
        crate::store::Location::Sqlite(path) => match args.workers {
            Some(n) => Err(Failure::Usage(format!(
                "--workers {n}: the state is the SQLite file {}, which one runner keeps in the Actions \
                 cache; a matrix of workers needs a PostgreSQL state (state.database or \
                 RETRAIN_DATABASE_URL) and the models in object storage",
                path.display()
            ))
            .into()),
            None => Ok(workflow(resolved, cadence)),
        },
    }
}

/// How often cron should call `run`: every N minutes for the largest N of 60, 30, 20, 15,
/// 10, 5, 1 such that every configured fire time of the next two weeks falls on a
/// multiple of N (minutes of the hour, UTC; a machine whose time zone is a whole number
/// of hours from UTC sees the same minutes). Hourly without schedules: the other triggers
/// are checked then.
fn cadence(resolved: &Resolved, from: DateTime<Utc>) -> anyhow::Result<u32> {
    let horizon = from + chrono::Duration::days(14);
    let mut minutes = std::collections::BTreeSet::new();
    for job in &resolved.settings.schedule.jobs {
        let cron: Crontab = job.cron.parse().map_err(|e: String| Failure::Usage(e))?;
        let tz = schedule::zone(&job.timezone).map_err(Failure::Usage)?;
        for t in cron.next(tz, from, 20_000).into_iter().take_while(|t| *t <= horizon) {
            minutes.insert(chrono::Timelike::minute(&t));
        }
    }
    Ok([60, 30, 20, 15, 10, 5, 1].into_iter().find(|n| minutes.iter().all(|m| m % n == 0)).unwrap_or(1))
}

fn cron_field(cadence: u32) -> String {
    match cadence {
        60 => "0 * * * *".into(),
        1 => "* * * * *".into(),
        n => format!("*/{n} * * * *"),
    }
}

/// Single-quoted for the shell, with `%` escaped: cron turns a bare `%` into a newline.
fn quote(path: &std::path::Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''").replace('%', r"\%"))
}

fn crontab(resolved: &Resolved, cadence: u32) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let folder = std::path::absolute(&resolved.base_dir)?;
    let config = match &resolved.file {
        Some(file) => std::path::absolute(file)?,
        None => folder.join("config.yaml"),
    };
    Ok(format!(
        "# retrain: `run` decides what is due (config schedules, triggers, the queue), so cron only\n\
         # needs to call it often enough: every {cadence} minute(s) meets every configured fire time.\n\
         # A missed call is caught up once by the next. Install with `crontab -e`.\n\
         {} cd {} && {} run --config {} >> {} 2>&1\n",
        cron_field(cadence),
        quote(&folder),
        quote(&exe),
        quote(&config),
        quote(&folder.join("retrain.log")),
    ))
}

/// The name of the workflow artifact that holds the daily backup of the state.
pub const BACKUP_ARTIFACT: &str = "retrain-state";
/// The name of the workflows' artifact of `retrain report`'s page.
pub const REPORT_ARTIFACT: &str = "retrain-report";

/// The single-runner workflow of a SQLite state: the database (with its `-wal` and `-shm`
/// files) and a models folder travel in the Actions cache from one run to the next, and a
/// daily `retrain backup` is kept as a workflow artifact. A run that finds no cache
/// restores the newest backup, starts afresh only when this workflow never succeeded
/// before (or when asked to), and otherwise fails loudly: an evicted cache must never
/// silently become an empty registry.
fn workflow(resolved: &Resolved, cadence: u32) -> String {
    let state = &resolved.settings.state;
    // The SQLite file travels in the cache between runs, and so does a models folder;
    // models in object storage stay in their bucket, reached with the repository's secrets.
    let mut cached = vec![format!("{}*", state.database.display())];
    let secrets: Vec<&str> = match fleet::ObjectStore::of(&state.models_dir.to_string_lossy()) {
        Some(store) => store.credentials().iter().map(|(name, _)| *name).collect(),
        None => {
            cached.push(state.models_dir.display().to_string());
            Vec::new()
        }
    };
    // A backup holds the database and the models; with the models in a bucket, restoring
    // one would meet a store that is not empty, so only the loud failure is kept there.
    let backups = secrets.is_empty();
    let database = state.database.display().to_string();
    let cached = cached.join("\n            ");
    let env_lines = |indent: &str| -> String {
        secrets.iter().map(|name| format!("{indent}{name}: ${{{{ secrets.{name} }}}}\n")).collect()
    };
    let run_env =
        if secrets.is_empty() { String::new() } else { format!("        env:\n{}", env_lines("          ")) };
    let restore_backup = if backups {
        format!(
            r#"          backup=$(gh api "repos/$GITHUB_REPOSITORY/actions/artifacts?name={BACKUP_ARTIFACT}&per_page=100" \
            --jq '[.artifacts[] | select(.expired | not)] | sort_by(.created_at) | last | .workflow_run.id // empty')
          if [ -n "$backup" ]; then
            gh run download "$backup" --name {BACKUP_ARTIFACT} --dir "$RUNNER_TEMP/restored-state"
            retrain restore --from "$RUNNER_TEMP/restored-state" --config config.yaml
            echo "::warning::No state in the cache: restored the backup of run $backup"
            exit 0
          fi
          # Expired backups still count: a state existed.
          backups=$(gh api "repos/$GITHUB_REPOSITORY/actions/artifacts?name={BACKUP_ARTIFACT}&per_page=1" --jq .total_count)
"#
        )
    } else {
        "          backups=0\n".to_string()
    };
    let backup_steps = if backups {
        format!(
            r#"      - name: Back up the state (daily)
        id: backup
        if: always() && steps.state.outputs.backup-due == 'true' && hashFiles('{database}') != ''
        run: retrain backup --to "$RUNNER_TEMP/{BACKUP_ARTIFACT}" --config config.yaml
      - name: Keep the backup
        if: always() && steps.backup.outcome == 'success'
        uses: actions/upload-artifact@v4
        with:
          name: {BACKUP_ARTIFACT}
          path: ${{{{ runner.temp }}}}/{BACKUP_ARTIFACT}
          retention-days: 14
"#
        )
    } else {
        String::new()
    };
    let due = if backups {
        format!(
            r#"          # A backup a day: due when the newest one kept is older than 24 hours.
          newest=$(gh api "repos/$GITHUB_REPOSITORY/actions/artifacts?name={BACKUP_ARTIFACT}&per_page=100" \
            --jq '[.artifacts[] | select(.expired | not) | .created_at] | max // empty')
          if [ -z "$newest" ] || [ $(( $(date +%s) - $(date -d "$newest" +%s) )) -gt 86400 ]; then
            echo "backup-due=true" >> "$GITHUB_OUTPUT"
          fi
"#
        )
    } else {
        String::new()
    };
    let durable = if backups {
        "# it, even when a job failed, with a backup of it kept a day as the artifact retrain-state
# (14 days). GitHub evicts caches unused for 7 days or over the repository's quota: a run
# that finds no cache restores the newest backup; with none, it starts an empty state
# only if this workflow never succeeded before (or when run by hand with start_afresh),
# and otherwise fails, so that a lost cache never silently becomes an empty registry."
    } else {
        "# it, even when a job failed; the models stay in their bucket. GitHub evicts caches unused
# for 7 days or over the repository's quota: a run that finds no cache starts an empty
# database only if this workflow never succeeded before (or when run by hand with
# start_afresh), and otherwise fails. For a database that cannot be lost, keep it on
# PostgreSQL (`state.database: postgres://...`): then nothing travels in the cache."
    };
    format!(
        r#"# retrain: calls `retrain run` on a schedule and keeps its state (the database and the
# model artifacts) between runs in the Actions cache: restored before the run, saved after
{durable}
# After each run, `retrain report` writes the fleet as one web page, kept 14 days as the
# artifact {REPORT_ARTIFACT} (download it and open it in a browser).
# GitHub reads the schedule in UTC and may start it late.
name: retrain
on:
  schedule:
    - cron: "{cron}"
  workflow_dispatch:
    inputs:
      start_afresh:
        description: Start an empty state when the cache holds none (the registry and its history are lost)
        type: boolean
        default: false
concurrency:
  group: retrain
  cancel-in-progress: false
permissions:
  contents: read
  actions: read
jobs:
  run:
    runs-on: ubuntu-latest
    timeout-minutes: 120
    steps:
      - uses: actions/checkout@v4
      - name: Cache the retrain binary
        uses: actions/cache@v4
        with:
          path: ~/.cargo/bin/retrain
          key: retrain-bin-${{{{ hashFiles('Cargo.lock', 'src/**') }}}}
      - name: Install retrain
        # This repository holds retrain's source; elsewhere use `cargo install --locked --git <its URL>`.
        run: command -v retrain || cargo install --locked --path .
      - name: Restore the state
        id: cache
        uses: actions/cache/restore@v4
        with:
          path: |
            {cached}
          key: retrain-state-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}
          restore-keys: retrain-state-
      - name: Never start afresh by accident
        id: state
        env:
          GH_TOKEN: ${{{{ github.token }}}}
          CACHED: ${{{{ steps.cache.outputs.cache-matched-key }}}}
          START_AFRESH: ${{{{ inputs.start_afresh }}}}
          WORKFLOW: ${{{{ github.workflow }}}}
{secrets_env}        run: |
          set -euo pipefail
{due}          if [ -n "$CACHED" ]; then
            exit 0
          fi
{restore_backup}          if [ "$START_AFRESH" = true ]; then
            echo "::warning::No state in the cache: starting an empty one, as asked"
            exit 0
          fi
          succeeded=$(gh run list --workflow "$WORKFLOW" --status success --limit 1 --json databaseId --jq length)
          if [ "$succeeded" != 0 ] || [ "$backups" != 0 ]; then
            echo "::error::No state in the cache and no backup to restore, but this workflow has succeeded or kept a backup before: its state existed and is lost. Restore one with retrain restore (docs/operations.md), or run the workflow by hand with start_afresh to begin an empty one."
            exit 1
          fi
          echo "The first run: it starts the state."
      - name: Run
        run: retrain run --config config.yaml
{run_env}{backup_steps}      - name: Write the report
        id: report
        if: always()
        run: retrain report --config config.yaml --out "$RUNNER_TEMP/{REPORT_ARTIFACT}.html"
{run_env}      - name: Keep the report
        if: always() && steps.report.outcome == 'success'
        uses: actions/upload-artifact@v4
        with:
          name: {REPORT_ARTIFACT}
          path: ${{{{ runner.temp }}}}/{REPORT_ARTIFACT}.html
          retention-days: 14
      - name: Save the state
        if: always()
        uses: actions/cache/save@v4
        with:
          path: |
            {cached}
          key: retrain-state-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}
"#,
        cron = cron_field(cadence),
        secrets_env = env_lines("          "),
    )
}
