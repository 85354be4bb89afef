//! Config shared by the test suites.

/// Promotion gates that any trained model passes (cooldown 0), so that a test chooses
/// what fails.
pub const OPEN_GATES: &str = "gates:
  min_f1: 0.0
  min_precision: 0.0
  min_recall: 0.0
  min_f1_improvement: -1.0
  min_win_rate: 0.0
  min_profit_factor: 0.0
  max_drawdown: 1.0
  min_trades: 0
  max_feature_drift_ks: 1.0
  max_drifted_importance: 1.0
  min_probability_better: 0.0
  cooldown_hours: 0.0
";
