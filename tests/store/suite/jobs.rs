use retrain::config::{Regime, Severity};
use retrain::evaluation::Record;
use retrain::ingest::trades::{Side, TradeOutcome};
use retrain::kinds::{AlertKind, JobStatus};
use retrain::store::{JobResult, NewAlert, NewJob, PlannedJob, Raised, UpsertCounts};
use retrain::triggers::{Priority, TriggerKind};

use super::{register, scored};

fn planned(trigger: TriggerKind, queued: Vec<i64>) -> PlannedJob {
    PlannedJob { job: job(trigger), queued, deploy_always: false }
}

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

#[test]
fn runs_jobs_and_their_totals() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let queued = store.queue_job(&job(TriggerKind::Manual), 50).unwrap();
    let cancelled = store.queue_job(&job(TriggerKind::Manual), 60).unwrap();
    assert!(store.cancel_job(cancelled).unwrap());
    assert!(!store.cancel_job(cancelled).unwrap(), "cancelled once");

    assert_eq!(store.requests().unwrap().iter().map(|j| j.id).collect::<Vec<_>>(), [queued]);
    let run = store.begin_run(42, 1_000, 2_000, true).unwrap();
    assert_eq!(run.abandoned, 0);
    let plan = [planned(TriggerKind::Manual, vec![queued]), planned(TriggerKind::Drift, Vec::new())];
    let ids = store.enqueue_plan(run.id, 1_000, &plan).unwrap();
    assert_eq!(ids[0], queued, "the request became the job");
    let drift = ids[1];
    assert!(store.requests().unwrap().is_empty(), "a planned job is no request");
    let first = store.claim_job("w1", 60_000).unwrap().unwrap();
    assert_eq!(
        (first.id, first.run_now, first.attempts, first.job.trigger),
        (queued, 1_000, 1, TriggerKind::Manual)
    );
    let v1 = register(store, scored(0.5, None));
    let v2 = register(store, scored(0.6, None));
    let done = JobResult { seconds: 2.5, version_id: Some(v2), ..Default::default() };
    assert!(!store.finish_job(queued, "w2", 1_500, &done).unwrap(), "only its worker finishes a job");
    assert!(store.finish_job(queued, "w1", 1_500, &done).unwrap());
    let second = store.claim_job("w1", 60_000).unwrap().unwrap();
    assert_eq!((second.id, second.job.severity), (drift, Some(Severity::High)));
    let error = Some("no rows".to_string());
    store.finish_job(drift, "w1", 1_600, &JobResult { seconds: 1.5, error, ..Default::default() }).unwrap();
    assert!(store.claim_job("w1", 60_000).unwrap().is_none(), "the plan is done");
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
fn a_killed_run_leaves_its_jobs_abandoned_for_the_next_alone() {
    let mut fresh = crate::fresh();
    let store = &mut fresh.store;
    let first = store.begin_run(1, 1_000, 1_000, true).unwrap();
    let plan = [planned(TriggerKind::Schedule, Vec::new()), planned(TriggerKind::Age, Vec::new())];
    store.enqueue_plan(first.id, 1_000, &plan).unwrap();
    store.claim_job("w1", 60_000).unwrap().unwrap();
    assert_eq!(store.running_jobs().unwrap().len(), 1);
    assert_eq!(store.running_runs().unwrap().len(), 1);
    // Alone (SQLite's run lock): the killed run's running and unclaimed jobs are abandoned.
    let second = store.begin_run(2, 2_000, 2_000, true).unwrap();
    assert_eq!(second.abandoned, 1);
    assert!(store.running_jobs().unwrap().is_empty());
    assert_eq!(store.jobs(Some(JobStatus::Abandoned)).unwrap().len(), 2);
    assert_eq!(store.running_runs().unwrap().len(), 1, "only the new run");
    assert!(store.claim_job("w2", 60_000).unwrap().is_none());
}

/// Beside other workers: two claim at the same instant and get different jobs; a job
/// whose lease ran out is taken over (its worker can renew nothing, finish nothing and
/// publish nothing after that); a new run abandons what older runs planned and no one took.
#[test]
fn workers_claim_in_run_order_and_take_over_a_lost_lease() {
    let mut fresh = crate::fresh();
    let location = fresh.location.clone();
    let store = &mut fresh.store;
    let run = store.begin_run(1, 1_000, 1_000, false).unwrap();
    let kinds = [TriggerKind::Drift, TriggerKind::Schedule, TriggerKind::Age, TriggerKind::Decay];
    let plan: Vec<_> = kinds.iter().map(|&k| planned(k, Vec::new())).collect();
    let ids = store.enqueue_plan(run.id, 1_000, &plan).unwrap();
    let barrier = std::sync::Barrier::new(4);
    let claimed: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let (location, barrier) = (&location, &barrier);
                scope.spawn(move || {
                    let mut store = retrain::store::Store::open(location).unwrap();
                    barrier.wait();
                    store.claim_job(&format!("w{w}"), 60_000).unwrap().unwrap().id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = claimed.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "four workers, four different jobs");
    assert!(store.claim_job("w9", 60_000).unwrap().is_none());

    // w0's job: let its lease run out (a lease of 0 ms), then w9 takes it over.
    let lost = claimed[0];
    let holder = store.running_jobs().unwrap().into_iter().find(|j| j.id == lost).unwrap().worker.unwrap();
    assert!(store.renew_lease(lost, &holder, -1).unwrap(), "its worker renews while it holds the job");
    let over = store.claim_job("w9", 60_000).unwrap().unwrap();
    assert_eq!((over.id, over.attempts, over.taken_from.as_deref()), (lost, 2, Some(holder.as_str())));
    assert!(!store.renew_lease(lost, &holder, 60_000).unwrap(), "the lost worker cannot renew");
    assert!(!store.finish_job(lost, &holder, 2_000, &JobResult::default()).unwrap());
    let mut fenced = retrain::store::Store::open(&location).unwrap();
    fenced.set_fence(lost, &holder);
    let n = fenced.reserve_version("BTC", Regime::Trending).unwrap();
    let err =
        fenced.insert_version(&super::version(n), &super::test_evaluation(Record::default())).unwrap_err();
    assert!(err.to_string().contains("its lease ran out and another worker took it over"), "{err}");
    assert!(store.versions("BTC", None).unwrap().is_empty(), "nothing was published");
    let mut owner = retrain::store::Store::open(&location).unwrap();
    owner.set_fence(lost, "w9");
    owner.insert_version(&super::version(n + 1), &super::test_evaluation(Record::default())).unwrap();

    // A new run (beside the workers) leaves running jobs alone and abandons only unclaimed ones.
    let next = store.begin_run(2, 2_000, 2_000, false).unwrap();
    let late = store.enqueue_plan(next.id, 2_000, &[planned(TriggerKind::Manual, Vec::new())]).unwrap();
    let older = store.begin_run(3, 3_000, 3_000, false).unwrap();
    assert_eq!(store.abandon_unclaimed(older.id).unwrap(), 1);
    assert_eq!(
        store.jobs(Some(JobStatus::Abandoned)).unwrap().iter().map(|j| j.id).collect::<Vec<_>>(),
        late
    );
    assert_eq!(store.running_job_count().unwrap(), 4);
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
    let unsent = |store: &retrain::store::Store, channel: &str| {
        store.unsent_alerts(Severity::Medium, channel).unwrap()
    };
    assert_eq!(unsent(store, "webhook").iter().map(|u| u.id).collect::<Vec<_>>(), [id]);
    store.record_notification(id, 11, 1, false, Some("refused"), "webhook").unwrap();
    assert_eq!(unsent(store, "webhook").len(), 1, "a failed post is tried again");
    store.record_notification(id, 12, 2, true, None, "webhook").unwrap();
    assert!(unsent(store, "webhook").is_empty());
    // Each channel delivers on its own: posted is not emailed.
    assert_eq!(unsent(store, "email").iter().map(|u| u.id).collect::<Vec<_>>(), [id]);
    store.record_notification(id, 12, 1, true, None, "email").unwrap();
    assert!(unsent(store, "email").is_empty());
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
