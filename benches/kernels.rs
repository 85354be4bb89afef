//! Criterion benchmarks of the hot kernels, so that a regression shows up as a change in
//! one number: the features of the real BTC 1m month, a random forest fitted on them, PSI
//! and KS of one feature, upserting the month into SQLite, and the questions `status`
//! asks of every model. Run with `cargo bench --bench kernels`; it reads the BTC month in tests/data.

use std::path::PathBuf;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use retrain::candles::Candle;
use retrain::candles::Interval;
use retrain::config::{DriftSettings, FeatureSettings, Regime, RegimeSettings};
use retrain::model::forest::{self, Hyper, Presorted};
use retrain::model::histogram::{self, Binned};
use retrain::store::{CollectRecord, Location, Store};

fn data(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    assert!(path.exists(), "the benchmarks read {}; it is missing", path.display());
    path
}

/// The 45,031 candles of the BTC 1m month.
fn btc() -> Vec<Candle> {
    let mut reader = csv::Reader::from_path(data("btc-perp-20211231-20220201_1m.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let time = chrono::NaiveDateTime::parse_from_str(&r[0], "%Y-%m-%d %H:%M:%S%.f").unwrap();
            let v = |i: usize| r[i].parse::<f64>().unwrap();
            Candle {
                open_time: time.and_utc().timestamp_millis(),
                open: v(1),
                high: v(2),
                low: v(3),
                close: v(4),
                volume: v(5),
            }
        })
        .collect()
}

fn features(c: &mut Criterion) {
    let candles = btc();
    let (f, r) = (FeatureSettings::default(), RegimeSettings::default());
    c.bench_function("features: 34 indicators and regimes of 45,031 1m candles", |b| {
        b.iter(|| retrain::features::compute(&candles, &f, &r).unwrap())
    });
}

fn forest_fit(c: &mut Criterion) {
    let candles = btc();
    let table = retrain::features::compute(&candles, &FeatureSettings::default(), &RegimeSettings::default())
        .unwrap();
    // 10,000 complete rows; the label is the sign of the 12-bar forward return.
    let rows: Vec<usize> = (0..table.len() - 12).filter(|&r| table.complete(r)).take(10_000).collect();
    let x = Array2::from_shape_fn((rows.len(), table.columns.len()), |(i, j)| table.columns[j][rows[i]]);
    let y: Vec<u8> = rows.iter().map(|&r| u8::from(table.close[r + 12] > table.close[r])).collect();
    let data = Presorted::new(x.view(), &y).unwrap();
    let hyper =
        Hyper { max_depth: 8, min_samples_leaf: 20, n_trees: 50, feature_fraction: 0.5, bootstrap: true };
    let mut group = c.benchmark_group("forest");
    group.sample_size(10);
    group.bench_function("fit: 50 trees, depth 8, 10,000 rows x 34 features", |b| {
        b.iter(|| forest::fit(&data, &hyper, 42))
    });
    let binned = Binned::new(x.view(), &y);
    group.bench_function("fit on histograms: the same forest on the same rows, binned once", |b| {
        b.iter(|| histogram::fit(&binned, &hyper, 42))
    });
    group.bench_function("bin: 10,000 rows x 34 features", |b| b.iter(|| Binned::new(x.view(), &y)));
    group.finish();
}

fn drift(c: &mut Criterion) {
    let candles = btc();
    let table = retrain::features::compute(&candles, &FeatureSettings::default(), &RegimeSettings::default())
        .unwrap();
    let column = &table.columns[table.names.iter().position(|n| n == "volatility").unwrap()];
    let (reference, current) = column.split_at(column.len() / 2);
    let settings = DriftSettings::default();
    c.bench_function("drift: PSI, KS, JS, Wasserstein of one feature, 22,515 x 22,516 rows", |b| {
        b.iter(|| retrain::drift::feature("volatility", reference, current, None, &settings))
    });
}

fn upsert(c: &mut Criterion) {
    let candles = btc();
    let record = CollectRecord {
        source: "bench".into(),
        finished_at: 0,
        rows_read: candles.len(),
        rejected: 0,
        duplicates: 0,
        gaps: 0,
        missing_bars: 0,
        quality_score: 1.0,
        reasons: Vec::new(),
    };
    let minute = Interval::from_millis(60_000).unwrap();
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(10);
    group.bench_function("upsert 45,031 candles into a fresh database", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(&Location::Sqlite(dir.path().join("retrain.db"))).unwrap();
                (dir, store)
            },
            |(dir, mut store)| {
                store.upsert_candles("BTC", minute, &candles, &record).unwrap();
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// 100 models, each with 40 versions (the newest a candidate, the one before in
/// production) and 2,000 resolved signals of production: what `status` asks of each.
fn status_queries(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("retrain.db");
    drop(Store::open(&Location::Sqlite(path.clone())).unwrap());
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    let mut production = Vec::new();
    for m in 0..100 {
        let symbol = format!("SYM{m:03}");
        for v in 1..=40 {
            let status = match v {
                40 => "candidate",
                39 => "production",
                _ => "archived",
            };
            tx.execute(
                "INSERT INTO model_versions (symbol, regime, version, interval, status, model_kind,
                     hyperparameters, seed, train_from, train_to, validation_from, validation_to, test_from,
                     test_to, data_fingerprint, config_hash, artifact_path, sha256, created_at)
                 VALUES (?1, 'trending', ?2, '5m', ?3, 'random-forest', '{}', 42, 0, 1, 2, 3, 4, 5, 'd', 'c',
                     'p', 's', ?2)",
                rusqlite::params![symbol, v, status],
            )
            .unwrap();
        }
        let id = tx.last_insert_rowid() - 1;
        production.push((symbol.clone(), id));
        for i in 0..2_000i64 {
            tx.execute(
                "INSERT INTO signals (symbol, interval, regime, open_time, version_id, probability, position,
                     entry_close, horizon_bars, cost_per_side, created_at, resolved_at, market_return,
                     realised_return, win)
                 VALUES (?1, '5m', 'trending', ?2, ?3, 0.6, 1, 1.0, 12, 0.0007, ?2, ?2, 0.0, ?4, ?5)",
                rusqlite::params![symbol, i * 300_000, id, (i % 7) as f64 - 3.0, i % 7 > 3],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let store = Store::open(&Location::Sqlite(path)).unwrap();
    c.bench_function("status: versions, promotion, live window, last job of 100 models", |b| {
        b.iter(|| {
            for (symbol, id) in &production {
                let versions = store.active_versions(symbol, Regime::Trending).unwrap();
                assert_eq!(versions.len(), 2);
                let since = store.promoted_at(symbol, Regime::Trending, *id).unwrap().unwrap_or(0);
                let live = store.live_summary(*id, since, 100).unwrap();
                assert_eq!(live.signals, 100);
                store.last_job_at(symbol, Regime::Trending).unwrap();
            }
        })
    });
}

criterion_group!(kernels, features, forest_fit, drift, upsert, status_queries);
criterion_main!(kernels);
