import Foundation
import Indicators
import Testing

/// Short inputs, constant series and NaN handling.
struct EdgeCaseTests {
    @Test func inputShorterThanLookbackIsAllNaN() {
        let x = [1.0, 2, 3, 4, 5]
        #expect(SMA.compute(x, period: 20).allSatisfy { $0.isNaN })
        #expect(SMA.compute(x, period: 20).count == 5)
        #expect(EMA.compute(x, period: 6).allSatisfy { $0.isNaN })
        #expect(RSI.compute(x, period: 5).allSatisfy { $0.isNaN })  // lookback = period
        let m = MACD.compute(x)
        #expect(m.macd.allSatisfy { $0.isNaN } && m.signal.allSatisfy { $0.isNaN } && m.histogram.count == 5)
        let bb = BollingerBands.compute(x)
        #expect(bb.upper.allSatisfy { $0.isNaN } && bb.lower.count == 5)
        #expect(ATR.compute(high: x, low: x, close: x).allSatisfy { $0.isNaN })
        let s = Stochastic.compute(high: x, low: x, close: x)
        #expect(s.k.allSatisfy { $0.isNaN } && s.d.allSatisfy { $0.isNaN })
        #expect(ADX.compute(high: x, low: x, close: x).allSatisfy { $0.isNaN })
        #expect(SMA.compute([], period: 3) == [])
    }

    @Test func constantSeries() {
        let c = [Double](repeating: 42.5, count: 100)
        #expect(SMA.compute(c, period: 20).dropFirst(19).allSatisfy { $0 == 42.5 })
        #expect(EMA.compute(c, period: 20).dropFirst(19).allSatisfy { $0 == 42.5 })
        #expect(RSI.compute(c).dropFirst(14).allSatisfy { $0 == 0 })  // TA-Lib: 0 when no move
        let m = MACD.compute(c)
        #expect(m.macd.dropFirst(33).allSatisfy { $0 == 0 } && m.histogram.dropFirst(33).allSatisfy { $0 == 0 })
        let bb = BollingerBands.compute(c)
        #expect(bb.upper.dropFirst(19).allSatisfy { $0 == 42.5 } && bb.lower.dropFirst(19).allSatisfy { $0 == 42.5 })
        #expect(ATR.compute(high: c, low: c, close: c).dropFirst(14).allSatisfy { $0 == 0 })
        let s = Stochastic.compute(high: c, low: c, close: c)
        #expect(s.k.dropFirst(17).allSatisfy { $0 == 0 } && s.d.dropFirst(17).allSatisfy { $0 == 0 })
        #expect(ADX.compute(high: c, low: c, close: c).dropFirst(27).allSatisfy { $0 == 0 })
    }

    /// NaN inputs are not skipped: like TA-Lib, a NaN enters the running sums
    /// and recurrences, so windowed outputs covering it are NaN and recursive
    /// ones (EMA, RSI, ATR, ADX, MACD) stay NaN from there on.
    @Test func nanPropagates() {
        var x = (0..<60).map { 100 + Double($0 % 7) }
        x[30] = .nan
        let sma = SMA.compute(x, period: 5)
        #expect(!sma[29].isNaN && sma[30].isNaN && sma[59].isNaN)
        let ema = EMA.compute(x, period: 5)
        #expect(!ema[29].isNaN && ema[30].isNaN && ema[59].isNaN)
    }

    @Test func lookbacks() {
        #expect(SMA.lookback(period: 20) == 19)
        #expect(EMA.lookback(period: 50) == 49)
        #expect(RSI.lookback(period: 14) == 14)
        #expect(MACD.lookback() == 33)
        #expect(BollingerBands.lookback(period: 20) == 19)
        #expect(ATR.lookback(period: 14) == 14)
        #expect(Stochastic.lookback() == 17)
        #expect(ADX.lookback(period: 14) == 27)
    }
}

/// Configurable periods beyond the fixture's: a MACD with a 1-bar signal is
/// its own signal line, and fast > slow is swapped as in TA-Lib.
struct PeriodTests {
    @Test func macdVariants() {
        let x = (0..<200).map { 100 + sin(Double($0) / 7) * 5 }
        let one = MACD.compute(x, fast: 5, slow: 10, signal: 1)
        #expect(one.macd.prefix(9).allSatisfy { $0.isNaN } && !one.macd[9].isNaN)
        #expect(zip(one.macd.dropFirst(9), one.signal.dropFirst(9)).allSatisfy { abs($0 - $1) < 1e-12 })
        let swapped = MACD.compute(x, fast: 26, slow: 12, signal: 9)
        let normal = MACD.compute(x)
        #expect(mismatches(swapped.macd, normal.macd) == [])
        // TA-Lib seeds MACD's fast EMA later than EMA(12) alone would be, so
        // the line only converges to EMA(12) − EMA(26) as the seeds fade.
        let fast = EMA.compute(x, period: 12), slow = EMA.compute(x, period: 26)
        #expect(abs(normal.macd[33] - (fast[33] - slow[33])) > 1e-6)
        for i in 180..<200 {
            #expect(abs(normal.macd[i] - (fast[i] - slow[i])) < 1e-9)
        }
    }
}
