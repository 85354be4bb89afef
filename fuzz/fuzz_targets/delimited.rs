//! Delimited text: with a header, without one, and as Binance's 12-column kline dump.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrain::ingest::Format;

fuzz_target!(|data: &[u8]| {
    retrain_fuzz::read("fuzz.csv", data, Format::Csv, None);
    retrain_fuzz::read("fuzz.csv", data, Format::Binance, None);
});
