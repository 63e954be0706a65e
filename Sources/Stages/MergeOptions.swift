import Foundation
public import MarketData

/// The `config.merge` section.
public struct MergeOptions: Sendable, Equatable {
    /// `inner` (rows where every symbol has a bar) or `outer` (every row, NaN
    /// where missing); default `inner`.
    public var join: JoinKind = .inner
    /// The largest gap in µs between bars put on one row; default 0.
    public var toleranceMicros: Int64 = 0
    /// Whether each timeframe's table also gets the bars of every coarser
    /// requested timeframe, joined from their close times (`eurusd_1h_close` on
    /// the 15m table); default `false`: merge only merges.
    public var higherTimeframes = false

    public init() {}

    /// Reads the section: `join` (`inner` | `outer`), `tolerance` (a duration
    /// such as `"0s"`, `"30s"`, `"1m"`, `"500ms"`, or a number of seconds),
    /// `higher_timeframes` (boolean).
    /// - Throws: ``StageError`` naming the member and the allowed values.
    init(_ section: [String: Any]) throws(StageError) {
        if let v = section["join"] {
            guard let s = v as? String, let join = JoinKind(rawValue: s) else {
                throw StageError("config.merge.join: must be one of inner, outer")
            }
            self.join = join
        }
        if let v = section["tolerance"] {
            guard let micros = Self.parseDuration(v), micros >= 0 else {
                throw StageError("config.merge.tolerance: '\(v)' is not a duration such as 0s, 30s, 1m, 500ms")
            }
            toleranceMicros = micros
        }
        if let v = section["higher_timeframes"] {
            guard let b = v as? Bool else { throw StageError("config.merge.higher_timeframes: must be true or false") }
            higherTimeframes = b
        }
    }

    /// Parses `<number><unit>` with unit `us`, `ms`, `s`, `m`, `h` or `d`
    /// (a bare number is seconds), or a JSON number of seconds.
    /// - Returns: microseconds, or `nil` when it does not parse.
    public static func parseDuration(_ value: Any) -> Int64? {
        if let b = value as? Bool { _ = b; return nil }
        if let n = value as? Double { return n.isFinite ? Int64((n * 1e6).rounded()) : nil }
        if let n = value as? Int { return Int64(n) * 1_000_000 }
        guard let text = value as? String else { return nil }
        let s = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("us", 1), ("µs", 1), ("ms", 1e3), ("s", 1e6), ("m", 60e6), ("h", 3600e6), ("d", 86_400e6)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            guard let n = Double(s.dropLast(suffix.count)), n.isFinite else { return nil }
            return Int64((n * scale).rounded())
        }
        guard let n = Double(s), n.isFinite else { return nil }
        return Int64((n * 1e6).rounded())
    }
}
