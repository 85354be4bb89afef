#!/usr/bin/env python3
"""Reference probability calibrations for retrain's calibration tests (src/model/calibrate.rs),
from scikit-learn: Platt scaling as CalibratedClassifierCV(method="sigmoid") fits it
(sklearn.calibration._sigmoid_calibration), IsotonicRegression(out_of_bounds="clip") as
CalibratedClassifierCV(method="isotonic") fits it, and calibration_curve(n_bins=10,
strategy="uniform") with the expected calibration error written out over its bins.

The inputs are made by formulas that the Rust test repeats exactly (no random generator):
probabilities on a grid of 1/40 (so many are tied) and labels from a second
low-discrepancy sequence. Writes tests/fixtures/oracles/calibration.json.

    pip install scikit-learn==1.7.2 numpy==2.3.5
    python3 scripts/oracles/calibration.py
"""
import json
import math
import pathlib

import numpy as np
import sklearn
from sklearn.calibration import _sigmoid_calibration, calibration_curve
from sklearn.isotonic import IsotonicRegression

root = pathlib.Path(__file__).resolve().parents[2]
PHI = 0.6180339887498949
PLASTIC = 0.7548776662466927


def frac(x):
    return x - math.floor(x)


def case(n, power, scale, flip):
    p, y = [], []
    for i in range(1, n + 1):
        q = math.floor(frac(i * PHI) * 40.0) / 40.0
        truth = scale * q**power
        if flip:
            truth = scale * (1.0 - q) ** power
        p.append(q)
        y.append(1 if frac(i * PLASTIC) < truth else 0)
    return np.array(p), np.array(y)


CASES = {
    # An overconfident model: the true rate is well below what it says.
    "overconfident": dict(n=600, power=2.0, scale=0.7, flip=False),
    # An underconfident one with a rare class.
    "rare": dict(n=800, power=0.5, scale=0.3, flip=False),
    # One whose ranking is backwards: Platt's slope changes sign.
    "backwards": dict(n=400, power=1.0, scale=0.9, flip=True),
}
QUERIES = [-0.1, 0.0, 0.0125, 0.13, 0.5, 0.77, 0.975, 1.0, 1.2]

out = {"sklearn": sklearn.__version__, "queries": QUERIES, "cases": {}}
for name, spec in CASES.items():
    p, y = case(**spec)
    a, b = _sigmoid_calibration(p, y)
    iso = IsotonicRegression(out_of_bounds="clip").fit(p, y)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    bins = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], p)
    counts = np.bincount(bins, minlength=10)
    counts = counts[counts != 0]
    ece = float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))
    out["cases"][name] = {
        **spec,
        "platt": {"a": float(a), "b": float(b),
                  "at_queries": [float(1.0 / (1.0 + math.exp(a * q + b))) for q in QUERIES]},
        "isotonic": {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist(),
                     "at_queries": iso.predict(np.array(QUERIES)).tolist()},
        "curve": {"prob_true": prob_true.tolist(), "prob_pred": prob_pred.tolist(),
                  "rows": counts.tolist(), "ece": ece},
    }

path = root / "tests/fixtures/oracles/calibration.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
