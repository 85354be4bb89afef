//! JSON candles as freqtrade stores them: an array of `[time, open, high, low, close,
//! volume]`; also an array of objects with named fields. Numbers may be JSON numbers or
//! numeric strings (as exchange APIs send them); `null` is a missing value.

use serde_json::Value;

use super::columns::{self, Layout};
use super::delimited::parse_number;
use super::{Loaded, Rows};
use crate::candles::time::{TimeParser, epoch_f64_to_millis, epoch_to_millis};
use crate::candles::{Candle, SourceRow, Tick};
use crate::error::Failure;

pub fn read(label: &str, bytes: &[u8], time_format: Option<&str>) -> Result<Loaded, Failure> {
    let elements: Vec<Value> = serde_json::from_slice(bytes).map_err(|e| {
        Failure::Input(format!("{label}:{}:{}: not a JSON array of candles: {e}", e.line(), e.column()))
    })?;
    let mut times = TimeParser::new(time_format);
    let mut candles = Vec::with_capacity(elements.len());
    let mut ticks = Vec::new();
    let mut object_layout: Option<(Vec<String>, Layout)> = None;
    for (index, element) in elements.iter().enumerate() {
        let row = index as u64 + 1;
        let error = |message: String| Failure::Input(format!("{label}: row {row}: {message}"));
        let values: Vec<&Value> = match element {
            Value::Array(items) => {
                if items.len() < 6 {
                    return Err(error(format!(
                        "expected [time, open, high, low, close, volume], found {} values",
                        items.len()
                    )));
                }
                items.iter().take(6).collect()
            }
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                if object_layout.as_ref().is_none_or(|(known, _)| *known != keys) {
                    object_layout = Some((keys.clone(), columns::layout(&keys).map_err(error)?));
                }
                let Some((_, layout)) = &object_layout else { unreachable!("set just above") };
                let at: &[usize] = match layout {
                    Layout::Candles(at) => at,
                    Layout::Ticks(at) => at,
                };
                at.iter().map(|&i| &map[&keys[i]]).collect()
            }
            other => return Err(error(format!("expected an array or an object, found {}", kind(other)))),
        };
        let time = json_time(values[0], &mut times).map_err(error)?;
        let number = |i: usize, name: &str| json_number(values[i], name).map_err(error);
        if values.len() == 3 {
            ticks.push(Tick { line: row, time, price: number(1, "price")?, amount: number(2, "amount")? });
        } else {
            let candle = Candle {
                open_time: time,
                open: number(1, "open")?,
                high: number(2, "high")?,
                low: number(3, "low")?,
                close: number(4, "close")?,
                volume: number(5, "volume")?,
            };
            candles.push(SourceRow { line: row, candle });
        }
    }
    if !candles.is_empty() && !ticks.is_empty() {
        return Err(Failure::Input(format!("{label}: mixes candles and trades")));
    }
    let rows = if ticks.is_empty() { Rows::Candles(candles) } else { Rows::Ticks(ticks) };
    Ok(Loaded { rows, place: "row" })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_time(value: &Value, times: &mut TimeParser) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(epoch_to_millis)
            .or_else(|| n.as_f64().and_then(epoch_f64_to_millis))
            .ok_or_else(|| format!("time {n} is out of range")),
        Value::String(text) => times.parse(text),
        other => Err(format!("time: expected a number or a string, found {}", kind(other))),
    }
}

fn json_number(value: &Value, name: &str) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{name}: {n} is out of range")),
        Value::String(text) => parse_number(text.trim(), name),
        Value::Null => Ok(f64::NAN),
        other => Err(format!("{name}: expected a number, found {}", kind(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> Result<Loaded, String> {
        read("c.json", text.as_bytes(), None).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_freqtrade_arrays_and_string_numbers() {
        let loaded = read_str(r#"[[1509836520000, 0.00162, 0.00163, 0.00161, 0.00162, 108.1], [1509836580, "1", "2", "0.5", "1.5", null]]"#).unwrap();
        let Rows::Candles(rows) = loaded.rows else { panic!("candles expected") };
        assert_eq!(rows[0].candle.high, 0.00163);
        assert_eq!(rows[1].candle.open_time, 1_509_836_580_000);
        assert!(rows[1].candle.volume.is_nan());
    }

    #[test]
    fn reads_objects_with_named_fields() {
        let loaded = read_str(r#"[{"date": "2017-11-04T23:02:00Z", "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 3}]"#).unwrap();
        let Rows::Candles(rows) = loaded.rows else { panic!("candles expected") };
        assert_eq!(rows[0].candle.open_time, 1_509_836_520_000);
    }

    #[test]
    fn errors_name_the_row_or_position() {
        let err = read_str("[[1, 2, 3, 4, 5, 6], [1, 2, 3]]").unwrap_err();
        assert_eq!(err, "c.json: row 2: expected [time, open, high, low, close, volume], found 3 values");
        let err = read_str("[[1, 2, 3, 4, 5, 6],\n [1, 2, \"x\", 4, 5, 6]]").unwrap_err();
        assert_eq!(err, "c.json: row 2: column \"high\": cannot read \"x\" as a number");
        let err = read_str("[[1, 2, 3, 4, 5, 6],\n [1, 2,").unwrap_err();
        assert!(err.starts_with("c.json:2:"), "{err}");
        let err = read_str("{\"a\": 1}").unwrap_err();
        assert!(err.contains("not a JSON array"), "{err}");
    }
}
