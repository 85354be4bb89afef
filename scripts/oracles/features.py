#!/usr/bin/env python3
"""Reference values for retrain's features, from TA-Lib and pandas, on the first 3,000
candles of tests/data/btc-perp-20211231-20220201_1m.csv with the default windows.

Writes tests/fixtures/oracles/features-btc-1m.csv: open_time and every feature, for a
spread of rows (every 29th after the warm-up, and the last), so the fixture stays small
while the recursive indicators are checked far from their seeds.

    pip install TA-Lib pandas numpy
    python3 scripts/oracles/features.py
"""
import pathlib

import numpy as np
import pandas as pd
import talib

root = pathlib.Path(__file__).resolve().parents[2]
candles = pd.read_csv(root / "tests/data/btc-perp-20211231-20220201_1m.csv", nrows=3000)
open_time = pd.to_datetime(candles["timestamp"]).to_numpy().astype("datetime64[ms]").astype("int64")
o, h, l, c, v = (candles[k].to_numpy(float) for k in ["open", "high", "low", "close", "volume"])
close = pd.Series(c)
volume = pd.Series(v)

f = {}
for n in [1, 3, 6, 12, 24]:
    f[f"ret_{n}"] = np.log(close / close.shift(n))
f["volatility"] = np.log(close / close.shift(1)).rolling(20).std()
f["rsi"] = talib.RSI(c, 14)
macd, signal, hist = talib.MACD(c, 12, 26, 9)
f["macd"], f["macd_signal"], f["macd_hist"] = macd / c, signal / c, hist / c
upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0, matype=0)
f["bb_pct_b"] = (c - lower) / (upper - lower)
f["bb_bandwidth"] = (upper - lower) / middle
f["natr"] = talib.NATR(h, l, c, 14) / 100.0
f["adx"] = talib.ADX(h, l, c, 14)
f["plus_di"] = talib.PLUS_DI(h, l, c, 14)
f["minus_di"] = talib.MINUS_DI(h, l, c, 14)
k, d = talib.STOCHF(h, l, c, 14, 3, 0)
f["stoch_k"], f["stoch_d"] = k, d
f["cci"] = talib.CCI(h, l, c, 20)
f["williams_r"] = talib.WILLR(h, l, c, 14)
f["volume_z"] = (volume - volume.rolling(20).mean()) / volume.rolling(20).std()
signed = np.sign(close.diff()).fillna(0.0) * volume
f["obv_slope"] = signed.rolling(20).sum() / volume.rolling(20).sum()
for n in [20, 50]:
    f[f"dist_sma_{n}"] = c / talib.SMA(c, n) - 1
for n in [20, 50]:
    f[f"dist_ema_{n}"] = c / talib.EMA(c, n) - 1
rng = h - l
f["range"] = rng / c
f["body"] = np.where(rng == 0, 0.0, (c - o) / np.where(rng == 0, 1, rng))
f["upper_wick"] = np.where(rng == 0, 0.0, (h - np.maximum(o, c)) / np.where(rng == 0, 1, rng))
f["lower_wick"] = np.where(rng == 0, 0.0, (np.minimum(o, c) - l) / np.where(rng == 0, 1, rng))
day = (open_time % 86_400_000) / 86_400_000
week = ((open_time // 86_400_000 + 3) % 7 + day) / 7
f["hour_sin"], f["hour_cos"] = np.sin(2 * np.pi * day), np.cos(2 * np.pi * day)
f["dow_sin"], f["dow_cos"] = np.sin(2 * np.pi * week), np.cos(2 * np.pi * week)

table = pd.DataFrame({"open_time": open_time, **{k: np.asarray(x, float) for k, x in f.items()}})
rows = list(range(60, len(table), 29)) + [len(table) - 1]
out = root / "tests/fixtures/oracles/features-btc-1m.csv"
table.iloc[rows].to_csv(out, index=False, float_format="%.17g")
print(f"wrote {out}: {len(rows)} rows x {len(f)} features")
