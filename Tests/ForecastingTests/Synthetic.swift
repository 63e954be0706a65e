import Forecasting
import Foundation

/// A seeded generator (SplitMix64) with standard normals (Box–Muller), so
/// every synthetic series is the same on every run.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    mutating func normal() -> Double {
        (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
    }
}

enum Synthetic {
    /// Prices whose one-bar log returns follow
    /// `r[t] = c + Σ φ_j r[t−j] + σ ε[t]`; returns (close, r) with r[0] = NaN.
    static func arPrices(count n: Int, c: Double, phi: [Double], sigma: Double, seed: UInt64) -> (close: [Double], returns: [Double]) {
        var rng = SeededRandom(seed: seed)
        var r = [Double](repeating: 0, count: n)
        for t in 1..<n {
            var v = c + sigma * rng.normal()
            for (j, f) in phi.enumerated() where t - 1 - j >= 1 { v += f * r[t - 1 - j] }
            r[t] = v
        }
        r[0] = .nan
        return (prices(from: r), r)
    }

    /// close[0] = 100, close[t] = close[t−1] · exp(r[t]).
    static func prices(from r: [Double]) -> [Double] {
        var close = [Double](repeating: 100, count: r.count)
        for t in 1..<r.count { close[t] = close[t - 1] * exp(r[t]) }
        return close
    }

    /// A realistic-ish input for the no-look-ahead property: an AR(2) return
    /// process with volatility bursts, one bad close in the middle, and
    /// three feature columns (a trailing 20-bar mean return with 20 leading
    /// NaNs, the last return, and pure noise with NaN gaps).
    static func mixedInput(count n: Int, seed: UInt64) -> ForecastInput {
        var (close, r) = arPrices(count: n, c: 0.00005, phi: [0.3, -0.1], sigma: 0.001, seed: seed)
        var rng = SeededRandom(seed: seed ^ 0xABCDEF)
        if n > 1000 { close[1000] = .nan }
        var trailing = [Double](repeating: .nan, count: n)
        for t in 21..<n { trailing[t] = (close[t] / close[t - 20] - 1) / 20 }
        var last = [Double](repeating: .nan, count: n)
        for t in 1..<n { last[t] = r[t] }
        var noise = (0..<n).map { _ in rng.normal() }
        for t in stride(from: 300, to: n, by: 257) { noise[t] = .nan }
        return try! ForecastInput(close: close, features: [trailing, last, noise])
    }
}

/// Bitwise equality, NaN equal to NaN.
func identical(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

/// The first index ≤ `through` where the two series differ (prediction or
/// confidence), nil when none does.
func firstDifference(_ full: ForecastSeries, _ cut: ForecastSeries, through t: Int) -> Int? {
    for i in 0...t where !identical(full.predictions[i], cut.predictions[i]) || !identical(full.confidence[i], cut.confidence[i]) {
        return i
    }
    return nil
}
