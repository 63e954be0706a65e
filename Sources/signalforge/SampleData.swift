import ArgumentParser
import Foundation
import MarketData

/// `signalforge sample-data`: deterministic synthetic OHLCV CSV files.
struct SampleData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-data",
        abstract: "Write deterministic synthetic OHLCV bars for correlated symbols as CSV files.",
        discussion: """
            One file per symbol, <out>/<SYMBOL>_<timeframe>.csv, with the header \
            timestamp,open,high,low,close,volume[,sentiment]. Prices follow geometric Brownian motion \
            with shared volatility regimes and correlated shocks; volume follows the UTC trading day. \
            The same seed gives the same files. With the default --out, an experiment names them as \
            {"symbol": "EURUSD", "path": "samples/EURUSD_1m.csv"}.
            """)

    @Option(help: "The folder to write into (created if missing).")
    var out = ".data/samples"

    @Option(help: "Comma-separated symbols.")
    var symbols = "EURUSD,GBPUSD,USDJPY"

    @Option(help: "Bar timeframe: 1m 5m 15m 30m 1h 4h 1d 1w.")
    var timeframe = "1m"

    @Option(help: "Days of bars.")
    var days = 365

    @Option(help: "First bar's date (UTC), YYYY-MM-DD.")
    var start = "2024-01-01"

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Option(help: "Return correlation between symbols, 0 to 0.99.")
    var correlation = 0.6

    @Flag(help: "Add a sentiment column in [-1, 1].")
    var sentiment = false

    @Option(
        help:
            "Plant a forecastable edge of this strength (0 to 1): a hidden persistent trend per symbol adds STRENGTH × trend bar volatilities to each return. 0 (default): random walks."
    )
    var edge = 0.0

    @Flag(help: "Gzip the files (.csv.gz).")
    var gzip = false

    func validate() throws {
        let list = symbolList
        guard !list.isEmpty else { throw ValidationError("--symbols: give at least one symbol") }
        for s in list {
            guard (1...32).contains(s.count), s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw ValidationError("--symbols: '\(s)' must be 1 to 32 letters, digits, '.', '_' or '-'")
            }
        }
        guard Set(list.map { $0.uppercased() }).count == list.count else { throw ValidationError("--symbols: a symbol appears twice") }
        do { _ = try Timeframe(parsing: timeframe) } catch { throw ValidationError("--timeframe: \(error)") }
        guard (1...36_500).contains(days) else { throw ValidationError("--days: must be 1 to 36500") }
        guard (0...0.99).contains(correlation) else { throw ValidationError("--correlation: must be 0 to 0.99") }
        guard (0...1).contains(edge) else { throw ValidationError("--edge: must be 0 to 1") }
        guard startMicros != nil else { throw ValidationError("--start: '\(start)' is not a date YYYY-MM-DD") }
    }

    var symbolList: [String] {
        symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `--start` as µs since the epoch, or nil.
    var startMicros: Int64? {
        let parts = start.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
            calendar.component(.day, from: date) == d
        else { return nil }
        return Int64(date.timeIntervalSince1970) * 1_000_000
    }

    func run() throws {
        let tf = try Timeframe(parsing: timeframe)
        let configuration = SyntheticMarket.Configuration(
            symbols: symbolList, timeframe: tf, start: startMicros!, bars: SyntheticMarket.Configuration.bars(days: days, timeframe: tf),
            seed: seed, correlation: correlation, sentiment: sentiment, edge: edge)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let started = ContinuousClock.now
        let files = try SyntheticMarket.writeCSV(configuration, to: out, gzip: gzip)
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        for f in files {
            print("\(f.path)\t\(f.rows) rows\t\(String(format: "%.1f", Double(f.bytes) / 1_048_576)) MiB")
        }
        let rows = files.reduce(0) { $0 + $1.rows }
        print(String(format: "%d bars in %.2f s (%.0f bars/s)", rows, seconds, Double(rows) / max(seconds, 1e-9)))
    }
}
