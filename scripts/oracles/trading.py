#!/usr/bin/env python3
"""Reference trading metrics from empyrical for retrain's backtest tests.

Writes tests/fixtures/oracles/trading.json: return series built from the real BTC 1m
candles of tests/data (a long/flat rule: long after an up minute, with 7 bps per
side) and empyrical-reloaded's Sharpe, Sortino, max drawdown, cumulative and annual
return for them.

    pip install empyrical-reloaded pandas numpy
    python3 scripts/oracles/trading.py
"""
import json
import pathlib

import empyrical
import numpy as np
import pandas as pd

root = pathlib.Path(__file__).resolve().parents[2]
candles = pd.read_csv(root / "tests/data/btc-perp-20211231-20220201_1m.csv", nrows=3001)
close = candles["close"].to_numpy(float)
market = close[1:] / close[:-1] - 1
previous = np.concatenate([[0.0], market[:-1]])
cases = []
for n, periods, cost in [(500, 525960.0, 0.0007), (3000, 525960.0, 0.0007), (1200, 105192.0, 0.0)]:
    position = (previous[:n] > 0).astype(float)
    changes = np.abs(np.diff(np.concatenate([[0.0], position])))
    returns = position * market[:n] - cost * changes
    cases.append({
        "periods": periods,
        "returns": returns.tolist(),
        "empyrical": {
            "sharpe": empyrical.sharpe_ratio(returns, annualization=periods),
            "sortino": empyrical.sortino_ratio(returns, annualization=periods),
            "max_drawdown": empyrical.max_drawdown(returns),
            "cum_returns_final": empyrical.cum_returns_final(returns),
            "annual_return": empyrical.annual_return(returns, annualization=periods),
        },
    })
out = root / "tests/fixtures/oracles/trading.json"
out.write_text(json.dumps(cases))
print(f"wrote {out}: {len(cases)} cases")
