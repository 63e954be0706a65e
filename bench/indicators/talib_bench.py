#!/usr/bin/env python3
"""Writes N synthetic OHLC bars to OUT/bars.f64 (open, high, low, close as
contiguous float64 columns) and times TA-Lib through its Python wrapper on
them, ns/bar, best of RUNS (default 7), into OUT/talib.tsv. Used by run.sh.

Each tsv row is: name, best ns/bar at N bars, and the wrapper's fixed cost
per call in ns (the same call on 64 bars, best of 2000): the interpreter,
argument checks and the output allocation, which at N bars is that figure
divided by N (well under 0.001 ns/bar at 10M)."""
import sys
import time

import numpy as np
import talib

n = int(sys.argv[1])
out = sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
rng = np.random.Generator(np.random.PCG64(7))
close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.0005, n))
high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
np.concatenate([open_, high, low, close]).astype(np.float64).tofile(f"{out}/bars.f64")


def best(f, runs, count):
    b = float("inf")
    for _ in range(runs):
        t = time.perf_counter_ns()
        f()
        b = min(b, time.perf_counter_ns() - t)
    return b / count


def cases(o, h, l, c):
    return {
        "SMA": lambda: talib.SMA(c, 20),
        "EMA": lambda: talib.EMA(c, 20),
        "RSI": lambda: talib.RSI(c, 14),
        "MACD": lambda: talib.MACD(c, 12, 26, 9),
        "BBANDS": lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0),
        "ATR": lambda: talib.ATR(h, l, c, 14),
        "STOCH": lambda: talib.STOCH(h, l, c, 14, 3, 0, 3, 0),
        "ADX": lambda: talib.ADX(h, l, c, 14),
        "CDLHAMMER": lambda: talib.CDLHAMMER(o, h, l, c),
        "CDLSHOOTINGSTAR": lambda: talib.CDLSHOOTINGSTAR(o, h, l, c),
        "CDLENGULFING": lambda: talib.CDLENGULFING(o, h, l, c),
        "CDLDOJI": lambda: talib.CDLDOJI(o, h, l, c),
        "CDLDRAGONFLYDOJI": lambda: talib.CDLDRAGONFLYDOJI(o, h, l, c),
        "CDLGRAVESTONEDOJI": lambda: talib.CDLGRAVESTONEDOJI(o, h, l, c),
        "CDL3WHITESOLDIERS": lambda: talib.CDL3WHITESOLDIERS(o, h, l, c),
        "CDL3BLACKCROWS": lambda: talib.CDL3BLACKCROWS(o, h, l, c),
    }


full = cases(open_, high, low, close)
small = cases(*(np.ascontiguousarray(a[:64]) for a in (open_, high, low, close)))
with open(f"{out}/talib.tsv", "w") as f:
    for name, fn in full.items():
        f.write(f"{name}\t{best(fn, runs, n):.4f}\t{best(small[name], 2000, 1):.0f}\n")
