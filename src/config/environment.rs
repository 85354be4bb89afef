//! Environment overrides: every scalar key of the config can be set by
//! `RETRAIN_<SECTION>_<KEY>`, the dotted path upper-cased with dots as underscores
//! (`gates.min_f1` is `RETRAIN_GATES_MIN_F1`, `data.source.base_url` is
//! `RETRAIN_DATA_SOURCE_BASE_URL`). They sit between the file and the flags: flag >
//! environment > file > default. Lists (`symbols`, `schedule.jobs`,
//! `features.return_horizons`, ...) are not set this way. A `RETRAIN_` variable that names
//! no key is refused, as an unknown key in the file is: a typo must not pass silently.

use serde_yaml::{Mapping, Value};

use super::Settings;
use crate::env_vars;

/// `RETRAIN_` variables that are not config keys.
const NOT_KEYS: [&str; 4] = [
    env_vars::RETRAIN_CONFIG,
    env_vars::RETRAIN_FAILPOINT,
    env_vars::RETRAIN_DATABASE_CA,
    env_vars::RETRAIN_SMTP_PASSWORD,
];

/// Every key an environment variable can set: (variable, dotted path, whether the value
/// is text, taken as it is rather than read as YAML).
pub fn keys() -> Vec<(String, Vec<String>, bool)> {
    let defaults = serde_yaml::to_value(Settings::default()).expect("the defaults serialise");
    let mut keys = Vec::new();
    leaves(&defaults, &mut Vec::new(), &mut keys);
    // The name PostgreSQL tools and hosting platforms use for a database URL; it holds a
    // password, so it belongs in the environment (a Secret) rather than the file.
    keys.push((env_vars::RETRAIN_DATABASE_URL.to_string(), vec!["state".into(), "database".into()], true));
    keys
}

fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Vec<String>, bool)>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if let Some(key) = key.as_str() {
                    path.push(key.to_string());
                    leaves(child, path, out);
                    path.pop();
                }
            }
        }
        Value::Sequence(_) | Value::Tagged(_) => {}
        scalar => {
            let variable = format!("RETRAIN_{}", path.join("_").to_uppercase());
            out.push((variable, path.clone(), matches!(scalar, Value::String(_) | Value::Null)));
        }
    }
}

/// The overrides among `vars`: (variable, dotted path, value) in the variables' order, or
/// the first variable that names no key.
pub fn overrides(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, Vec<String>, Value)>, String> {
    let keys = keys();
    let mut found = Vec::new();
    for (name, text) in vars {
        if !name.starts_with("RETRAIN_") || NOT_KEYS.contains(&name.as_str()) {
            continue;
        }
        let Some((_, path, textual)) = keys.iter().find(|(variable, ..)| *variable == name) else {
            return Err(format!(
                "environment variable {name} names no config key: RETRAIN_<SECTION>_<KEY> sets a scalar key \
                 (e.g. RETRAIN_GATES_MIN_F1 for gates.min_f1); see docs/configuration.md"
            ));
        };
        let value = match (*textual, text.trim()) {
            (true, "") => Value::Null,
            (true, _) => Value::String(text.clone()),
            (false, _) => serde_yaml::from_str(&text).unwrap_or(Value::String(text.clone())),
        };
        found.push((name, path.clone(), value));
    }
    Ok(found)
}

/// Set `path` to `value` in a YAML document, creating the mappings on the way.
pub fn set(document: &mut Value, path: &[String], value: Value) {
    if !matches!(document, Value::Mapping(_)) {
        *document = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(map) = document else { return };
    let key = Value::String(path[0].clone());
    if path.len() == 1 {
        map.insert(key, value);
        return;
    }
    let child = map.entry(key).or_insert(Value::Null);
    set(child, &path[1..], value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scalar_key_has_one_variable_and_lists_have_none() {
        let keys = keys();
        let mut names: Vec<&str> = keys.iter().map(|(n, ..)| n.as_str()).collect();
        assert!(names.contains(&"RETRAIN_GATES_MIN_F1"));
        assert!(names.contains(&"RETRAIN_DATA_SOURCE_BASE_URL"));
        assert!(names.contains(&"RETRAIN_NOTIFICATIONS_WEBHOOK_URL"), "a key whose default is null");
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("RETRAIN_SYMBOLS") || *n == "RETRAIN_FEATURES_RETURN_HORIZONS")
        );
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "two keys share a variable");
    }

    #[test]
    fn values_are_read_as_yaml_scalars_except_text_keys() {
        let vars = [
            ("RETRAIN_GATES_MIN_F1", "0.55"),
            ("RETRAIN_STATE_DATABASE", "123"),
            ("RETRAIN_DEPLOYMENT_AUTO_DEPLOY", "false"),
            ("RETRAIN_NOTIFICATIONS_WEBHOOK_URL", ""),
            ("RETRAIN_CONFIG", "elsewhere.yaml"),
            ("HOME", "/root"),
        ];
        let found = overrides(vars.map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
        let values: Vec<(&str, &Value)> = found.iter().map(|(n, _, v)| (n.as_str(), v)).collect();
        assert_eq!(
            values,
            [
                ("RETRAIN_GATES_MIN_F1", &Value::from(0.55)),
                ("RETRAIN_STATE_DATABASE", &Value::from("123")),
                ("RETRAIN_DEPLOYMENT_AUTO_DEPLOY", &Value::from(false)),
                ("RETRAIN_NOTIFICATIONS_WEBHOOK_URL", &Value::Null),
            ]
        );
        let err = overrides([("RETRAIN_GATES_MIN_FI".to_string(), "0.5".to_string())]).unwrap_err();
        assert!(err.starts_with("environment variable RETRAIN_GATES_MIN_FI names no config key"), "{err}");
    }
}
