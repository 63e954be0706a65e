public import Foundation
public import Pipeline

/// Every candidate signal of a fusion run, saved between stages so that a
/// later run's `export` and `analysis` get all of them — accepted or not —
/// even when `fusion.store` is `accepted` and the `signals` table holds only
/// the accepted ones.
///
/// Layout: the 8 bytes `SFSIGNL1`; the header length as a UInt64; the header,
/// JSON `{"rows": n, "components": k, "strings": [...], "sources": [[...]]}`,
/// padded with spaces to a multiple of 8 bytes; then, column by column, `n`
/// Int64 timestamps, resolution times (`Int64.min`: none) and horizons; `n`
/// Doubles each of entry, stop, target, quality, quality prior, outcome R and
/// the `k` components; `n` UInt32 string indexes each of symbol, timeframe,
/// direction, outcome and sources (into `sources`); `n` flag bytes (1:
/// accepted, 2: has an outcome R). Doubles are stored bit for bit. Like
/// ``TableCheckpoint`` it is a cache for crash recovery, removed when the
/// experiment succeeds, not an exchange format.
public enum SignalCheckpoint {
    static let magic = Array("SFSIGNL1".utf8)

    /// Encodes `signals`.
    public static func encode(_ signals: [SignalRecord]) -> [UInt8] {
        encode(signals) { () throws(Never) in }
    }

    /// Rows encoded between two checkpoints (each pass over the signals is split so).
    static let checkpointRows = 1 << 13

    /// Encodes `signals`, calling `checkpoint` before every ``checkpointRows``
    /// rows of every pass over them (a large file takes tens of milliseconds);
    /// the bytes are those of ``encode(_:)``.
    /// - Throws: what `checkpoint` throws.
    public static func encode<E: Error>(
        _ signals: [SignalRecord], checkpoint: () throws(E) -> Void
    ) throws(E) -> [UInt8] {
        let k = SignalRecord.componentNames.count
        var strings: [String] = []
        var stringIndex: [String: UInt32] = [:]
        var sourceLists: [[String]] = []
        var sourceIndex: [[String]: UInt32] = [:]
        func intern(_ s: String) -> UInt32 {
            if let i = stringIndex[s] { return i }
            let i = UInt32(strings.count)
            strings.append(s)
            stringIndex[s] = i
            return i
        }
        func internSources(_ s: [String]) -> UInt32 {
            if let i = sourceIndex[s] { return i }
            let i = UInt32(sourceLists.count)
            sourceLists.append(s)
            sourceIndex[s] = i
            return i
        }
        func column<T>(_ value: (SignalRecord) -> T) throws(E) -> [T] { try Self.column(signals, value, checkpoint) }
        let indexes: [[UInt32]] = [
            try column { intern($0.symbol) }, try column { intern($0.timeframe) }, try column { intern($0.direction) },
            try column { intern($0.outcome) }, try column { internSources($0.sources) },
        ]
        let header: [String: Any] = ["rows": signals.count, "components": k, "strings": strings, "sources": sourceLists]
        var headerBytes = [UInt8]((try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data())
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = magic
        out.reserveCapacity(16 + headerBytes.count + signals.count * (8 * (9 + k) + 4 * 5 + 1))
        func append<T: FixedWidthInteger>(_ values: [T]) {
            for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        }
        append([UInt64(headerBytes.count)])
        out += headerBytes
        append(try column(\.timestampMicros))
        append(try column { $0.resolvedAtMicros ?? Int64.min })
        append(try column { Int64($0.horizonBars) })
        let doubles: [(SignalRecord) -> Double] =
            [{ $0.entry }, { $0.stop }, { $0.target }, { $0.quality }, { $0.qualityPrior }, { $0.outcomeR ?? 0 }]
            + (0..<k).map { c in { $0.components.indices.contains(c) ? $0.components[c] : .nan } }
        for value in doubles { append(try column { value($0).bitPattern }) }
        for index in indexes {
            try checkpoint()
            append(index)
        }
        append(try column { UInt8(($0.accepted ? 1 : 0) | ($0.outcomeR != nil ? 2 : 0)) })
        return out
    }

    /// `value` of every signal, in order, with `checkpoint` before every ``checkpointRows``.
    private static func column<T, E: Error>(
        _ signals: [SignalRecord], _ value: (SignalRecord) -> T, _ checkpoint: () throws(E) -> Void
    ) throws(E) -> [T] {
        var out: [T] = []
        out.reserveCapacity(signals.count)
        for (n, s) in signals.enumerated() {
            if n % checkpointRows == 0 { try checkpoint() }
            out.append(value(s))
        }
        return out
    }

    /// Decodes what ``encode(_:)`` wrote.
    /// - Returns: the signals, or nil when the bytes are not a complete checkpoint.
    public static func decode(_ bytes: [UInt8]) -> [SignalRecord]? {
        guard bytes.count >= 16, Array(bytes.prefix(8)) == magic else { return nil }
        return bytes.withUnsafeBytes { raw -> [SignalRecord]? in
            let headerLength = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            guard headerLength >= 0, 16 + headerLength <= raw.count,
                let header = try? JSONSerialization.jsonObject(with: Data(raw[16..<(16 + headerLength)])) as? [String: Any],
                let n = header["rows"] as? Int, let k = header["components"] as? Int, n >= 0, k >= 0,
                let strings = header["strings"] as? [String], let sourceLists = header["sources"] as? [[String]]
            else { return nil }
            let start = 16 + headerLength
            guard raw.count == start + n * (8 * (9 + k) + 4 * 5 + 1) else { return nil }
            func int64(_ column: Int, _ row: Int) -> Int64 {
                Int64(littleEndian: raw.loadUnaligned(fromByteOffset: start + (column * n + row) * 8, as: Int64.self))
            }
            func double(_ column: Int, _ row: Int) -> Double { Double(bitPattern: UInt64(bitPattern: int64(3 + column, row))) }
            let indexStart = start + n * 8 * (9 + k)
            func index(_ column: Int, _ row: Int) -> Int {
                Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: indexStart + (column * n + row) * 4, as: UInt32.self)))
            }
            let flagStart = indexStart + n * 4 * 5
            var out: [SignalRecord] = []
            out.reserveCapacity(n)
            for i in 0..<n {
                let (symbol, timeframe, direction, outcome, sources) = (index(0, i), index(1, i), index(2, i), index(3, i), index(4, i))
                guard strings.indices.contains(symbol), strings.indices.contains(timeframe), strings.indices.contains(direction),
                    strings.indices.contains(outcome), sourceLists.indices.contains(sources)
                else { return nil }
                let flags = raw[flagStart + i]
                let resolved = int64(1, i)
                out.append(
                    SignalRecord(
                        symbol: strings[symbol], timeframe: strings[timeframe], timestampMicros: int64(0, i),
                        direction: strings[direction], entry: double(0, i), stop: double(1, i), target: double(2, i),
                        horizonBars: Int(int64(2, i)), quality: double(3, i), accepted: flags & 1 != 0,
                        components: (0..<k).map { double(6 + $0, i) }, sources: sourceLists[sources],
                        qualityPrior: double(4, i), outcome: strings[outcome], outcomeR: flags & 2 != 0 ? double(5, i) : nil,
                        resolvedAtMicros: resolved == Int64.min ? nil : resolved))
            }
            return out
        }
    }

    /// `checkpoints/fusion/candidates.sfsignals` in `directory`, an experiment's folder.
    public static func url(_ directory: URL) -> URL {
        directory.appendingPathComponent("checkpoints/fusion/candidates.sfsignals")
    }
}
