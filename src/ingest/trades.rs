//! Trade outcomes of the live trading system, from a CSV with a header:
//! id, symbol, opened_at, closed_at, side, entry_price, exit_price, quantity, pnl, and
//! optionally model_version. Every row is checked; a bad one is an error naming its line.

use std::collections::HashMap;
use std::path::Path;

use super::columns::normalise;
use crate::candles::time::TimeParser;
use crate::error::Failure;

/// Which way a trade was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Long,
    Short,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Long => "long",
            Side::Short => "short",
        }
    }
}

/// One closed trade of the live system.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeOutcome {
    pub id: String,
    pub symbol: String,
    pub opened_at: i64,
    pub closed_at: i64,
    pub side: Side,
    pub entry_price: f64,
    pub exit_price: f64,
    pub quantity: f64,
    pub pnl: f64,
    pub model_version: Option<i64>,
}

const REQUIRED: [&str; 9] =
    ["id", "symbol", "opened_at", "closed_at", "side", "entry_price", "exit_price", "quantity", "pnl"];

/// Read and check every trade outcome in `path`; identical repeated rows collapse, an id
/// repeated with other values is an error.
pub fn read(path: &Path) -> Result<Vec<TradeOutcome>, Failure> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot open {label}: {e}")))?;
    read_bytes(&label, &bytes)
}

/// [`read`] on bytes in memory, named `label` in messages (also the fuzz target's entry).
pub fn read_bytes(label: &str, bytes: &[u8]) -> Result<Vec<TradeOutcome>, Failure> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Failure::Input(format!("{label}: {e}")))?
        .iter()
        .map(normalise)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(Failure::Input(format!("{label}: the file is empty")));
    }
    let position = |name: &str| header.iter().position(|h| h == name);
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|name| position(name).is_none()).collect();
    if !missing.is_empty() {
        return Err(Failure::Input(format!(
            "{label}:1: no column for {} (expected {} and optionally model_version)",
            missing.join(", "),
            REQUIRED.join(", ")
        )));
    }
    let at: Vec<usize> = REQUIRED.iter().filter_map(|name| position(name)).collect();
    let version_at = position("model_version");

    let mut times = TimeParser::new(None);
    let mut trades: Vec<TradeOutcome> = Vec::new();
    let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| Failure::Input(format!("{label}: {e}")))?;
        let line = record.position().map_or(0, csv::Position::line);
        let error = |message: String| Failure::Input(format!("{label}:{line}: {message}"));
        let field = |i: usize| record.get(i).unwrap_or("");
        // model_version may be left off the end of a row; the required fields may not.
        let needed = at.iter().max().map_or(0, |m| m + 1);
        if record.len() < needed {
            return Err(error(format!(
                "expected at least {needed} fields, found {} (truncated line?)",
                record.len()
            )));
        }
        let trade = parse_row(|i| field(at[i]), version_at.map(field), &mut times).map_err(error)?;
        match seen.get(&trade.id) {
            Some(&(index, _)) if trades[index] == trade => continue,
            Some(&(_, first_line)) => {
                return Err(error(format!("id {:?} also at line {first_line} with other values", trade.id)));
            }
            None => {
                seen.insert(trade.id.clone(), (trades.len(), line));
                trades.push(trade);
            }
        }
    }
    if trades.is_empty() {
        return Err(Failure::Input(format!("{label}: no trade outcomes after the header")));
    }
    Ok(trades)
}

fn parse_row<'a>(
    field: impl Fn(usize) -> &'a str,
    version: Option<&str>,
    times: &mut TimeParser,
) -> Result<TradeOutcome, String> {
    let text = |i: usize| -> Result<&str, String> {
        let value = field(i);
        if value.is_empty() { Err(format!("{} is empty", REQUIRED[i])) } else { Ok(value) }
    };
    let number = |i: usize| -> Result<f64, String> {
        let value = text(i)?;
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{}: cannot read {value:?} as a number", REQUIRED[i]))
    };
    let positive = |i: usize| -> Result<f64, String> {
        let value = number(i)?;
        if value > 0.0 {
            Ok(value)
        } else {
            Err(format!("{}: expected a positive number, got {value}", REQUIRED[i]))
        }
    };
    let mut time = |i: usize| -> Result<i64, String> {
        times.parse(text(i)?).map_err(|m| format!("{}: {m}", REQUIRED[i]))
    };
    let opened_at = time(2)?;
    let closed_at = time(3)?;
    if closed_at < opened_at {
        return Err("closed_at is before opened_at".into());
    }
    let side = match text(4)?.to_lowercase().as_str() {
        "long" | "buy" => Side::Long,
        "short" | "sell" => Side::Short,
        other => return Err(format!("side: expected long, short, buy or sell, got {other:?}")),
    };
    let model_version = match version.filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("model_version: expected a version number >= 1, got {v:?}"))?,
        ),
    };
    Ok(TradeOutcome {
        id: text(0)?.to_string(),
        symbol: text(1)?.to_string(),
        opened_at,
        closed_at,
        side,
        entry_price: positive(5)?,
        exit_price: positive(6)?,
        quantity: positive(7)?,
        pnl: number(8)?,
        model_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Vec<TradeOutcome>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        read(&path).map_err(|e| e.to_string().replace(&path.display().to_string(), "t.csv"))
    }

    const HEADER: &str =
        "id,symbol,opened_at,closed_at,side,entry_price,exit_price,quantity,pnl,model_version\n";

    #[test]
    fn reads_outcomes_with_and_without_a_version() {
        let trades = read_text(&format!(
            "{HEADER}a1,BTCUSDT,2022-01-01 00:00,2022-01-01 01:00,buy,100,101,2,2,3\n\
             a2,BTCUSDT,1640995200000,1640998800000,short,100,99,1,1,\n\
             a1,BTCUSDT,2022-01-01 00:00,2022-01-01 01:00,buy,100,101,2,2,3\n"
        ))
        .unwrap();
        assert_eq!(trades.len(), 2, "the identical repeat of a1 collapses");
        assert_eq!(trades[0].side, Side::Long);
        assert_eq!(trades[0].model_version, Some(3));
        assert_eq!(trades[1].model_version, None);
        assert_eq!(trades[1].opened_at, 1_640_995_200_000);
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let err = read_text(&format!("{HEADER}a1,BTCUSDT,2022-01-01,2022-01-01,up,1,1,1,0,\n")).unwrap_err();
        assert_eq!(err, "t.csv:2: side: expected long, short, buy or sell, got \"up\"");
        let err =
            read_text(&format!("{HEADER}a1,BTCUSDT,2022-01-02,2022-01-01,long,1,1,1,0,\n")).unwrap_err();
        assert_eq!(err, "t.csv:2: closed_at is before opened_at");
        let err = read_text(&format!(
            "{HEADER}a1,X,2022-01-01,2022-01-01,long,1,1,1,0,\na1,X,2022-01-01,2022-01-01,long,1,2,1,0,\n"
        ))
        .unwrap_err();
        assert_eq!(err, "t.csv:3: id \"a1\" also at line 2 with other values");
        let err = read_text("id,symbol,side\n").unwrap_err();
        assert!(err.starts_with("t.csv:1: no column for opened_at"), "{err}");
    }
}
