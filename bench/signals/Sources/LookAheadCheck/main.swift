// The fusion's no-look-ahead property in release, as
// Tests/SignalFusionTests/NoLookAheadTests.swift checks it (same fixture, a
// symlink): fusing data cut at many times gives, bit for bit, the signals of
// the full run that closed by the cut (outcomes as known at the cut); and
// every indicator the fusion reads gives prefixes on prefixes.
import Indicators
import SignalFusion

let base = MarketFixture.base(symbols: 3, bars: 1200, seed: 7)
var config = FusionConfig()
config.volatilityLookback = 60
config.correlationWindow = 30
config.minHistory = 60
config.refitEvery = 20
let full = try SignalFusion.fuse(MarketFixture.inputs(base), config: config)
let duration: [String: Int64] = [
    "15m": 15 * MarketFixture.minute, "1h": 60 * MarketFixture.minute, "4h": 240 * MarketFixture.minute,
]
var rng = MarketFixture.Random(state: 99)
var cuts: [Int64] = [0, 1, 16, 17, 63, 64, 65, 200, 1199, 1200].map { Int64($0) * 15 * MarketFixture.minute }
for _ in 0..<14 { cuts.append(Int64(rng.next() % 1200) * 15 * MarketFixture.minute + Int64(rng.next() % 3) * MarketFixture.minute) }
var compared = 0, calibrated = 0, resolved = 0, differing = 0, countMismatch = 0
for cut in cuts {
    let truncated = try SignalFusion.fuse(MarketFixture.inputs(base, cutoff: cut), config: config)
    let expected = full.filter { $0.timestamp + duration[$0.timeframe]! <= cut }.map { $0.known(at: cut) }
    if truncated.count != expected.count { countMismatch += 1 }
    for (a, b) in zip(truncated, expected)
    where a != b || a.quality.bitPattern != b.quality.bitPattern || a.qualityPrior.bitPattern != b.qualityPrior.bitPattern
        || a.outcome.r?.bitPattern != b.outcome.r?.bitPattern
    {
        differing += 1
        if differing <= 5 { print("cut \(cut): \(a.timestamp) \(a.timeframe) quality \(a.quality) vs \(b.quality)") }
    }
    compared += expected.count
    calibrated += expected.filter { !$0.sources.contains("flag:calibration_warmup") }.count
    resolved += expected.filter { $0.outcome.exit != .open }.count
}
print(
    "cuts \(cuts.count): compared \(compared) signals (\(calibrated) calibrated, \(resolved) resolved); differing \(differing); count mismatches \(countMismatch)"
)

let c = base[0].close, h = base[0].high, l = base[0].low
var prefixProblems = 0
for (name, compute) in [
    ("ema_50", { (h: [Double], l: [Double], c: [Double]) in EMA.compute(c, period: 50) }),
    ("atr_14", { (h: [Double], l: [Double], c: [Double]) in ATR.compute(high: h, low: l, close: c) }),
    ("adx_14", { (h: [Double], l: [Double], c: [Double]) in ADX.compute(high: h, low: l, close: c) }),
    ("sma_20", { (h: [Double], l: [Double], c: [Double]) in SMA.compute(c, period: 20) }),
] {
    let whole = compute(h, l, c)
    for m in 1...400 {
        let part = compute(Array(h.prefix(m)), Array(l.prefix(m)), Array(c.prefix(m)))
        if !zip(part, whole).allSatisfy({ $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }) {
            prefixProblems += 1
            if prefixProblems <= 3 { print("\(name): prefix of \(m) differs") }
        }
    }
}
print("indicator prefixes differing: \(prefixProblems)")
