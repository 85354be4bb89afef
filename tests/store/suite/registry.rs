use retrain::config::Regime;
use retrain::evaluation::Record;
use retrain::kinds::{EvaluationKind, VersionStatus};
use retrain::store::{LatestEvaluation, NewEvaluation, RegisteredModel};

use super::{register, scored, test_evaluation, version};

#[test]
fn version_numbers_never_repeat_and_parents_link() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let first = store.reserve_version("BTC", Regime::Trending).unwrap();
    let abandoned = store.reserve_version("BTC", Regime::Trending).unwrap();
    let third = store.reserve_version("BTC", Regime::Trending).unwrap();
    assert_eq!((first, abandoned, third), (1, 2, 3));
    assert_eq!(store.reserve_version("BTC", Regime::Volatile).unwrap(), 1);

    let record = Record { classification: None, trading: None };
    let id1 = store.insert_version(&version(first), &test_evaluation(record)).unwrap();
    store.insert_version(&version(third), &test_evaluation(record)).unwrap();
    let rows = store.versions("BTC", Some(Regime::Trending)).unwrap();
    assert_eq!(rows.iter().map(|r| r.version).collect::<Vec<_>>(), [3, 1]);
    assert_eq!(rows[0].parent_id, Some(id1));
    assert_eq!(rows[1].parent_id, None);
    assert_eq!(rows[0].status, VersionStatus::Candidate);
    assert_eq!(rows[0].latest_evaluation, Some(LatestEvaluation { kind: EvaluationKind::Test, record }));
    assert_eq!(store.test_record(id1).unwrap(), Some(record));
    assert_eq!(store.versions("BTC", None).unwrap().len(), 2);
    let models = store.registered_models().unwrap();
    assert_eq!(
        models,
        [RegisteredModel { symbol: "BTC".into(), regime: Regime::Trending, interval: "5m".parse().unwrap() }]
    );
}

#[test]
fn a_reserved_number_is_pending_in_its_writers_name_until_registered() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let first = store.reserve_version("BTC", Regime::Trending).unwrap();
    let second = store.reserve_version("BTC", Regime::Trending).unwrap();
    let pending = store.pending_artifacts().unwrap();
    assert_eq!(pending.iter().map(|p| p.version).collect::<Vec<_>>(), [first, second]);
    assert!(pending.iter().all(|p| p.writer == retrain::lock::this_process()), "{pending:?}");

    store.insert_version(&version(first), &test_evaluation(Record::default())).unwrap();
    let pending = store.pending_artifacts().unwrap();
    assert_eq!(
        pending.iter().map(|p| p.version).collect::<Vec<_>>(),
        [second],
        "registered, so no longer pending"
    );
    store.forget_pending("BTC", Regime::Trending, second).unwrap();
    assert!(store.pending_artifacts().unwrap().is_empty());
    assert_eq!(store.version_counters().unwrap(), [("BTC".to_string(), Regime::Trending, second)]);
    assert_eq!(
        store.reserve_version("BTC", Regime::Trending).unwrap(),
        3,
        "a forgotten number is not handed out again"
    );
}

#[test]
fn a_version_number_is_taken_once() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let record = Record::default();
    store.insert_version(&version(1), &test_evaluation(record)).unwrap();
    let err = store.insert_version(&version(1), &test_evaluation(record)).unwrap_err();
    let db = err.downcast_ref::<retrain::store::db::Error>().expect("a database error");
    assert!(db.is_unique_violation(), "{err:#}");
    assert_eq!(store.versions("BTC", None).unwrap().len(), 1, "the refused insert left nothing");
}

#[test]
fn metrics_round_trip_and_the_latest_evaluation_wins() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let id = register(store, scored(0.61, Some(0.5812345678901234)));
    let backtest =
        NewEvaluation { kind: EvaluationKind::Backtest, window: (6, 7), rows: 3, record: scored(0.4, None) };
    store.insert_evaluation(id, &backtest, 20).unwrap();
    let latest = store.latest_evaluation(id, EvaluationKind::Backtest).unwrap().unwrap();
    assert_eq!((latest.window_to, latest.created_at, latest.record), (7, 20, scored(0.4, None)));
    assert_eq!(store.test_record(id).unwrap(), Some(scored(0.61, Some(0.5812345678901234))));
    let row = &store.versions("BTC", None).unwrap()[0];
    assert_eq!(row.latest_evaluation.as_ref().unwrap().kind, EvaluationKind::Backtest);
    assert_eq!(
        store.test_records("BTC", Regime::Trending, 5).unwrap(),
        [scored(0.61, Some(0.5812345678901234))]
    );
}

#[test]
fn candidates_are_archived_once() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let a = register(store, Record::default());
    let b = register(store, Record::default());
    assert_eq!(store.archive_candidates(&[a, b, a]).unwrap(), 2);
    assert_eq!(store.archive_candidates(&[a]).unwrap(), 0);
    assert!(store.active_versions("BTC", Regime::Trending).unwrap().is_empty());
}
