//! The exchange client's HTTP response bodies: a 200's kline page, and the message an
//! error response is shown by.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrain::ingest::binance;

fuzz_target!(|data: &[u8]| {
    let url = "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m";
    if let Ok(page) = binance::page(url, data, 1_500_000_000_000) {
        retrain_fuzz::carry_on(retrain::ingest::Rows::Candles(page));
    }
    let _ = binance::api_message(&String::from_utf8_lossy(data));
});
