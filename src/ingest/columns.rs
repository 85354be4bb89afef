//! Which input column is which: names matched case-insensitively against common aliases.

/// Positions of the columns a reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// time, open, high, low, close, volume
    Candles([usize; 6]),
    /// time, price, amount (market trades)
    Ticks([usize; 3]),
}

const TIME: &[&str] = &["open_time", "time", "timestamp", "date", "datetime", "ts", "t"];
const OPEN: &[&str] = &["open", "o", "open_price"];
const HIGH: &[&str] = &["high", "h", "high_price"];
const LOW: &[&str] = &["low", "l", "low_price"];
const CLOSE: &[&str] = &["close", "c", "close_price"];
const VOLUME: &[&str] = &["volume", "vol", "v", "base_volume"];
const PRICE: &[&str] = &["price", "p"];
const AMOUNT: &[&str] = &["amount", "qty", "quantity", "size", "volume"];

/// Lowercase, trimmed, quotes dropped, spaces and dashes as underscores.
pub fn normalise(name: &str) -> String {
    name.trim().trim_matches('"').trim().to_lowercase().replace([' ', '-'], "_")
}

fn find(names: &[String], aliases: &[&str]) -> Option<usize> {
    aliases.iter().find_map(|alias| names.iter().position(|name| name == alias))
}

/// Map header names to a layout; an unnamed first column (`""`, pandas' `Unnamed: 0`)
/// is taken as the time. The error lists what is missing and what was found.
pub fn layout(header: &[String]) -> Result<Layout, String> {
    let names: Vec<String> = header.iter().map(|n| normalise(n)).collect();
    let time = find(&names, TIME).or_else(|| {
        names.first().filter(|first| first.is_empty() || first.as_str() == "unnamed:_0").map(|_| 0)
    });
    let ohlcv = [
        find(&names, OPEN),
        find(&names, HIGH),
        find(&names, LOW),
        find(&names, CLOSE),
        find(&names, VOLUME),
    ];
    if let (Some(t), [Some(o), Some(h), Some(l), Some(c), Some(v)]) = (time, ohlcv) {
        return Ok(Layout::Candles([t, o, h, l, c, v]));
    }
    if let (Some(t), Some(p), Some(a)) = (time, find(&names, PRICE), find(&names, AMOUNT))
        && ohlcv[..4].iter().all(Option::is_none)
    {
        return Ok(Layout::Ticks([t, p, a]));
    }
    let wanted = [
        ("time", time),
        ("open", ohlcv[0]),
        ("high", ohlcv[1]),
        ("low", ohlcv[2]),
        ("close", ohlcv[3]),
        ("volume", ohlcv[4]),
    ];
    let missing: Vec<&str> = wanted.iter().filter(|(_, at)| at.is_none()).map(|(name, _)| *name).collect();
    Err(format!(
        "no column for {} (found: {}); expected time, open, high, low, close, volume \
         (or time, price, amount for market trades)",
        missing.join(", "),
        header.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matches_aliases_case_insensitively() {
        let h = names(&["Date", "Open", "High", "Low", "Close", "Vol"]);
        assert_eq!(layout(&h), Ok(Layout::Candles([0, 1, 2, 3, 4, 5])));
        let h = names(&["open_time", "open", "high", "low", "close", "volume", "close_time"]);
        assert_eq!(layout(&h), Ok(Layout::Candles([0, 1, 2, 3, 4, 5])));
        let h = names(&["close", "volume", "low", "TIMESTAMP", "high", "open"]);
        assert_eq!(layout(&h), Ok(Layout::Candles([3, 5, 4, 2, 0, 1])));
    }

    #[test]
    fn an_unnamed_first_column_is_the_time() {
        let h = names(&["", "open", "high", "low", "close", "volume"]);
        assert_eq!(layout(&h), Ok(Layout::Candles([0, 1, 2, 3, 4, 5])));
        let h = names(&["Unnamed: 0", "open", "high", "low", "close", "volume"]);
        assert_eq!(layout(&h), Ok(Layout::Candles([0, 1, 2, 3, 4, 5])));
    }

    #[test]
    fn market_trades_are_recognised() {
        let h = names(&["timestamp", "id", "type", "side", "price", "amount", "cost"]);
        assert_eq!(layout(&h), Ok(Layout::Ticks([0, 4, 5])));
    }

    #[test]
    fn missing_columns_are_named() {
        let err = layout(&names(&["time", "open", "high", "close"])).unwrap_err();
        assert!(err.starts_with("no column for low, volume (found: \"time\""), "{err}");
    }
}
