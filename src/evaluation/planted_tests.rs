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

/// A first model against the no-skill baselines, on the planted candles: each baseline's
/// score is what it must be from the labels alone (F1 0 when never "up", 2b / (1 + b)
/// when always "up" with b the share of up labels), the base rate comes from the bars
/// before the unseen ones, and a predictor that knows the planted hour of day beats all
/// three while one that is always long does not beat "always long".
#[test]
fn a_first_model_is_judged_against_flat_long_and_the_base_rate() {
    use super::score::View;
    use super::versus::{Baseline, against_baselines};
    use crate::config::Settings;

    let candles = planted(6_000);
    let table = features::compute(&candles, &FeatureSettings::default(), &RegimeSettings::default()).unwrap();
    let forward = labels::forward_returns(&table.close, 12);
    let labels: Vec<Option<u8>> = (0..table.len())
        .map(|t| if table.complete(t) { labels::label(forward[t], 0.0, 0.0) } else { None })
        .collect();
    let knows = |t: usize| (table.open_time[t] / 3_600_000) % 24 < 11;
    let oracle: Vec<Option<f64>> =
        (0..table.len()).map(|t| table.complete(t).then(|| if knows(t) { 0.8 } else { 0.2 })).collect();
    let unseen = table.len() / 2;
    let settings = Settings::default();
    let interval: crate::candles::Interval = "5m".parse().unwrap();
    let view = View { table: table.clone(), predictions: oracle.clone(), labels: labels.clone() };
    let compared = against_baselines(&settings, interval, &view, unseen).unwrap();
    assert_eq!(compared.iter().map(|(b, _)| *b).collect::<Vec<_>>(), Baseline::ALL);

    // Independently: the compared rows are the unseen ones with a prediction and a label.
    let rows: Vec<usize> =
        (unseen..table.len()).filter(|&t| oracle[t].is_some() && labels[t].is_some()).collect();
    let up = rows.iter().filter(|&&t| labels[t] == Some(1)).count() as f64 / rows.len() as f64;
    let seen: Vec<u8> = (0..unseen).filter(|&t| oracle[t].is_some()).filter_map(|t| labels[t]).collect();
    let base_rate = seen.iter().map(|&y| f64::from(y)).sum::<f64>() / seen.len() as f64;
    let (flat, long, rate) = (&compared[0].1, &compared[1].1, &compared[2].1);
    assert_eq!(flat.bars, rows.len());
    assert_eq!(flat.champion, 0.0, "never up: no true positive");
    assert!((long.champion - 2.0 * up / (1.0 + up)).abs() < 1e-12, "{} vs {}", long.champion, up);
    let expected_rate = if base_rate > settings.evaluation.threshold { long.champion } else { 0.0 };
    assert!((rate.champion - expected_rate).abs() < 1e-12, "base rate {base_rate}");
    for (baseline, c) in &compared {
        assert!(c.probability_better.unwrap() >= 0.95, "{baseline:?}: {c:?}");
    }

    // Always long is no better than always long.
    let long_only = View { table, predictions: oracle.iter().map(|p| p.map(|_| 0.9)).collect(), labels };
    let compared = against_baselines(&settings, interval, &long_only, unseen).unwrap();
    assert!(
        compared[1].1.probability_better.unwrap() < settings.gates.min_probability_better,
        "{:?}",
        compared[1]
    );
}
