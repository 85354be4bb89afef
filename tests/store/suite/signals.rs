use retrain::config::Regime;
use retrain::deploy::signals::{outcome, summary};
use retrain::evaluation::Record;
use retrain::rng::SplitMix64;
use retrain::store::{NewSignal, Resolution};

use super::register;

fn signal(version_id: i64, i: i64, position: i8) -> NewSignal {
    NewSignal {
        symbol: "BTC".into(),
        interval: "5m".parse().unwrap(),
        regime: Regime::Trending,
        open_time: 300_000 * i,
        version_id,
        ab_test: None,
        probability: 0.5,
        position,
        entry_close: 100.0,
        horizon_bars: 12,
        cost_per_side: 0.0007,
        created_at: 1000 + i,
    }
}

/// 300 signals served one a bar from t = 1000, long, short or flat at random, each
/// resolved with a random market return except the newest 12 (still open).
#[test]
fn the_live_summary_is_the_summary_of_the_newest_resolved_outcomes() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let id = register(store, Record::default());
    let mut rng = SplitMix64(11);
    let mut resolutions = Vec::new();
    for i in 0..300 {
        let position = [-1i8, 0, 1][(rng.next_u64() % 3) as usize];
        let signal_id = store.insert_signal(&signal(id, i, position)).unwrap().id;
        if i < 288 {
            let market_return = rng.normal() * 0.01;
            let (realised_return, win) = outcome(position, market_return, 0.0007);
            resolutions.push(Resolution { id: signal_id, market_return, realised_return, win });
        }
    }
    store.resolve_signals(&resolutions, 5000).unwrap();
    assert_eq!(store.pending_signals("BTC", "5m".parse().unwrap()).unwrap().len(), 12);

    for (since, last) in [(0, 100), (0, 1000), (1200, 50), (1200, 1000), (2000, 10)] {
        let all = store.outcomes(id, since, None).unwrap();
        let expected = summary(&all[all.len().saturating_sub(last)..]);
        let got = store.live_summary(id, since, last).unwrap();
        assert_eq!((got.signals, got.trades, got.wins), (expected.signals, expected.trades, expected.wins));
        assert_eq!(got.win_rate, expected.win_rate);
        assert!((got.mean_return - expected.mean_return).abs() < 1e-15, "{got:?} {expected:?}");
    }
    // The window, not the history: 100 of the 288 resolved.
    assert_eq!(store.live_summary(id, 0, 100).unwrap().signals, 100);
    assert_eq!(store.live_summary(id, 2000, 100).unwrap().signals, 0);
}

/// A bar is served once per version: the second insert finds the first.
#[test]
fn a_signal_is_stored_once_per_version_and_bar() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let id = register(store, Record::default());
    let first = store.insert_signal(&signal(id, 5, 1)).unwrap();
    let again =
        store.insert_signal(&NewSignal { probability: 0.9, position: -1, ..signal(id, 5, -1) }).unwrap();
    assert!(first.new && !again.new);
    assert_eq!((again.id, again.probability, again.position), (first.id, 0.5, 1));
    let recent = store.recent_signals("BTC", Regime::Trending, 10).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!((recent[0].version, recent[0].position, recent[0].win), (1, 1, None));
    assert_eq!(store.series_signals("BTC", "5m".parse().unwrap(), 0).unwrap().len(), 1);
}
