//! Settings: `config.yaml` (every key optional, every key with a default here) resolved
//! once into a validated [`Settings`] before any work starts.
//!
//! Precedence is flag > environment > file > default. Unknown keys are refused with their
//! full path (`data.qualty_threshold`), invalid values with the key and what was expected.
//! Paths in the file are relative to the file's folder.

use std::path::{Path, PathBuf};

mod settings;
mod validate;

pub use settings::*;

use crate::candles::Interval;
use crate::error::Failure;
use validate::{parse_interval, validate};

/// The default config file, commented; `retrain init` writes exactly this.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../../config.yaml");
/// The config file looked for in the working folder when neither `--config` nor
/// `RETRAIN_CONFIG` names one.
pub const DEFAULT_CONFIG_FILE: &str = "config.yaml";

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
        assert!(err.starts_with("schedule.jobs[0].cron: \"0 2 * *\" has 4 fields"), "{err}");
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
