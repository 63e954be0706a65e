/// Aligns several series on one time index for the merge stage.
public enum Aligner {
    /// Puts every series (all of one timeframe) on one time index.
    ///
    /// Timestamps from all series are merged in order and grouped: a group starts
    /// at a timestamp and takes every later timestamp within `tolerance` of that
    /// start. Each group is one row, stamped with the group's **latest**
    /// timestamp, so that no row shows a value before its time. Each series
    /// contributes its last bar within the group. With a tolerance of 0 a row is
    /// exactly one timestamp.
    ///
    /// Columns are named `<symbol>_<column>` in lowercase: `open high low close
    /// volume`, then the extra columns, per series in the order given.
    /// - Parameters:
    ///   - series: the series; their symbols must differ.
    ///   - join: `.inner` keeps rows where every series has a bar; `.outer` keeps all
    ///     rows and fills NaN.
    ///   - tolerance: the largest gap in microseconds between times put on one row; default 0.
    /// - Returns: the aligned table.
    /// - Throws: ``MarketDataError`` (`.align`) for duplicate symbols, mixed timeframes or a negative tolerance.
    public static func align(
        _ series: [OHLCVSeries], join: JoinKind, tolerance: Int64 = 0
    ) throws(MarketDataError) -> AlignedTable {
        guard tolerance >= 0 else { throw MarketDataError(.align, reason: "negative tolerance") }
        let symbols = series.map { $0.symbol.lowercased() }
        guard Set(symbols).count == symbols.count else {
            throw MarketDataError(.align, reason: "two series have the same symbol")
        }
        let frames = Set(series.compactMap(\.timeframe))
        guard frames.count <= 1 else {
            throw MarketDataError(.align, reason: "series of different timeframes: align each timeframe on its own")
        }
        let k = series.count
        var names: [String] = []
        for (s, sym) in zip(series, symbols) {
            for c in ["open", "high", "low", "close", "volume"] { names.append("\(sym)_\(c)") }
            for e in s.extras { names.append("\(sym)_\(e.name)") }
        }
        if k == 0 { return AlignedTable(timestamps: [], columns: []) }

        // Pass 1: row of each bar (row index per series bar, or -1 when dropped).
        let capacity = join == .outer ? series.reduce(0) { $0 + $1.count } : series.map(\.count).min()!
        var rowTimes: [Int64] = []
        rowTimes.reserveCapacity(capacity)
        var rowOf = series.map { [Int](repeating: -1, count: $0.count) }
        var cursor = [Int](repeating: 0, count: k)
        var member = [Int](repeating: -1, count: k)  // bar index of each series in the current group
        while true {
            // The earliest pending timestamp starts the group.
            var start = Int64.max
            for s in 0..<k where cursor[s] < series[s].count {
                start = min(start, series[s].timestamps[cursor[s]])
            }
            if start == Int64.max { break }
            let limit = start.addingReportingOverflow(tolerance).overflow ? Int64.max : start + tolerance
            var latest = start
            var present = 0
            for s in 0..<k {
                member[s] = -1
                let ts = series[s].timestamps
                while cursor[s] < ts.count && ts[cursor[s]] <= limit {
                    member[s] = cursor[s]
                    latest = max(latest, ts[cursor[s]])
                    cursor[s] += 1
                }
                if member[s] >= 0 { present += 1 }
            }
            if join == .inner && present < k { continue }
            let row = rowTimes.count
            rowTimes.append(latest)
            for s in 0..<k where member[s] >= 0 { rowOf[s][member[s]] = row }
        }

        // Pass 2: scatter the columns.
        let rows = rowTimes.count
        var columns: [NamedColumn] = []
        columns.reserveCapacity(names.count)
        var nameIndex = 0
        for s in 0..<k {
            let sources =
                [series[s].open, series[s].high, series[s].low, series[s].close, series[s].volume]
                + series[s].extras.map(\.values)
            for source in sources {
                let values = [Double](unsafeUninitializedCapacity: rows) { out, initialized in
                    out.initialize(repeating: .nan)
                    rowOf[s].withUnsafeBufferPointer { map in
                        source.withUnsafeBufferPointer { src in
                            for i in 0..<map.count where map[i] >= 0 { out[map[i]] = src[i] }
                        }
                    }
                    initialized = rows
                }
                columns.append(NamedColumn(name: names[nameIndex], values: values))
                nameIndex += 1
            }
        }
        return AlignedTable(timestamps: rowTimes, columns: columns)
    }

    /// Joins the bars of a higher timeframe onto a lower timeframe's time index,
    /// without look-ahead.
    ///
    /// A higher bar becomes visible at its **close time** (the open time of the
    /// next bucket: open time + its duration, or the 1st of the next month for
    /// `1M`): the row at time `t` (a lower bar's open time) gets the values of
    /// the latest higher bar whose close time is `≤ t`, or NaN when none has
    /// closed yet. So the 10:00 1h bar first appears on the 11:00 row, never on
    /// the 10:15, 10:30 or 10:45 rows.
    /// - Parameters:
    ///   - higher: the higher-timeframe series (its timeframe must be set).
    ///   - timestamps: the lower timeframe's index (increasing).
    ///   - prefix: the column name prefix; default `"<symbol>_<timeframe>_"` in lowercase (e.g. `eurusd_1h_`).
    /// - Returns: the columns `open high low close volume` and the extras, each prefixed, one value per timestamp.
    /// - Throws: ``MarketDataError`` (`.align`) when `higher` has no timeframe.
    public static func joinHigherTimeframe(
        _ higher: OHLCVSeries, onto timestamps: [Int64], prefix: String? = nil
    ) throws(MarketDataError) -> [NamedColumn] {
        guard let tf = higher.timeframe else {
            throw MarketDataError(.align, reason: "the higher-timeframe series has no timeframe")
        }
        let prefix = prefix ?? "\(higher.symbol.lowercased())_\(tf.rawValue)_"
        let n = timestamps.count
        // For each row, the index of the visible higher bar, or -1.
        var source = [Int](repeating: -1, count: n)
        var j = 0
        let ht = higher.timestamps
        for i in 0..<n {
            let t = timestamps[i]
            while j < ht.count && tf.closeTime(ofBarOpeningAt: ht[j]) <= t { j += 1 }
            source[i] = j - 1
        }
        let sources = [higher.open, higher.high, higher.low, higher.close, higher.volume] + higher.extras.map(\.values)
        let names = ["open", "high", "low", "close", "volume"] + higher.extras.map(\.name)
        return zip(names, sources).map { name, values in
            NamedColumn(name: prefix + name, values: source.map { $0 >= 0 ? values[$0] : .nan })
        }
    }
}
