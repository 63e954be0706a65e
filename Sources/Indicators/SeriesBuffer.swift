/// Internal helpers shared by the indicator kernels.
///
/// Every kernel allocates its outputs once with
/// `Array(unsafeUninitializedCapacity:initializingWith:)` (advised onto huge
/// pages, see HugePages.swift) and fills them in a single pass over
/// `UnsafeBufferPointer<Double>` inputs; nothing is allocated per bar.
/// `bench/indicators/README.md` explains the techniques and the measurements.

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

/// The powers a, a², a³, a⁴ of a smoothing factor, for recurrences
/// `y ← a·y + b` advanced four bars at a time: `y[t+j] = a^j·y[t] + s_j` with
/// `s_j = a·s_{j−1} + b[t+j]`. Only `y[t] → y[t+4]` is carried from one block
/// to the next (one multiply and one add per four bars); the `s_j` and the
/// three intermediate outputs are off that chain, so the loop runs at the
/// machine's throughput instead of the latency of one multiply-add per bar.
/// The results equal the step-by-step recurrence up to rounding (a few ulps;
/// with `0 ≤ a < 1` errors do not accumulate).
@usableFromInline
struct Decay {
    @usableFromInline let a1: Double
    @usableFromInline let a2: Double
    @usableFromInline let a3: Double
    @usableFromInline let a4: Double

    @inlinable init(_ a: Double) {
        a1 = a
        a2 = a * a
        a3 = a2 * a
        a4 = a2 * a2
    }
}

// Two-lane helpers. Written with `SIMD2` the compiler emits packed SSE2
// instructions (one divide or square root for two bars, `maxpd` for the
// true-range maxima) instead of leaving it to the auto-vectorizer, which on
// these loops produces lane-by-lane branches.

/// Two consecutive doubles from `p` (no alignment needed).
@inlinable @inline(__always)
func load2(_ p: UnsafePointer<Double>) -> SIMD2<Double> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD2<Double>.self)
}

/// Stores two consecutive doubles at `p`.
@inlinable @inline(__always)
func store2(_ v: SIMD2<Double>, _ p: UnsafeMutablePointer<Double>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD2<Double>.self)
}

/// `|x|` per lane (clears the sign bit, as `fabs`).
@inlinable @inline(__always)
func abs2(_ x: SIMD2<Double>) -> SIMD2<Double> {
    unsafeBitCast(
        unsafeBitCast(x, to: SIMD2<UInt64>.self) & SIMD2(repeating: 0x7fff_ffff_ffff_ffff),
        to: SIMD2<Double>.self)
}

/// `a > b ? a : b` per lane (`maxpd`; `b` when either is NaN).
@inlinable @inline(__always)
func max2(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> SIMD2<Double> {
    b.replacing(with: a, where: a .> b)
}
