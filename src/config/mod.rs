//! Settings: `config.yaml` (every key optional, every key with a default here) resolved
//! once into a validated [`Settings`] before any work starts.
//!
//! Precedence is flag > environment > file > default (`RETRAIN_<SECTION>_<KEY>`, see
//! [`environment`]). Unknown keys are refused with their full path
//! (`data.qualty_threshold`), invalid values with the key and what was expected. Paths in
//! the file are relative to the file's folder.

use std::path::{Path, PathBuf};

pub mod environment;
mod settings;
mod validate;

pub use settings::*;

use crate::candles::Interval;
use crate::error::Failure;
use validate::validate;

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
    /// Where the state's database is: `state.database` (or `RETRAIN_DATABASE_URL`), a file
    /// path relative to the config's folder or a `postgres://` URL.
    pub fn database(&self) -> crate::store::Location {
        crate::store::Location::parse(&self.settings.state.database.to_string_lossy(), &self.base_dir)
    }

    /// Where the artifacts are: `state.models_dir`, a folder relative to the config's
    /// folder or an object store's URL (checked when the config was read).
    pub fn models(&self) -> Result<crate::artifact::Models, Failure> {
        crate::artifact::Models::open(&self.settings.state.models_dir.to_string_lossy(), &self.base_dir)
            .map_err(|e| Failure::Usage(format!("state.models_dir: {e}")))
    }

    /// The interval used when a command is given none.
    pub fn default_interval(&self) -> Interval {
        self.settings.data.interval
    }
}

/// Read the config: `explicit` (from `--config` or `RETRAIN_CONFIG`) must exist;
/// otherwise `./config.yaml` is used if present, else the defaults. `RETRAIN_<SECTION>_<KEY>`
/// variables of the process's environment override the file.
pub fn load(explicit: Option<&Path>) -> Result<Resolved, Failure> {
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())));
    load_with(explicit, vars)
}

/// [`load`] with the environment given.
pub fn load_with(
    explicit: Option<&Path>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Resolved, Failure> {
    let overrides = environment::overrides(vars).map_err(Failure::Usage)?;
    let (file, must_exist) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    if !file.exists() {
        if must_exist {
            return Err(Failure::Usage(format!("config file {} does not exist", file.display())));
        }
        let settings = with_overrides(Settings::default(), overrides).map_err(Failure::Usage)?;
        return Ok(Resolved { settings, file: None, base_dir: ".".into() });
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Failure::Usage(format!("cannot read config file {}: {e}", file.display())))?;
    let settings = parse(&text).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let settings = with_overrides(settings, overrides).map_err(Failure::Usage)?;
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
    let settings: Settings = deserialize(serde_yaml::Deserializer::from_str(text))?;
    validate(&settings)?;
    Ok(settings)
}

/// Deserialize settings; the error names the whole path of the key.
fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Settings, String>
where
    D::Error: std::fmt::Display,
{
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde_yaml starts its message with the parent key's path; ours is the whole path.
        let message = match inner.split_once(": ") {
            Some((head, rest)) if path.starts_with(head) => rest.to_string(),
            _ => inner,
        };
        if path == "." { message } else { format!("{path}: {message}") }
    })
}

/// Config keys whose values are secrets, shown only as `notify::redact` shows them.
const SECRET_KEYS: &[&str] = &["notifications.webhook_url"];

/// Apply environment overrides to settings read from the file (or the defaults) and
/// validate the result; an error names the variable.
fn with_overrides(
    settings: Settings,
    overrides: Vec<(String, Vec<String>, serde_yaml::Value)>,
) -> Result<Settings, String> {
    if overrides.is_empty() {
        return Ok(settings);
    }
    let mut document = serde_yaml::to_value(&settings).map_err(|e| e.to_string())?;
    let named: Vec<(String, String)> = overrides
        .iter()
        .map(|(name, path, value)| {
            let key = path.join(".");
            let shown = serde_yaml::to_string(value).unwrap_or_default();
            // A secret's value is never shown: the message names the variable.
            let shown = if SECRET_KEYS.contains(&key.as_str()) {
                crate::notify::redact(shown.trim())
            } else {
                shown.trim().to_string()
            };
            (key, format!("environment variable {name}={shown}"))
        })
        .collect();
    for (_, path, value) in overrides {
        environment::set(&mut document, &path, value);
    }
    let blame = |message: String| -> String {
        match named.iter().find(|(key, _)| message.starts_with(&format!("{key}:"))) {
            Some((_, variable)) => format!("{variable}: {message}"),
            None => message,
        }
    };
    let settings = deserialize(document).map_err(blame)?;
    validate(&settings).map_err(blame)?;
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

    #[test]
    fn environment_overrides_sit_between_the_file_and_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(&file, "gates:\n  min_f1: 0.7\ndata:\n  interval: 1h\n").unwrap();
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let from_file = load_with(Some(&file), vars(&[])).unwrap().settings;
        assert_eq!((from_file.gates.min_f1, from_file.data.interval.to_string().as_str()), (0.7, "1h"));
        let env =
            vars(&[("RETRAIN_GATES_MIN_F1", "0.55"), ("RETRAIN_NOTIFICATIONS_WEBHOOK_URL", "http://x/hook")]);
        let s = load_with(Some(&file), env).unwrap().settings;
        assert_eq!(s.gates.min_f1, 0.55, "the environment beats the file");
        assert_eq!(
            s.data.interval.to_string(),
            "1h",
            "keys the environment leaves alone keep the file's value"
        );
        assert_eq!(s.notifications.webhook_url.as_deref(), Some("http://x/hook"));
        assert_eq!(s.gates.min_precision, GateSettings::default().min_precision);

        let bad = |pairs: &[(&str, &str)]| load_with(Some(&file), vars(pairs)).unwrap_err().to_string();
        assert_eq!(
            bad(&[("RETRAIN_DATA_QUALITY_THRESHOLD", "1.5")]),
            "environment variable RETRAIN_DATA_QUALITY_THRESHOLD=1.5: data.quality_threshold: expected a number \
             from 0 to 1, got 1.5"
        );
        let err = bad(&[("RETRAIN_GATES_MIN_F1", "high")]);
        assert!(
            err.starts_with("environment variable RETRAIN_GATES_MIN_F1=high: gates.min_f1: invalid type"),
            "{err}"
        );
        let err = bad(&[("RETRAIN_DATA_INTERVAL", "7x")]);
        assert!(err.contains("data.interval: invalid interval \"7x\""), "{err}");
        let err = bad(&[("RETRAIN_GATE_MIN_F1", "0.5")]);
        assert!(err.starts_with("environment variable RETRAIN_GATE_MIN_F1 names no config key"), "{err}");
        let missing = dir.path().join("none").join("config.yaml");
        let err = load_with(Some(&missing), vars(&[])).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    /// Every leaf key of `value` (scalars and lists, not the mappings on the way), dotted.
    fn leaf_keys(value: &serde_yaml::Value, path: &str, out: &mut Vec<(String, serde_yaml::Value)>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                for (key, child) in map {
                    let key = key.as_str().expect("string keys");
                    let child_path = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                    leaf_keys(child, &child_path, out);
                }
            }
            leaf => out.push((path.to_string(), leaf.clone())),
        }
    }

    /// docs/configuration.md documents every key with the default the code has: a row per
    /// leaf key, `| \`key\` | \`default\` | meaning |`, and no row for a key the code lacks.
    #[test]
    fn the_configuration_reference_lists_every_key_with_its_default() {
        let doc = include_str!("../../docs/configuration.md");
        let rows: Vec<(String, String)> = doc
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split(" | ").collect();
                (cells[0].trim_start_matches("| ").trim_matches('`').to_string(), cells[1].to_string())
            })
            .collect();
        let value = |cell: &str| -> serde_yaml::Value {
            let text = cell
                .strip_prefix('`')
                .and_then(|c| c.strip_suffix('`'))
                .unwrap_or_else(|| panic!("default {cell:?} is not in backticks"));
            serde_yaml::from_str(text).unwrap_or_else(|e| panic!("default {text:?}: {e}"))
        };
        let mut expected = Vec::new();
        leaf_keys(&serde_yaml::to_value(Settings::default()).unwrap(), "", &mut expected);
        // The fields of a list item: those a minimal item must give are (required), the
        // others have the default a minimal item gets.
        let items = [
            (
                "symbols[]",
                "symbol: X\n",
                serde_yaml::to_value(parse("symbols:\n  - symbol: X\n").unwrap().symbols[0].clone()),
            ),
            (
                "schedule.jobs[]",
                "models: '*'\ncron: '0 * * * *'\n",
                serde_yaml::to_value(
                    parse("schedule:\n  jobs:\n    - models: '*'\n      cron: '0 * * * *'\n")
                        .unwrap()
                        .schedule
                        .jobs[0]
                        .clone(),
                ),
            ),
        ];
        for (prefix, minimal, item) in items {
            let required: serde_yaml::Value = serde_yaml::from_str(minimal).unwrap();
            let mut fields = Vec::new();
            leaf_keys(&item.unwrap(), prefix, &mut fields);
            for (key, default) in fields {
                let field = key.rsplit('.').next().unwrap();
                let is_required = required.get(field).is_some();
                expected.push((key, if is_required { serde_yaml::Value::Null } else { default }));
            }
        }
        for (key, default) in &expected {
            let found: Vec<&(String, String)> = rows.iter().filter(|(k, _)| k == key).collect();
            assert_eq!(found.len(), 1, "docs/configuration.md has {} rows for {key}", found.len());
            let cell = &found[0].1;
            if key.contains("[]") && default.is_null() && cell == "(required)" {
                continue;
            }
            assert_eq!(&value(cell), default, "docs/configuration.md: {key} says {cell}");
        }
        for (key, _) in &rows {
            assert!(
                expected.iter().any(|(k, _)| k == key),
                "docs/configuration.md documents {key}, which the code lacks"
            );
        }
    }
}
