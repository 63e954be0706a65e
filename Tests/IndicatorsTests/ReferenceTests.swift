import Indicators
import Testing

/// Every indicator against TA-Lib's values on the committed fixture.
struct ReferenceTests {
    let f = Fixture.shared

    func check(_ name: String, _ ours: [Double], _ lookback: Int) {
        let theirs = f.reference[name]!
        #expect(mismatches(ours, theirs) == [], "\(name)")
        #expect(ours.prefix(lookback).allSatisfy { $0.isNaN }, "\(name) lookback")
        #expect(!ours[lookback].isNaN, "\(name) first value")
    }

    @Test func sma() {
        check("sma_20", SMA.compute(f.close, period: 20), SMA.lookback(period: 20))
        check("sma_5", SMA.compute(f.close, period: 5), SMA.lookback(period: 5))
    }

    @Test func ema() {
        check("ema_50", EMA.compute(f.close, period: 50), EMA.lookback(period: 50))
        check("ema_12", EMA.compute(f.close, period: 12), EMA.lookback(period: 12))
    }

    @Test func rsi() {
        check("rsi_14", RSI.compute(f.close, period: 14), RSI.lookback(period: 14))
        check("rsi_5", RSI.compute(f.close, period: 5), RSI.lookback(period: 5))
    }

    @Test func macd() {
        let m = MACD.compute(f.close)
        let lookback = MACD.lookback()
        #expect(lookback == 33)
        check("macd", m.macd, lookback)
        check("macd_signal", m.signal, lookback)
        check("macd_hist", m.histogram, lookback)
    }

    @Test func bollinger() {
        let b = BollingerBands.compute(f.close, period: 20, devUp: 2, devDown: 2)
        check("bb_upper_20", b.upper, 19)
        check("bb_middle_20", b.middle, 19)
        check("bb_lower_20", b.lower, 19)
    }

    @Test func atr() {
        check("atr_14", ATR.compute(high: f.high, low: f.low, close: f.close), ATR.lookback(period: 14))
        check("atr_5", ATR.compute(high: f.high, low: f.low, close: f.close, period: 5), 5)
    }

    @Test func stochastic() {
        let s = Stochastic.compute(high: f.high, low: f.low, close: f.close)
        #expect(Stochastic.lookback() == 17)
        check("stoch_k", s.k, 17)
        check("stoch_d", s.d, 17)
    }

    @Test func adx() {
        check("adx_14", ADX.compute(high: f.high, low: f.low, close: f.close), ADX.lookback(period: 14))
        check("adx_7", ADX.compute(high: f.high, low: f.low, close: f.close, period: 7), 13)
    }
}
