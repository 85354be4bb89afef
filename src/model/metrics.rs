//! Classification metrics as scikit-learn defines them: the predicted class is 1 when
//! P(up) > `threshold`; precision, recall and F1 are 0 where their denominator is 0
//! (sklearn's zero_division default); ROC AUC by the Mann-Whitney statistic with ties
//! averaged (undefined with a single class); log loss with probabilities clipped to
//! [eps, 1 - eps], eps = f64::EPSILON as sklearn does for float64; Brier score.

use serde::{Deserialize, Serialize};

/// Metrics of a set of predictions against labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub rows: usize,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// `None` when the labels hold a single class.
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub brier: f64,
    /// Share of rows labelled 1.
    pub positive_rate: f64,
}

/// Score `probabilities` (P(class 1)) against `labels` (0 or 1); `None` for no rows.
pub fn classification(probabilities: &[f64], labels: &[u8], threshold: f64) -> Option<Classification> {
    let rows = labels.len();
    if rows == 0 || probabilities.len() != rows {
        return None;
    }
    let (mut tp, mut fp, mut tn, mut fn_) = (0usize, 0usize, 0usize, 0usize);
    for (&p, &y) in probabilities.iter().zip(labels) {
        match (p > threshold, y == 1) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = share(tp, tp + fp);
    let recall = share(tp, tp + fn_);
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    let eps = f64::EPSILON;
    let log_loss = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(eps, 1.0 - eps);
            if y == 1 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / rows as f64;
    let brier = probabilities.iter().zip(labels).map(|(&p, &y)| (p - f64::from(y)).powi(2)).sum::<f64>()
        / rows as f64;
    Some(Classification {
        rows,
        accuracy: share(tp + tn, rows),
        precision,
        recall,
        f1,
        roc_auc: roc_auc(probabilities, labels),
        log_loss,
        brier,
        positive_rate: share(tp + fn_, rows),
    })
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (average ranks).
pub fn roc_auc(scores: &[f64], labels: &[u8]) -> Option<f64> {
    let positives = labels.iter().filter(|&&y| y == 1).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let average = (i + j + 2) as f64 / 2.0;
        rank_sum += average * order[i..=j].iter().filter(|&&k| labels[k] == 1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_counted_confusion() {
        let p = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1];
        let y = [1, 0, 1, 1, 0, 0];
        let m = classification(&p, &y, 0.5).unwrap();
        // tp 2 (0.9, 0.6), fp 1 (0.8), fn 1 (0.3), tn 2.
        assert_eq!(m.accuracy, 4.0 / 6.0);
        assert_eq!(m.precision, 2.0 / 3.0);
        assert_eq!(m.recall, 2.0 / 3.0);
        assert!((m.f1 - 2.0 / 3.0).abs() < 1e-15);
        // Positives' scores beat negatives' in 7 of 9 pairs.
        assert!((m.roc_auc.unwrap() - 7.0 / 9.0).abs() < 1e-15);
        assert_eq!(m.positive_rate, 0.5);
    }

    #[test]
    fn ties_count_one_half_and_one_class_is_undefined() {
        assert_eq!(roc_auc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        assert_eq!(roc_auc(&[0.1, 0.9], &[1, 1]), None);
        let m = classification(&[0.1, 0.2], &[0, 0], 0.5).unwrap();
        assert_eq!((m.precision, m.recall, m.f1, m.roc_auc), (0.0, 0.0, 0.0, None));
    }

    #[test]
    fn agrees_with_scikit_learn() {
        // Made by scripts/oracles/metrics.py with scikit-learn.
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/oracles/metrics.json")).unwrap();
        for case in fixture.as_array().unwrap() {
            let p: Vec<f64> = serde_json::from_value(case["probabilities"].clone()).unwrap();
            let y: Vec<u8> = serde_json::from_value(case["labels"].clone()).unwrap();
            let m = classification(&p, &y, 0.5).unwrap();
            let expected = &case["sklearn"];
            for (name, ours) in [
                ("accuracy", m.accuracy),
                ("precision", m.precision),
                ("recall", m.recall),
                ("f1", m.f1),
                ("log_loss", m.log_loss),
                ("brier", m.brier),
            ] {
                let theirs = expected[name].as_f64().unwrap();
                assert!((ours - theirs).abs() <= 1e-12 * theirs.abs().max(1.0), "{name}: {ours} vs {theirs}");
            }
            match (m.roc_auc, expected["roc_auc"].as_f64()) {
                (Some(ours), Some(theirs)) => {
                    assert!((ours - theirs).abs() < 1e-12, "auc {ours} vs {theirs}")
                }
                (None, None) => {}
                other => panic!("roc_auc: {other:?}"),
            }
        }
    }
}
