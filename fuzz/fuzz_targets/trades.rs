//! Trade-outcome CSVs (`collect --trades`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = retrain::ingest::trades::read_bytes("fuzz.csv", data);
});
