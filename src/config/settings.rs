//! Every setting, its meaning (the `///` comments) and its default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::candles::Interval;
use crate::symbol::Symbol;

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
    pub interval: Interval,
    /// A batch whose quality score is below this is refused and nothing of it is written.
    pub quality_threshold: f64,
    /// Runs of more consecutive zero-volume candles than this count as defects.
    pub max_zero_volume_run: u32,
    /// What a `.gz` or `.zip` file may expand to, in MB (2^20 bytes); more is refused
    /// before it is read whole.
    pub max_unpacked_mb: u64,
    /// Exchange REST API used by `collect --source`.
    pub source: SourceSettings,
}

impl Default for DataSettings {
    fn default() -> Self {
        DataSettings {
            interval: Interval::from_millis(300_000).expect("five minutes is an interval"),
            quality_threshold: 0.8,
            max_zero_volume_run: 5,
            max_unpacked_mb: crate::ingest::DEFAULT_MAX_UNPACKED_MB,
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

crate::store::db::sql_text!(Regime);

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
    /// Symbol as stored, e.g. BTCUSDT: letters, digits, '.', '_' or '-'.
    pub symbol: Symbol,
    /// Interval of its models [default: data.interval].
    #[serde(default)]
    pub interval: Option<Interval>,
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

impl SymbolSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolSource::None => "none",
            SymbolSource::Binance => "binance",
        }
    }
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
    /// Gradient-boosted trees (src/model/boosting.rs says which crate and why).
    GradientBoosting,
}

impl ModelKind {
    /// The name as the config, the registry and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::DecisionTree => "decision-tree",
            ModelKind::RandomForest => "random-forest",
            ModelKind::GradientBoosting => "gradient-boosting",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;

    fn from_str(text: &str) -> Result<ModelKind, String> {
        [ModelKind::DecisionTree, ModelKind::RandomForest, ModelKind::GradientBoosting]
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| {
                format!("unknown model {text:?}: expected decision-tree, random-forest or gradient-boosting")
            })
    }
}

crate::store::db::sql_text!(ModelKind);

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
    /// Train on the bars of the last this many days only (a rolling window, FreqAI's
    /// `train_period_days`); `None`: on all stored history.
    pub window_days: Option<f64>,
    /// Leave outlier-return bars and bars next to gaps out of training.
    pub noise_filter: bool,
    /// A return further than this many median absolute deviations from the median is an outlier.
    pub noise_mad_k: f64,
    /// Rows of the drift reference sample kept with each artifact.
    pub reference_sample: u32,
    /// How trees and forests find their splits (src/model/histogram.rs).
    pub splits: Splits,
    /// How P(up) is calibrated on the validation rows (src/model/calibrate.rs).
    pub calibration: CalibrationMethod,
    /// How a retrain of a model that has a production version is made (src/model/pipeline.rs).
    pub refresh: Refresh,
    /// With `refresh: incremental`, the share of a forest's trees, oldest first, that are
    /// replaced by trees grown on the bars its production version never learned from.
    pub replace_share: f64,
    pub search: SearchSettings,
}

/// `training.refresh`: a full search, or the production version refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Refresh {
    /// Search the grid afresh on the whole training window.
    Full,
    /// Keep the production version's hyperparameters (no search): a forest replaces its
    /// oldest `replace_share` of trees, a tree or a booster is refitted.
    Incremental,
}

impl Refresh {
    pub fn as_str(self) -> &'static str {
        match self {
            Refresh::Full => "full",
            Refresh::Incremental => "incremental",
        }
    }
}

/// `training.splits`: where a tree may split a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Splits {
    /// Between any two distinct training values (CART on presorted columns).
    Exact,
    /// Between the feature's bins (at most 255, computed once per training set).
    Histogram,
}

/// `training.calibration`: the map fitted from a model's P(up) to a calibrated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationMethod {
    /// The model's own probabilities.
    None,
    /// A logistic curve of the probability (Platt scaling).
    Platt,
    /// A non-decreasing step function, interpolated (isotonic regression).
    Isotonic,
}

impl CalibrationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CalibrationMethod::None => "none",
            CalibrationMethod::Platt => "platt",
            CalibrationMethod::Isotonic => "isotonic",
        }
    }
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
            window_days: None,
            noise_filter: true,
            noise_mad_k: 10.0,
            reference_sample: 5_000,
            splits: Splits::Exact,
            calibration: CalibrationMethod::None,
            refresh: Refresh::Full,
            replace_share: 0.25,
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
    /// Gradient boosting's own grid (`training.model: gradient-boosting`).
    pub boosting: BoostingGrid,
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
            boosting: BoostingGrid::default(),
        }
    }
}

/// Candidate values of each gradient-boosting hyperparameter (src/model/boosting.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoostingGrid {
    /// Trees boosted, one after the other.
    pub iterations: Vec<u32>,
    /// Shrinkage of each tree's leaf values.
    pub learning_rate: Vec<f64>,
    pub max_depth: Vec<u32>,
    /// Fewest sum of hessians in a leaf (p(1 - p) per row for log loss; LightGBM's
    /// `min_child_weight`).
    pub min_leaf_weight: Vec<f64>,
    /// Share of the rows sampled for each tree.
    pub subsample: Vec<f64>,
    /// Share of the features sampled for each tree.
    pub colsample: Vec<f64>,
}

impl Default for BoostingGrid {
    fn default() -> Self {
        BoostingGrid {
            iterations: vec![100, 200, 400],
            learning_rate: vec![0.02, 0.05, 0.1],
            max_depth: vec![3, 4, 6],
            min_leaf_weight: vec![1.0, 5.0, 20.0],
            subsample: vec![0.7, 1.0],
            colsample: vec![0.5, 0.8, 1.0],
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
    /// `drift.method: fixed`: largest KS statistic of any feature, candidate reference
    /// against recent data.
    pub max_feature_drift_ks: f64,
    /// `drift.method: calibrated`: largest share of the model's importance held by features
    /// that drift past their calibrated thresholds on recent data.
    pub max_drifted_importance: f64,
    /// Probability that the challenger is better, from the paired bootstrap.
    pub min_probability_better: f64,
    /// Hours since the last deployment of the model before another.
    pub cooldown_hours: f64,
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            // Floors chosen from measurement (scripts/gates/measure.py, docs/configuration.md):
            // skill is judged by the comparisons; these refuse what no trader would run.
            min_f1: 0.40,
            min_precision: 0.55,
            min_recall: 0.30,
            min_f1_improvement: 0.03,
            min_win_rate: 0.35,
            min_profit_factor: 1.0,
            max_drawdown: 0.20,
            min_trades: 10,
            max_feature_drift_ks: 0.15,
            max_drifted_importance: 0.2,
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

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The name as the config, the state and the output spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A drift report's severity as a number: 0 none (no feature drifted), 1 low .. 4
    /// critical, as gauges and charts plot it.
    pub fn rank(severity: Option<Severity>) -> u8 {
        severity.map_or(0, |s| s as u8 + 1)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::store::db::sql_text!(Severity);

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Severity, String> {
        match text.trim().to_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!("unknown severity {text:?}: expected low, medium, high or critical")),
        }
    }
}

/// How a feature's drift is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftMethod {
    /// Against the model's own training weeks: thresholds calibrated per feature and stored
    /// with the artifact, severity weighted by the model's feature importances.
    Calibrated,
    /// The fixed PSI bands and KS threshold, every feature counting the same.
    Fixed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftSettings {
    /// `calibrated` or `fixed`; a model without a calibration (too short a training period,
    /// or trained before calibrations were kept) is judged `fixed`, with a note.
    pub method: DriftMethod,
    /// calibrated: a feature drifts when its KS statistic or PSI lies beyond this quantile
    /// of its null distribution.
    pub calibrated_quantile: f64,
    /// calibrated: the dataset's severity is the highest that features holding at least
    /// this share of the model's importance reach.
    pub weighted_share: f64,
    /// calibrated: fewest chunks of the training period to calibrate on.
    pub min_chunks: u32,
    /// fixed: PSI at or above each band gives that severity.
    pub psi_low: f64,
    pub psi_medium: f64,
    pub psi_high: f64,
    pub psi_critical: f64,
    /// fixed: a feature drifts when its KS statistic is at or above this (or its PSI
    /// reaches `psi_medium`).
    pub ks_statistic: f64,
    /// The dataset drifts when at least this share of features drift (of the model's
    /// importance, when calibrated).
    pub dataset_share: f64,
    /// Recent window, in days, compared with the reference.
    pub window_days: u32,
}

impl Default for DriftSettings {
    fn default() -> Self {
        DriftSettings {
            method: DriftMethod::Calibrated,
            calibrated_quantile: 0.99,
            weighted_share: 0.25,
            min_chunks: 3,
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
    /// The live win rate is over the production version's newest this many resolved
    /// signals since its promotion: recent enough to show a model that turned bad, and
    /// read without walking the version's whole history.
    pub live_window: u32,
    /// Relative drop of the production metric from its test value that triggers a retrain.
    pub performance_decay: f64,
    /// Drift at or above this severity triggers a retrain.
    pub drift_severity: Severity,
    /// A production model older than this is retrained.
    pub max_age_days: f64,
    /// Fewest candles of a regime for a first model.
    pub min_initial_rows: u32,
    /// After a retrain for drift or decay that left the production version in place (the
    /// gates refused its candidate), neither trigger fires again for that version, short of
    /// a rise in the drift's severity, until this many hours have passed; the wait doubles
    /// with each such retrain.
    pub drift_backoff_hours: f64,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        TriggerSettings {
            min_win_rate: 0.45,
            min_signals: 20,
            live_window: 100,
            performance_decay: 0.10,
            drift_severity: Severity::High,
            max_age_days: 30.0,
            min_initial_rows: 1_000,
            drift_backoff_hours: 24.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    /// Jobs that `run` works on at once.
    pub max_concurrent_jobs: u32,
    /// A worker's lease on the job it works on: renewed every third of it; a job whose
    /// worker died is taken over by another once its lease runs out.
    pub lease_seconds: f64,
    /// Cron schedules; the first whose pattern matches a model applies to it.
    pub jobs: Vec<ScheduleJob>,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings { max_concurrent_jobs: 3, lease_seconds: 60.0, jobs: Vec::new() }
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
    /// Alerts at or above this severity are posted (and emailed).
    pub min_severity: Severity,
    /// Timeout of one post or one SMTP session, in seconds.
    pub timeout_secs: u64,
    /// Further attempts after a failed post or email.
    pub retries: u32,
    /// Alerts by email, beside the webhook.
    pub email: EmailSettings,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            webhook_url: None,
            min_severity: Severity::High,
            timeout_secs: 10,
            retries: 2,
            email: EmailSettings::default(),
        }
    }
}

/// Alerts by SMTP; the password is never in the config, only in `RETRAIN_SMTP_PASSWORD`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// The SMTP server; no email when unset.
    pub smtp_host: Option<String>,
    /// Its port; unset, the usual one for `tls`: 587, 465 or 25.
    pub smtp_port: Option<u16>,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// Log in as this user, with the password in `RETRAIN_SMTP_PASSWORD`.
    pub username: Option<String>,
    /// The sender, e.g. `retrain <alerts@example.com>`.
    pub from: Option<String>,
    /// The recipients.
    pub to: Vec<String>,
    /// PEM certificates of a private certificate authority, trusted beside Mozilla's roots.
    pub ca_file: Option<PathBuf>,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded by STARTTLS, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: a relay on the same host or network only; refused with a username.
    None,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }

    /// The usual port of each.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusSettings {
    /// `status --check` fails when the last successful run is older than this.
    pub max_run_age_hours: f64,
    /// The newest this many finished jobs make the success rate, durations and average
    /// improvement `status` shows.
    pub recent_jobs: u32,
}

impl Default for StatusSettings {
    fn default() -> Self {
        StatusSettings { max_run_age_hours: 26.0, recent_jobs: 1_000 }
    }
}
