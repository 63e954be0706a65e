import Foundation

/// Log returns of a close series: the forecasting target and the AR inputs.
///
/// Log returns are used (not simple returns) because they add over bars: the
/// h-bar return is the sum of the h one-bar returns, which the AR model's
/// iterated forecast relies on.
public enum LogReturns {
    /// One-bar log returns: `r[t] = ln(close[t] / close[t-1])`, NaN at t = 0
    /// and wherever either close is not a finite positive number.
    /// - Returns: `close.count` elements.
    public static func oneBar(_ close: [Double]) -> [Double] {
        forward(close, lag: 1, backward: true)
    }

    /// The forecasting target: `y[t] = ln(close[t + horizon] / close[t])`,
    /// known only at bar `t + horizon`; NaN for the last `horizon` bars and
    /// wherever either close is not a finite positive number.
    /// - Parameters:
    ///   - close: closing prices.
    ///   - horizon: h ≥ 1.
    /// - Returns: `close.count` elements.
    public static func forward(_ close: [Double], horizon: Int) -> [Double] {
        precondition(horizon >= 1, "horizon must be at least 1")
        return forward(close, lag: horizon, backward: false)
    }

    private static func forward(_ close: [Double], lag: Int, backward: Bool) -> [Double] {
        let n = close.count
        return close.withUnsafeBufferPointer { c in
            [Double](unsafeUninitializedCapacity: n) { out, initialized in
                for t in 0..<n {
                    let (from, to) = backward ? (t - lag, t) : (t, t + lag)
                    if from < 0 || to >= n {
                        out[t] = .nan
                        continue
                    }
                    let a = c[from], b = c[to]
                    out[t] = a > 0 && b > 0 && a.isFinite && b.isFinite ? Foundation.log(b / a) : .nan
                }
                initialized = n
            }
        }
    }
}
