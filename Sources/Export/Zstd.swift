internal import CZstd

/// A reusable zstd compression context; owns every libzstd call.
final class ZstdCompressor {
    private let context: OpaquePointer
    let level: Int32

    /// Creates a context. The corresponding C function is `ZSTD_createCCtx`.
    init(level: Int) throws(ExportError) {
        guard let c = ZSTD_createCCtx() else { throw ExportError(.compression, reason: "ZSTD_createCCtx failed") }
        context = c
        self.level = Int32(level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// The largest compressed size of `count` bytes. The corresponding C function is `ZSTD_compressBound`.
    func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `source` into `destination` (at least ``bound(_:)`` bytes).
    /// The corresponding C function is `ZSTD_compressCCtx`.
    /// - Returns: the compressed size.
    func compress(
        _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer, capacity: Int
    ) throws(ExportError) -> Int {
        let n = ZSTD_compressCCtx(context, destination, capacity, source, count, level)
        if ZSTD_isError(n) != 0 {
            throw ExportError(.compression, reason: "zstd: " + String(cString: ZSTD_getErrorName(n)))
        }
        return n
    }
}
