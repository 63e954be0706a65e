public import Foundation
public import MarketData
import Pipeline

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A merged table saved between stages: a raw little-endian column dump that
/// reads back in one pass, written to a temporary name and renamed into place.
///
/// Layout: the 8 bytes `SFTABLE1`; the header length as a UInt64; the header,
/// JSON `{"rows": n, "columns": [names]}`, padded with spaces to a multiple of
/// 8 bytes; then `n` Int64 timestamps; then `n` Doubles per column, in order.
/// It is a cache for crash recovery, not an exchange format: Parquet is that.
public enum TableCheckpoint {
    static let magic = Array("SFTABLE1".utf8)

    /// Writes `table` to `url` (its folder is created), replacing any file there.
    /// - Parameters:
    ///   - checkpoint: called before each column (a few milliseconds of
    ///     writing), where a stage's thread may park or stop; when it throws,
    ///     the temporary file is removed and the old file (if any) stays. Default: nothing.
    /// - Throws: Foundation's file errors; what `checkpoint` throws.
    public static func write(_ table: AlignedTable, to url: URL, checkpoint: () throws -> Void = {}) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var header = try JSONSerialization.data(
            withJSONObject: ["rows": table.count, "columns": table.columns.map(\.name)] as [String: Any], options: [.sortedKeys])
        while header.count % 8 != 0 { header.append(0x20) }
        let temporary = url.appendingPathExtension("\(uniqueTemporarySuffix()).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            var prefix = Data(magic)
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix.append(contentsOf: $0) }
            prefix.append(header)
            try handle.write(contentsOf: prefix)
            try table.timestamps.withUnsafeBytes { try handle.write(contentsOf: $0) }
            for c in table.columns {
                try checkpoint()
                try c.values.withUnsafeBytes { try handle.write(contentsOf: $0) }
            }
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        // rename(2) replaces the old checkpoint atomically.
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, "errno": code])
        }
    }

    /// The rows of the table in a checkpoint, from its header alone (the file is not read).
    /// - Returns: nil when there is no file or it is not a complete checkpoint.
    public static func rowCount(_ url: URL) -> Int? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 16), prefix.count == 16, Array(prefix.prefix(8)) == magic else { return nil }
        let headerLength = prefix.suffix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        guard headerLength > 0, headerLength < 1 << 26, let data = try? handle.read(upToCount: headerLength),
            data.count == headerLength,
            let header = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rows = header["rows"] as? Int, let names = header["columns"] as? [String], rows >= 0,
            let size = try? handle.seekToEnd(), size == UInt64(16 + headerLength + rows * 8 * (1 + names.count))
        else { return nil }
        return rows
    }

    /// Reads a table written by ``write(_:to:)``.
    /// - Returns: the table, or `nil` when there is no file or it is not a complete checkpoint.
    public static func read(_ url: URL) -> AlignedTable? {
        guard let data = try? Data(contentsOf: url, options: .alwaysMapped), data.count >= 16,
            Array(data.prefix(8)) == magic
        else { return nil }
        return data.withUnsafeBytes { raw -> AlignedTable? in
            let headerLength = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            guard headerLength >= 0, 16 + headerLength <= raw.count,
                let header = try? JSONSerialization.jsonObject(with: Data(raw[16..<(16 + headerLength)])) as? [String: Any],
                let rows = header["rows"] as? Int, let names = header["columns"] as? [String], rows >= 0
            else { return nil }
            let start = 16 + headerLength
            guard raw.count == start + rows * 8 * (1 + names.count) else { return nil }
            let timestamps = [Int64](unsafeUninitializedCapacity: rows) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + rows * 8)]))
                count = rows
            }
            var columns: [NamedColumn] = []
            for (i, name) in names.enumerated() {
                let offset = start + rows * 8 * (1 + i)
                let values = [Double](unsafeUninitializedCapacity: rows) { buffer, count in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + rows * 8)]))
                    count = rows
                }
                columns.append(NamedColumn(name: name, values: values))
            }
            return AlignedTable(timestamps: timestamps, columns: columns)
        }
    }
}
