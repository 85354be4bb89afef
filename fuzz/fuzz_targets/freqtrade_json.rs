//! freqtrade's JSON candles (and the other JSON shapes the reader accepts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrain::ingest::Format;

fuzz_target!(|data: &[u8]| {
    retrain_fuzz::read("fuzz.json", data, Format::FreqtradeJson, None);
});
