// Times each indicator and candlestick pattern on the bars written by
// talib_bench.py and prints ns/bar next to TA-Lib's figures from the same run.
import Foundation
import Indicators
import Patterns

let args = CommandLine.arguments
guard args.count == 3 else {
    FileHandle.standardError.write("usage: IndicatorsBench BARS.f64 TALIB.tsv\n".data(using: .utf8)!)
    exit(2)
}
let raw = try Data(contentsOf: URL(fileURLWithPath: args[1]))
let all: [Double] = raw.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
let n = all.count / 4
let open = Array(all[0 ..< n]), high = Array(all[n ..< 2 * n])
let low = Array(all[2 * n ..< 3 * n]), close = Array(all[3 * n ..< 4 * n])

var talib: [String: Double] = [:]
for line in try String(contentsOfFile: args[2], encoding: .utf8).split(separator: "\n") {
    let parts = line.split(separator: "\t")
    if parts.count == 2, let v = Double(parts[1]) { talib[String(parts[0])] = v }
}

var sink = 0.0
/// Best of `runs` wall times, in ns per bar.
@MainActor func measure(runs: Int = 5, _ body: () -> Double) -> Double {
    var best = Double.infinity
    for _ in 0 ..< runs {
        let start = ContinuousClock.now
        sink += body()
        let d = ContinuousClock.now - start
        let ns = Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
        best = min(best, ns / Double(n))
    }
    return best
}

let indicators: [(String, () -> Double)] = [
    ("SMA", { SMA.compute(close, period: 20).last! }),
    ("EMA", { EMA.compute(close, period: 20).last! }),
    ("RSI", { RSI.compute(close, period: 14).last! }),
    ("MACD", { MACD.compute(close).histogram.last! }),
    ("BBANDS", { BollingerBands.compute(close).upper.last! }),
    ("ATR", { ATR.compute(high: high, low: low, close: close).last! }),
    ("STOCH", { Stochastic.compute(high: high, low: low, close: close).d.last! }),
    ("ADX", { ADX.compute(high: high, low: low, close: close).last! }),
]
let patterns: [(String, () -> Double)] = [
    ("CDLHAMMER", { Double(Candlesticks.hammer(open: open, high: high, low: low, close: close).last!) }),
    ("CDLSHOOTINGSTAR", { Double(Candlesticks.shootingStar(open: open, high: high, low: low, close: close).last!) }),
    ("CDLENGULFING", { Double(Candlesticks.engulfing(open: open, high: high, low: low, close: close).last!) }),
    ("CDLDOJI", { Double(Candlesticks.doji(open: open, high: high, low: low, close: close).last!) }),
    ("CDLDRAGONFLYDOJI", { Double(Candlesticks.dragonflyDoji(open: open, high: high, low: low, close: close).last!) }),
    ("CDLGRAVESTONEDOJI", { Double(Candlesticks.gravestoneDoji(open: open, high: high, low: low, close: close).last!) }),
    ("CDL3WHITESOLDIERS", { Double(Candlesticks.threeWhiteSoldiers(open: open, high: high, low: low, close: close).last!) }),
    ("CDL3BLACKCROWS", { Double(Candlesticks.threeBlackCrows(open: open, high: high, low: low, close: close).last!) }),
]

func row(_ name: String, _ ours: Double, _ theirs: Double?) -> String {
    let t = theirs.map { String(format: "%8.2f", $0) } ?? "       -"
    let r = theirs.map { String(format: "%6.2f×", ours / $0) } ?? "      -"
    return name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%8.2f", ours) + "  " + t + "  " + r
}

print("\(n) bars; ns/bar, best of 5 (Swift) / best of 5 (TA-Lib \(talib["version"].map { String($0) } ?? "C"))")
print("name                   swift    ta-lib   ratio")
for (name, body) in indicators {
    print(row(name, measure(body), talib[name]))
}
var swiftTotal = 0.0, taTotal = 0.0
for (name, body) in patterns {
    let ours = measure(body)
    swiftTotal += ours
    taTotal += talib[name] ?? .nan
    print(row(name, ours, talib[name]))
}
print(row("8 patterns (total)", swiftTotal, taTotal))
if sink == 42 { print("") }   // keep results alive
