#!/usr/bin/env python3
"""Reference classification metrics from scikit-learn for retrain's metrics tests.

Writes tests/fixtures/oracles/metrics.json: cases of (probabilities, labels) with
scikit-learn's accuracy, precision, recall, F1 (threshold: P > 0.5), ROC AUC, log loss
and Brier score. Cases include tied scores, probabilities of exactly 0 and 1, a single
class, and no predicted positives.

    pip install scikit-learn numpy
    python3 scripts/oracles/metrics.py
"""
import json
import pathlib

import numpy as np
from sklearn import metrics

rng = np.random.default_rng(20261124)
cases = []


def add(p, y):
    p = np.asarray(p, float)
    y = np.asarray(y, int)
    pred = (p > 0.5).astype(int)
    single = len(set(y.tolist())) < 2
    cases.append({
        "probabilities": p.tolist(),
        "labels": y.tolist(),
        "sklearn": {
            "accuracy": metrics.accuracy_score(y, pred),
            "precision": metrics.precision_score(y, pred, zero_division=0),
            "recall": metrics.recall_score(y, pred, zero_division=0),
            "f1": metrics.f1_score(y, pred, zero_division=0),
            "roc_auc": None if single else metrics.roc_auc_score(y, p),
            "log_loss": metrics.log_loss(y, p, labels=[0, 1]),
            "brier": metrics.brier_score_loss(y, p, pos_label=1) if not single or y[0] == 1 else float(np.mean((p - y) ** 2)),
        },
    })


y = rng.integers(0, 2, 500)
add(np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.25, 500), 0, 1), y)
add(np.round(rng.uniform(0, 1, 300), 1), rng.integers(0, 2, 300))  # many ties
add([0.0, 1.0, 1.0, 0.0, 0.5, 0.5], [1, 1, 0, 0, 1, 0])  # certain and wrong: clipping
add(rng.uniform(0, 0.5, 50), rng.integers(0, 2, 50))  # no predicted positives
add(rng.uniform(0, 1, 40), np.zeros(40, int))  # a single class
out = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/oracles/metrics.json"
out.write_text(json.dumps(cases, indent=1))
print(f"wrote {out}: {len(cases)} cases")
