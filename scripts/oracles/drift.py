#!/usr/bin/env python3
"""Reference drift statistics for retrain's drift tests, on raw columns of the real data
in tests/data (read exactly, so both sides compare the same numbers).

For each case: PSI written out plainly over the reference's decile bins (numpy's linear
quantiles, repeated edges collapsed, a value equal to an edge in the upper bin, empty
bins' shares replaced by 1e-4), scipy.stats.ks_2samp (method auto), the Jensen-Shannon
distance of the bin shares (scipy.spatial.distance.jensenshannon, natural log), and
scipy.stats.wasserstein_distance divided by the reference's population standard
deviation. Writes tests/fixtures/oracles/drift.json.

    pip install scipy numpy pyarrow pandas
    python3 scripts/oracles/drift.py
"""
import json
import math
import pathlib

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

root = pathlib.Path(__file__).resolve().parents[2]
data = root / "tests/data"
eth = pd.read_feather(data / "ETH_BTC-5m.feather")
ltc = pd.read_feather(data / "LTC_BTC-5m.feather")
xrp = pd.read_feather(data / "XRP_ETH-1m.feather")

# (name, file, column, reference rows, current file, column, current rows)
cases = [
    ("eth volume, first vs second half", "ETH_BTC-5m.feather", "volume", (0, 2880), "ETH_BTC-5m.feather", "volume", (2880, 5760)),
    ("eth close, first vs last week", "ETH_BTC-5m.feather", "close", (0, 2016), "ETH_BTC-5m.feather", "close", (3744, 5760)),
    ("ltc volume vs eth volume", "LTC_BTC-5m.feather", "volume", (0, 5760), "ETH_BTC-5m.feather", "volume", (0, 5760)),
    ("eth volume vs itself", "ETH_BTC-5m.feather", "volume", (0, 2880), "ETH_BTC-5m.feather", "volume", (0, 2880)),
    ("small samples, exact KS", "ETH_BTC-5m.feather", "volume", (0, 50), "ETH_BTC-5m.feather", "volume", (100, 180)),
    ("equal small samples", "ETH_BTC-5m.feather", "high", (0, 300), "ETH_BTC-5m.feather", "high", (300, 600)),
    ("xrp integer volumes, many ties", "XRP_ETH-1m.feather", "volume", (0, 500), "XRP_ETH-1m.feather", "volume", (500, 1200)),
]
frames = {"ETH_BTC-5m.feather": eth, "LTC_BTC-5m.feather": ltc, "XRP_ETH-1m.feather": xrp}


def plain_psi(reference, current):
    edges = np.unique(np.quantile(reference, np.arange(1, 10) / 10))  # sorted, collapsed
    ref_bins = np.searchsorted(edges, reference, side="right")
    cur_bins = np.searchsorted(edges, current, side="right")
    k = len(edges) + 1
    ref_share = np.bincount(ref_bins, minlength=k) / len(reference)
    cur_share = np.bincount(cur_bins, minlength=k) / len(current)
    total = 0.0
    for r, c in zip(ref_share, cur_share):
        r = r if r > 0 else 1e-4
        c = c if c > 0 else 1e-4
        total += (c - r) * math.log(c / r)
    return total, ref_share, cur_share


out = []
for name, rf, rc, (r0, r1), cf, cc, (c0, c1) in cases:
    reference = frames[rf][rc].to_numpy(float)[r0:r1]
    current = frames[cf][cc].to_numpy(float)[c0:c1]
    psi, ref_share, cur_share = plain_psi(reference, current)
    ks = stats.ks_2samp(reference, current)
    out.append({
        "name": name,
        "reference": {"file": rf, "column": rc, "rows": [r0, r1]},
        "current": {"file": cf, "column": cc, "rows": [c0, c1]},
        "psi": psi,
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "js_distance": float(jensenshannon(ref_share, cur_share)),
        "wasserstein": float(stats.wasserstein_distance(reference, current) / np.std(reference)),
    })
path = root / "tests/fixtures/oracles/drift.json"
path.write_text(json.dumps(out, indent=1))
print(f"wrote {path}: {len(out)} cases")
