/// A bar duration that SignalForge understands: `1m 5m 15m 30m 1h 4h 1d 1w`.
///
/// Buckets are aligned on UTC: a bar of timeframe `tf` opens at a multiple of
/// ``durationMicros`` since the Unix epoch, except weeks, which open on Monday
/// 00:00 UTC (1970-01-05 was a Monday).
public enum Timeframe: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case m1 = "1m"
    case m5 = "5m"
    case m15 = "15m"
    case m30 = "30m"
    case h1 = "1h"
    case h4 = "4h"
    case d1 = "1d"
    case w1 = "1w"

    /// Microseconds in one minute.
    public static let minuteMicros: Int64 = 60_000_000

    /// Parses a timeframe name such as `"15m"` (case-insensitive, surrounding spaces ignored).
    /// - Parameter text: the name.
    /// - Throws: ``TimeframeError`` naming the allowed values when `text` is not one of them.
    public init(parsing text: String) throws(TimeframeError) {
        let trimmed = text.trimmingSpaces().lowercased()
        guard let tf = Timeframe(rawValue: trimmed) else { throw TimeframeError(text: text) }
        self = tf
    }

    /// The bar duration in microseconds.
    public var durationMicros: Int64 {
        switch self {
        case .m1: return Self.minuteMicros
        case .m5: return 5 * Self.minuteMicros
        case .m15: return 15 * Self.minuteMicros
        case .m30: return 30 * Self.minuteMicros
        case .h1: return 60 * Self.minuteMicros
        case .h4: return 240 * Self.minuteMicros
        case .d1: return 1_440 * Self.minuteMicros
        case .w1: return 10_080 * Self.minuteMicros
        }
    }

    /// The offset of the bucket grid from the epoch: 4 days for weeks (Monday 1970-01-05), else 0.
    public var originMicros: Int64 { self == .w1 ? 4 * 1_440 * Self.minuteMicros : 0 }

    /// The open time of the UTC-aligned bar that contains `timestamp`.
    /// - Parameter timestamp: microseconds since the Unix epoch, UTC (negative values allowed).
    /// - Returns: the largest bucket start `≤ timestamp`.
    @inlinable
    public func bucketStart(_ timestamp: Int64) -> Int64 {
        let d = durationMicros
        let shifted = timestamp - originMicros
        var q = shifted / d
        if shifted % d < 0 { q -= 1 }
        return q * d + originMicros
    }

    /// The close time of the bar that opens at `openTime`: `openTime + durationMicros`.
    /// A bar's values are known from this moment on.
    @inlinable
    public func closeTime(ofBarOpeningAt openTime: Int64) -> Int64 { openTime + durationMicros }

    /// Whether `timestamp` is the open time of a bucket of this timeframe.
    @inlinable
    public func isAligned(_ timestamp: Int64) -> Bool { bucketStart(timestamp) == timestamp }

    public static func < (lhs: Timeframe, rhs: Timeframe) -> Bool { lhs.durationMicros < rhs.durationMicros }

    public var description: String { rawValue }
}

/// A timeframe name that is not one of `1m 5m 15m 30m 1h 4h 1d 1w`.
public struct TimeframeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that failed to parse.
    public var text: String

    public var description: String {
        "unknown timeframe '\(text)'; allowed: " + Timeframe.allCases.map(\.rawValue).joined(separator: ", ")
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
