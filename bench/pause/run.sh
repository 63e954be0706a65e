#!/usr/bin/env bash
# Pause latency per stage: a real `signalforge serve` (throwaway PostgreSQL)
# runs the default nine-stage experiment over `signalforge sample-data`; while
# each stage runs, the script POSTs pause, polls until the progress tree is
# frozen and the state reads `paused`, checks it stays frozen, and resumes —
# as many cycles as the stage lasts, over RUNS experiments. The latency of a
# cycle is measured on the server (`pause_requested` → `paused` events: every
# worker parked) and, as the client sees it, POST → the later of `paused` and the last change of the progress
# tree (units done and percent of every node; rate and ETA left out), at the
# poll's resolution (~2 ms). Prints p50/p99/max per stage. Target: p99 ≤ 50 ms.
#
# Usage: bash bench/pause/run.sh
#   env: DAYS (730), SYMBOLS (EURUSD,GBPUSD,USDJPY), TIMEFRAMES (15m,1h,4h),
#        RUNS (3), BIN (a built signalforge; default: build release into
#        SCRATCH, .build-st), HOLD (0.3: seconds each pause is held)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/postgres.sh"

days="${DAYS:-730}"
symbols="${SYMBOLS:-EURUSD,GBPUSD,USDJPY}"
timeframes="${TIMEFRAMES:-15m,1h,4h}"
if [ -n "${BIN:-}" ]; then
    bin="$BIN"
else
    scratch="${SCRATCH:-$root/.build-st}"
    swift build -c release --package-path "$root" --scratch-path "$scratch" --product signalforge >&2
    bin="$scratch/release/signalforge"
fi

work="$(mktemp -d /tmp/sf-pause-bench.XXXXXX)"
chmod 755 "$work"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    sf_pg_stop "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT
sf_pg_start_any "$work/pg"

"$bin" sample-data --out "$work/data/samples" --symbols "$symbols" --timeframe 1m --days "$days" --seed 42 >&2
port=$(sf_free_port)
"$bin" serve --port "$port" --data-dir "$work/data" --log-level warning >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

python3 - "$port" "$symbols" "$timeframes" "${RUNS:-3}" "${HOLD:-0.3}" "$server" <<'PY'
import json, sys, time, urllib.error, urllib.request
port, symbols, timeframes, runs, hold, pid = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
base = f"http://127.0.0.1:{port}/v1/experiments"
STAGES = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]

def call(method, url, body=None, conflict_ok=False):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        if conflict_ok and e.code == 409:
            return None  # the experiment moved on (e.g. finished) meanwhile
        raise

def frozen_view(node):
    # What must not move while paused: units done and percent of every node.
    return (node["path"], node["units_done"], node["percent"], tuple(frozen_view(c) for c in node["children"]))

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0

def ts(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

samples = {s: [] for s in STAGES}
violations = []
for run in range(runs):
    body = {"name": f"pause-bench-{run}", "datasets": [{"symbol": s, "path": f"samples/{s}_1m.csv"} for s in symbols],
            "timeframes": timeframes}
    eid = call("POST", base, body)["id"]
    cursor, seen = 0, []
    while True:
        e = call("GET", f"{base}/{eid}")
        if e["status"] in ("succeeded", "failed", "cancelled"):
            break
        stage = e.get("stage")
        if e["status"] != "running" or stage not in samples:
            time.sleep(0.005)
            continue
        t0 = time.monotonic()
        if call("POST", f"{base}/{eid}/pause", conflict_ok=True) is None:
            continue
        last = call("GET", f"{base}/{eid}/progress")
        last_change = t0
        paused_at = None
        while True:
            now = time.monotonic()
            st = call("GET", f"{base}/{eid}")["status"]
            tree = call("GET", f"{base}/{eid}/progress")
            if frozen_view(tree) != frozen_view(last):
                last_change = now
                last = tree
            if st == "paused" and paused_at is None:
                paused_at = now
            if paused_at is not None and now - paused_at > 0.02:
                break
            if st in ("succeeded", "failed", "cancelled"):
                break  # the run ended before parking (the pause came after the last checkpoint)
            if now - t0 > 10:
                violations.append(f"{stage}: not paused after 10 s")
                break
            time.sleep(0.002)
        latency = max(paused_at or now, last_change) - t0
        if paused_at is None:
            continue
        # Server side: `pause_requested` → `paused` (every worker parked) in the events.
        events = []
        while True:
            page = call("GET", f"{base}/{eid}/events?limit=1000&after={cursor}")["items"]
            if not page:
                break
            events += page
            cursor = page[-1]["id"]
        seen += events
        events = seen
        req = [ev for ev in events if ev["kind"] == "pause_requested"][-1]
        par = [ev for ev in events if ev["kind"] == "paused" and ev["id"] > req["id"]]
        server_latency = (ts(par[0]["ts"]) - ts(req["ts"])) if par else float("nan")
        stage = par[0].get("stage") or stage if par else stage
        # Held: nothing moves, CPU stays still.
        c0 = cpu(pid)
        time.sleep(hold)
        tree = call("GET", f"{base}/{eid}/progress")
        c1 = cpu(pid)
        if frozen_view(tree) != frozen_view(last):
            violations.append(f"{stage}: progress moved while paused")
        samples[stage].append((latency, c1 - c0, server_latency))
        if call("POST", f"{base}/{eid}/resume", conflict_ok=True) is None:
            violations.append(f"{stage}: resume refused in state {call('GET', f'{base}/{eid}')['status']}")
        time.sleep(0.05)
    if e["status"] != "succeeded":
        print(f"experiment {eid}: {e['status']} {e.get('error')}", file=sys.stderr)
        sys.exit(1)

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

print(f"pause latency, {runs} runs, {len(symbols)} symbols, timeframes {','.join(timeframes)}")
print("  server: `pause_requested` -> `paused` event (request taken -> every worker parked, state stored)")
print("  client: POST -> `paused` seen and progress frozen, at the poll's resolution (two GETs a round)")
print(f"{'stage':<10} {'n':>3} {'srv p50':>8} {'srv p99':>8} {'cli p50':>8} {'cli p99':>8} {'cpu/hold s':>10}  target p99 <= 50 ms (server)")
for s in STAGES:
    xs = samples[s]
    if not xs:
        print(f"{s:<10} {0:>3}        -        -        -        -          -  (stage too short to sample)")
        continue
    lat = [x[0] * 1000 for x in xs]
    srv = [x[2] * 1000 for x in xs]
    cpu_max = max(x[1] for x in xs)
    p99 = pct(srv, 99)
    print(f"{s:<10} {len(xs):>3} {pct(srv, 50):>8.1f} {p99:>8.1f} {pct(lat, 50):>8.1f} {pct(lat, 99):>8.1f} {cpu_max:>10.2f}  {'met' if p99 <= 50 else 'MISSED'}")
for v in violations:
    print("VIOLATION:", v)
PY
