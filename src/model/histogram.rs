//! Histogram splits for trees and forests (`training.splits: histogram`): each feature is
//! binned once per training set, as scikit-learn's `HistGradientBoostingClassifier` and
//! LightGBM bin it (at most 255 bins: one per distinct value when there are that few, with
//! the threshold between two at their midpoint; else at the training values' percentiles,
//! numpy's `method="midpoint"`), and every tree of every trial of the search splits on those
//! bins. A node's class counts per bin are summed from the rows of the smaller child only;
//! the larger child's are its parent's less its sibling's.
//!
//! Everything else is the exact CART of [`super::forest`]: the same bootstrap, the same
//! features drawn at each split from the same seeded stream, the same Gini score and the
//! same tie-breaking (the first feature drawn, then the lowest threshold). On a feature
//! with at most 255 distinct values the candidate splits are the exact ones, so the trees
//! are the same; with more, a split can only fall on a bin's edge.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::forest::{self, Forest, Hyper, Tree, gini_score};
use crate::rng::SplitMix64;

/// Most bins per feature (so a bin's index fits a byte).
pub const MAX_BINS: usize = 255;

/// The training rows' bins, computed once and shared by every fit on them.
pub struct Binned<'a> {
    y: &'a [u8],
    rows: usize,
    features: usize,
    /// Row-major: the bin of row r's feature f at r x features + f.
    bins: Vec<u8>,
    /// Per feature, the upper edge of each bin but the last: a value v is in bin
    /// k = the number of thresholds below v, so a split after bin k sends `v <= thresholds[k]` left.
    thresholds: Vec<Vec<f64>>,
}

/// The thresholds between the bins of one column of finite values.
pub fn thresholds(column: &[f64]) -> Vec<f64> {
    let mut sorted = column.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    let midpoint = |value: f64, next: f64| {
        // As the exact splits: the midpoint, unless rounding puts it on the upper value.
        let t = value + (next - value) / 2.0;
        if t >= next { value } else { t }
    };
    if distinct.len() <= MAX_BINS {
        return distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect();
    }
    // np.percentile(column, np.linspace(0, 100, MAX_BINS + 1)[1:-1], method="midpoint"),
    // then the distinct ones (scikit-learn's `_find_binning_thresholds`).
    let n = sorted.len();
    let mut edges: Vec<f64> = (1..MAX_BINS)
        .map(|k| {
            let rank = k as f64 / MAX_BINS as f64 * (n - 1) as f64;
            let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
            (sorted[low] + sorted[high]) / 2.0
        })
        .collect();
    edges.dedup();
    edges
}

impl<'a> Binned<'a> {
    /// Bin rows that [`super::forest::check_rows`] accepted.
    pub fn new(x: ArrayView2<'a, f64>, y: &'a [u8]) -> Binned<'a> {
        let (rows, features) = x.dim();
        let thresholds: Vec<Vec<f64>> = (0..features)
            .into_par_iter()
            .map(|f| thresholds(&x.column(f).iter().copied().collect::<Vec<f64>>()))
            .collect();
        let mut bins = vec![0u8; rows * features];
        bins.par_chunks_mut(features).enumerate().for_each(|(r, row)| {
            for (f, bin) in row.iter_mut().enumerate() {
                let v = x[[r, f]];
                *bin = thresholds[f].partition_point(|&t| t < v) as u8;
            }
        });
        Binned { y, rows, features, bins, thresholds }
    }
}

/// Fit `hyper.n_trees` trees (one when not bootstrapping) on binned data.
pub fn fit(data: &Binned, hyper: &Hyper, seed: u64) -> Forest {
    forest::fit_trees(hyper, seed, |rng| fit_tree(data, hyper, rng))
}

/// Per feature and bin: weighted rows of class 0, of class 1, and distinct rows.
type Histogram = Vec<[u32; 3]>;

struct Grower<'p, 'a> {
    data: &'p Binned<'a>,
    hyper: &'p Hyper,
    rng: SplitMix64,
    weight: Vec<u32>,
    /// The tree's rows (weight > 0), partitioned so that every node owns a range.
    rows: Vec<u32>,
    scratch: Vec<u32>,
    per_split: usize,
    features: Vec<usize>,
}

fn fit_tree(data: &Binned, hyper: &Hyper, mut rng: SplitMix64) -> Tree {
    let rows = data.rows;
    let weight = forest::row_weights(rows, hyper, &mut rng);
    let n_features = data.features;
    let per_split = forest::features_per_split(hyper, n_features);
    let mut grower = Grower {
        data,
        hyper,
        rng,
        rows: (0..rows as u32).filter(|&r| weight[r as usize] > 0).collect(),
        weight,
        scratch: Vec::new(),
        per_split,
        features: (0..n_features).collect(),
    };
    let mut tree = Tree::default();
    let size = grower.rows.len();
    let root = grower.histogram(0, size);
    grower.grow(&mut tree, 0, size, 0, root);
    tree
}

/// The best split of a node found so far.
struct Split {
    feature: usize,
    /// Bins 0..=bin go left.
    bin: usize,
    left_rows: usize,
    score: f64,
}

impl Grower<'_, '_> {
    fn histogram(&self, start: usize, end: usize) -> Histogram {
        let f = self.data.features;
        let mut histogram = vec![[0u32; 3]; f * (MAX_BINS + 1)];
        for &row in &self.rows[start..end] {
            let row = row as usize;
            let (class, weight) = (usize::from(self.data.y[row]), self.weight[row]);
            for (feature, &bin) in self.data.bins[row * f..(row + 1) * f].iter().enumerate() {
                let cell = &mut histogram[feature * (MAX_BINS + 1) + usize::from(bin)];
                cell[class] += weight;
                cell[2] += 1;
            }
        }
        histogram
    }

    fn grow(
        &mut self,
        tree: &mut Tree,
        start: usize,
        end: usize,
        depth: u32,
        mut histogram: Histogram,
    ) -> u32 {
        let counts = histogram[..=MAX_BINS].iter().fold([0u32; 2], |c, h| [c[0] + h[0], c[1] + h[1]]);
        let index = tree.push_leaf(counts);
        let min_leaf = self.hyper.min_samples_leaf.max(1) as usize;
        if forest::stays_a_leaf(self.hyper, counts, depth, end - start) {
            return index as u32;
        }
        let Some(split) = self.best_split(&histogram, counts, end - start, min_leaf) else {
            return index as u32;
        };
        self.partition(start, end, &split);
        let middle = start + split.left_rows;
        // The smaller child's histogram from its rows, the larger's by subtraction.
        let left_is_smaller = split.left_rows <= end - middle;
        let smaller =
            if left_is_smaller { self.histogram(start, middle) } else { self.histogram(middle, end) };
        for (cell, small) in histogram.iter_mut().zip(&smaller) {
            for k in 0..3 {
                cell[k] -= small[k];
            }
        }
        let (left_histogram, right_histogram) =
            if left_is_smaller { (smaller, histogram) } else { (histogram, smaller) };
        let left = self.grow(tree, start, middle, depth + 1, left_histogram);
        let right = self.grow(tree, middle, end, depth + 1, right_histogram);
        tree.feature[index] = split.feature as i32;
        tree.threshold[index] = self.data.thresholds[split.feature][split.bin];
        tree.left[index] = left;
        tree.right[index] = right;
        index as u32
    }

    /// As the exact grower's: the largest Gini gain among `per_split` random features, only
    /// between bins that hold rows of the node, each side keeping `min_leaf` rows.
    fn best_split(
        &mut self,
        histogram: &Histogram,
        total: [u32; 2],
        rows: usize,
        min_leaf: usize,
    ) -> Option<Split> {
        forest::draw_features(&mut self.features, self.per_split, &mut self.rng);
        let parent = gini_score(total);
        let mut best: Option<Split> = None;
        for &feature in &self.features[..self.per_split] {
            let bins = &histogram[feature * (MAX_BINS + 1)..(feature + 1) * (MAX_BINS + 1)];
            let mut left = [0u32; 2];
            let mut left_rows = 0usize;
            for (bin, cell) in bins.iter().enumerate().take(self.data.thresholds[feature].len()) {
                if cell[2] == 0 {
                    continue;
                }
                left[0] += cell[0];
                left[1] += cell[1];
                left_rows += cell[2] as usize;
                if left_rows == rows {
                    break;
                }
                if left_rows < min_leaf || rows - left_rows < min_leaf {
                    continue;
                }
                let score = gini_score(left) + gini_score([total[0] - left[0], total[1] - left[1]]);
                if score > parent + 1e-12 * parent && best.as_ref().is_none_or(|b| score > b.score) {
                    best = Some(Split { feature, bin, left_rows, score });
                }
            }
        }
        best
    }

    /// Reorder the node's rows so that the left child's come first (each side in its
    /// former order).
    fn partition(&mut self, start: usize, end: usize, split: &Split) {
        let (f, bins) = (self.data.features, &self.data.bins);
        forest::stable_partition(&mut self.rows[start..end], &mut self.scratch, |row| {
            usize::from(bins[row as usize * f + split.feature]) <= split.bin
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::forest::{self, Presorted};
    use crate::model::metrics;
    use ndarray::{Array2, Axis, s};

    fn hyper(max_depth: u32, n_trees: u32, bootstrap: bool) -> Hyper {
        Hyper { max_depth, min_samples_leaf: 3, n_trees, feature_fraction: 0.5, bootstrap }
    }

    fn both(x: &Array2<f64>, y: &[u8], h: &Hyper, seed: u64) -> (Forest, Forest) {
        let exact = forest::fit(&Presorted::new(x.view(), y).unwrap(), h, seed);
        let binned = fit(&Binned::new(x.view(), y), h, seed);
        (exact, binned)
    }

    /// With no more distinct values than bins, a bin is a value: the candidate splits, and so
    /// the first split, are the exact ones.
    #[test]
    fn histogram_and_exact_trees_choose_the_same_first_split_on_data_without_ties() {
        let mut rng = SplitMix64(11);
        let x = Array2::from_shape_fn((250, 6), |_| rng.normal());
        let y: Vec<u8> =
            x.axis_iter(Axis(0)).map(|r| u8::from(r[2] - 0.3 * r[4] + 0.2 * rng.normal() > 0.1)).collect();
        for seed in 1..6 {
            let (exact, binned) = both(&x, &y, &Hyper { feature_fraction: 1.0, ..hyper(1, 1, false) }, seed);
            let (e, b) = (&exact.trees[0], &binned.trees[0]);
            assert_eq!((e.feature[0], e.threshold[0]), (b.feature[0], b.threshold[0]));
            assert_eq!(e.counts, b.counts);
        }
    }

    /// On values with ties and fewer distinct values than bins, every tree of a bootstrapped
    /// forest splits its rows the same way: the same features, the same children, the same
    /// class counts in every node. (A threshold below the root can differ, where the node's
    /// rows lack a value between two bins: both then separate its rows alike.)
    #[test]
    fn on_few_distinct_values_the_histogram_forest_is_the_exact_one() {
        let mut rng = SplitMix64(3);
        let x = Array2::from_shape_fn((1500, 8), |_| (rng.normal() * 10.0).round() / 10.0);
        let y: Vec<u8> = x
            .axis_iter(Axis(0))
            .map(|r| u8::from(r[0] + 0.5 * r[1] + r[2] * r[3] + 0.3 * rng.normal() > 0.0))
            .collect();
        let (exact, binned) = both(&x, &y, &hyper(8, 20, true), 7);
        for (t, (e, b)) in exact.trees.iter().zip(&binned.trees).enumerate() {
            assert!(e.feature.len() > 20, "tree {t} grew");
            assert!(e.feature == b.feature && e.counts == b.counts && e.left == b.left, "tree {t}");
            assert_eq!(e.threshold[0], b.threshold[0], "tree {t}");
        }
    }

    /// With more distinct values than bins, the forests differ but learn as well.
    #[test]
    fn quantile_bins_learn_as_well_as_exact_splits() {
        let mut rng = SplitMix64(5);
        let x = Array2::from_shape_fn((4000, 10), |_| rng.normal());
        let y: Vec<u8> = x
            .axis_iter(Axis(0))
            .map(|r| u8::from(r[0] + 0.5 * r[1] + r[2] * r[3] + rng.normal() > 0.0))
            .collect();
        let (train, test) = (x.slice(s![..3000, ..]).to_owned(), x.slice(s![3000.., ..]));
        let (exact, binned) = both(&train, &y[..3000], &hyper(8, 50, true), 9);
        let auc = |f: &Forest| metrics::roc_auc(&f.predict(test), &y[3000..]).unwrap();
        let (a, b) = (auc(&exact), auc(&binned));
        assert!(a > 0.75 && (a - b).abs() < 0.01, "exact {a}, histogram {b}");
        assert_eq!(binned, fit(&Binned::new(train.view(), &y[..3000]), &hyper(8, 50, true), 9), "seeded");
    }

    #[test]
    fn thresholds_are_midpoints_of_few_values_and_percentiles_of_many() {
        assert_eq!(thresholds(&[3.0, 1.0, 2.0, 2.0, 1.0]), [1.5, 2.5]);
        assert!(thresholds(&[4.0, 4.0]).is_empty());
        // 1,000 distinct values: 254 percentile midpoints, each bin near 1000 / 255 rows.
        let column: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.37).collect();
        let t = thresholds(&column);
        assert_eq!(t.len(), MAX_BINS - 1);
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        // np.percentile(np.arange(1000) * 0.37, 100 / 255, method="midpoint") = (3 + 4) / 2 x 0.37
        assert!((t[0] - 3.5 * 0.37).abs() < 1e-12, "{}", t[0]);
        let x = Array2::from_shape_vec((1000, 1), column).unwrap();
        let y = vec![0u8; 1000];
        let binned = Binned::new(x.view(), &y);
        let mut sizes = [0usize; MAX_BINS];
        binned.bins.iter().for_each(|&b| sizes[usize::from(b)] += 1);
        assert!(sizes.iter().all(|&n| (3..=5).contains(&n)), "{sizes:?}");
    }
}
