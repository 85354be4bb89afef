//! A fleet: many workers calling `retrain run` at once against one PostgreSQL state, with
//! the models in object storage. Each worker plans or joins: the first to take the state's
//! advisory lock plans, the others wait for the plan, then all claim jobs until none is
//! left. What every printer of a fleet checks and needs ([`Fleet`]), and the GitHub Actions
//! matrix workflow; the Kubernetes manifests are in `kubernetes`.

use anyhow::Context;

use super::REPORT_ARTIFACT;
use crate::config::{self, Resolved};
use crate::error::Failure;
use crate::store::Location;

/// Workers when `--workers` is not given.
pub const WORKERS: u32 = 4;

/// GitHub Actions runs at most this many jobs of one matrix.
const GITHUB_MATRIX_MAX: u32 = 256;

/// The object store that holds the models, by the scheme of `state.models_dir`.
#[derive(Debug, Clone, Copy)]
pub(super) enum ObjectStore {
    S3,
    Gcs,
    Azure,
}

impl ObjectStore {
    pub(super) fn of(models_dir: &str) -> Option<ObjectStore> {
        [("s3://", ObjectStore::S3), ("gs://", ObjectStore::Gcs), ("az://", ObjectStore::Azure)]
            .into_iter()
            .find_map(|(scheme, store)| models_dir.starts_with(scheme).then_some(store))
    }

    /// The environment variables its credentials come from, as the object_store crate reads
    /// them (`from_env`), each with how `kubectl create secret` takes it.
    pub(super) fn credentials(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ObjectStore::S3 => &[
                ("AWS_ACCESS_KEY_ID", "--from-literal=AWS_ACCESS_KEY_ID=\"$AWS_ACCESS_KEY_ID\""),
                ("AWS_SECRET_ACCESS_KEY", "--from-literal=AWS_SECRET_ACCESS_KEY=\"$AWS_SECRET_ACCESS_KEY\""),
                ("AWS_DEFAULT_REGION", "--from-literal=AWS_DEFAULT_REGION=\"$AWS_DEFAULT_REGION\""),
            ],
            ObjectStore::Gcs => {
                &[("GOOGLE_SERVICE_ACCOUNT_KEY", "--from-file=GOOGLE_SERVICE_ACCOUNT_KEY=key.json")]
            }
            ObjectStore::Azure => &[
                (
                    "AZURE_STORAGE_ACCOUNT_NAME",
                    "--from-literal=AZURE_STORAGE_ACCOUNT_NAME=\"$AZURE_STORAGE_ACCOUNT_NAME\"",
                ),
                (
                    "AZURE_STORAGE_ACCOUNT_KEY",
                    "--from-literal=AZURE_STORAGE_ACCOUNT_KEY=\"$AZURE_STORAGE_ACCOUNT_KEY\"",
                ),
            ],
        }
    }

    /// What to know when creating the Secret (an optional variable is left out of the
    /// template: set empty, it would not mean unset).
    pub(super) fn note(self) -> &'static str {
        match self {
            ObjectStore::S3 => "for an S3-compatible server, add --from-literal=AWS_ENDPOINT=https://...",
            ObjectStore::Gcs => "key.json: the service account's JSON key",
            ObjectStore::Azure => {
                "AZURE_STORAGE_ACCOUNT_NAME: the storage account that holds the az:// container"
            }
        }
    }
}

/// What every worker of the fleet reads: the config file (the defaults without one) and,
/// from its environment, the state's URL with its password.
pub(super) struct Fleet {
    /// The config file's text, as the command read it.
    pub(super) text: String,
    /// `state.database` in that text: the pods' ConfigMap shows it to anyone who reads it.
    pub(super) file_database: String,
    /// The state's URL (the config's or RETRAIN_DATABASE_URL), for the Secret template.
    pub(super) database_url: String,
    pub(super) store: ObjectStore,
}

impl Fleet {
    /// The fleet of `resolved`, or why it cannot be one: a SQLite file, or models in a
    /// folder, are on one machine, and the workers (`who`) share none.
    pub(super) fn read(resolved: &Resolved, flag: &str, who: &str) -> anyhow::Result<Fleet> {
        let database_url = match resolved.database() {
            Location::Postgres(url) => url,
            Location::Sqlite(path) => {
                return Err(Failure::Usage(format!(
                    "{flag}: the state is the SQLite file {}, on one machine, and the {who}s share no \
                     disk: set state.database (or RETRAIN_DATABASE_URL) to a postgres:// URL",
                    path.display()
                ))
                .into());
            }
        };
        let (text, named) = match &resolved.file {
            Some(file) => (
                std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
                file.display().to_string(),
            ),
            None => (config::DEFAULT_CONFIG_YAML.to_string(), "the default config".to_string()),
        };
        // The workers get this text and RETRAIN_DATABASE_URL, not the other RETRAIN_*
        // variables of this shell: judge the settings in the text.
        let settings = config::parse(&text).map_err(|e| Failure::Usage(format!("{named}: {e}")))?;
        let models_dir = settings.state.models_dir.to_string_lossy().into_owned();
        let store = ObjectStore::of(&models_dir).ok_or_else(|| {
            Failure::Usage(format!(
                "{flag}: state.models_dir in {named} is {models_dir}, a folder in each {who}, which \
                 the others never see: set it to object storage (s3://bucket/prefix, gs://bucket/prefix \
                 or az://container/prefix)"
            ))
        })?;
        let file_database = settings.state.database.to_string_lossy().into_owned();
        Ok(Fleet { text, file_database, database_url, store })
    }

    /// The environment variables the workers take from secrets.
    fn secret_names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(crate::env_vars::RETRAIN_DATABASE_URL)
            .chain(self.store.credentials().iter().map(|(name, _)| *name))
    }
}

/// The GitHub Actions workflow of a fleet: `workers` matrix jobs, each `retrain run`, after
/// one job that builds (or restores) the binary, so that the workers start together.
pub fn workflow(resolved: &Resolved, cron: &str, workers: u32) -> anyhow::Result<String> {
    if workers > GITHUB_MATRIX_MAX {
        return Err(Failure::Usage(format!(
            "--workers {workers}: a GitHub Actions matrix runs at most {GITHUB_MATRIX_MAX} jobs"
        ))
        .into());
    }
    let fleet = Fleet::read(resolved, "--github-actions", "runner")?;
    let env: String =
        fleet.secret_names().map(|name| format!("          {name}: ${{{{ secrets.{name} }}}}\n")).collect();
    let matrix = (1..=workers).map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
    // The steps that start a job after `install`: the checkout, and the binary it cached.
    let checkout_binary = "      - uses: actions/checkout@v4
      - name: Restore the retrain binary
        uses: actions/cache/restore@v4
        with:
          path: ~/.cargo/bin/retrain
          key: retrain-bin-${{ hashFiles('Cargo.lock', 'src/**') }}
          fail-on-cache-miss: true
";
    Ok(format!(
        r#"# retrain: {workers} workers call `retrain run` at once on a schedule, against a PostgreSQL
# state (the repository secret RETRAIN_DATABASE_URL) with the models in object storage
# (its credentials are secrets too). Each worker plans or joins: the first to take the
# state's advisory lock collects the data and queues the due jobs, the others wait for the
# plan, then all claim jobs until none is left. The binary is installed once, before the
# workers start, so that they start together. GitHub reads the schedule in UTC and may
# start it late.
name: retrain
on:
  schedule:
    - cron: "{cron}"
  workflow_dispatch: {{}}
concurrency:
  group: retrain
  cancel-in-progress: false
jobs:
  install:
    runs-on: ubuntu-latest
    timeout-minutes: 60
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
  plan-and-work:
    needs: install
    runs-on: ubuntu-latest
    timeout-minutes: 120
    strategy:
      fail-fast: false
      matrix:
        worker: [{matrix}]
    steps:
{checkout_binary}      - name: Plan or join, then work (worker ${{{{ matrix.worker }}}} of {workers})
        run: retrain run --config config.yaml
        env:
{env}  report:
    # The fleet as one web page once every worker is done, kept 14 days as the artifact
    # {REPORT_ARTIFACT} (download it and open it in a browser).
    needs: plan-and-work
    if: always()
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
{checkout_binary}      - name: Write the report
        run: retrain report --config config.yaml --out "$RUNNER_TEMP/{REPORT_ARTIFACT}.html"
        env:
{env}      - name: Keep the report
        uses: actions/upload-artifact@v4
        with:
          name: {REPORT_ARTIFACT}
          path: ${{{{ runner.temp }}}}/{REPORT_ARTIFACT}.html
          retention-days: 14
"#
    ))
}
