//! `collect --source binance` against a local server that speaks the klines API.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::http::{Response, Server, query_param};
use crate::support::{Case, collect, data, fixture};

const CONFIG: &str = "data:\n  source:\n    max_retries: 3\n    backoff_ms: 1\n    max_backoff_ms: 5\n";

/// A recorded answer of the exchange, from tests/fixtures/binance.
fn recorded(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("binance/{name}"))).unwrap()
}

/// The BTC file's candles as (open_time, the five values as text).
fn btc_klines() -> Vec<(i64, Vec<String>)> {
    let text = std::fs::read_to_string(data("btc-perp-20211231-20220201_1m.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let time = chrono::NaiveDateTime::parse_from_str(fields[0], "%Y-%m-%d %H:%M:%S%.f").unwrap();
            (time.and_utc().timestamp_millis(), fields[1..6].iter().map(|s| s.to_string()).collect())
        })
        .collect()
}

/// A page as the API renders it: 12 fields per kline, prices and volumes as strings.
fn page(klines: &[(i64, Vec<String>)], start: i64, end: i64, limit: usize) -> String {
    let rows: Vec<String> = klines
        .iter()
        .filter(|(t, _)| *t >= start && *t <= end)
        .take(limit)
        .map(|(t, v)| {
            format!(
                r#"[{t},"{}","{}","{}","{}","{}",{},"0.0",17,"0.0","0.0","0"]"#,
                v[0],
                v[1],
                v[2],
                v[3],
                v[4],
                t + 59_999
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

/// A server that knows the first `available` klines.
fn exchange(klines: Vec<(i64, Vec<String>)>, available: Arc<AtomicUsize>) -> Server {
    Server::start(move |target| {
        let known = &klines[..available.load(Ordering::SeqCst)];
        let number = |key: &str| query_param(target, key).and_then(|v| v.parse::<i64>().ok());
        let (Some(start), Some(end), Some(limit)) = (number("startTime"), number("endTime"), number("limit"))
        else {
            return Response::json(400, r#"{"code":-1102,"msg":"Mandatory parameter was not sent."}"#);
        };
        Response::json(200, page(known, start, end, limit as usize))
    })
}

fn days_back_to(first: i64) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    ((now - first) / 86_400_000 + 2).to_string()
}

#[test]
fn pages_are_fetched_and_a_later_collect_resumes_after_the_last_candle() {
    let klines = btc_klines();
    let first = klines[0].0;
    let available = Arc::new(AtomicUsize::new(1_500));
    let server = exchange(klines[..2_500].to_vec(), Arc::clone(&available));
    let case = Case::new().config(CONFIG);
    let days = days_back_to(first);
    let args = [
        "collect",
        "--source",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--days",
        &days,
        "--base-url",
        &server.url,
    ];

    case.run(args).assert_exit(0).stdout_contains("1500 rows read, 1500 inserted");
    assert_eq!(server.requests().len(), 2, "1000 then 500: {:?}", server.requests());

    available.store(2_500, Ordering::SeqCst);
    case.run(args).assert_exit(0).stdout_contains("1000 rows read, 1000 inserted, 0 updated");
    let resumed = &server.requests()[2];
    assert_eq!(query_param(resumed, "startTime"), Some((klines[1_499].0 + 60_000).to_string()));
    assert_eq!(query_param(resumed, "symbol").as_deref(), Some("BTCUSDT"));

    case.run(args).assert_exit(0).stdout_contains("up to date");

    // The same candles as the file gives.
    collect(&case, "FILE", "1m", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    assert_eq!(case.candles("BTCUSDT", "1m"), case.candles("FILE", "1m")[..2_500].to_vec());
}

#[test]
fn rate_limits_and_error_pages_are_retried() {
    let klines = btc_klines();
    let first = klines[0].0;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let known = klines[..100].to_vec();
    let server = Server::start(move |target| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => Response::json(429, recorded("rate-limit-429.json")).header("Retry-After", "0"),
        1 => Response {
            status: 502,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: recorded("error-page-502.html"),
        },
        _ => {
            let start = query_param(target, "startTime").unwrap().parse().unwrap();
            Response::json(200, page(&known, start, i64::MAX, 1000))
        }
    });
    let case = Case::new().config(CONFIG);
    let days = days_back_to(first);
    case.run([
        "collect",
        "--source",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--days",
        &days,
        "--base-url",
        &server.url,
    ])
    .assert_exit(0)
    .stdout_contains("HTTP 429 (rate limited); retry 1 of 3")
    .stdout_contains("HTTP 502: <!DOCTYPE HTML")
    .stdout_contains("retry 2 of 3")
    .stdout_contains("100 inserted");
}

#[test]
fn an_invalid_symbol_is_a_usage_error_and_changes_nothing() {
    let server = Server::start(|_| Response::json(400, recorded("invalid-symbol-400.json")));
    let case = Case::new().config(CONFIG);
    case.run([
        "collect",
        "--source",
        "binance",
        "--symbol",
        "NOPE",
        "--interval",
        "1h",
        "--base-url",
        &server.url,
    ])
    .assert_exit(2)
    .stderr_contains("HTTP 400: Invalid symbol. (code -1121)");
    assert_eq!(case.dump(), "no database");
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
}

#[test]
fn a_server_that_keeps_failing_is_given_up_on() {
    let server = Server::start(|_| {
        Response::json(
            500,
            r#"{"code":-1000,"msg":"An unknown error occurred while processing the request."}"#,
        )
    });
    let case = Case::new().config(CONFIG);
    case.run([
        "collect",
        "--source",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1h",
        "--base-url",
        &server.url,
    ])
    .assert_exit(1)
    .stderr_contains("gave up after 3 retries");
    assert_eq!(server.requests().len(), 4);
    assert_eq!(case.dump(), "no database");
}
