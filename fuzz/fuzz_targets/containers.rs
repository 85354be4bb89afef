//! gzip and zip containers, each entry then read by the format its name or bytes say.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrain::ingest::Format;

fuzz_target!(|data: &[u8]| {
    // By magic bytes first (a .gz or a zip), then forced by name, which reaches the
    // decoders' errors for bytes that are neither.
    retrain_fuzz::read("fuzz.bin", data, Format::Auto, None);
    retrain_fuzz::read("fuzz.csv.gz", data, Format::Auto, None);
    retrain_fuzz::read("fuzz.zip", data, Format::Auto, None);
});
