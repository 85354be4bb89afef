use retrain::config::Regime;
use retrain::evaluation::Record;
use retrain::kinds::{DeploymentAction, VersionStatus};
use retrain::store::db::params;
use retrain::store::{Change, Store};

use super::register;

fn change(at: i64, reason: &str) -> Change {
    Change {
        symbol: "BTC".into(),
        regime: Regime::Trending,
        reason: reason.into(),
        gates: Some(serde_json::json!({"f1": {"value": 0.6, "passed": true}})),
        forced: false,
        actor: "test".into(),
        at,
    }
}

fn statuses(store: &Store) -> Vec<(i64, VersionStatus)> {
    let mut rows: Vec<_> =
        store.versions("BTC", None).unwrap().iter().map(|v| (v.version, v.status)).collect();
    rows.sort();
    rows
}

#[test]
fn promote_rollback_and_canary_keep_one_production_and_one_canary() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let v1 = register(store, Record::default());
    let v2 = register(store, Record::default());
    let v3 = register(store, Record::default());
    store.promote(v1, None, &change(100, "first")).unwrap();
    store.promote(v2, Some(v1), &change(200, "better")).unwrap();
    use VersionStatus::*;
    assert_eq!(statuses(store), [(1, Archived), (2, Production), (3, Candidate)]);
    assert_eq!(store.promoted_at("BTC", Regime::Trending, v2).unwrap(), Some(200));

    // A stale caller (who still thinks v1 is live) is refused and changes nothing.
    let err = store.promote(v3, Some(v1), &change(250, "stale")).unwrap_err();
    assert!(err.to_string().contains("changed while this command ran"), "{err}");
    assert_eq!(statuses(store), [(1, Archived), (2, Production), (3, Candidate)]);

    let test = store.start_canary(v3, v2, 0.25, &change(300, "canary")).unwrap();
    assert_eq!(statuses(store), [(1, Archived), (2, Production), (3, Canary)]);
    let running = store.running_test("BTC", Regime::Trending).unwrap().unwrap();
    assert_eq!(
        (running.id, running.champion_id, running.challenger_id, running.traffic_split),
        (test, v2, v3, 0.25)
    );
    store
        .end_canary(
            &running,
            retrain::store::CanaryEnd::Promoted,
            &serde_json::json!({"p": 0.97}),
            &change(400, "won"),
        )
        .unwrap();
    assert_eq!(statuses(store), [(1, Archived), (2, Archived), (3, Production)]);
    assert!(store.running_test("BTC", Regime::Trending).unwrap().is_none());

    store.rollback(v2, Some(v3), &change(500, "worse live")).unwrap();
    assert_eq!(statuses(store), [(1, Archived), (2, Production), (3, Archived)]);

    let rows = store.deployments(Some("BTC"), Some(Regime::Trending)).unwrap();
    let actions: Vec<_> =
        rows.iter().map(|d| (d.action, d.from_version, d.to_version, d.canary_version)).collect();
    use DeploymentAction::*;
    assert_eq!(
        actions,
        [
            (Promote, None, Some(1), None),
            (Promote, Some(1), Some(2), None),
            (CanaryStart, Some(2), Some(2), Some(3)),
            (CanaryEnd, Some(2), Some(3), Some(3)),
            (Rollback, Some(3), Some(2), None),
        ]
    );
    assert_eq!(rows[0].gates, Some(serde_json::json!({"f1": {"value": 0.6, "passed": true}})));
    assert_eq!(store.last_deployment_at("BTC", Regime::Trending).unwrap(), Some(500));
    assert_eq!(store.deployments(None, None).unwrap().len(), 5);
    assert_eq!(store.deployments(Some("ETH"), None).unwrap().len(), 0);
}

/// The schema itself refuses a second production or canary version, whatever the code
/// above it does: the partial unique indexes.
#[test]
fn the_database_refuses_two_production_versions() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let v1 = register(store, Record::default());
    let v2 = register(store, Record::default());
    store.promote(v1, None, &change(100, "first")).unwrap();
    // Pretend the live version was not checked: promote v2 "from nothing".
    let err = store.promote(v2, None, &change(200, "blind")).unwrap_err();
    assert!(err.to_string().contains("changed while this command ran"), "{err}");
    let db = retrain::store::connect(&fresh.location).unwrap();
    let set = |id: i64, status: &str| {
        db.execute("UPDATE model_versions SET status = ?1 WHERE id = ?2", params![status, id])
    };
    let err = set(v2, "production").unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    let v3 = register(&mut fresh.store, Record::default());
    set(v2, "canary").unwrap();
    let err = set(v3, "canary").unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(
        statuses(&fresh.store),
        [(1, VersionStatus::Production), (2, VersionStatus::Canary), (3, VersionStatus::Candidate)]
    );
}
