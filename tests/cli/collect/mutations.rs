//! The real fixtures mutated (truncated, bits flipped, lines spliced from other files,
//! bytes inserted) and collected: the outcome is always one the docs give. Exit 0 with
//! clean candles stored; exit 2 naming the file (and, for text, the line); or exit 3,
//! refused by the quality gate. Never a panic, and nothing written on a refusal.
//!
//! A bounded property test with a seeded generator (the seed of a failing case is in the
//! message); `cargo fuzz` runs the same readers unbounded (fuzz/, docs/operations.md).

use std::io::Write;

use retrain::rng::SplitMix64;

use crate::support::{Case, Run, data};

/// Mutants per fixture: enough to reach every kind of mutation several times.
const MUTANTS: u64 = 24;

/// The text fixtures: the first lines of each real file, kept small so that each case is
/// quick (the fuzz targets run the whole files).
fn text_fixtures() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let head = |name: &str, lines: usize| -> Vec<u8> {
        let text = std::fs::read_to_string(data(name)).unwrap();
        text.lines().take(lines).flat_map(|line| format!("{line}\n").into_bytes()).collect()
    };
    let candles: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(data("UNITTEST_BTC-1m.json")).unwrap()).unwrap();
    let json = serde_json::to_string(&candles[..60]).unwrap().replace("], [", "],\n[").into_bytes();
    vec![
        ("binance.csv", "1m", head("ADABTC-1m-2021-11-27.csv", 10)),
        ("perp.csv", "1m", head("btc-perp-20211231-20220201_1m.csv", 60)),
        ("freqtrade.json", "1m", json),
    ]
}

/// The binary fixtures: a real feather file, and a real CSV in gzip and in zip.
fn binary_fixtures() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let csv = std::fs::read(data("ADABTC-1m-2021-11-28.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&csv).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("ADABTC-1m-2021-11-28.csv", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&csv).unwrap();
    vec![
        ("xrp.feather", "5m", std::fs::read(data("XRP_ETH-5m.feather")).unwrap()),
        ("ada.csv.gz", "1m", gz.finish().unwrap()),
        ("ada.zip", "1m", zip.finish().unwrap().into_inner()),
    ]
}

/// One mutation of `bytes`, chosen by `rng`; `donor` gives lines to splice in. Returns
/// what was done, for the failure message.
fn mutate(rng: &mut SplitMix64, bytes: &[u8], donor: &[u8], text: bool) -> (Vec<u8>, String) {
    let mut out = bytes.to_vec();
    let kinds = if text { 6 } else { 3 };
    match rng.below(kinds) {
        0 => {
            let at = rng.below(out.len() + 1);
            out.truncate(at);
            (out, format!("truncated at byte {at}"))
        }
        1 => {
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
            (out, format!("{flips} bits flipped"))
        }
        2 => {
            let at = rng.below(out.len() + 1);
            let junk: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next_u64() as u8).collect();
            out.splice(at..at, junk.iter().copied());
            (out, format!("{} random bytes inserted at {at}", junk.len()))
        }
        kind => {
            let mut lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
            let donors: Vec<&[u8]> = donor.split_inclusive(|b| *b == b'\n').collect();
            let at = rng.below(lines.len());
            let what = match kind {
                3 => {
                    let line = donors[rng.below(donors.len())];
                    lines.insert(at, line);
                    format!("a line of another file spliced in at line {}", at + 1)
                }
                4 => {
                    let line = lines[rng.below(lines.len())];
                    lines.insert(at, line);
                    format!("a line repeated at line {}", at + 1)
                }
                _ => {
                    let other = rng.below(lines.len());
                    lines.swap(at, other);
                    format!("lines {} and {} swapped", at + 1, other + 1)
                }
            };
            (lines.concat(), what)
        }
    }
}

/// Every stored candle of `symbol` is a clean one: finite, positive prices, the high
/// and low bounding the open and close, a volume >= 0, on the interval's grid.
fn assert_clean(case: &Case, symbol: &str, interval: &str, context: &str) {
    let step = if interval == "5m" { 300_000 } else { 60_000 };
    for (time, open, high, low, close, volume) in case.candles(symbol, interval) {
        let prices = [open, high, low, close];
        assert!(
            prices.iter().all(|p| p.is_finite() && *p > 0.0)
                && low <= open.min(close)
                && high >= open.max(close)
                && volume.is_finite()
                && volume >= 0.0
                && time % step == 0,
            "{context}: stored a candle that is not clean: {time} {prices:?} {volume}"
        );
    }
}

/// Collect `bytes` as `name` into `case` and check the outcome is a documented one;
/// true when the mutant was stored.
fn collect_mutant(case: &Case, symbol: &str, interval: &str, name: &str, bytes: &[u8], text: bool, context: &str) -> bool {
    let before = case.dump();
    let path = case.write(name, bytes);
    let run: Run = crate::support::collect(case, symbol, interval, &path);
    let code = run.code;
    assert!(!run.stderr.contains("panicked"), "{context}: panicked:\n{}", run.stderr);
    match code {
        Some(0) => assert_clean(case, symbol, interval, context),
        Some(2) => {
            let shown = path.display().to_string();
            assert!(run.stderr.contains(&shown), "{context}: the error does not name the file:\n{}", run.stderr);
            // Text names the line (`file:7:`, or the CSV reader's `line: 7`), but for
            // the refusals of a whole file.
            let line = run.stderr.contains(&format!("{shown}:"))
                && run.stderr.split(&format!("{shown}:")).skip(1).any(|rest| {
                    rest.starts_with(|c: char| c.is_ascii_digit())
                        || rest.contains("line")
                        || rest.contains("the file is empty")
                        || rest.contains("no candles")
                        || rest.contains("unknown format")
                });
            if text {
                assert!(line, "{context}: the error does not name the line:\n{}", run.stderr);
            }
            assert_eq!(case.dump(), before, "{context}: refused, but the database changed");
        }
        Some(3) => {
            assert!(run.stderr.contains("quality"), "{context}: exit 3 without the gate's reason:\n{}", run.stderr);
            assert_eq!(case.dump(), before, "{context}: refused, but the database changed");
        }
        _ => panic!("{context}: exit {code:?}, not a documented outcome:\n{}", run.stderr),
    }
    code == Some(0)
}

#[test]
fn mutated_real_files_are_stored_clean_or_refused_by_file_and_line() {
    let texts = text_fixtures();
    let case = Case::new();
    // Mutants stored (exit 0) and refused (2 or 3).
    let mut outcomes = [0usize; 2];
    for (i, (name, interval, bytes)) in texts.iter().enumerate() {
        let donor = &texts[(i + 1) % texts.len()].2;
        let symbol = format!("T{i}");
        // The file as it is first: stored, so that "unchanged" below means something.
        let original = case.write(name, bytes);
        crate::support::collect(&case, &symbol, interval, &original).assert_exit(0);
        for seed in 0..MUTANTS {
            let mut rng = SplitMix64::stream(seed, i as u64);
            let (mutant, what) = mutate(&mut rng, bytes, donor, true);
            let context = format!("{name} (seed {seed}): {what}");
            let stored = collect_mutant(&case, &symbol, interval, name, &mutant, true, &context);
            outcomes[usize::from(!stored)] += 1;
        }
    }
    for (i, (name, interval, bytes)) in binary_fixtures().iter().enumerate() {
        let symbol = format!("B{i}");
        let original = case.write(name, bytes);
        crate::support::collect(&case, &symbol, interval, &original).assert_exit(0);
        for seed in 0..MUTANTS {
            let mut rng = SplitMix64::stream(seed, 100 + i as u64);
            let (mutant, what) = mutate(&mut rng, bytes, &[], false);
            let context = format!("{name} (seed {seed}): {what}");
            collect_mutant(&case, &symbol, interval, name, &mutant, false, &context);
        }
    }
    // The mutants reached both outcomes: some were stored, some refused.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}

#[test]
fn mutated_trade_outcomes_are_imported_or_refused_by_file_and_line() {
    let header = "id,symbol,opened_at,closed_at,side,entry_price,exit_price,quantity,pnl,model_version\n";
    let rows: String = (0..12)
        .map(|i| {
            let open = 1_704_067_200_000i64 + i * 3_600_000;
            let side = if i % 2 == 0 { "long" } else { "short" };
            format!("t{i},BTCUSDT,{open},{},{side},42000,42100,0.5,{},\n", open + 1_800_000, 50 - i)
        })
        .collect();
    let original = format!("{header}{rows}").into_bytes();
    let case = Case::new();
    let path = case.write("trades.csv", &original);
    case.run(["collect", "--trades", path.to_str().unwrap()]).assert_exit(0);
    let mut imported = 0;
    for seed in 0..MUTANTS * 2 {
        let mut rng = SplitMix64::stream(seed, 7);
        let (mutant, what) = mutate(&mut rng, &original, header.as_bytes(), true);
        let context = format!("trades (seed {seed}): {what}");
        let before = case.dump();
        let path = case.write("trades.csv", &mutant);
        let run = case.run(["collect", "--trades", path.to_str().unwrap()]);
        assert!(!run.stderr.contains("panicked"), "{context}: panicked:\n{}", run.stderr);
        match run.code {
            Some(0) => imported += 1,
            Some(2) => {
                let shown = path.display().to_string();
                assert!(run.stderr.contains(&format!("{shown}:")), "{context}: no file named:\n{}", run.stderr);
                assert_eq!(case.dump(), before, "{context}: refused, but the database changed");
            }
            code => panic!("{context}: exit {code:?}, not a documented outcome:\n{}", run.stderr),
        }
    }
    assert!(imported > 0, "no mutant was imported");
}
