#!/usr/bin/env python3
"""Generate SignalForge's indicator and candlestick reference vectors with TA-Lib.

Writes, from a fixed seed, a deterministic synthetic OHLCV fixture and the
values TA-Lib computes on it:

  Tests/IndicatorsTests/Fixtures/ohlcv.csv        timestamp,open,high,low,close,volume
  Tests/IndicatorsTests/Fixtures/reference.csv    one column per indicator output
  Tests/PatternsTests/Fixtures/ohlcv.csv          (same bars)
  Tests/PatternsTests/Fixtures/reference.csv      one column per CDL* function

Numbers are written with repr() (17 significant digits), so they round-trip
exactly; TA-Lib's NaN lookback is written as "nan". The Swift tests read these
files only: they never run Python.

Run it (from the repository root):

    python3 -m venv .venv-ref && .venv-ref/bin/pip install ta-lib numpy
    .venv-ref/bin/python scripts/reference/generate.py

The bars are generated with numpy's PCG64 seeded with SEED, so re-running the
script reproduces the committed fixtures byte for byte (given the same numpy).
"""
import os
import sys

import numpy as np
import talib

SEED = 20261123
N = 4000
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_bars(n: int, seed: int):
    """Synthetic OHLC in segments: random walk, doji-rich, hammers, stars,
    soldiers, crows, engulfing pairs and one long completely flat stretch.
    Prices are rounded to cents so that exact ties (open == previous close,
    zero shadows) occur, as they do in real quotes."""
    rng = np.random.Generator(np.random.PCG64(seed))
    o = np.empty(n); h = np.empty(n); l = np.empty(n); c = np.empty(n)
    price = 100.0
    i = 0
    flat_done = False
    kinds = ["walk", "doji", "hammer", "star", "soldiers", "crows", "engulf"]
    while i < n:
        kind = kinds[rng.integers(len(kinds))]
        if not flat_done and i > n // 2:
            kind = "flat"
            flat_done = True
        length = 350 if kind == "flat" else int(rng.integers(15, 50))
        for _ in range(length):
            if i >= n:
                break
            vol = price * 0.01
            if kind == "flat":
                oo = cc = hh = ll = price
            elif kind == "doji":
                oo = price + rng.normal(0, vol * 0.3)
                cc = oo + (0.0 if rng.random() < 0.5 else rng.normal(0, vol * 0.03))
                hh = max(oo, cc) + abs(rng.normal(0, vol))
                ll = min(oo, cc) - abs(rng.normal(0, vol))
                if rng.random() < 0.25:
                    hh = max(oo, cc)          # dragonfly-like
                elif rng.random() < 0.25:
                    ll = min(oo, cc)          # gravestone-like
            elif kind == "hammer":
                price -= abs(rng.normal(0, vol * 0.5))
                oo = price + rng.normal(0, vol * 0.1)
                cc = oo + rng.normal(0, vol * 0.15)
                hh = max(oo, cc) + (0.0 if rng.random() < 0.6 else abs(rng.normal(0, vol * 0.02)))
                ll = min(oo, cc) - abs(rng.normal(vol * 1.5, vol * 0.5))
            elif kind == "star":
                price += abs(rng.normal(0, vol * 0.6))
                oo = price + abs(rng.normal(vol * 0.3, vol * 0.1))
                cc = oo + rng.normal(0, vol * 0.15)
                ll = min(oo, cc) - (0.0 if rng.random() < 0.6 else abs(rng.normal(0, vol * 0.02)))
                hh = max(oo, cc) + abs(rng.normal(vol * 1.5, vol * 0.5))
            elif kind == "soldiers":
                oo = price - abs(rng.normal(vol * 0.3, vol * 0.1))
                cc = oo + abs(rng.normal(vol * 1.2, vol * 0.4))
                hh = cc + (0.0 if rng.random() < 0.5 else abs(rng.normal(0, vol * 0.03)))
                ll = oo - abs(rng.normal(0, vol * 0.3))
            elif kind == "crows":
                if rng.random() < 0.25:
                    oo = price - vol
                    cc = price + vol * 0.5
                else:
                    oo = price + abs(rng.normal(vol * 0.3, vol * 0.1))
                    cc = oo - abs(rng.normal(vol * 1.2, vol * 0.4))
                ll = min(oo, cc) - (0.0 if rng.random() < 0.5 else abs(rng.normal(0, vol * 0.03)))
                hh = max(oo, cc) + abs(rng.normal(0, vol * 0.3))
            elif kind == "engulf":
                if rng.random() < 0.5:
                    oo = price + rng.normal(0, vol * 0.2)
                    cc = oo + rng.normal(0, vol * 0.4)
                else:
                    prev_o, prev_c = o[i - 1] if i else price, c[i - 1] if i else price
                    big = abs(prev_c - prev_o) + abs(rng.normal(vol * 0.5, vol * 0.2))
                    if prev_c < prev_o:   # bullish engulfing of a black candle
                        oo = prev_c - (0.0 if rng.random() < 0.3 else abs(rng.normal(0, vol * 0.1)))
                        cc = oo + big
                    else:
                        oo = prev_c + (0.0 if rng.random() < 0.3 else abs(rng.normal(0, vol * 0.1)))
                        cc = oo - big
                hh = max(oo, cc) + abs(rng.normal(0, vol * 0.3))
                ll = min(oo, cc) - abs(rng.normal(0, vol * 0.3))
            else:  # walk
                oo = price + rng.normal(0, vol * 0.2)
                cc = oo + rng.normal(0, vol)
                hh = max(oo, cc) + abs(rng.normal(0, vol * 0.5))
                ll = min(oo, cc) - abs(rng.normal(0, vol * 0.5))
            oo, cc, hh, ll = (round(x, 2) for x in (oo, cc, hh, ll))
            hh = max(hh, oo, cc)
            ll = min(ll, oo, cc)
            o[i], h[i], l[i], c[i] = oo, hh, ll, cc
            price = cc
            i += 1
    v = np.round(rng.uniform(100, 10000, n), 0)
    return o, h, l, c, v


def fmt(x) -> str:
    x = float(x)
    return "nan" if np.isnan(x) else repr(x)


def write_csv(path, header, columns):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in zip(*columns):
            f.write(",".join(r if isinstance(r, str) else fmt(r) for r in row) + "\n")


def main() -> int:
    o, h, l, c, v = make_bars(N, SEED)
    ts = [str(1_700_000_000 + 60 * k) for k in range(N)]
    bars = (["timestamp", "open", "high", "low", "close", "volume"], [ts, o, h, l, c, v])

    macd, macd_signal, macd_hist = talib.MACD(c, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    slowk, slowd = talib.STOCH(h, l, c, 14, 3, 0, 3, 0)
    ind = {
        "sma_20": talib.SMA(c, 20),
        "sma_5": talib.SMA(c, 5),
        "ema_50": talib.EMA(c, 50),
        "ema_12": talib.EMA(c, 12),
        "rsi_14": talib.RSI(c, 14),
        "rsi_5": talib.RSI(c, 5),
        "macd": macd, "macd_signal": macd_signal, "macd_hist": macd_hist,
        "bb_upper_20": upper, "bb_middle_20": middle, "bb_lower_20": lower,
        "atr_14": talib.ATR(h, l, c, 14),
        "atr_5": talib.ATR(h, l, c, 5),
        "stoch_k": slowk, "stoch_d": slowd,
        "adx_14": talib.ADX(h, l, c, 14),
        "adx_7": talib.ADX(h, l, c, 7),
    }
    pat = {
        "cdl_hammer": talib.CDLHAMMER(o, h, l, c),
        "cdl_shootingstar": talib.CDLSHOOTINGSTAR(o, h, l, c),
        "cdl_engulfing": talib.CDLENGULFING(o, h, l, c),
        "cdl_doji": talib.CDLDOJI(o, h, l, c),
        "cdl_dragonflydoji": talib.CDLDRAGONFLYDOJI(o, h, l, c),
        "cdl_gravestonedoji": talib.CDLGRAVESTONEDOJI(o, h, l, c),
        "cdl_3whitesoldiers": talib.CDL3WHITESOLDIERS(o, h, l, c),
        "cdl_3blackcrows": talib.CDL3BLACKCROWS(o, h, l, c),
    }
    for target in ("IndicatorsTests", "PatternsTests"):
        write_csv(os.path.join(ROOT, "Tests", target, "Fixtures", "ohlcv.csv"), *bars)
    write_csv(os.path.join(ROOT, "Tests", "IndicatorsTests", "Fixtures", "reference.csv"),
              list(ind), list(ind.values()))
    write_csv(os.path.join(ROOT, "Tests", "PatternsTests", "Fixtures", "reference.csv"),
              list(pat), [[str(int(x)) for x in col] for col in pat.values()])
    print(f"TA-Lib {talib.__ta_version__.decode()} — {N} bars, seed {SEED}")
    for k, col in pat.items():
        print(f"  {k}: {int(np.count_nonzero(col))} detections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
