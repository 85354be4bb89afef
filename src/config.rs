//! Settings: `config.yaml` (every key optional, every key with a default here) resolved
//! once into a validated [`Settings`] before any work starts.
//!
//! Precedence is flag > environment > file > default. Unknown keys are refused with their
//! full path (`data.qualty_threshold`), invalid values with the key and what was expected.
//! Paths in the file are relative to the file's folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::candles::Interval;
use crate::error::Failure;

/// The default config file, commented; `retrain init` writes exactly this.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../config.yaml");
/// The config file looked for in the working folder when neither `--config` nor
/// `RETRAIN_CONFIG` names one.
pub const DEFAULT_CONFIG_FILE: &str = "config.yaml";

/// Everything `retrain` can be told, section by section as in `config.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the state lives.
    pub state: StateSettings,
    /// Candle ingestion and data quality.
    pub data: DataSettings,
    /// The (symbol, interval, regimes) that `run` keeps models for.
    pub symbols: Vec<SymbolSettings>,
    /// Technical indicator windows.
    pub features: FeatureSettings,
    /// Market regime thresholds.
    pub regimes: RegimeSettings,
    /// How a bar's label is decided.
    pub label: LabelSettings,
    /// Model training and the hyperparameter search.
    pub training: TrainingSettings,
    /// Backtests and champion-versus-challenger comparisons.
    pub evaluation: EvaluationSettings,
    /// Quality gates a candidate must pass to be promoted.
    pub gates: GateSettings,
    /// Drift statistics and severity bands.
    pub drift: DriftSettings,
    /// What makes `run` retrain a model.
    pub triggers: TriggerSettings,
    /// Cron schedules and the job pool.
    pub schedule: ScheduleSettings,
    /// Promotion, canaries and automatic rollback.
    pub deployment: DeploymentSettings,
    /// Where alerts are posted.
    pub notifications: NotificationSettings,
    /// What `status --check` calls healthy.
    pub status: StatusSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateSettings {
    /// SQLite database file.
    pub database: PathBuf,
    /// Folder of model artifacts: `<models_dir>/<SYMBOL>/<regime>/v<N>/`.
    pub models_dir: PathBuf,
}

impl Default for StateSettings {
    fn default() -> Self {
        StateSettings { database: "retrain.db".into(), models_dir: "models".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    /// Interval used when a command is given none.
    pub interval: String,
    /// A batch whose quality score is below this is refused and nothing of it is written.
    pub quality_threshold: f64,
    /// Runs of more consecutive zero-volume candles than this count as defects.
    pub max_zero_volume_run: u32,
    /// Exchange REST API used by `collect --source`.
    pub source: SourceSettings,
}

impl Default for DataSettings {
    fn default() -> Self {
        DataSettings {
            interval: "5m".into(),
            quality_threshold: 0.8,
            max_zero_volume_run: 5,
            source: SourceSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceSettings {
    /// Base URL of the Binance-compatible klines API.
    pub base_url: String,
    /// Days fetched when nothing is stored yet for the symbol and interval.
    pub days: u32,
    /// Timeout of one HTTP request, in seconds.
    pub timeout_secs: u64,
    /// Retries of a failed or rate-limited request before giving up.
    pub max_retries: u32,
    /// First backoff between retries, doubled each time.
    pub backoff_ms: u64,
    /// Longest wait between retries, including a server's Retry-After.
    pub max_backoff_ms: u64,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            base_url: "https://api.binance.com".into(),
            days: 30,
            timeout_secs: 30,
            max_retries: 5,
            backoff_ms: 500,
            max_backoff_ms: 60_000,
        }
    }
}

/// The four market regimes every bar is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    Trending,
    Sideways,
    Volatile,
    Consolidation,
}

impl Regime {
    pub const ALL: [Regime; 4] =
        [Regime::Trending, Regime::Sideways, Regime::Volatile, Regime::Consolidation];

    /// The name as the config and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Trending => "trending",
            Regime::Sideways => "sideways",
            Regime::Volatile => "volatile",
            Regime::Consolidation => "consolidation",
        }
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Regime {
    type Err = String;

    fn from_str(text: &str) -> Result<Regime, String> {
        Regime::ALL.into_iter().find(|r| r.as_str() == text.trim().to_lowercase()).ok_or_else(|| {
            format!("unknown regime {text:?}: expected trending, sideways, volatile or consolidation")
        })
    }
}

/// Where `run` gets new candles for a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolSource {
    /// Candles arrive by `retrain collect --file` outside of `run`.
    None,
    /// `run` fetches new klines from `data.source` before training.
    Binance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSettings {
    /// Symbol as stored, e.g. BTCUSDT.
    pub symbol: String,
    /// Interval of its models [default: data.interval].
    #[serde(default)]
    pub interval: Option<String>,
    /// Regimes that get a model [default: all four].
    #[serde(default = "all_regimes")]
    pub regimes: Vec<Regime>,
    /// Where new candles come from.
    #[serde(default = "no_source")]
    pub source: SymbolSource,
}

fn all_regimes() -> Vec<Regime> {
    Regime::ALL.to_vec()
}

fn no_source() -> SymbolSource {
    SymbolSource::None
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureSettings {
    /// Horizons, in bars, of the past log returns.
    pub return_horizons: Vec<u32>,
    /// Window of rolling volatility and of the volume z-score.
    pub volatility_window: u32,
    pub rsi_period: u32,
    pub macd_fast: u32,
    pub macd_slow: u32,
    pub macd_signal: u32,
    pub bollinger_period: u32,
    pub bollinger_std: f64,
    pub atr_period: u32,
    pub adx_period: u32,
    pub stochastic_k: u32,
    pub stochastic_d: u32,
    pub cci_period: u32,
    pub williams_period: u32,
    pub obv_slope_window: u32,
    /// Windows of the distance from simple and exponential moving averages.
    pub ma_windows: Vec<u32>,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings {
            return_horizons: vec![1, 3, 6, 12, 24],
            volatility_window: 20,
            rsi_period: 14,
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            bollinger_period: 20,
            bollinger_std: 2.0,
            atr_period: 14,
            adx_period: 14,
            stochastic_k: 14,
            stochastic_d: 3,
            cci_period: 20,
            williams_period: 14,
            obv_slope_window: 20,
            ma_windows: vec![20, 50],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegimeSettings {
    /// ADX at or above this is a trend.
    pub trend_adx: f64,
    /// Bars of history behind the volatility and bandwidth percentiles.
    pub lookback_bars: u32,
    /// Realised volatility at or above this percentile of the lookback is `volatile`.
    pub volatile_percentile: f64,
    /// Bollinger bandwidth at or below this percentile of the lookback is `consolidation`.
    pub squeeze_percentile: f64,
}

impl Default for RegimeSettings {
    fn default() -> Self {
        RegimeSettings {
            trend_adx: 25.0,
            lookback_bars: 500,
            volatile_percentile: 0.8,
            squeeze_percentile: 0.2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelSettings {
    /// Bars ahead over which the forward return is measured.
    pub horizon_bars: u32,
    /// The forward return, after fees, must exceed this many basis points for label 1.
    pub threshold_bps: f64,
    /// Round-trip fees, in basis points, taken off the forward return.
    pub fee_bps: f64,
}

impl Default for LabelSettings {
    fn default() -> Self {
        LabelSettings { horizon_bars: 12, threshold_bps: 10.0, fee_bps: 10.0 }
    }
}

/// The model families `train` can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    DecisionTree,
    RandomForest,
}

/// Metrics the search and the gates can optimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMetric {
    F1,
    Auc,
    Sharpe,
}

impl SearchMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMetric::F1 => "f1",
            SearchMetric::Auc => "auc",
            SearchMetric::Sharpe => "sharpe",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingSettings {
    pub model: ModelKind,
    /// Seed of the search and of the forest; same data + config + seed = same artifact.
    pub seed: u64,
    /// Shares of the labelled rows for train, validation and test, in time order.
    pub train_share: f64,
    pub validation_share: f64,
    pub test_share: f64,
    /// Fewest rows any of the three parts may have.
    pub min_rows_per_part: u32,
    /// Leave outlier-return bars and bars next to gaps out of training.
    pub noise_filter: bool,
    /// A return further than this many median absolute deviations from the median is an outlier.
    pub noise_mad_k: f64,
    /// Rows of the drift reference sample kept with each artifact.
    pub reference_sample: u32,
    pub search: SearchSettings,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            model: ModelKind::RandomForest,
            seed: 42,
            train_share: 0.6,
            validation_share: 0.2,
            test_share: 0.2,
            min_rows_per_part: 200,
            noise_filter: true,
            noise_mad_k: 10.0,
            reference_sample: 5_000,
            search: SearchSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {
    /// Hyperparameter sets tried, each scored on validation.
    pub max_trials: u32,
    /// What the search maximises on validation.
    pub metric: SearchMetric,
    /// Candidate values of each hyperparameter.
    pub max_depth: Vec<u32>,
    pub min_samples_leaf: Vec<u32>,
    pub n_trees: Vec<u32>,
    pub feature_fraction: Vec<f64>,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            max_trials: 20,
            metric: SearchMetric::F1,
            max_depth: vec![3, 4, 6, 8, 10],
            min_samples_leaf: vec![5, 10, 20, 50],
            n_trees: vec![25, 50, 100],
            feature_fraction: vec![0.3, 0.5, 0.7, 1.0],
        }
    }
}

/// How the backtest turns a probability into a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionMode {
    LongFlat,
    LongShort,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationSettings {
    /// P(up) above which the signal is long.
    pub threshold: f64,
    pub position: PositionMode,
    /// Fees per side, in basis points.
    pub fee_bps: f64,
    /// Slippage per side, in basis points.
    pub slippage_bps: f64,
    /// Recent window, in days, used when a command is given none.
    pub window_days: u32,
    /// The metric that comparisons and degradation checks judge by (the gate metric).
    pub metric: SearchMetric,
    /// Fewer clean shared bars than this makes a comparison `inconclusive`.
    pub min_compare_bars: u32,
    /// Block length, in bars, of the paired block bootstrap.
    pub bootstrap_block_bars: u32,
    pub bootstrap_resamples: u32,
    pub bootstrap_seed: u64,
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        EvaluationSettings {
            threshold: 0.5,
            position: PositionMode::LongFlat,
            fee_bps: 5.0,
            slippage_bps: 2.0,
            window_days: 7,
            metric: SearchMetric::F1,
            min_compare_bars: 200,
            bootstrap_block_bars: 24,
            bootstrap_resamples: 2_000,
            bootstrap_seed: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateSettings {
    pub min_f1: f64,
    pub min_precision: f64,
    pub min_recall: f64,
    /// Relative F1 improvement over production, 0.03 = 3%.
    pub min_f1_improvement: f64,
    pub min_win_rate: f64,
    pub min_profit_factor: f64,
    pub max_drawdown: f64,
    pub min_trades: u32,
    /// Largest KS statistic of any feature, candidate reference against recent data.
    pub max_feature_drift_ks: f64,
    /// Probability that the challenger is better, from the paired bootstrap.
    pub min_probability_better: f64,
    /// Hours since the last deployment of the model before another.
    pub cooldown_hours: f64,
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            min_f1: 0.60,
            min_precision: 0.58,
            min_recall: 0.50,
            min_f1_improvement: 0.03,
            min_win_rate: 0.45,
            min_profit_factor: 1.2,
            max_drawdown: 0.20,
            min_trades: 30,
            max_feature_drift_ks: 0.15,
            min_probability_better: 0.8,
            cooldown_hours: 24.0,
        }
    }
}

/// Drift and alert severities, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftSettings {
    /// PSI at or above each band gives that severity.
    pub psi_low: f64,
    pub psi_medium: f64,
    pub psi_high: f64,
    pub psi_critical: f64,
    /// A feature drifts when its KS statistic is at or above this (or its PSI reaches `psi_medium`).
    pub ks_statistic: f64,
    /// The dataset drifts when at least this share of features drift.
    pub dataset_share: f64,
    /// Recent window, in days, compared with the reference.
    pub window_days: u32,
}

impl Default for DriftSettings {
    fn default() -> Self {
        DriftSettings {
            psi_low: 0.10,
            psi_medium: 0.15,
            psi_high: 0.20,
            psi_critical: 0.30,
            ks_statistic: 0.15,
            dataset_share: 0.5,
            window_days: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerSettings {
    /// Live win rate below this, after `min_signals` resolved signals, triggers a retrain.
    pub min_win_rate: f64,
    pub min_signals: u32,
    /// Relative drop of the production metric from its test value that triggers a retrain.
    pub performance_decay: f64,
    /// Drift at or above this severity triggers a retrain.
    pub drift_severity: Severity,
    /// A production model older than this is retrained.
    pub max_age_days: f64,
    /// Fewest candles of a regime for a first model.
    pub min_initial_rows: u32,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        TriggerSettings {
            min_win_rate: 0.45,
            min_signals: 20,
            performance_decay: 0.10,
            drift_severity: Severity::High,
            max_age_days: 30.0,
            min_initial_rows: 1_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    /// Jobs that `run` works on at once.
    pub max_concurrent_jobs: u32,
    /// Cron schedules; the first whose pattern matches a model applies to it.
    pub jobs: Vec<ScheduleJob>,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings { max_concurrent_jobs: 3, jobs: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleJob {
    /// `SYMBOL/regime`, with `*` matching any run of characters, e.g. `BTCUSDT/*` or `*`.
    pub models: String,
    /// Five-field crontab(5) expression: minute hour day-of-month month day-of-week.
    pub cron: String,
    /// IANA time zone the expression is read in.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeploymentSettings {
    /// Promote a candidate that passes every gate at the end of a `run` job.
    pub auto_deploy: bool,
    pub canary: CanarySettings,
    /// Roll back a freshly promoted model whose live performance degrades.
    pub rollback_on_degradation: bool,
    /// Hours after a promotion during which live degradation rolls it back.
    pub watch_hours: f64,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        DeploymentSettings {
            auto_deploy: true,
            canary: CanarySettings::default(),
            rollback_on_degradation: true,
            watch_hours: 48.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CanarySettings {
    /// Start automatic promotions as a canary instead of switching at once.
    pub enabled: bool,
    /// Percent of predictions routed to the challenger.
    pub traffic_split: f64,
    /// Resolved signals each arm needs before the test ends.
    pub min_signals: u32,
    /// Confidence the challenger is better needed to promote it.
    pub min_confidence: f64,
}

impl Default for CanarySettings {
    fn default() -> Self {
        CanarySettings { enabled: false, traffic_split: 10.0, min_signals: 30, min_confidence: 0.8 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// Slack-compatible incoming webhook; no posts when unset.
    pub webhook_url: Option<String>,
    /// Alerts at or above this severity are posted.
    pub min_severity: Severity,
    pub timeout_secs: u64,
    pub retries: u32,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings { webhook_url: None, min_severity: Severity::High, timeout_secs: 10, retries: 2 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusSettings {
    /// `status --check` fails when the last successful run is older than this.
    pub max_run_age_hours: f64,
}

impl Default for StatusSettings {
    fn default() -> Self {
        StatusSettings { max_run_age_hours: 26.0 }
    }
}

/// Settings and where they came from; paths already resolved against the config's folder.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub settings: Settings,
    /// The config file read, if there was one.
    pub file: Option<PathBuf>,
    /// Folder that relative paths in the config are resolved against.
    pub base_dir: PathBuf,
}

impl Resolved {
    pub fn database_path(&self) -> PathBuf {
        self.base_dir.join(&self.settings.state.database)
    }

    pub fn models_dir(&self) -> PathBuf {
        self.base_dir.join(&self.settings.state.models_dir)
    }

    /// The configured default interval, already validated.
    pub fn default_interval(&self) -> Interval {
        parse_interval("data.interval", &self.settings.data.interval)
            .expect("validated when the settings were loaded")
    }
}

/// Read the config: `explicit` (from `--config` or `RETRAIN_CONFIG`) must exist;
/// otherwise `./config.yaml` is used if present, else the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Resolved, Failure> {
    let (file, must_exist) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    if !file.exists() {
        if must_exist {
            return Err(Failure::Usage(format!("config file {} does not exist", file.display())));
        }
        return Ok(Resolved { settings: Settings::default(), file: None, base_dir: ".".into() });
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Failure::Usage(format!("cannot read config file {}: {e}", file.display())))?;
    let settings = parse(&text).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let base_dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Resolved { settings, file: Some(file), base_dir })
}

/// Parse and validate config text; the error names the key and what was expected.
pub fn parse(text: &str) -> Result<Settings, String> {
    // An empty file (or one with only comments) means all defaults.
    if text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#')) {
        return Ok(Settings::default());
    }
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let settings: Settings = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde_yaml starts its message with the parent key's path; ours is the whole path.
        let message = match inner.split_once(": ") {
            Some((head, rest)) if path.starts_with(head) => rest.to_string(),
            _ => inner,
        };
        if path == "." { message } else { format!("{path}: {message}") }
    })?;
    validate(&settings)?;
    Ok(settings)
}

fn parse_interval(key: &str, text: &str) -> Result<Interval, String> {
    text.parse().map_err(|e| format!("{key}: {e}"))
}

fn check(ok: bool, key: &str, expected: &str, value: impl std::fmt::Display) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("{key}: expected {expected}, got {value}")) }
}

fn share(key: &str, value: f64) -> Result<(), String> {
    check((0.0..=1.0).contains(&value), key, "a number from 0 to 1", value)
}

fn positive(key: &str, value: f64) -> Result<(), String> {
    check(value.is_finite() && value > 0.0, key, "a positive number", value)
}

fn non_negative(key: &str, value: f64) -> Result<(), String> {
    check(value.is_finite() && value >= 0.0, key, "a number >= 0", value)
}

fn at_least(key: &str, value: u32, min: u32) -> Result<(), String> {
    check(value >= min, key, &format!("an integer >= {min}"), value)
}

fn non_empty<T>(key: &str, values: &[T]) -> Result<(), String> {
    check(!values.is_empty(), key, "at least one value", "an empty list")
}

/// Check every value that the types alone do not constrain.
fn validate(s: &Settings) -> Result<(), String> {
    check(!s.state.database.as_os_str().is_empty(), "state.database", "a file path", "\"\"")?;
    check(!s.state.models_dir.as_os_str().is_empty(), "state.models_dir", "a folder path", "\"\"")?;

    parse_interval("data.interval", &s.data.interval)?;
    share("data.quality_threshold", s.data.quality_threshold)?;
    let src = &s.data.source;
    check(
        src.base_url.starts_with("http://") || src.base_url.starts_with("https://"),
        "data.source.base_url",
        "an http:// or https:// URL",
        &src.base_url,
    )?;
    at_least("data.source.days", src.days, 1)?;
    check(src.timeout_secs >= 1, "data.source.timeout_secs", "an integer >= 1", src.timeout_secs)?;
    check(
        src.max_backoff_ms >= src.backoff_ms,
        "data.source.max_backoff_ms",
        &format!("at least data.source.backoff_ms ({})", src.backoff_ms),
        src.max_backoff_ms,
    )?;

    for (i, sym) in s.symbols.iter().enumerate() {
        let key = format!("symbols[{i}]");
        check(!sym.symbol.trim().is_empty(), &format!("{key}.symbol"), "a symbol", "\"\"")?;
        if let Some(interval) = &sym.interval {
            parse_interval(&format!("{key}.interval"), interval)?;
        }
        non_empty(&format!("{key}.regimes"), &sym.regimes)?;
    }

    let f = &s.features;
    non_empty("features.return_horizons", &f.return_horizons)?;
    for (key, value) in [
        ("features.volatility_window", f.volatility_window),
        ("features.rsi_period", f.rsi_period),
        ("features.macd_fast", f.macd_fast),
        ("features.macd_signal", f.macd_signal),
        ("features.bollinger_period", f.bollinger_period),
        ("features.atr_period", f.atr_period),
        ("features.adx_period", f.adx_period),
        ("features.stochastic_k", f.stochastic_k),
        ("features.stochastic_d", f.stochastic_d),
        ("features.cci_period", f.cci_period),
        ("features.williams_period", f.williams_period),
        ("features.obv_slope_window", f.obv_slope_window),
    ] {
        at_least(key, value, 2)?;
    }
    for (i, h) in f.return_horizons.iter().enumerate() {
        at_least(&format!("features.return_horizons[{i}]"), *h, 1)?;
    }
    non_empty("features.ma_windows", &f.ma_windows)?;
    for (i, w) in f.ma_windows.iter().enumerate() {
        at_least(&format!("features.ma_windows[{i}]"), *w, 2)?;
    }
    check(
        f.macd_slow > f.macd_fast,
        "features.macd_slow",
        &format!("more than features.macd_fast ({})", f.macd_fast),
        f.macd_slow,
    )?;
    positive("features.bollinger_std", f.bollinger_std)?;

    let r = &s.regimes;
    check((0.0..=100.0).contains(&r.trend_adx), "regimes.trend_adx", "a number from 0 to 100", r.trend_adx)?;
    at_least("regimes.lookback_bars", r.lookback_bars, 20)?;
    share("regimes.volatile_percentile", r.volatile_percentile)?;
    share("regimes.squeeze_percentile", r.squeeze_percentile)?;
    check(
        r.squeeze_percentile < r.volatile_percentile,
        "regimes.squeeze_percentile",
        &format!("less than regimes.volatile_percentile ({})", r.volatile_percentile),
        r.squeeze_percentile,
    )?;

    at_least("label.horizon_bars", s.label.horizon_bars, 1)?;
    check(s.label.threshold_bps.is_finite(), "label.threshold_bps", "a number", s.label.threshold_bps)?;
    non_negative("label.fee_bps", s.label.fee_bps)?;

    let t = &s.training;
    for (key, value) in [
        ("training.train_share", t.train_share),
        ("training.validation_share", t.validation_share),
        ("training.test_share", t.test_share),
    ] {
        check(value > 0.0 && value < 1.0, key, "a share between 0 and 1", value)?;
    }
    let total = t.train_share + t.validation_share + t.test_share;
    check(
        (total - 1.0).abs() < 1e-9,
        "training.test_share",
        "train_share + validation_share + test_share = 1",
        format!("a sum of {total}"),
    )?;
    at_least("training.min_rows_per_part", t.min_rows_per_part, 1)?;
    positive("training.noise_mad_k", t.noise_mad_k)?;
    at_least("training.reference_sample", t.reference_sample, 10)?;
    let search = &t.search;
    at_least("training.search.max_trials", search.max_trials, 1)?;
    non_empty("training.search.max_depth", &search.max_depth)?;
    non_empty("training.search.min_samples_leaf", &search.min_samples_leaf)?;
    non_empty("training.search.n_trees", &search.n_trees)?;
    non_empty("training.search.feature_fraction", &search.feature_fraction)?;
    for (i, v) in search.max_depth.iter().enumerate() {
        at_least(&format!("training.search.max_depth[{i}]"), *v, 1)?;
    }
    for (i, v) in search.min_samples_leaf.iter().enumerate() {
        at_least(&format!("training.search.min_samples_leaf[{i}]"), *v, 1)?;
    }
    for (i, v) in search.n_trees.iter().enumerate() {
        at_least(&format!("training.search.n_trees[{i}]"), *v, 1)?;
    }
    for (i, v) in search.feature_fraction.iter().enumerate() {
        let key = format!("training.search.feature_fraction[{i}]");
        check(*v > 0.0 && *v <= 1.0, &key, "a share in (0, 1]", v)?;
    }

    let e = &s.evaluation;
    check(
        e.threshold > 0.0 && e.threshold < 1.0,
        "evaluation.threshold",
        "a probability in (0, 1)",
        e.threshold,
    )?;
    non_negative("evaluation.fee_bps", e.fee_bps)?;
    non_negative("evaluation.slippage_bps", e.slippage_bps)?;
    at_least("evaluation.window_days", e.window_days, 1)?;
    at_least("evaluation.min_compare_bars", e.min_compare_bars, 2)?;
    at_least("evaluation.bootstrap_block_bars", e.bootstrap_block_bars, 1)?;
    at_least("evaluation.bootstrap_resamples", e.bootstrap_resamples, 100)?;

    let g = &s.gates;
    for (key, value) in [
        ("gates.min_f1", g.min_f1),
        ("gates.min_precision", g.min_precision),
        ("gates.min_recall", g.min_recall),
        ("gates.min_win_rate", g.min_win_rate),
        ("gates.max_drawdown", g.max_drawdown),
        ("gates.max_feature_drift_ks", g.max_feature_drift_ks),
        ("gates.min_probability_better", g.min_probability_better),
    ] {
        share(key, value)?;
    }
    check(g.min_f1_improvement.is_finite(), "gates.min_f1_improvement", "a number", g.min_f1_improvement)?;
    non_negative("gates.min_profit_factor", g.min_profit_factor)?;
    non_negative("gates.cooldown_hours", g.cooldown_hours)?;

    let d = &s.drift;
    let bands = [d.psi_low, d.psi_medium, d.psi_high, d.psi_critical];
    for (key, value) in
        ["drift.psi_low", "drift.psi_medium", "drift.psi_high", "drift.psi_critical"].iter().zip(bands)
    {
        positive(key, value)?;
    }
    check(
        bands.windows(2).all(|pair| pair[0] < pair[1]),
        "drift.psi_critical",
        "psi_low < psi_medium < psi_high < psi_critical",
        format!("{bands:?}"),
    )?;
    check(
        d.ks_statistic > 0.0 && d.ks_statistic <= 1.0,
        "drift.ks_statistic",
        "a number in (0, 1]",
        d.ks_statistic,
    )?;
    check(
        d.dataset_share > 0.0 && d.dataset_share <= 1.0,
        "drift.dataset_share",
        "a share in (0, 1]",
        d.dataset_share,
    )?;
    at_least("drift.window_days", d.window_days, 1)?;

    let tr = &s.triggers;
    share("triggers.min_win_rate", tr.min_win_rate)?;
    at_least("triggers.min_signals", tr.min_signals, 1)?;
    positive("triggers.performance_decay", tr.performance_decay)?;
    positive("triggers.max_age_days", tr.max_age_days)?;
    at_least("triggers.min_initial_rows", tr.min_initial_rows, 1)?;

    at_least("schedule.max_concurrent_jobs", s.schedule.max_concurrent_jobs, 1)?;
    for (i, job) in s.schedule.jobs.iter().enumerate() {
        let key = format!("schedule.jobs[{i}]");
        check(!job.models.trim().is_empty(), &format!("{key}.models"), "a SYMBOL/regime pattern", "\"\"")?;
        let fields = job.cron.split_whitespace().count();
        check(fields == 5, &format!("{key}.cron"), "five crontab fields", format!("{:?}", job.cron))?;
        check(!job.timezone.trim().is_empty(), &format!("{key}.timezone"), "an IANA time zone", "\"\"")?;
    }

    let c = &s.deployment.canary;
    check(
        c.traffic_split > 0.0 && c.traffic_split < 100.0,
        "deployment.canary.traffic_split",
        "a percentage between 0 and 100",
        c.traffic_split,
    )?;
    at_least("deployment.canary.min_signals", c.min_signals, 1)?;
    share("deployment.canary.min_confidence", c.min_confidence)?;
    positive("deployment.watch_hours", s.deployment.watch_hours)?;

    let n = &s.notifications;
    if let Some(url) = &n.webhook_url {
        check(
            url.starts_with("http://") || url.starts_with("https://"),
            "notifications.webhook_url",
            "an http:// or https:// URL",
            url,
        )?;
    }
    check(n.timeout_secs >= 1, "notifications.timeout_secs", "an integer >= 1", n.timeout_secs)?;

    positive("status.max_run_age_hours", s.status.max_run_age_hours)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_is_exactly_the_defaults() {
        assert_eq!(parse(DEFAULT_CONFIG_YAML).unwrap(), Settings::default());
    }

    #[test]
    fn empty_or_comment_only_files_mean_defaults() {
        assert_eq!(parse("").unwrap(), Settings::default());
        assert_eq!(parse("# nothing\n\n").unwrap(), Settings::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let err = parse("data:\n  qualty_threshold: 0.5\n").unwrap_err();
        assert!(err.contains("data") && err.contains("qualty_threshold"), "{err}");
        let err = parse("gates:\n  min_f1: 0.6\n  min_f2: 0.1\n").unwrap_err();
        assert!(err.contains("min_f2"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_key_and_the_expectation() {
        let err = parse("data:\n  quality_threshold: 1.5\n").unwrap_err();
        assert_eq!(err, "data.quality_threshold: expected a number from 0 to 1, got 1.5");
        let err = parse("data:\n  interval: 7x\n").unwrap_err();
        assert!(err.starts_with("data.interval: invalid interval \"7x\""), "{err}");
        let err = parse("training:\n  search:\n    metric: f2\n").unwrap_err();
        assert!(err.starts_with("training.search.metric: unknown variant `f2`"), "{err}");
        let err = parse("label:\n  horizon_bars: -3\n").unwrap_err();
        assert!(err.starts_with("label.horizon_bars:"), "{err}");
        let err = parse("drift:\n  psi_high: 0.12\n").unwrap_err();
        assert!(err.starts_with("drift.psi_critical:"), "{err}");
        let err = parse("schedule:\n  jobs:\n    - models: '*'\n      cron: '0 2 * *'\n").unwrap_err();
        assert!(err.starts_with("schedule.jobs[0].cron: expected five crontab fields"), "{err}");
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let s = parse("label:\n  horizon_bars: 6\n").unwrap();
        assert_eq!(s.label.horizon_bars, 6);
        assert_eq!(s.label.threshold_bps, LabelSettings::default().threshold_bps);
        assert_eq!(s.gates, GateSettings::default());
    }

    #[test]
    fn symbols_default_to_all_regimes() {
        let s = parse("symbols:\n  - symbol: BTCUSDT\n").unwrap();
        assert_eq!(s.symbols[0].regimes, Regime::ALL.to_vec());
        assert_eq!(s.symbols[0].source, SymbolSource::None);
    }
}
