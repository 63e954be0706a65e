/// Internal helpers shared by the indicator kernels.
///
/// Every kernel allocates its outputs once with
/// `Array(unsafeUninitializedCapacity:initializingWith:)` and fills them in a
/// single pass over `UnsafeBufferPointer<Double>` inputs; nothing is allocated
/// per bar.

/// TA-Lib's `TA_EPSILON` (1e-14, TA-Lib 0.8): the band of `TA_IS_ZERO`.
@usableFromInline let taEpsilon = 0.00000000000001

/// TA-Lib's `TA_IS_ZERO(v)`: `-ε < v < ε`.
@inlinable @inline(__always)
func taIsZero(_ v: Double) -> Bool { -taEpsilon < v && v < taEpsilon }

/// Allocates one output series of `count` doubles and lets `body` write every
/// element (the first `lookback` ones as NaN).
@inline(__always)
func makeSeries(
    count: Int,
    _ body: (UnsafeMutableBufferPointer<Double>) -> Void
) -> [Double] {
    Array(unsafeUninitializedCapacity: count) { buffer, initialized in
        adviseHugePages(buffer.baseAddress, byteCount: count * MemoryLayout<Double>.stride)
        body(buffer)
        initialized = count
    }
}

/// Writes NaN into `buffer[0..<min(end, buffer.count)]`.
@inlinable @inline(__always)
func fillNaN(_ buffer: UnsafeMutableBufferPointer<Double>, upTo end: Int) {
    let stop = Swift.min(end, buffer.count)
    var i = 0
    while i < stop { buffer[i] = .nan; i += 1 }
}
