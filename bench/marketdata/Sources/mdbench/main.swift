// mdbench — times MarketData and Export on synthetic data; prints one line per figure:
//   <name> <rows> <seconds>
import Export
import Foundation
import MarketData

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The best of `runs` timings of `body`.
func best(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var b = Double.infinity
    for _ in 0..<runs {
        let t = now()
        try body()
        b = min(b, now() - t)
    }
    return b
}

/// A random walk of valid 1m bars (deterministic LCG).
func synthetic(_ n: Int) -> OHLCVSeries {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    @inline(__always) func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
    var ts = [Int64](repeating: 0, count: n), o = [Double](repeating: 0, count: n)
    var h = o, l = o, c = o, v = o
    var price = 1.1
    for i in 0..<n {
        ts[i] = 1_577_836_800_000_000 + Int64(i) * 60_000_000
        let close = (price * (1 + (next() - 0.5) * 0.001) * 100_000).rounded() / 100_000
        o[i] = price; c[i] = close
        h[i] = max(price, close) + (next() * 20).rounded() / 100_000
        l[i] = min(price, close) - (next() * 20).rounded() / 100_000
        v[i] = (next() * 100_000).rounded() / 100
        price = close
    }
    return OHLCVSeries(symbol: "SYN", timeframe: .m1, timestamps: ts, open: o, high: h, low: l, close: c, volume: v)
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "gen-csv":
    // mdbench gen-csv PATH ROWS: ISO-8601 timestamps with Z, 5-decimal prices, 2-decimal volume (via CSVTableWriter).
    let n = Int(args[3])!
    let s = synthetic(n)
    let w = try CSVTableWriter(path: args[2], columns: ExportColumn.columns(of: s).map(\.spec))
    try w.write(ExportColumn.columns(of: s))
    try w.close()
case "csv":
    let path = args[2]
    var rows = 0
    let t = try best(3) { rows = try OHLCVCSVReader.read(path: path).count }
    print("csv_parse \(rows) \(t)")
case "resample":
    let n = Int(args[2])!
    let s = synthetic(n)
    var out = 0
    let t = try best(5) { out = try Resampler.resample(s, to: .h1).count }
    print("resample_1m_1h \(n) \(t) bars=\(out)")
case "parquet":
    let n = Int(args[2])!
    let path = args[3]
    let cols = ExportColumn.columns(of: synthetic(n))
    let t = try best(3) {
        let w = try ParquetWriter(path: path, columns: cols.map(\.spec), compression: .zstd(level: 1))
        try w.write(cols)
        try w.close()
    }
    print("parquet_zstd_write \(n) \(t)")
default:
    print("usage: mdbench gen-csv PATH ROWS | csv PATH | resample ROWS | parquet ROWS PATH")
    exit(2)
}
