import Indicators

/// The eight candlestick recognizers, each a single pass that returns
/// TA-Lib's integer score per bar (`+100` bullish, `−100` bearish, `0` none;
/// `±80` for an engulfing whose open or close equals the prior close/open).
///
/// They follow TA-Lib 0.8's `CDL*` functions with the default candle settings
/// (see `CandleSettings.swift`): the same conditions, the same strict/non-strict
/// comparisons and the same running sums, so the scores agree with TA-Lib on
/// the same data. Bars before a pattern's lookback score 0 (TA-Lib emits
/// nothing there). NaN prices make every comparison false, so a bar touching
/// a NaN scores 0 (and NaN poisons the running averages after it).
public enum Candlesticks {
    /// The number of leading bars that always score 0.
    ///
    /// - Parameter pattern: the pattern.
    /// - Returns: TA-Lib's lookback for it with the default settings.
    public static func lookback(_ pattern: CandlestickPattern) -> Int {
        switch pattern {
        case .hammer, .shootingStar: 11
        case .bullishEngulfing, .bearishEngulfing: 2
        case .doji, .dragonflyDoji, .gravestoneDoji: 10
        case .threeWhiteSoldiers: 12
        case .threeBlackCrows: 13
        }
    }

    /// TA-Lib's score series for one pattern.
    ///
    /// Bullish and bearish engulfing share one series (`CDLENGULFING`):
    /// positive values are bullish, negative bearish.
    /// - Parameters:
    ///   - pattern: the pattern.
    ///   - open, high, low, close: the bars' columns, all of the same length.
    /// - Returns: one score per bar.
    public static func scores(
        _ pattern: CandlestickPattern,
        open: [Double], high: [Double], low: [Double], close: [Double]
    ) -> [Int32] {
        switch pattern {
        case .hammer: hammer(open: open, high: high, low: low, close: close)
        case .shootingStar: shootingStar(open: open, high: high, low: low, close: close)
        case .bullishEngulfing, .bearishEngulfing: engulfing(open: open, high: high, low: low, close: close)
        case .doji: doji(open: open, high: high, low: low, close: close)
        case .dragonflyDoji: dragonflyDoji(open: open, high: high, low: low, close: close)
        case .gravestoneDoji: gravestoneDoji(open: open, high: high, low: low, close: close)
        case .threeWhiteSoldiers: threeWhiteSoldiers(open: open, high: high, low: low, close: close)
        case .threeBlackCrows: threeBlackCrows(open: open, high: high, low: low, close: close)
        }
    }

    /// Runs `kernel(bars, out, start)` for `i ≥ start`, zero-filling the rest.
    @inline(__always)
    static func run(
        _ open: [Double], _ high: [Double], _ low: [Double], _ close: [Double],
        lookback: Int,
        _ kernel: (Bars, UnsafeMutablePointer<Int32>, Int, Int) -> Void
    ) -> [Int32] {
        let n = close.count
        precondition(open.count == n && high.count == n && low.count == n, "column lengths differ")
        return Array(unsafeUninitializedCapacity: n) { out, initialized in
            let base = out.baseAddress
            adviseHugePages(base, byteCount: n * MemoryLayout<Int32>.stride)
            var i = 0
            while i < Swift.min(lookback, n) { out[i] = 0; i += 1 }
            if n > lookback, let base {
                open.withUnsafeBufferPointer { o in
                    high.withUnsafeBufferPointer { h in
                        low.withUnsafeBufferPointer { l in
                            close.withUnsafeBufferPointer { c in
                                let bars = Bars(o: o.baseAddress!, h: h.baseAddress!, l: l.baseAddress!, c: c.baseAddress!)
                                kernel(bars, base, lookback, n)
                            }
                        }
                    }
                }
            }
            initialized = n
        }
    }

    /// Hammer (TA-Lib `CDLHAMMER`, +100): small body, lower shadow longer
    /// than the body, very short upper shadow, body at or near the prior low.
    public static func hammer(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 11) { b, out, start, n in
            let bp = CandleSetting.bodyShortPeriod, vp = CandleSetting.shadowVeryShortPeriod, np = CandleSetting.nearPeriod
            var bodyTotal = 0.0, vsTotal = 0.0, nearTotal = 0.0
            var bodyTrail = start - bp, vsTrail = start - vp, nearTrail = start - 1 - np
            var j = bodyTrail; while j < start { bodyTotal += b.body(j); j += 1 }
            j = vsTrail; while j < start { vsTotal += b.range(j); j += 1 }
            j = nearTrail; while j < start - 1 { nearTotal += b.range(j); j += 1 }
            var i = start
            while i < n {
                let hit = b.body(i) < CandleSetting.average(CandleSetting.bodyShortFactor, bodyTotal, bp)
                    && b.lower(i) > CandleSetting.shadowLongFactor * b.body(i)
                    && b.upper(i) < CandleSetting.average(CandleSetting.shadowVeryShortFactor, vsTotal, vp)
                    && Swift.min(b.c[i], b.o[i]) <= b.l[i - 1] + CandleSetting.average(CandleSetting.nearFactor, nearTotal, np)
                out[i] = hit ? 100 : 0
                bodyTotal += b.body(i) - b.body(bodyTrail)
                vsTotal += b.range(i) - b.range(vsTrail)
                nearTotal += b.range(i - 1) - b.range(nearTrail)
                i += 1; bodyTrail += 1; vsTrail += 1; nearTrail += 1
            }
        }
    }

    /// Shooting star (TA-Lib `CDLSHOOTINGSTAR`, −100): body gapping up from
    /// the prior body, small body, upper shadow longer than the body, very
    /// short lower shadow.
    public static func shootingStar(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 11) { b, out, start, n in
            let bp = CandleSetting.bodyShortPeriod, vp = CandleSetting.shadowVeryShortPeriod
            var bodyTotal = 0.0, vsTotal = 0.0
            var bodyTrail = start - bp, vsTrail = start - vp
            var j = bodyTrail; while j < start { bodyTotal += b.body(j); j += 1 }
            j = vsTrail; while j < start { vsTotal += b.range(j); j += 1 }
            var i = start
            while i < n {
                let hit = Swift.min(b.o[i], b.c[i]) > Swift.max(b.o[i - 1], b.c[i - 1])
                    && b.body(i) < CandleSetting.average(CandleSetting.bodyShortFactor, bodyTotal, bp)
                    && b.upper(i) > CandleSetting.shadowLongFactor * b.body(i)
                    && b.lower(i) < CandleSetting.average(CandleSetting.shadowVeryShortFactor, vsTotal, vp)
                out[i] = hit ? -100 : 0
                bodyTotal += b.body(i) - b.body(bodyTrail)
                vsTotal += b.range(i) - b.range(vsTrail)
                i += 1; bodyTrail += 1; vsTrail += 1
            }
        }
    }

    /// Engulfing (TA-Lib `CDLENGULFING`): a white body engulfing the prior
    /// black one (+100) or a black body engulfing the prior white one (−100);
    /// ±80 when an open or close equals the prior close or open.
    public static func engulfing(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 2) { b, out, start, n in
            let o = b.o, c = b.c
            var i = start
            while i < n {
                let white = c[i] >= o[i], prevWhite = c[i - 1] >= o[i - 1]
                let bull = white && !prevWhite
                    && ((c[i] >= o[i - 1] && o[i] < c[i - 1]) || (c[i] > o[i - 1] && o[i] <= c[i - 1]))
                let bear = !white && prevWhite
                    && ((o[i] >= c[i - 1] && c[i] < o[i - 1]) || (o[i] > c[i - 1] && c[i] <= o[i - 1]))
                if bull || bear {
                    let strength: Int32 = (o[i] != c[i - 1] && c[i] != o[i - 1]) ? 100 : 80
                    out[i] = white ? strength : -strength
                } else {
                    out[i] = 0
                }
                i += 1
            }
        }
    }

    /// Doji (TA-Lib `CDLDOJI`, +100): body ≤ 10 % of the average high-low
    /// range of the 10 prior bars.
    public static func doji(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 10) { b, out, start, n in
            let dp = CandleSetting.bodyDojiPeriod
            var total = 0.0
            var trail = start - dp
            var j = trail; while j < start { total += b.range(j); j += 1 }
            var i = start
            while i < n {
                out[i] = b.body(i) <= CandleSetting.average(CandleSetting.bodyDojiFactor, total, dp) ? 100 : 0
                total += b.range(i) - b.range(trail)
                i += 1; trail += 1
            }
        }
    }

    /// Dragonfly doji (TA-Lib `CDLDRAGONFLYDOJI`, +100): doji body, very
    /// short upper shadow, lower shadow that is not very short.
    public static func dragonflyDoji(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        dojiVariant(open, high, low, close, dragonfly: true)
    }

    /// Gravestone doji (TA-Lib `CDLGRAVESTONEDOJI`, +100): doji body, very
    /// short lower shadow, upper shadow that is not very short.
    public static func gravestoneDoji(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        dojiVariant(open, high, low, close, dragonfly: false)
    }

    static func dojiVariant(_ open: [Double], _ high: [Double], _ low: [Double], _ close: [Double], dragonfly: Bool) -> [Int32] {
        run(open, high, low, close, lookback: 10) { b, out, start, n in
            let dp = CandleSetting.bodyDojiPeriod, vp = CandleSetting.shadowVeryShortPeriod
            var dojiTotal = 0.0, vsTotal = 0.0
            var dojiTrail = start - dp, vsTrail = start - vp
            var j = dojiTrail; while j < start { dojiTotal += b.range(j); j += 1 }
            j = vsTrail; while j < start { vsTotal += b.range(j); j += 1 }
            var i = start
            while i < n {
                let vs = CandleSetting.average(CandleSetting.shadowVeryShortFactor, vsTotal, vp)
                let short = dragonfly ? b.upper(i) : b.lower(i)
                let long = dragonfly ? b.lower(i) : b.upper(i)
                let hit = b.body(i) <= CandleSetting.average(CandleSetting.bodyDojiFactor, dojiTotal, dp)
                    && short < vs && long > vs
                out[i] = hit ? 100 : 0
                dojiTotal += b.range(i) - b.range(dojiTrail)
                vsTotal += b.range(i) - b.range(vsTrail)
                i += 1; dojiTrail += 1; vsTrail += 1
            }
        }
    }

    /// Three white soldiers (TA-Lib `CDL3WHITESOLDIERS`, +100): three white
    /// candles with rising closes and very short upper shadows, each opening
    /// within or near the prior body, none far shorter than the prior, the
    /// last not short.
    public static func threeWhiteSoldiers(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 12) { b, out, start, n in
            let vp = CandleSetting.shadowVeryShortPeriod, np = CandleSetting.nearPeriod
            let fp = CandleSetting.farPeriod, bp = CandleSetting.bodyShortPeriod
            let vf = CandleSetting.shadowVeryShortFactor, nf = CandleSetting.nearFactor
            let ff = CandleSetting.farFactor, bf = CandleSetting.bodyShortFactor
            var vs2 = 0.0, vs1 = 0.0, vs0 = 0.0, near2 = 0.0, near1 = 0.0, far2 = 0.0, far1 = 0.0, bodyTotal = 0.0
            var vsTrail = start - vp, nearTrail = start - np, farTrail = start - fp, bodyTrail = start - bp
            var j = vsTrail
            while j < start { vs2 = vs2 + b.range(j - 2); vs1 = vs1 + b.range(j - 1); vs0 = vs0 + b.range(j); j += 1 }
            j = nearTrail
            while j < start { near2 = near2 + b.range(j - 2); near1 = near1 + b.range(j - 1); j += 1 }
            j = farTrail
            while j < start { far2 = far2 + b.range(j - 2); far1 = far1 + b.range(j - 1); j += 1 }
            j = bodyTrail
            while j < start { bodyTotal += b.body(j); j += 1 }
            let o = b.o, c = b.c
            var i = start
            while i < n {
                let hit = b.white(i - 2) && b.upper(i - 2) < CandleSetting.average(vf, vs2, vp)
                    && b.white(i - 1) && b.upper(i - 1) < CandleSetting.average(vf, vs1, vp)
                    && b.white(i) && b.upper(i) < CandleSetting.average(vf, vs0, vp)
                    && c[i] > c[i - 1] && c[i - 1] > c[i - 2]
                    && o[i - 1] > o[i - 2] && o[i - 1] <= c[i - 2] + CandleSetting.average(nf, near2, np)
                    && o[i] > o[i - 1] && o[i] <= c[i - 1] + CandleSetting.average(nf, near1, np)
                    && b.body(i - 1) > b.body(i - 2) - CandleSetting.average(ff, far2, fp)
                    && b.body(i) > b.body(i - 1) - CandleSetting.average(ff, far1, fp)
                    && b.body(i) > CandleSetting.average(bf, bodyTotal, bp)
                out[i] = hit ? 100 : 0
                vs2 = vs2 + (b.range(i - 2) - b.range(vsTrail - 2))
                vs1 = vs1 + (b.range(i - 1) - b.range(vsTrail - 1))
                vs0 = vs0 + (b.range(i) - b.range(vsTrail))
                far2 = far2 + (b.range(i - 2) - b.range(farTrail - 2))
                near2 = near2 + (b.range(i - 2) - b.range(nearTrail - 2))
                far1 = far1 + (b.range(i - 1) - b.range(farTrail - 1))
                near1 = near1 + (b.range(i - 1) - b.range(nearTrail - 1))
                bodyTotal += b.body(i) - b.body(bodyTrail)
                i += 1; vsTrail += 1; nearTrail += 1; farTrail += 1; bodyTrail += 1
            }
        }
    }

    /// Three black crows (TA-Lib `CDL3BLACKCROWS`, −100): a white candle, then
    /// three declining black candles with very short lower shadows, each
    /// opening within the prior black body, the first closing under the white
    /// candle's high.
    public static func threeBlackCrows(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 13) { b, out, start, n in
            let vp = CandleSetting.shadowVeryShortPeriod, vf = CandleSetting.shadowVeryShortFactor
            var vs2 = 0.0, vs1 = 0.0, vs0 = 0.0
            var vsTrail = start - vp
            var j = vsTrail
            while j < start { vs2 = vs2 + b.range(j - 2); vs1 = vs1 + b.range(j - 1); vs0 = vs0 + b.range(j); j += 1 }
            let o = b.o, c = b.c, h = b.h
            var i = start
            while i < n {
                let hit = b.white(i - 3) && !b.white(i - 2) && !b.white(i - 1) && !b.white(i)
                    && o[i - 1] < o[i - 2] && o[i - 1] > c[i - 2]
                    && o[i] < o[i - 1] && o[i] > c[i - 1]
                    && h[i - 3] > c[i - 2]
                    && c[i - 2] > c[i - 1] && c[i - 1] > c[i]
                    && b.lower(i - 2) < CandleSetting.average(vf, vs2, vp)
                    && b.lower(i - 1) < CandleSetting.average(vf, vs1, vp)
                    && b.lower(i) < CandleSetting.average(vf, vs0, vp)
                out[i] = hit ? -100 : 0
                vs2 = vs2 + (b.range(i - 2) - b.range(vsTrail - 2))
                vs1 = vs1 + (b.range(i - 1) - b.range(vsTrail - 1))
                vs0 = vs0 + (b.range(i) - b.range(vsTrail))
                i += 1; vsTrail += 1
            }
        }
    }
}
