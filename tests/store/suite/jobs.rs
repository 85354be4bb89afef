use retrain::config::{Regime, Severity};
use retrain::evaluation::Record;
use retrain::ingest::trades::{Side, TradeOutcome};
use retrain::kinds::{AlertKind, JobStatus};
use retrain::model::metrics::Classification;
use retrain::store::{JobResult, NewAlert, NewJob, Raised, UpsertCounts};
use retrain::triggers::{Priority, TriggerKind};

use super::register;

fn job(trigger: TriggerKind) -> NewJob {
    NewJob {
        symbol: "BTC".into(),
        regime: Regime::Trending,
        trigger,
        reason: format!("{trigger} fired"),
        priority: Priority::High,
        severity: (trigger == TriggerKind::Drift).then_some(Severity::High),
    }
}

fn with_f1(f1: f64) -> Record {
    let classification = Classification {
        rows: 10,
        accuracy: 0.5,
        precision: 0.5,
        recall: 0.5,
        f1,
        roc_auc: None,
        log_loss: 0.7,
        brier: 0.25,
        positive_rate: 0.5,
    };
    Record { classification: Some(classification), trading: None }
}

#[test]
fn runs_jobs_and_their_totals() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let queued = store.queue_job(&job(TriggerKind::Manual), 50).unwrap();
    let cancelled = store.queue_job(&job(TriggerKind::Manual), 60).unwrap();
    assert!(store.cancel_job(cancelled).unwrap());
    assert!(!store.cancel_job(cancelled).unwrap(), "cancelled once");

    let run = store.begin_run(42, 1_000, 2_000, false).unwrap();
    assert_eq!(run.abandoned, 0);
    assert_eq!(store.start_job(Some(queued), &job(TriggerKind::Manual), run.id, 1_000).unwrap(), queued);
    let v1 = register(store, with_f1(0.5));
    let v2 = register(store, with_f1(0.6));
    store
        .finish_job(queued, 1_500, &JobResult { seconds: 2.5, version_id: Some(v2), ..Default::default() })
        .unwrap();
    let drift = store.start_job(None, &job(TriggerKind::Drift), run.id, 1_000).unwrap();
    let error = Some("no rows".to_string());
    store.finish_job(drift, 1_600, &JobResult { seconds: 1.5, error, ..Default::default() }).unwrap();
    store.finish_run(run.id, 3_000, 0).unwrap();

    let all = store.jobs(None).unwrap();
    let summary: Vec<_> = all.iter().map(|j| (j.id, j.status, j.run_now, j.version)).collect();
    assert_eq!(
        summary,
        [
            (queued, JobStatus::Succeeded, Some(1_000), Some(2)),
            (cancelled, JobStatus::Cancelled, None, None),
            (drift, JobStatus::Failed, Some(1_000), None),
        ]
    );
    assert_eq!(store.jobs(Some(JobStatus::Cancelled)).unwrap().len(), 1);
    let totals = store.job_totals(None, 10).unwrap();
    assert_eq!((totals.finished, totals.succeeded, totals.average_seconds), (2, 1, Some(2.0)));
    let model = store.job_totals(Some(("BTC", Regime::Trending)), 1).unwrap();
    assert_eq!((model.finished, model.succeeded), (1, 0));
    let last = store.last_job("BTC", Regime::Trending).unwrap().unwrap();
    assert_eq!((last.trigger, last.at, last.status), (TriggerKind::Drift, 1_000, JobStatus::Failed));
    assert_eq!(store.last_job_at("BTC", Regime::Trending).unwrap(), Some(1_000));
    assert_eq!(store.previous_run_now(None).unwrap(), Some(1_000));
    assert_eq!(store.previous_run_now(Some(run.id)).unwrap(), None);
    // A run with a failed job is not a successful one.
    assert_eq!(store.last_successful_run().unwrap(), None);
    let refused = store.refused_retrains("BTC", Regime::Trending, v1, 0).unwrap().unwrap();
    assert_eq!((refused.count, refused.severity), (1, Some(Severity::High)));
    // v2's F1 against its parent v1's, from the JSON of their test evaluations.
    let improvement = store.average_improvement("$.classification.f1", 10).unwrap().unwrap();
    assert!((improvement - 0.1).abs() < 1e-12, "{improvement}");
    assert_eq!(store.average_improvement("$.classification.roc_auc", 10).unwrap(), None);
}

#[test]
fn a_killed_run_leaves_its_jobs_abandoned_for_the_next() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let first = store.begin_run(1, 1_000, 1_000, false).unwrap();
    store.start_job(None, &job(TriggerKind::Schedule), first.id, 1_000).unwrap();
    assert_eq!(store.running_jobs().unwrap().len(), 1);
    assert_eq!(store.running_runs().unwrap().len(), 1);
    let second = store.begin_run(2, 2_000, 2_000, false).unwrap();
    assert_eq!(second.abandoned, 1);
    assert!(store.running_jobs().unwrap().is_empty());
    assert_eq!(store.jobs(Some(JobStatus::Abandoned)).unwrap().len(), 1);
    assert_eq!(store.running_runs().unwrap().len(), 1, "only the new run");
}

#[test]
fn an_alert_is_raised_once_until_resolved_and_posted_once() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let alert = |severity, regime| NewAlert {
        kind: AlertKind::StaleData,
        severity,
        symbol: "BTC".into(),
        regime,
        version_id: None,
        message: "old candles".into(),
        details: serde_json::json!({"age_hours": 3}),
        created_at: 10,
    };
    let Raised::New(id) = store.raise_alert(&alert(Severity::High, None)).unwrap() else { panic!("not new") };
    // NULL regime and version compare equal to NULL: the same alert.
    assert_eq!(store.raise_alert(&alert(Severity::High, None)).unwrap(), Raised::AlreadyOpen(id));
    let Raised::New(other) = store.raise_alert(&alert(Severity::Low, Some(Regime::Trending))).unwrap() else {
        panic!("not new")
    };
    let counts = store.open_alert_counts().unwrap();
    assert_eq!((counts.high, counts.low, counts.total()), (1, 1, 2));
    assert_eq!(store.unsent_alerts(Severity::Medium).unwrap().iter().map(|u| u.id).collect::<Vec<_>>(), [id]);
    store.record_notification(id, 11, 1, false, Some("refused")).unwrap();
    assert_eq!(store.unsent_alerts(Severity::Medium).unwrap().len(), 1, "a failed post is tried again");
    store.record_notification(id, 12, 2, true, None).unwrap();
    assert!(store.unsent_alerts(Severity::Medium).unwrap().is_empty());
    assert!(store.acknowledge_alert(other, 13).unwrap());
    assert!(store.resolve_alert(other, "fixed", 14).unwrap());
    assert!(!store.resolve_alert(other, "again", 15).unwrap());
    assert_eq!(store.alerts(false).unwrap().len(), 1);
    let all = store.alerts(true).unwrap();
    assert_eq!(
        (all.len(), all[0].resolution.as_deref(), all[0].acknowledged_at),
        (2, Some("fixed"), Some(13))
    );
    assert!(matches!(
        store.raise_alert(&alert(Severity::Low, Some(Regime::Trending))).unwrap(),
        Raised::New(_)
    ));
}

#[test]
fn trade_outcomes_are_idempotent_on_their_id() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let trade = |id: &str, pnl: f64| TradeOutcome {
        id: id.into(),
        symbol: "BTC".into(),
        opened_at: 1,
        closed_at: 2,
        side: Side::Long,
        entry_price: 100.0,
        exit_price: 101.0,
        quantity: 0.5,
        pnl,
        model_version: Some(3),
    };
    let counts = store.upsert_trade_outcomes(&[trade("a", 0.5), trade("b", -0.1)]).unwrap();
    assert_eq!(counts, UpsertCounts { inserted: 2, updated: 0, unchanged: 0 });
    let counts = store.upsert_trade_outcomes(&[trade("a", 0.5), trade("b", -0.2)]).unwrap();
    assert_eq!(counts, UpsertCounts { inserted: 0, updated: 1, unchanged: 1 });
    let totals = store.trade_outcome_counts().unwrap();
    assert_eq!((totals[0].symbol.as_str(), totals[0].count, totals[0].last_closed_at), ("BTC", 2, 2));
}
