// Times each indicator and candlestick pattern on the bars written by
// talib_bench.py, next to TA-Lib's C library called in the same process on
// the same arrays (interleaved rounds, see README.md), and prints TA-Lib's
// figures through its Python wrapper (talib_bench.py, same run) beside them.
//
// usage: IndicatorsBench BARS.f64 TALIB.tsv [LIBTA_LIB.so]
//   BENCH_ROUNDS=N   interleaved rounds (default 9)
//   BENCH_ONLY=A,B   only these cases (names as printed)
//   BENCH_CHECK=0    skip the full-length comparison with TA-Lib
//   BENCH_ROUNDS_DETAIL=1  also print every round's time
import Foundation
import Indicators
import Patterns

let args = CommandLine.arguments
guard args.count == 3 || args.count == 4 else {
    FileHandle.standardError.write("usage: IndicatorsBench BARS.f64 TALIB.tsv [LIBTA_LIB.so]\n".data(using: .utf8)!)
    exit(2)
}
let env = ProcessInfo.processInfo.environment
let rounds = Int(env["BENCH_ROUNDS"] ?? "") ?? 9
let only = env["BENCH_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
let runCheck = env["BENCH_CHECK"] != "0"

let raw = try Data(contentsOf: URL(fileURLWithPath: args[1]))
let all: [Double] = raw.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
let n = all.count / 4

/// A column as numpy holds one: on transparent huge pages when the kernel
/// allows (numpy advises every array of 4 MiB or more), so that neither side
/// pays 4 KiB TLB misses on its inputs that the Python path would not.
func column(_ k: Int) -> [Double] {
    Array(unsafeUninitializedCapacity: n) { buffer, count in
        let bytes = n * MemoryLayout<Double>.stride
        #if os(Linux)
        if bytes >= 1 << 22, let base = buffer.baseAddress {
            let raw = UnsafeMutableRawPointer(base)
            let offset = (4096 - Int(bitPattern: raw) % 4096) % 4096
            _ = madvise(raw + offset, bytes - offset, MADV_HUGEPAGE)
        }
        #endif
        _ = buffer.initialize(from: all[k * n..<(k + 1) * n])
        count = n
    }
}
// Both sides read these same four arrays.
let open = column(0), high = column(1), low = column(2), close = column(3)

var python: [String: Double] = [:]
var wrapperCost: [Double] = []  // ns per call, fixed part (talib_bench.py)
for line in try String(contentsOfFile: args[2], encoding: .utf8).split(separator: "\n") {
    let parts = line.split(separator: "\t")
    if parts.count >= 2, let v = Double(parts[1]) { python[String(parts[0])] = v }
    if parts.count >= 3, let v = Double(parts[2]) { wrapperCost.append(v) }
}

let talib: TALib? = args.count == 4 ? TALib(path: args[3]) : nil
if args.count == 4 && talib == nil {
    print("warning: could not load TA-Lib from \(args[3]); in-process comparison skipped")
}

// The C calls read the very arrays the Swift side reads (immutable globals,
// so their storage does not move for the whole run).
func address(_ a: [Double]) -> UnsafePointer<Double> { a.withUnsafeBufferPointer { $0.baseAddress! } }
let ta = talib.map { TALibCases(lib: $0, o: address(open), h: address(high), l: address(low), c: address(close), n: n) }

/// What to compare in the check: real-valued series or pattern scores.
enum Output {
    case reals([[Double]])
    case scores([Int32])
}

struct Case {
    let name: String
    let isPattern: Bool
    let ours: () -> Double
    let theirs: ((TALibCases) -> Double)?
    let oursFull: () -> Output
    let theirsFull: ((TALibCases) -> Output)?
}

func indicator(
    _ name: String, _ ours: @escaping () -> [[Double]], _ theirs: @escaping (TALibCases) -> Double,
    _ theirsFull: @escaping (TALibCases) -> [[Double]]
) -> Case {
    Case(
        name: name, isPattern: false,
        ours: { ours().reduce(0) { $0 + $1.last! } },
        theirs: theirs,
        oursFull: { .reals(ours()) },
        theirsFull: { .reals(theirsFull($0)) })
}

func pattern(_ name: String, _ p: CandlestickPattern) -> Case {
    let lookback = Candlesticks.lookback(p)
    let ours = { Candlesticks.scores(p, open: open, high: high, low: low, close: close) }
    return Case(
        name: name, isPattern: true,
        ours: { Double(ours().last!) },
        theirs: { $0.pattern(name, lookback: lookback) },
        oursFull: { .scores(ours()) },
        theirsFull: { .scores($0.patternSeries(name, lookback: lookback)) })
}

let lbMACD = MACD.lookback(), lbStoch = Stochastic.lookback()
var cases: [Case] = [
    indicator(
        "SMA", { [SMA.compute(close, period: 20)] },
        { $0.real1($0.lib.sma, period: 20, lookback: 19) },
        { [$0.real1Series($0.lib.sma, period: 20, lookback: 19)] }),
    indicator(
        "EMA", { [EMA.compute(close, period: 20)] },
        { $0.real1($0.lib.ema, period: 20, lookback: 19) },
        { [$0.real1Series($0.lib.ema, period: 20, lookback: 19)] }),
    indicator(
        "RSI", { [RSI.compute(close, period: 14)] },
        { $0.real1($0.lib.rsi, period: 14, lookback: 14) },
        { [$0.real1Series($0.lib.rsi, period: 14, lookback: 14)] }),
    indicator(
        "MACD",
        {
            let m = MACD.compute(close); return [m.macd, m.signal, m.histogram]
        },
        { $0.macd(lookback: lbMACD) },
        { $0.macdSeries(lookback: lbMACD) }),
    indicator(
        "BBANDS",
        {
            let b = BollingerBands.compute(close); return [b.upper, b.middle, b.lower]
        },
        { $0.bbands(lookback: 19) },
        { $0.bbandsSeries(lookback: 19) }),
    indicator(
        "ATR", { [ATR.compute(high: high, low: low, close: close)] },
        { $0.hlc($0.lib.atr, period: 14, lookback: 14) },
        { [$0.hlcSeries($0.lib.atr, period: 14, lookback: 14)] }),
    indicator(
        "STOCH",
        {
            let s = Stochastic.compute(high: high, low: low, close: close); return [s.k, s.d]
        },
        { $0.stoch(lookback: lbStoch) },
        { $0.stochSeries(lookback: lbStoch) }),
    indicator(
        "ADX", { [ADX.compute(high: high, low: low, close: close)] },
        { $0.hlc($0.lib.adx, period: 14, lookback: 27) },
        { [$0.hlcSeries($0.lib.adx, period: 14, lookback: 27)] }),
    pattern("CDLHAMMER", .hammer),
    pattern("CDLSHOOTINGSTAR", .shootingStar),
    pattern("CDLENGULFING", .bullishEngulfing),
    pattern("CDLDOJI", .doji),
    pattern("CDLDRAGONFLYDOJI", .dragonflyDoji),
    pattern("CDLGRAVESTONEDOJI", .gravestoneDoji),
    pattern("CDL3WHITESOLDIERS", .threeWhiteSoldiers),
    pattern("CDL3BLACKCROWS", .threeBlackCrows),
]
if let only { cases = cases.filter { only.contains($0.name) } }

// MARK: correctness on the full series (untimed)

/// The tests' criterion: NaN exactly where TA-Lib has NaN; elsewhere
/// |a−b| ≤ 1e-9·max(|a|,|b|) with an absolute floor of 1e-12. Returns the
/// number of values outside it and the largest |a−b| as a fraction of the
/// allowed difference (so 1 would be at the limit).
func compare(_ ours: [Double], _ theirs: [Double]) -> (bad: Int, worst: Double) {
    var bad = 0, worst = 0.0
    for i in 0..<Swift.min(ours.count, theirs.count) {
        let a = ours[i], b = theirs[i]
        if a.isNaN || b.isNaN { if a.isNaN != b.isNaN { bad += 1 }; continue }
        let allowed = Swift.max(1e-9 * Swift.max(Swift.abs(a), Swift.abs(b)), 1e-12)
        let used = Swift.abs(a - b) / allowed
        if !(used <= 1) { bad += 1 }
        worst = Swift.max(worst, used)
    }
    return (bad + Swift.abs(ours.count - theirs.count), worst)
}

var checkFailed = false
if runCheck, let ta {
    print("check against TA-Lib on all \(n) bars:")
    for c in cases {
        guard let theirsFull = c.theirsFull else { continue }
        let line: String
        switch (c.oursFull(), theirsFull(ta)) {
        case (.reals(let a), .reals(let b)):
            let results = zip(a, b).map { compare($0, $1) }
            let bad = results.reduce(0) { $0 + $1.bad }
            let worst = results.map(\.worst).max() ?? 0
            checkFailed = checkFailed || bad > 0
            line =
                bad == 0
                ? String(format: "ok, largest difference %.1e of the tolerance", worst)
                : String(format: "%d values outside the tolerance (largest %.1e of it)", bad, worst)
        case (.scores(let a), .scores(let b)):
            var union = 0, differ = 0
            for i in 0..<n where a[i] != 0 || b[i] != 0 {
                union += 1
                if a[i] != b[i] { differ += 1 }
            }
            checkFailed = checkFailed || differ > 0
            line = differ == 0 ? "ok, \(union) detections, all identical" : "\(differ) of \(union) detections differ"
        default:
            line = "?"
        }
        print("  " + c.name.padding(toLength: 19, withPad: " ", startingAt: 0) + line)
    }
}

// MARK: timing

var sink = 0.0
@MainActor func time(_ body: () -> Double) -> Double {
    let start = ContinuousClock.now
    sink += body()
    let d = ContinuousClock.now - start
    return (Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9) / Double(n)
}

// One untimed round first: the process's first large allocations pay for
// the kernel assembling free 2 MiB pages, which later ones reuse.
for c in cases {
    sink += c.ours()
    if let ta, let theirs = c.theirs { sink += theirs(ta) }
}

// Rounds interleave the two sides (their order alternating) so that a burst
// of load from elsewhere hits both, not one.
var oursTimes = [[Double]](repeating: [], count: cases.count)
var theirTimes = [[Double]](repeating: [], count: cases.count)
for round in 0..<rounds {
    for (k, c) in cases.enumerated() {
        let theirs = ta.flatMap { ta in c.theirs.map { f in { f(ta) } } }
        if round % 2 == 0 || theirs == nil {
            oursTimes[k].append(time(c.ours))
            if let theirs { theirTimes[k].append(time(theirs)) }
        } else {
            theirTimes[k].append(time(theirs!))
            oursTimes[k].append(time(c.ours))
        }
    }
}

if env["BENCH_ROUNDS_DETAIL"] == "1" {
    for (k, c) in cases.enumerated() {
        print(c.name, "ours:", oursTimes[k].map { String(format: "%.2f", $0) }.joined(separator: " "))
        print(c.name, "ta  :", theirTimes[k].map { String(format: "%.2f", $0) }.joined(separator: " "))
    }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
func f(_ x: Double?, _ width: Int = 8) -> String {
    guard let x, x.isFinite else { return String(repeating: " ", count: width - 1) + "-" }
    return String(format: "%\(width).2f", x)
}
func r(_ a: Double, _ b: Double?) -> String {
    guard let b, b.isFinite, b > 0 else { return "      -" }
    return String(format: "%6.2f×", a / b)
}

print(
    """
    \(n) bars, ns/bar. Swift vs TA-Lib's C library in this process: best and median \
    of \(rounds) interleaved rounds. TA-Lib via Python (talib wrapper): best of its runs.
    name                 swift  ta-lib C   ratio | median: swift  ta-lib C   ratio | ta-lib py   ratio
    """)
var totals = (ours: 0.0, theirs: 0.0, oursMed: 0.0, theirsMed: 0.0, py: 0.0)
var patternCount = 0
for (k, c) in cases.enumerated() {
    let ob = oursTimes[k].min()!, om = median(oursTimes[k])
    let tb = theirTimes[k].min(), tm = theirTimes[k].isEmpty ? nil : median(theirTimes[k])
    let py = python[c.name]
    print(
        c.name.padding(toLength: 19, withPad: " ", startingAt: 0)
            + f(ob) + "  " + f(tb) + "  " + r(ob, tb) + " |         " + f(om) + "  " + f(tm) + "  " + r(om, tm)
            + " |  " + f(py) + "  " + r(ob, py))
    if c.isPattern {
        patternCount += 1
        totals.ours += ob; totals.oursMed += om
        totals.theirs += tb ?? .nan; totals.theirsMed += tm ?? .nan
        totals.py += py ?? .nan
    }
}
if patternCount == 8 {
    print(
        "8 patterns (total)".padding(toLength: 19, withPad: " ", startingAt: 0)
            + f(totals.ours) + "  " + f(totals.theirs) + "  " + r(totals.ours, totals.theirs)
            + " |         " + f(totals.oursMed) + "  " + f(totals.theirsMed) + "  " + r(totals.oursMed, totals.theirsMed)
            + " |  " + f(totals.py) + "  " + r(totals.ours, totals.py))
}
if let lo = wrapperCost.min(), let hi = wrapperCost.max() {
    print(
        String(
            format: "TA-Lib's Python wrapper costs %.1f–%.1f µs per call besides the C function (%.5f ns/bar at %d bars).",
            lo / 1000, hi / 1000, hi / Double(n), n))
}
if sink == 42 { print("") }  // keep results alive
if checkFailed {
    print("CHECK FAILED: outputs differ from TA-Lib (see above)")
    exit(1)
}
