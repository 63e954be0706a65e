/// One symbol's bars (on one timeframe) and the signals to trade on them.
public struct BacktestInput: Sendable {
    public var symbol: String
    /// The timeframe's name, e.g. `1h` (a label in the report).
    public var timeframe: String
    /// The bar duration in µs (> 0); sets the Sharpe annualization.
    public var barDurationMicros: Int64
    /// Bars per year for the Sharpe ratio; nil means
    /// ``Backtest/barsPerYear(barDurationMicros:)`` (e.g. 12 for calendar months, 52 for weeks).
    public var periodsPerYear: Double?
    /// Each bar's close time when bars differ in length (calendar months); nil
    /// means `timestamps[k] + barDurationMicros`.
    public var closeTimes: [Int64]?
    /// Bar open times, µs since the Unix epoch (UTC), strictly increasing.
    public var timestamps: [Int64]
    public var open: [Double]
    public var high: [Double]
    public var low: [Double]
    public var close: [Double]
    /// The signals, in any order; each on one of the bars.
    public var signals: [BacktestSignal]
    /// This symbol's relative costs (spread and commission in bp), on top of
    /// the config's absolute `spread` and `commission`; nil = none.
    public var costs: CostModel?

    /// Creates an input.
    public init(
        symbol: String, timeframe: String, barDurationMicros: Int64, periodsPerYear: Double? = nil,
        closeTimes: [Int64]? = nil, timestamps: [Int64], open: [Double], high: [Double], low: [Double], close: [Double],
        signals: [BacktestSignal], costs: CostModel? = nil
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.barDurationMicros = barDurationMicros
        self.periodsPerYear = periodsPerYear
        self.closeTimes = closeTimes
        self.timestamps = timestamps
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.signals = signals
        self.costs = costs
    }

    /// Bars per year for the Sharpe ratio.
    var annualization: Double { periodsPerYear ?? Backtest.barsPerYear(barDurationMicros: barDurationMicros) }

    /// The close time of bar `k`.
    @inline(__always)
    func closeTime(_ k: Int) -> Int64 { closeTimes?[k] ?? timestamps[k] + barDurationMicros }

    var field: String { "analysis.inputs[\(symbol) \(timeframe)]" }

    /// Checks the columns and maps every signal to its bar.
    /// - Returns: `(bar, signal index)` pairs sorted by bar (stable).
    /// - Throws: ``AnalysisError`` (`.invalidInput`) naming the member.
    func signalBars() throws(AnalysisError) -> [(bar: Int, signal: Int)] {
        func fail(_ member: String, _ reason: String) -> AnalysisError {
            AnalysisError(.invalidInput, field: "\(field).\(member)", reason: reason)
        }
        let n = timestamps.count
        guard barDurationMicros > 0 else { throw fail("bar_duration", "must be > 0 µs") }
        if let p = periodsPerYear, !(p.isFinite && p > 0) { throw fail("periods_per_year", "must be a finite number > 0") }
        if let closeTimes, closeTimes.count != n { throw fail("close_times", "has \(closeTimes.count) values for \(n) bars") }
        for (name, column) in [("open", open), ("high", high), ("low", low), ("close", close)] where column.count != n {
            throw fail(name, "has \(column.count) values for \(n) bars")
        }
        var i = 1
        while i < n {
            guard timestamps[i] > timestamps[i - 1] else { throw fail("timestamps", "not strictly increasing at bar \(i)") }
            i += 1
        }
        var out: [(bar: Int, signal: Int)] = []
        out.reserveCapacity(signals.count)
        for (k, s) in signals.enumerated() {
            guard let bar = Self.index(of: s.timestamp, in: timestamps) else {
                throw fail("signals[\(k)].timestamp", "no bar opens at \(s.timestamp)")
            }
            guard s.stop.isFinite, s.target.isFinite else { throw fail("signals[\(k)]", "stop and target must be finite") }
            out.append((bar, k))
        }
        out.sort { $0.bar != $1.bar ? $0.bar < $1.bar : $0.signal < $1.signal }
        return out
    }

    /// Binary search for an exact timestamp.
    static func index(of t: Int64, in ts: [Int64]) -> Int? {
        var lo = 0, hi = ts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ts[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo < ts.count && ts[lo] == t ? lo : nil
    }
}
