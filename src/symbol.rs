//! A market's symbol, checked once where it enters (the command line, `symbols[]` of the
//! config, a queued request), so that no path or URL is ever built from an unchecked
//! string: a symbol names a folder under `models/` and goes into an exchange's URL.

use std::fmt;
use std::str::FromStr;

/// Longest symbol accepted; exchange symbols are far shorter.
const MAX_LEN: usize = 64;

/// 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or a digit:
/// safe as a file name (never `.`, `..` or hidden) and in a URL path, case kept as given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(String);

impl Symbol {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Symbol {
    type Err = String;

    fn from_str(text: &str) -> Result<Symbol, String> {
        let starts_well = text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let plain = text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if starts_well && plain && text.len() <= MAX_LEN {
            Ok(Symbol(text.to_string()))
        } else {
            Err(format!(
                "{text:?} is not a symbol: use 1 to {MAX_LEN} letters, digits, '.', '_' or '-', starting with \
                 a letter or a digit (it names a folder under models/ and goes into URLs), e.g. BTCUSDT"
            ))
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A symbol reads as the plain text it is: queries and messages take it as `&str`.
impl std::ops::Deref for Symbol {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Symbol {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Symbol {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for Symbol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Symbol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Symbol, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

crate::store::db::sql_text!(Symbol);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_symbols_pass_and_paths_or_urls_do_not() {
        for good in ["BTCUSDT", "BTC-PERP", "ETH_BTC", "1000SHIBUSDT", "eth.btc", "A"] {
            assert_eq!(good.parse::<Symbol>().map(|s| s.to_string()), Ok(good.to_string()), "{good}");
        }
        let long = "A".repeat(65);
        for bad in
            ["", "..", ".", ".hidden", "-rf", "_x", "BTC/USDT", "../x", "BTC USDT", "BTC?x=1", "ÉTH", &long]
        {
            let err = bad.parse::<Symbol>().unwrap_err();
            assert!(err.contains("is not a symbol"), "{bad:?}: {err}");
        }
        assert!("A".repeat(64).parse::<Symbol>().is_ok());
    }

    #[test]
    fn a_config_or_a_row_holding_a_bad_symbol_is_refused_on_reading() {
        assert!(
            serde_yaml::from_str::<Symbol>("BTC/USDT").unwrap_err().to_string().contains("is not a symbol")
        );
        assert_eq!(serde_yaml::from_str::<Symbol>("BTCUSDT").unwrap(), "BTCUSDT");
    }
}
