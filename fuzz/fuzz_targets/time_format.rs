//! `--time-format` patterns and the times they read: the pattern on the first line, one
//! time per line after it; also the automatic time parser on each line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrain::candles::time::{TimeParser, parse_time};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.lines();
    let pattern = lines.next().unwrap_or("");
    let mut with_pattern = TimeParser::new(Some(pattern));
    let mut automatic = TimeParser::new(None);
    for line in lines {
        let _ = with_pattern.parse(line);
        let _ = automatic.parse(line);
        let _ = parse_time(line);
    }
});
