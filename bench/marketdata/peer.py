"""The pandas/pyarrow side of bench/marketdata/run.sh: same operations, same sizes, same output lines."""
import sys, time
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq

def best(runs, fn):
    b = float("inf")
    for _ in range(runs):
        t = time.perf_counter(); fn(); b = min(b, time.perf_counter() - t)
    return b

def synthetic(n):
    rng = np.random.default_rng(7)
    close = np.round(1.1 * np.cumprod(1 + (rng.random(n) - 0.5) * 0.001), 5)
    open_ = np.concatenate(([1.1], close[:-1]))
    high = np.maximum(open_, close) + np.round(rng.random(n) * 20) / 1e5
    low = np.minimum(open_, close) - np.round(rng.random(n) * 20) / 1e5
    vol = np.round(rng.random(n) * 1e5) / 100
    idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": vol}, index=idx)

cmd = sys.argv[1]
if cmd == "csv":
    path = sys.argv[2]; rows = [0]
    def f(): rows[0] = len(pd.read_csv(path, parse_dates=["timestamp"]))
    t = best(3, f)
    print(f"csv_parse {rows[0]} {t}")
elif cmd == "resample":
    n = int(sys.argv[2]); df = synthetic(n)
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    print(f"resample_1m_1h {n} {best(5, lambda: df.resample('1h').agg(agg))}")
elif cmd == "parquet":
    n = int(sys.argv[2]); path = sys.argv[3]
    t = pa.Table.from_pandas(synthetic(n).reset_index(names="timestamp"), preserve_index=False)
    print(f"parquet_zstd_write {n} {best(3, lambda: pq.write_table(t, path, compression='zstd'))}")
