//! Candles from Binance's public REST API (`GET /api/v3/klines`): paged by start time,
//! resumed from the last stored candle, retried with exponential backoff on network
//! errors and 5xx, and on 429/418 after the server's Retry-After (capped).

use std::time::Duration;

use super::{Rows, json};
use crate::candles::{Interval, SourceRow};
use crate::config::SourceSettings;
use crate::error::Failure;

/// Klines per request: the API's maximum.
const PAGE_LIMIT: usize = 1000;

/// What to fetch.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub symbol: &'a str,
    pub interval: Interval,
    /// First open time wanted (inclusive).
    pub start: i64,
    /// Now: klines still open at this time are left out.
    pub now: i64,
}

/// A client for one base URL, with the retry policy from the config.
pub struct Client {
    agent: ureq::Agent,
    settings: SourceSettings,
    base_url: String,
}

impl Client {
    pub fn new(settings: &SourceSettings, base_url: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(settings.timeout_secs)))
            .http_status_as_error(false)
            .user_agent(concat!("retrain/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            settings: settings.clone(),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// Every closed kline from `request.start` to now, in time order; `log` gets one line
    /// per retry.
    pub fn klines(&self, request: &Request, log: &mut dyn FnMut(&str)) -> anyhow::Result<Vec<SourceRow>> {
        let step = request.interval.millis();
        let mut rows: Vec<SourceRow> = Vec::new();
        let mut start = request.start;
        while start + step <= request.now {
            let url = format!(
                "{}/api/v3/klines?symbol={}&interval={}&startTime={start}&endTime={}&limit={PAGE_LIMIT}",
                self.base_url, request.symbol, request.interval, request.now
            );
            let body = self.get(&url, log)?;
            let page = page(&url, body.as_bytes(), start)?;
            let page_len = page.len();
            let Some(last) = page.last().map(|row| row.candle.open_time) else { break };
            let offset = rows.len() as u64;
            rows.extend(
                page.into_iter()
                    .filter(|row| row.candle.open_time + step <= request.now)
                    .map(|row| SourceRow { line: offset + row.line, ..row }),
            );
            if page_len < PAGE_LIMIT {
                break;
            }
            start = last + step;
        }
        Ok(rows)
    }

    /// The body of a 200 response, retrying what is worth retrying.
    fn get(&self, url: &str, log: &mut dyn FnMut(&str)) -> anyhow::Result<String> {
        let mut attempt = 0;
        loop {
            let outcome = self.agent.get(url).call();
            let (wait, problem) = match outcome {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let body = response.body_mut().read_to_string().unwrap_or_default();
                    match status {
                        200 => return Ok(body),
                        429 | 418 => {
                            let wait = retry_after.map_or(self.backoff(attempt), |s| s.saturating_mul(1_000));
                            (wait, format!("HTTP {status} (rate limited)"))
                        }
                        500..=599 => {
                            (self.backoff(attempt), format!("HTTP {status}: {}", api_message(&body)))
                        }
                        _ => {
                            return Err(Failure::Input(format!(
                                "{url}: HTTP {status}: {}",
                                api_message(&body)
                            ))
                            .into());
                        }
                    }
                }
                Err(error) => (self.backoff(attempt), error.to_string()),
            };
            if attempt >= self.settings.max_retries {
                anyhow::bail!("{url}: {problem}; gave up after {} retries", self.settings.max_retries);
            }
            attempt += 1;
            let wait = wait.min(self.settings.max_backoff_ms);
            log(&format!(
                "{problem}; retry {attempt} of {} in {:.1} s",
                self.settings.max_retries,
                wait as f64 / 1_000.0
            ));
            std::thread::sleep(Duration::from_millis(wait));
        }
    }

    fn backoff(&self, attempt: u32) -> u64 {
        self.settings.backoff_ms.saturating_mul(1u64 << attempt.min(20))
    }
}

/// The klines of one 200 response's body, asked from `start`: an error names `url` when the
/// body is no kline array or its klines end before `start`. Also the fuzz target's entry.
pub fn page(url: &str, body: &[u8], start: i64) -> Result<Vec<SourceRow>, Failure> {
    let page = match json::read(url, body, None)?.rows {
        Rows::Candles(page) => page,
        Rows::Ticks(_) => return Err(Failure::Input(format!("{url}: the response holds no klines"))),
    };
    if page.last().is_some_and(|row| row.candle.open_time < start) {
        return Err(Failure::Input(format!("{url}: the klines returned end before the start asked for")));
    }
    Ok(page)
}

/// `Invalid symbol. (code -1121)` from the API's JSON error, or the start of an error page
/// (public for the fuzz target).
pub fn api_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body)
        && let Some(msg) = value.get("msg").and_then(|m| m.as_str())
    {
        let code = value.get("code").map(|c| format!(" (code {c})")).unwrap_or_default();
        return format!("{msg}{code}");
    }
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = text.chars().take(160).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    if short.is_empty() { "empty response".into() } else { short }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_read_well() {
        assert_eq!(api_message(r#"{"code":-1121,"msg":"Invalid symbol."}"#), "Invalid symbol. (code -1121)");
        assert_eq!(
            api_message("<html>\n<body>502 Bad Gateway</body></html>"),
            "<html> <body>502 Bad Gateway</body></html>"
        );
        assert_eq!(api_message(""), "empty response");
    }
}
