/// The trailing-window correlation of two series' returns, paired by timestamp.
enum RollingCorrelation {
    /// For every bar of `a`, the index of the bar of `b` with the same
    /// timestamp, or −1.
    static func matchIndex(_ a: [Int64], _ b: [Int64]) -> [Int32] {
        Array(unsafeUninitializedCapacity: a.count) { out, initialized in
            var j = 0
            for i in 0..<a.count {
                while j < b.count && b[j] < a[i] { j += 1 }
                out[i] = j < b.count && b[j] == a[i] ? Int32(j) : -1
            }
            initialized = a.count
        }
    }

    /// Pearson's ρ of `ra[k]` and `rb[map[k]]` over `k ∈ [max(1, t−window+1), t]`,
    /// using the pairs where `map[k] ≥ 1` and both returns are finite.
    ///
    /// - Returns: ρ clamped to [−1, 1], or NaN when there are fewer than
    ///   `max(3, ⌈window/2⌉)` pairs or either variance is zero.
    static func correlation(
        _ ra: UnsafeBufferPointer<Double>, _ rb: UnsafeBufferPointer<Double>,
        map: UnsafeBufferPointer<Int32>, at t: Int, window: Int
    ) -> Double {
        let from = Swift.max(1, t - window + 1)
        var count = 0
        var sumA = 0.0, sumB = 0.0
        var k = from
        while k <= t {
            let j = Int(map[k])
            if j >= 1 {
                let x = ra[k], y = rb[j]
                if x.isFinite && y.isFinite { sumA += x; sumB += y; count += 1 }
            }
            k += 1
        }
        guard count >= Swift.max(3, (window + 1) / 2) else { return .nan }
        let meanA = sumA / Double(count), meanB = sumB / Double(count)
        var cov = 0.0, varA = 0.0, varB = 0.0
        k = from
        while k <= t {
            let j = Int(map[k])
            if j >= 1 {
                let x = ra[k], y = rb[j]
                if x.isFinite && y.isFinite {
                    let dx = x - meanA, dy = y - meanB
                    cov += dx * dy; varA += dx * dx; varB += dy * dy
                }
            }
            k += 1
        }
        guard varA > 0, varB > 0 else { return .nan }
        return Swift.min(1, Swift.max(-1, cov / (varA * varB).squareRoot()))
    }
}
