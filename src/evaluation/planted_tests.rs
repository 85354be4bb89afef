//! The comparison must find a real edge and must not find one that is not there: on
//! candles with a planted, learnable signal, a model trained on the true labels beats one
//! trained on shuffled labels, and the reverse comparison says so too.

use ndarray::Array2;

use super::compare::{self, Bootstrap, Verdict};
use crate::candles::Candle;
use crate::config::{FeatureSettings, RegimeSettings};
use crate::features::{self, labels};
use crate::model::forest::{self, Hyper, Presorted};
use crate::model::metrics;
use crate::rng::SplitMix64;

/// 5-minute candles whose price drifts up in the first half of every UTC day and down in
/// the second, under noise: the hour of day (a feature) predicts the next hour's return.
fn planted(bars: usize) -> Vec<Candle> {
    let mut rng = SplitMix64(11);
    let mut close = 100.0_f64;
    (0..bars)
        .map(|i| {
            let open_time = 1_704_067_200_000 + i as i64 * 300_000;
            let hour = (open_time / 3_600_000) % 24;
            let drift = if hour < 12 { 0.0006 } else { -0.0006 };
            let open = close;
            close = open * (drift + 0.0015 * rng.normal()).exp();
            let high = open.max(close) * 1.0004;
            let low = open.min(close) * 0.9996;
            Candle { open_time, open, high, low, close, volume: 1_000.0 + 100.0 * rng.uniform() }
        })
        .collect()
}

#[test]
fn true_labels_beat_shuffled_labels_and_the_reverse_loses() {
    let candles = planted(6_000);
    let table = features::compute(&candles, &FeatureSettings::default(), &RegimeSettings::default()).unwrap();
    let forward = labels::forward_returns(&table.close, 12);
    let rows: Vec<usize> =
        (0..table.len()).filter(|&t| table.complete(t) && forward[t].is_finite()).collect();
    let y_all: Vec<u8> = rows.iter().map(|&t| labels::label(forward[t], 0.0, 0.0).unwrap()).collect();
    let x_all = Array2::from_shape_fn((rows.len(), table.names.len()), |(i, j)| table.columns[j][rows[i]]);
    // Train on the first 60%, compare on the last 35% (an embargo between).
    let (train_end, compare_start) = (rows.len() * 60 / 100, rows.len() * 65 / 100);
    let x_train = x_all.slice(ndarray::s![..train_end, ..]).to_owned();
    let x_compare = x_all.slice(ndarray::s![compare_start.., ..]).to_owned();
    let y_train = &y_all[..train_end];
    let y_compare = &y_all[compare_start..];
    let mut shuffled = y_train.to_vec();
    SplitMix64(5).shuffle(&mut shuffled);

    let hyper =
        Hyper { max_depth: 6, min_samples_leaf: 20, n_trees: 50, feature_fraction: 0.5, bootstrap: true };
    let true_model = forest::fit(&Presorted::new(x_train.view(), y_train).unwrap(), &hyper, 1);
    let null_model = forest::fit(&Presorted::new(x_train.view(), &shuffled).unwrap(), &hyper, 1);
    let p_true = true_model.predict(x_compare.view());
    let p_null = null_model.predict(x_compare.view());

    let settings =
        Bootstrap { block_bars: 24, resamples: 2_000, seed: 7, min_bars: 200, min_probability: 0.8 };
    let f1 = |p: &[f64], idx: &[usize]| {
        let picked: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
        let y: Vec<u8> = idx.iter().map(|&i| y_compare[i]).collect();
        metrics::classification(&picked, &y, 0.5).map_or(0.0, |m| m.f1)
    };
    let n = y_compare.len();
    let forward_cmp = compare::compare("f1", n, &settings, &|idx, challenger| {
        if challenger { f1(&p_true, idx) } else { f1(&p_null, idx) }
    });
    let reverse_cmp = compare::compare("f1", n, &settings, &|idx, challenger| {
        if challenger { f1(&p_null, idx) } else { f1(&p_true, idx) }
    });
    assert!(forward_cmp.probability_better.unwrap() >= 0.95, "{forward_cmp:?}");
    assert_eq!(forward_cmp.verdict, Verdict::ChallengerBetter);
    assert!(reverse_cmp.probability_better.unwrap() < 0.05, "{reverse_cmp:?}");
    assert_eq!(reverse_cmp.verdict, Verdict::ChampionBetter);
}
