//! Champion against challenger on the same bars: a paired moving-block bootstrap of the
//! difference in a metric, giving P(challenger better) and a 95% interval. Blocks keep
//! the serial dependence of market data that an i.i.d. bootstrap would ignore; both
//! models are scored on the same resampled bars, so the comparison is paired.

use serde::{Deserialize, Serialize};

use crate::artifact::quantile_sorted;
use crate::rng::SplitMix64;

/// What the comparison concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Too few shared bars to say anything; never a win.
    Inconclusive,
    ChallengerBetter,
    ChampionBetter,
    NoClearDifference,
}

impl Verdict {
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Inconclusive => "inconclusive",
            Verdict::ChallengerBetter => "challenger better",
            Verdict::ChampionBetter => "champion better",
            Verdict::NoClearDifference => "no clear difference",
        }
    }
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub metric: String,
    pub bars: usize,
    pub min_bars: usize,
    pub champion: f64,
    pub challenger: f64,
    /// challenger - champion on the observed bars.
    pub difference: f64,
    /// `None` when inconclusive.
    pub probability_better: Option<f64>,
    pub interval: Option<[f64; 2]>,
    pub resamples: usize,
    pub block_bars: usize,
    pub verdict: Verdict,
}

/// How to resample.
#[derive(Debug, Clone, Copy)]
pub struct Bootstrap {
    pub block_bars: usize,
    pub resamples: usize,
    pub seed: u64,
    pub min_bars: usize,
    /// P(better) needed to call the challenger better (and 1 - it for the champion).
    pub min_probability: f64,
}

/// Compare over `bars` paired observations; `metric(indices, challenger?)` scores one
/// model on a multiset of observation indices.
pub fn compare(
    name: &str,
    bars: usize,
    settings: &Bootstrap,
    metric: &dyn Fn(&[usize], bool) -> f64,
) -> Comparison {
    let all: Vec<usize> = (0..bars).collect();
    let champion = metric(&all, false);
    let challenger = metric(&all, true);
    let mut outcome = Comparison {
        metric: name.to_string(),
        bars,
        min_bars: settings.min_bars,
        champion,
        challenger,
        difference: challenger - champion,
        probability_better: None,
        interval: None,
        resamples: 0,
        block_bars: settings.block_bars,
        verdict: Verdict::Inconclusive,
    };
    if bars < settings.min_bars.max(2) {
        return outcome;
    }
    let block = settings.block_bars.clamp(1, bars);
    let mut rng = SplitMix64::stream(settings.seed, 0xB007);
    let mut differences = Vec::with_capacity(settings.resamples);
    let mut indices = Vec::with_capacity(bars + block);
    for _ in 0..settings.resamples {
        indices.clear();
        while indices.len() < bars {
            let start = rng.below(bars - block + 1);
            indices.extend(start..start + block);
        }
        indices.truncate(bars);
        differences.push(metric(&indices, true) - metric(&indices, false));
    }
    let wins = differences.iter().filter(|d| **d > 0.0).count() as f64;
    let ties = differences.iter().filter(|d| **d == 0.0).count() as f64;
    let probability = (wins + 0.5 * ties) / differences.len() as f64;
    differences.sort_by(f64::total_cmp);
    outcome.probability_better = Some(probability);
    outcome.interval = Some([quantile_sorted(&differences, 0.025), quantile_sorted(&differences, 0.975)]);
    outcome.resamples = differences.len();
    outcome.verdict = if probability >= settings.min_probability {
        Verdict::ChallengerBetter
    } else if probability <= 1.0 - settings.min_probability {
        Verdict::ChampionBetter
    } else {
        Verdict::NoClearDifference
    };
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(min_bars: usize) -> Bootstrap {
        Bootstrap { block_bars: 10, resamples: 1000, seed: 7, min_bars, min_probability: 0.8 }
    }

    /// Mean of a per-bar score, the challenger's or the champion's.
    fn mean_of<'a>(champion: &'a [f64], challenger: &'a [f64]) -> impl Fn(&[usize], bool) -> f64 + 'a {
        move |idx: &[usize], is_challenger: bool| {
            let values = if is_challenger { challenger } else { champion };
            idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64
        }
    }

    #[test]
    fn identical_models_are_a_coin_flip_and_never_better() {
        let mut rng = SplitMix64(1);
        let scores: Vec<f64> = (0..500).map(|_| rng.normal()).collect();
        let c = compare("mean", 500, &settings(100), &mean_of(&scores, &scores));
        assert_eq!(c.probability_better, Some(0.5));
        assert_eq!(c.verdict, Verdict::NoClearDifference);
        assert_eq!(c.interval, Some([0.0, 0.0]));
    }

    #[test]
    fn a_clearly_better_challenger_wins_and_the_reverse_loses() {
        let mut rng = SplitMix64(2);
        let champion: Vec<f64> = (0..400).map(|_| rng.normal()).collect();
        let challenger: Vec<f64> = champion.iter().map(|v| v + 0.3 + 0.2 * rng.normal()).collect();
        let better = compare("mean", 400, &settings(100), &mean_of(&champion, &challenger));
        assert!(better.probability_better.unwrap() > 0.99);
        assert_eq!(better.verdict, Verdict::ChallengerBetter);
        let [low, high] = better.interval.unwrap();
        assert!(low > 0.0 && high > low && (low..high).contains(&better.difference));
        let worse = compare("mean", 400, &settings(100), &mean_of(&challenger, &champion));
        assert!(worse.probability_better.unwrap() < 0.01);
        assert_eq!(worse.verdict, Verdict::ChampionBetter);
    }

    #[test]
    fn too_few_bars_is_inconclusive_even_for_a_large_difference() {
        let champion = vec![0.0; 50];
        let challenger = vec![1.0; 50];
        let c = compare("mean", 50, &settings(200), &mean_of(&champion, &challenger));
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(c.probability_better, None);
        assert_eq!(c.difference, 1.0);
    }

    #[test]
    fn the_seed_fixes_the_result() {
        let mut rng = SplitMix64(3);
        let a: Vec<f64> = (0..300).map(|_| rng.normal()).collect();
        let b: Vec<f64> = (0..300).map(|_| rng.normal()).collect();
        let first = compare("mean", 300, &settings(100), &mean_of(&a, &b));
        assert_eq!(first, compare("mean", 300, &settings(100), &mean_of(&a, &b)));
    }
}
