import Foundation
import Patterns
import SignalFusion

/// Deterministic synthetic markets for the fusion tests: correlated random
/// walks on 15m bars, resampled to 1h and 4h, with a causal momentum
/// "forecast", a sentiment column and the Patterns module's events.
struct MarketFixture {
    /// SplitMix64: a small, fixed random generator.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        /// Roughly standard normal (sum of 4 uniforms, rescaled).
        mutating func normal() -> Double {
            var s = 0.0
            for _ in 0..<4 { s += uniform() }
            return (s - 2) * (3.0).squareRoot()
        }
    }

    struct Bars {
        var timestamps: [Int64] = []
        var open: [Double] = []
        var high: [Double] = []
        var low: [Double] = []
        var close: [Double] = []
        var volume: [Double] = []
        var sentiment: [Double] = []

        var count: Int { timestamps.count }

        /// Groups of `factor` bars: first open, max high, min low, last close,
        /// summed volume, mean sentiment.
        func resampled(by factor: Int) -> Bars {
            var out = Bars()
            var i = 0
            while i + factor <= count {
                out.timestamps.append(timestamps[i])
                out.open.append(open[i])
                out.high.append(high[i..<i + factor].max()!)
                out.low.append(low[i..<i + factor].min()!)
                out.close.append(close[i + factor - 1])
                out.volume.append(volume[i..<i + factor].reduce(0, +))
                out.sentiment.append(sentiment[i..<i + factor].reduce(0, +) / Double(factor))
                i += factor
            }
            return out
        }

        /// The bars that closed by `cutoff` (open + duration ≤ cutoff).
        func closed(by cutoff: Int64, duration: Int64) -> Bars {
            let n = timestamps.firstIndex { $0 + duration > cutoff } ?? count
            var out = Bars()
            out.timestamps = Array(timestamps[..<n])
            out.open = Array(open[..<n])
            out.high = Array(high[..<n])
            out.low = Array(low[..<n])
            out.close = Array(close[..<n])
            out.volume = Array(volume[..<n])
            out.sentiment = Array(sentiment[..<n])
            return out
        }
    }

    static let minute: Int64 = 60_000_000
    static let timeframes: [(name: String, factor: Int)] = [("15m", 1), ("1h", 4), ("4h", 16)]

    /// `symbols` correlated 15m random walks of `bars` bars.
    static func base(symbols: Int, bars: Int, seed: UInt64 = 42) -> [Bars] {
        var rng = Random(state: seed)
        var out = [Bars](repeating: Bars(), count: symbols)
        var price = (0..<symbols).map { 1.0 + 0.2 * Double($0) }
        let loadings = (0..<symbols).map { [0.8, -0.6, 0.3, 0.0][$0 % 4] }
        var regime = 1.0
        for t in 0..<bars {
            if t % 400 == 0 { regime = 0.5 + 1.5 * rng.uniform() }
            let common = rng.normal()
            for s in 0..<symbols {
                let sigma = 0.001 * regime
                let drift = 0.0002 * sin(Double(t) / 150 + Double(s))
                let shock = loadings[s] * common + (1 - loadings[s] * loadings[s]).squareRoot() * rng.normal()
                let open = price[s]
                let close = open * (1 + drift + sigma * shock)
                let wick = sigma * open
                out[s].timestamps.append(Int64(t) * 15 * minute)
                out[s].open.append(open)
                out[s].close.append(close)
                out[s].high.append(Swift.max(open, close) + wick * rng.uniform())
                out[s].low.append(Swift.min(open, close) - wick * rng.uniform())
                out[s].volume.append(t % 97 == 5 ? 0 : 1000 * (0.2 + 1.6 * rng.uniform()))
                out[s].sentiment.append(t % 53 == 7 ? .nan : 2 * rng.uniform() - 1)
                price[s] = close
            }
        }
        return out
    }

    /// The causal "forecast": half the 3-bar return, NaN for the first 3 bars
    /// and every 7th bar; confidence 0.4 + 0.5·((t·7919) mod 100)/100.
    static func forecast(_ close: [Double]) -> (predictions: [Double], confidence: [Double]) {
        var p = [Double](repeating: .nan, count: close.count)
        var c = [Double](repeating: .nan, count: close.count)
        for t in 3..<Swift.max(3, close.count) where t % 7 != 0 {
            p[t] = 0.5 * (close[t] / close[t - 3] - 1)
            c[t] = 0.4 + 0.5 * Double((t * 7919) % 100) / 100
        }
        return (p, c)
    }

    /// Every pattern the Patterns module finds on the bars.
    static func patterns(_ b: Bars) -> [PatternEvent] {
        CandlestickEvents.detect(open: b.open, high: b.high, low: b.low, close: b.close)
            + ChartPatternDetector().detect(high: b.high, low: b.low, close: b.close)
    }

    /// One input per symbol × timeframe. Symbol `SYM1` has no sentiment column.
    static func inputs(_ base: [Bars], cutoff: Int64? = nil) -> [FusionInput] {
        var out: [FusionInput] = []
        for (s, bars15) in base.enumerated() {
            for tf in timeframes {
                let duration = Int64(tf.factor) * 15 * minute
                var b = tf.factor == 1 ? bars15 : bars15.resampled(by: tf.factor)
                if let cutoff { b = b.closed(by: cutoff, duration: duration) }
                let f = forecast(b.close)
                out.append(
                    FusionInput(
                        symbol: "SYM\(s)", timeframe: tf.name, barDurationMicros: duration,
                        timestamps: b.timestamps, open: b.open, high: b.high, low: b.low,
                        close: b.close, volume: b.volume, sentiment: s == 1 ? nil : b.sentiment,
                        predictions: f.predictions, confidence: f.confidence,
                        patterns: patterns(b)))
            }
        }
        return out
    }
}
