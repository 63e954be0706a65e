import MarketData

/// One symbol's bars inside a merged table: the rows where it has a bar
/// (its close is a number), gathered into contiguous columns, so indicators
/// and patterns run over the symbol's own bars even when an outer join left
/// holes; results are scattered back onto the table's rows (NaN elsewhere).
struct SymbolBars {
    let symbol: String
    /// The column prefix, `<symbol>_` in lowercase.
    let prefix: String
    /// Table row of each bar, increasing.
    let rows: [Int]
    let tableCount: Int
    let timestamps: [Int64]
    let open: [Double]
    let high: [Double]
    let low: [Double]
    let close: [Double]
    let volume: [Double]
    /// The optional `sentiment` column.
    let sentiment: [Double]?

    var count: Int { rows.count }

    /// The bars of `symbol` in `table`.
    /// - Throws: ``StageError`` when the table lacks one of its OHLCV columns.
    init(_ symbol: String, in table: AlignedTable) throws {
        let prefix = symbol.lowercased() + "_"
        func column(_ name: String) throws -> [Double] {
            guard let c = table.column(prefix + name) else {
                throw StageError("the merged table has no \(prefix + name) column")
            }
            return c
        }
        let c = try column("close")
        var present: [Int] = []
        present.reserveCapacity(c.count)
        c.withUnsafeBufferPointer { p in
            for i in 0..<p.count where p[i].isFinite { present.append(i) }
        }
        let all = present.count == c.count
        func gather(_ v: [Double]) -> [Double] { all ? v : present.map { v[$0] } }
        self.symbol = symbol
        self.prefix = prefix
        self.tableCount = table.count
        self.rows = present
        self.timestamps = all ? table.timestamps : present.map { table.timestamps[$0] }
        self.open = gather(try column("open"))
        self.high = gather(try column("high"))
        self.low = gather(try column("low"))
        self.close = gather(c)
        self.volume = gather(try column("volume"))
        self.sentiment = table.column(prefix + "sentiment").map(gather)
    }

    /// The table column `<symbol>_<name>` on this symbol's bars (nil when absent).
    func column(_ name: String, in table: AlignedTable) -> [Double]? {
        table.column(prefix + name).map(gather)
    }

    /// A table column (one value per table row) on this symbol's bars.
    func gather(_ values: [Double]) -> [Double] {
        rows.count == tableCount ? values : rows.map { values[$0] }
    }

    /// `values` (one per bar) on the table's rows, NaN where the symbol has no bar.
    func scatter(_ values: [Double]) -> [Double] {
        precondition(values.count == rows.count)
        if rows.count == tableCount { return values }
        var out = [Double](repeating: .nan, count: tableCount)
        for (k, r) in rows.enumerated() { out[r] = values[k] }
        return out
    }
}
