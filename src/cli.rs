//! The command line, and nothing else: the `///` comments are the help users read.

use std::path::PathBuf;

use clap::builder::{NonEmptyStringValueParser, PossibleValue};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::candles::Interval;
use crate::candles::time::parse_time;
use crate::config::{ModelKind, Refresh, Regime, Severity};
use crate::env_vars;
use crate::ingest::Format;
use crate::symbol::Symbol;
use crate::triggers::Priority;

/// Keep trading models fresh: collect candles, retrain, evaluate, watch drift, promote
/// behind gates, roll back. State lives in one SQLite file beside `config.yaml`.
#[derive(Debug, Parser)]
#[command(name = "retrain", version, max_term_width = 100)]
pub struct Cli {
    /// Config file; paths inside it are relative to its folder [default: ./config.yaml]
    #[arg(long, global = true, value_name = "PATH", env = env_vars::RETRAIN_CONFIG)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented default config.yaml (never over an existing one), create the
    /// database and the folders.
    Init,
    #[command(flatten)]
    Configured(Configured),
    /// Write a synthetic, regime-switching candle file with volatility clustering and a
    /// `regime` column, for trying retrain without market data.
    SampleData(SampleDataArgs),
    /// Move a whole state: its database to another (SQLite and PostgreSQL either way), or
    /// its models to another folder or bucket; verified, and only into an empty target.
    State(StateArgs),
}

/// The commands that work with the config's settings, resolved once before they start.
#[derive(Debug, Subcommand)]
pub enum Configured {
    /// Ingest candles from a file or an exchange, or trade outcomes from a CSV.
    Collect(CollectArgs),
    /// Every model at a glance (versions, test metric and trend, live win rate, drift, what
    /// `run` would do now), the queue, jobs, alerts, health, and the stored candles.
    Status(StatusArgs),
    /// The fleet as one self-contained web page: the status rows, each model's metric
    /// trend, live versions, live win rate and drift over time, gates, jobs and the queue,
    /// and a replay's equity curves; no network needed to open it.
    Report(ReportArgs),
    /// Write the feature table of a stored series (with regime and label) to CSV or Parquet.
    Features(FeaturesArgs),
    /// Train a model for one (symbol, regime): search on validation, measure once on
    /// test, save a versioned artifact, register it as a candidate.
    Train(TrainArgs),
    /// Measure a version on bars it never saw (a backtest and the classification metrics),
    /// or a challenger against the champion (--compare); flag a production model that
    /// degraded.
    Evaluate(EvaluateArgs),
    /// Compare recent features, predictions and labels of a model with its training
    /// reference (or any two files); exit 4 at or above --fail-on.
    DriftCheck(DriftCheckArgs),
    /// List the versions of a symbol's models with their status, windows, metrics and
    /// checksum state.
    Versions(VersionsArgs),
    /// Check every promotion gate for a candidate and make it production if all pass (or
    /// start a canary test); exit 3 with the failing gates otherwise.
    Promote(PromoteArgs),
    /// Make the previous production version (or a named earlier one) production again.
    Rollback(RollbackArgs),
    /// The deployment record: every promotion, rollback and canary test, and which version
    /// was live at any past time (--at).
    History(HistoryArgs),
    /// Predict the latest stored candle with the production model of its regime (or the
    /// canary's arm) and record the signal; `collect` resolves it once its horizon passes.
    Predict(PredictArgs),
    /// The cron entry point: check every trigger of every configured model and run the
    /// jobs that are due (train, evaluate, drift-check, promote behind the gates); exit 5
    /// if another run holds the lock.
    Run(RunArgs),
    /// Replay `run` over stored history in scratch states, for the configured retraining
    /// policy and the baselines (never retrain; a calendar that always deploys; the same
    /// calendar behind the gates): does retraining earn its keep, by more than luck?
    Replay(ReplayArgs),
    /// Manual retrain requests that the next `run` takes first by priority.
    Queue(QueueArgs),
    /// Next fire times of the configured schedules (or of any expression), and the crontab
    /// line, GitHub Actions workflow or Kubernetes manifests that call `retrain run`.
    Schedule(ScheduleArgs),
    /// Open alerts (or all with --all); acknowledge or resolve one.
    Alerts(AlertsArgs),
    /// Verify the whole state (the database, what is live, every artifact, leftovers of
    /// crashes, runs and jobs) and print each problem with its fix; exit 6 on any problem.
    Check(CheckArgs),
    /// Copy the whole state (the database from one snapshot, and the artifacts of every
    /// version it registers, each verified) into a new folder, while runs may be working.
    Backup(BackupArgs),
    /// Put a backup back into an empty state (the config's database and models), then
    /// verify every table and artifact.
    Restore(RestoreArgs),
    /// Delete the artifact files of archived versions beyond the newest N of each model
    /// (never production, canary, candidates, or a version the deployment record still
    /// needs); their registry rows stay, marked pruned.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["file", "source", "trades"])))]
pub struct CollectArgs {
    /// Symbol to store the candles under, e.g. BTCUSDT (letters, digits, '.', '_', '-')
    #[arg(long, required_unless_present = "trades")]
    pub symbol: Option<Symbol>,

    /// Candle interval of the input, e.g. 1m, 5m, 1h, 1d [default: data.interval from config]
    #[arg(long)]
    pub interval: Option<Interval>,

    /// Candle file: CSV (with or without header), Binance kline dump, freqtrade JSON,
    /// feather (Arrow IPC) or Parquet, optionally .gz or .zip; market trades (price and
    /// amount columns) are bucketed into candles
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Fetch candles from an exchange's public REST API instead of a file
    #[arg(long, value_enum)]
    pub source: Option<Source>,

    /// Import trade outcomes of the live trading system from a CSV (id, symbol, opened_at,
    /// closed_at, side, entry_price, exit_price, quantity, pnl[, model_version])
    #[arg(long, value_name = "PATH")]
    pub trades: Option<PathBuf>,

    /// Input format; `auto` decides from the extension and the content
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,

    /// strftime pattern for text timestamps that are not ISO 8601, e.g. "%d/%m/%Y %H:%M"
    #[arg(long, value_name = "FMT")]
    pub time_format: Option<String>,

    /// Aggregate the candles into this coarser interval before storing them
    #[arg(long, value_name = "INTERVAL", conflicts_with = "source")]
    pub resample: Option<Interval>,

    /// With --source: how many days back to fetch when nothing is stored yet
    /// [default: data.source.days from config]
    #[arg(long, requires = "source", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: Option<u32>,

    /// With --source: the API's base URL [default: data.source.base_url from config]
    #[arg(long, value_name = "URL", requires = "source")]
    pub base_url: Option<String>,

    /// Act as if the clock said TIME (UTC; ISO 8601 or epoch) when logging the batch,
    /// resolving signals and watching promotions: for tests and simulations
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "trades")]
    pub now: Option<i64>,
}

/// Where `collect --source` fetches from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// Binance spot klines (GET /api/v3/klines)
    Binance,
}

/// The core's enums as the command line spells them, each value with its help: the
/// types stay clap's business only here.
macro_rules! value_enum {
    ($type:ty { $($variant:path => $name:literal $(: $help:literal)?),+ $(,)? }) => {
        impl ValueEnum for $type {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($variant),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $($variant => PossibleValue::new($name)$(.help($help))?,)+
                })
            }
        }
    };
}

value_enum!(Format {
    Format::Auto => "auto": "Decide from the file name and its first bytes",
    Format::Csv => "csv": "Delimited text: a header naming the columns, or time,open,high,low,close,volume",
    Format::Binance => "binance": "Binance's public kline dump: 12 columns, no header, epoch ms or us",
    Format::FreqtradeJson => "freqtrade-json": "freqtrade's JSON: an array of [time, open, high, low, close, volume]",
    Format::Feather => "feather": "Arrow IPC file (feather v2)",
    Format::Parquet => "parquet": "Apache Parquet",
});

value_enum!(ModelKind {
    ModelKind::DecisionTree => "decision-tree",
    ModelKind::RandomForest => "random-forest",
    ModelKind::GradientBoosting => "gradient-boosting",
});

value_enum!(Refresh {
    Refresh::Full => "full": "Search the grid afresh",
    Refresh::Incremental => "incremental": "Refresh the production version with its hyperparameters: a forest replaces its oldest training.replace_share of trees with trees grown on the bars it never learned from; a tree or a booster is refitted",
});

value_enum!(Severity {
    Severity::Low => "low",
    Severity::Medium => "medium",
    Severity::High => "high",
    Severity::Critical => "critical",
});

value_enum!(Priority {
    Priority::Low => "low",
    Priority::Medium => "medium",
    Priority::High => "high",
    Priority::Urgent => "urgent",
});

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    /// Exit 1 when an alert at high or above is open or the last successful run is older
    /// than status.max_run_age_hours (none yet counts as too old); for monitoring probes
    #[arg(long, conflicts_with_all = ["json", "prometheus"])]
    pub check: bool,

    /// Print gauges in the Prometheus text format, for node_exporter's textfile collector
    #[arg(long, conflicts_with = "json")]
    pub prometheus: bool,

    /// The detail of one symbol's models: versions, deployments, the last evaluation and
    /// drift report, recent signals (as JSON with --json)
    #[arg(long, conflicts_with_all = ["check", "prometheus"])]
    pub symbol: Option<Symbol>,

    /// With --symbol: only this regime (trending, sideways, volatile or consolidation)
    #[arg(long, requires = "symbol")]
    pub regime: Option<Regime>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The page to write: one HTML file with its scripts, styles and data inlined
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,

    /// Only this symbol's models, queue and jobs [default: all]
    #[arg(long)]
    pub symbol: Option<Symbol>,

    /// The history shown: the last DAYS days
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,

    /// A replay's report (`retrain replay --json > FILE.json`): each policy's equity
    /// curve with its retrains and promotions
    #[arg(long, value_name = "FILE.json")]
    pub replay: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// Candle interval [default: data.interval from config]
    #[arg(long)]
    pub interval: Option<Interval>,

    /// Output file; .csv or .parquet
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// trending, sideways, volatile or consolidation
    #[arg(long)]
    pub regime: Regime,

    /// Candle interval [default: data.interval from config]
    #[arg(long)]
    pub interval: Option<Interval>,

    /// Model family [default: training.model from config]
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,

    /// Hyperparameter sets to try [default: training.search.max_trials]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub trials: Option<u32>,

    /// Seed of the search and the forest [default: training.seed]
    #[arg(long)]
    pub seed: Option<u64>,

    /// How the model is made [default: training.refresh]
    #[arg(long, value_enum)]
    pub refresh: Option<Refresh>,

    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// trending, sideways, volatile or consolidation
    #[arg(long)]
    pub regime: Regime,

    /// The version to evaluate [default: the newest; with --compare, the newest candidate]
    #[arg(long, conflicts_with_all = ["production", "candidate"])]
    pub version: Option<i64>,

    /// Evaluate the production version
    #[arg(long, conflicts_with = "candidate")]
    pub production: bool,

    /// Evaluate the newest candidate
    #[arg(long)]
    pub candidate: bool,

    /// Compare the version (the challenger) with the champion on the same unseen bars
    #[arg(long)]
    pub compare: bool,

    /// With --compare: the champion's version [default: the production version]
    #[arg(long, requires = "compare")]
    pub champion: Option<i64>,

    /// Start of the window (UTC; ISO 8601 or epoch) [default: the last --window-days]
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "window_days")]
    pub from: Option<i64>,

    /// End of the window [default: the last stored candle]
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "window_days")]
    pub to: Option<i64>,

    /// The last D days [default: evaluation.window_days; with --compare, every unseen bar]
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub window_days: Option<u32>,

    /// Write one row per bar (open_time, position, market and strategy return, equity)
    #[arg(long, value_name = "FILE")]
    pub export_returns: Option<PathBuf>,

    /// Report on the running canary test, and end it once both arms have
    /// deployment.canary.min_signals resolved signals
    #[arg(long, conflicts_with_all = ["version", "production", "candidate", "compare", "from", "to", "window_days", "export_returns"])]
    pub canary: bool,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["symbol", "reference"])))]
pub struct DriftCheckArgs {
    /// The model's symbol
    #[arg(long, requires = "regime", conflicts_with_all = ["reference", "current", "columns"])]
    pub symbol: Option<Symbol>,

    /// The model's regime: trending, sideways, volatile or consolidation
    #[arg(long, requires = "symbol")]
    pub regime: Option<Regime>,

    /// The version [default: the production version, else the newest]
    #[arg(long, requires = "symbol")]
    pub version: Option<i64>,

    /// The last D days [default: drift.window_days]
    #[arg(long, value_name = "D", conflicts_with_all = ["from", "to"],
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub window_days: Option<u32>,

    /// Start of the window (UTC; ISO 8601 or epoch)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<i64>,

    /// End of the window [default: the last stored candle]
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: Option<i64>,

    /// Ad hoc mode: the reference sample, a CSV, feather or Parquet file
    #[arg(long, value_name = "FILE", requires = "current")]
    pub reference: Option<PathBuf>,

    /// Ad hoc mode: the current sample
    #[arg(long, value_name = "FILE", requires = "reference")]
    pub current: Option<PathBuf>,

    /// Ad hoc mode: only these columns (comma-separated) [default: every shared numeric column]
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,

    /// Exit with code 4 when the overall severity is at or above this
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// Only this regime [default: all]
    #[arg(long)]
    pub regime: Option<Regime>,

    /// Each version's feature importances too: the impurity decrease over its forest and
    /// the validation AUC lost when a feature is shuffled, most important first
    #[arg(long)]
    pub importance: bool,

    /// Each version's probability calibration too: the map, and the expected calibration
    /// error with a reliability table on its test rows, before and after the map
    #[arg(long)]
    pub calibration: bool,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// trending, sideways, volatile or consolidation
    #[arg(long)]
    pub regime: Regime,

    /// The version to promote [default: the newest candidate]
    #[arg(long)]
    pub version: Option<i64>,

    /// Check and print the gates, change nothing (exit 3 if one fails)
    #[arg(long)]
    pub dry_run: bool,

    /// Promote even if gates fail; needs --reason, and is recorded as forced
    #[arg(long, requires = "reason")]
    pub force: bool,

    /// Why, recorded with the deployment [default: "every gate passed"]
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Start a canary test instead: PERCENT of predictions go to the candidate until
    /// `evaluate --canary` decides
    #[arg(long, value_name = "PERCENT")]
    pub canary: Option<f64>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// trending, sideways, volatile or consolidation
    #[arg(long)]
    pub regime: Regime,

    /// The earlier production version to go back to [default: the one before the current]
    #[arg(long, value_name = "N")]
    pub to: Option<i64>,

    /// Why, recorded with the deployment
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this symbol [default: all]
    #[arg(long)]
    pub symbol: Option<Symbol>,

    /// Only this regime [default: all]
    #[arg(long)]
    pub regime: Option<Regime>,

    /// Say which version was live at TIME (UTC; ISO 8601 or epoch)
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "jobs")]
    pub at: Option<i64>,

    /// The jobs of `run` instead: trigger, priority, status, times, version, error, with
    /// the success rate and the average duration
    #[arg(long)]
    pub jobs: bool,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Make the fixes that lose nothing: remove the files of versions never registered
    /// and temporary folders whose writer died, mark runs that died as killed and their
    /// jobs abandoned. Never deletes a registered version
    #[arg(long)]
    pub repair: bool,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup's folder: new, or empty
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// How many archived versions of each model keep their files
    #[arg(long, value_name = "N")]
    pub keep: usize,

    /// Say what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A folder written by `retrain backup`
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub action: Option<AlertAction>,

    /// Resolved alerts too
    #[arg(long)]
    pub all: bool,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertAction {
    /// Mark an open alert as seen; it stays open
    Ack { id: i64 },
    /// Close an open alert, saying how
    Resolve {
        id: i64,
        #[arg(long, value_name = "TEXT")]
        resolution: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Print what would run and why; change nothing (no lock, no collect, no job)
    #[arg(long, conflicts_with = "worker_only")]
    pub dry_run: bool,

    /// Claim and do jobs that a run planned, without planning: a worker beside other
    /// runs on a shared PostgreSQL state (an Indexed Job's pods, a CI matrix). Each job
    /// keeps the clock of the run that planned it, so --now has no meaning here
    #[arg(long, conflicts_with = "now")]
    pub worker_only: bool,

    /// Act as if the clock said TIME (UTC; ISO 8601 or epoch): for tests and simulations
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The first tick (UTC; ISO 8601 or epoch): the models are trained on the candles
    /// that closed before it
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: i64,

    /// The last instant: candles that closed after it are never read
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: i64,

    /// Only this configured symbol
    #[arg(long)]
    pub symbol: Option<Symbol>,

    /// A run every this long from --from, as an hourly cron line would [default: 1h]
    #[arg(long, value_name = "DURATION", conflicts_with = "schedule")]
    pub every: Option<Interval>,

    /// A run at every fire time of the configured schedule.jobs (and at --from)
    #[arg(long)]
    pub schedule: bool,

    /// How often the calendar baselines retrain
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub baseline_every: Interval,

    /// Another config replayed as one more policy, named after the file: other triggers,
    /// gates, thresholds or training settings (its symbols and state are this config's);
    /// repeatable
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,

    /// Print the whole report as JSON instead of tables
    #[arg(long)]
    pub json: bool,

    /// Write one CSV row per (policy, model, bar): version live, P(up), position, returns
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,

    /// Draw each policy's equity with its retrains, promotions and rollbacks, and the
    /// drift severity over time, as SVG
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// Keep each policy's scratch state in DIR/POLICY (retrain.db, models, events.log): `cd`
    /// there and `retrain status` or `history` show it; by default it is removed
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    pub action: QueueAction,
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Ask for a retrain of one model
    Add {
        #[arg(long)]
        symbol: Symbol,
        /// trending, sideways, volatile or consolidation
        #[arg(long)]
        regime: Regime,
        #[arg(long, value_enum, default_value_t = Priority::Medium)]
        priority: Priority,
        /// Why, recorded with the job
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// The requests waiting for the next run
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a waiting request
    Cancel {
        /// The request's id (from `queue list`)
        id: i64,
    },
}

// One printer at a time; --workers sizes the two that start a fleet.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("printer").args(["crontab", "github_actions", "kubernetes"])))]
#[command(group(ArgGroup::new("fleet").args(["github_actions", "kubernetes"])))]
pub struct ScheduleArgs {
    /// How many fire times to list per schedule
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::builder::TypedValueParser::map(
              clap::value_parser!(u64).range(1..=10_000), |n| n as usize))]
    pub next: usize,

    /// Any five-field crontab expression instead of the config's schedules
    #[arg(long, value_name = "CRON", conflicts_with = "printer")]
    pub expr: Option<String>,

    /// With --expr: the IANA time zone it is read in
    #[arg(long, value_name = "ZONE", default_value = "UTC", requires = "expr")]
    pub tz: String,

    /// Start after TIME instead of now (UTC; ISO 8601 or epoch)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<i64>,

    /// Print crontab lines that call `retrain run`
    #[arg(long)]
    pub crontab: bool,

    /// Print a scheduled GitHub Actions workflow that calls `retrain run`: one runner that
    /// keeps a SQLite state in the Actions cache, or, on a PostgreSQL state with the models
    /// in object storage, a matrix of --workers runners
    #[arg(long)]
    pub github_actions: bool,

    /// Print Kubernetes manifests: a ConfigMap of the config file, a CronJob whose --workers
    /// pods each call `retrain run`, and a template of the Secret they read (needs a
    /// PostgreSQL state and the models in object storage)
    #[arg(long)]
    pub kubernetes: bool,

    /// With --kubernetes or --github-actions on a PostgreSQL state: how many workers call
    /// `retrain run` at once, 1 to 1000 (at most 256 on GitHub Actions) [default: 4]
    #[arg(long, value_name = "N", requires = "fleet", conflicts_with = "crontab",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub workers: Option<u32>,

    /// Print JSON instead of text (the fire times; not with --crontab, --github-actions or
    /// --kubernetes)
    #[arg(long, conflicts_with = "printer")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[arg(long)]
    pub symbol: Symbol,

    /// Candle interval [default: data.interval from config]
    #[arg(long)]
    pub interval: Option<Interval>,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,

    /// Record the signal as made at TIME (UTC; ISO 8601 or epoch): for tests and simulations
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<i64>,
}

#[derive(Debug, Args)]
pub struct SampleDataArgs {
    /// Where to write the CSV
    #[arg(long, value_name = "PATH", default_value = "data/sample/SYNTH-5m.csv")]
    pub out: PathBuf,

    /// Candle interval
    #[arg(long, default_value = "5m")]
    pub interval: Interval,

    /// Number of days to generate
    #[arg(long, default_value_t = 45, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,

    /// Random seed; the same seed writes the same bytes
    #[arg(long, default_value_t = 7)]
    pub seed: u64,

    /// Open time of the first candle (UTC)
    #[arg(long, value_name = "TIME", value_parser = parse_time, default_value = "2024-01-01T00:00:00Z")]
    pub start: i64,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub action: StateAction,
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Copy everything from a database to another, or from an artifact store to another,
    /// then read the copy back: equal row counts and SHA-256 of every table, or of every
    /// file. A target that holds anything is refused, and a failed copy into a database
    /// leaves it as it was.
    Copy(StateCopyArgs),
}

#[derive(Debug, Args)]
pub struct StateCopyArgs {
    /// What to copy: a database (an existing SQLite file, or a postgres:// URL) or the
    /// models (an existing folder, or an s3://, gs://, az:// or file:// URL)
    #[arg(long, value_name = "FROM", value_parser = NonEmptyStringValueParser::new())]
    pub from: String,

    /// Where to: for a database, a SQLite file (created if missing) or a postgres:// URL;
    /// for models, a folder or an object store URL. It must hold nothing yet
    #[arg(long, value_name = "TO", value_parser = NonEmptyStringValueParser::new())]
    pub to: String,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}
