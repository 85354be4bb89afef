//! config.yaml: parsing and every validation after it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The file is read as UTF-8 (a file that is not is refused before parsing).
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = retrain::config::parse(text);
    }
});
