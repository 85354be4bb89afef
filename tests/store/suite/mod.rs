//! One set of store tests for both backends: each test takes a fresh state from the
//! target's `fresh()` and checks what the store answers, never how it is kept. The
//! artifact store is part of it: a folder with SQLite, a bucket with PostgreSQL.

mod artifacts;
mod candles;
mod deploy;
mod jobs;
mod registry;
mod signals;

use retrain::config::{ModelKind, Regime};
use retrain::evaluation::Record;
use retrain::kinds::EvaluationKind;
use retrain::model::metrics::Classification;
use retrain::store::{NewEvaluation, NewVersion, Store};

/// Version `n` of BTC trending with made-up windows and checksums.
pub fn version(n: i64) -> NewVersion {
    NewVersion {
        symbol: "BTC".into(),
        regime: Regime::Trending,
        version: n,
        interval: "5m".parse().unwrap(),
        model_kind: ModelKind::RandomForest,
        hyperparameters: "{}".into(),
        seed: 42,
        train: (0, 1),
        validation: (2, 3),
        test: (4, 5),
        data_fingerprint: "d".into(),
        config_hash: "c".into(),
        artifact_path: format!("BTC/trending/v{n}"),
        sha256: "s".into(),
        created_at: 9,
    }
}

/// A test evaluation holding `record`.
pub fn test_evaluation(record: Record) -> NewEvaluation {
    NewEvaluation { kind: EvaluationKind::Test, window: (4, 5), rows: 10, record }
}

/// A record of test metrics with this F1 and ROC AUC (the rest fixed).
pub fn scored(f1: f64, auc: Option<f64>) -> Record {
    let classification = Classification {
        rows: 100,
        accuracy: 0.5,
        precision: 0.5,
        recall: 0.5,
        f1,
        roc_auc: auc,
        log_loss: 0.69,
        brier: 0.25,
        positive_rate: 0.5,
    };
    Record { classification: Some(classification), trading: None }
}

/// Register the next version of BTC trending; its id.
pub fn register(store: &mut Store, record: Record) -> i64 {
    let n = store.reserve_version("BTC", Regime::Trending).unwrap();
    store.insert_version(&version(n), &test_evaluation(record)).unwrap()
}
