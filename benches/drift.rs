//! Drift statistics at scale: 30 features, 100,000 reference rows against 100,000 current
//! rows (PSI, KS with its p-value, Jensen-Shannon, Wasserstein), the target being well
//! under 0.5 s in release mode. Run with `cargo bench --bench drift`.

use std::time::{Duration, Instant};

use retrain::config::DriftSettings;
use retrain::drift::{Column, features};
use retrain::rng::SplitMix64;

fn main() {
    let mut rng = SplitMix64(2026);
    let rows = 100_000;
    let (references, currents): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (0..30)
        .map(|f| {
            let shift = f64::from(f) * 0.01;
            let reference: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
            let current: Vec<f64> = (0..rows).map(|_| rng.normal() * (1.0 + shift) + shift).collect();
            (reference, current)
        })
        .unzip();
    let columns: Vec<Column> = references
        .iter()
        .zip(&currents)
        .enumerate()
        .map(|(i, (r, c))| Column { name: format!("f{i}"), reference: r, current: c, edges: None })
        .collect();
    let settings = DriftSettings::default();
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let report = features(&columns, &settings);
            assert_eq!(report.len(), 30);
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "drift of 30 features x {rows} reference x {rows} current rows: median {:.0} ms (min {:.0}, max {:.0}) over 7 runs",
        times[3].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[6].as_secs_f64() * 1e3
    );
}
