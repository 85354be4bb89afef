//! Arrow IPC (feather v2) files, through polars.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrain::ingest::Format;

fuzz_target!(|data: &[u8]| {
    retrain_fuzz::read("fuzz.feather", data, Format::Feather, None);
});
