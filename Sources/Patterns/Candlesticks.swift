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

    // Every recognizer below keeps TA-Lib's running sums in TA-Lib's order
    // (one scalar add per bar: `total += new − trailing`), but evaluates the
    // conditions for two bars at once (`Bars.Pair` lanes and masks, see
    // CandleSettings.swift): no branch depends on the data, and the
    // averages' divisions are shared by two bars. A last odd bar is scored
    // with the same expressions in scalar form.

    /// Hammer (TA-Lib `CDLHAMMER`, +100): small body, lower shadow longer
    /// than the body, very short upper shadow, body at or near the prior low.
    public static func hammer(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 11) { b, out, start, n in
            let bp = CandleSetting.bodyShortPeriod, vp = CandleSetting.shadowVeryShortPeriod, np = CandleSetting.nearPeriod
            let bf = CandleSetting.bodyShortFactor, lf = CandleSetting.shadowLongFactor
            let vf = CandleSetting.shadowVeryShortFactor, nf = CandleSetting.nearFactor
            var body = RunningSum(), vs = RunningSum(), near = RunningSum()
            var j = start - bp; while j < start { body.total += b.body(j); j += 1 }
            j = start - vp; while j < start { vs.total += b.range(j); j += 1 }
            j = start - 1 - np; while j < start - 1 { near.total += b.range(j); j += 1 }
            var i = start
            while i &+ 1 < n {
                let bodySums = body.pair(b.body2(i) - b.body2(i &- bp))
                let vsSums = vs.pair(b.range2(i) - b.range2(i &- vp))
                let nearSums = near.pair(b.range2(i &- 1) - b.range2(i &- 1 &- np))
                let realBody = b.body2(i)
                let hit =
                    (realBody .< CandleSetting.average2(bf, bodySums, bp))
                    .& (b.lower2(i) .> lf * realBody)
                    .& (b.upper2(i) .< CandleSetting.average2(vf, vsSums, vp))
                    .& (lesser2(b.c2(i), b.o2(i)) .<= b.l2(i &- 1) + CandleSetting.average2(nf, nearSums, np))
                storeScores(hit, 100, out + i)
                i &+= 2
            }
            if i < n {
                let hit =
                    b.body(i) < CandleSetting.average(bf, body.total, bp)
                    && b.lower(i) > lf * b.body(i)
                    && b.upper(i) < CandleSetting.average(vf, vs.total, vp)
                    && lesser(b.c[i], b.o[i]) <= b.l[i - 1] + CandleSetting.average(nf, near.total, np)
                out[i] = hit ? 100 : 0
            }
        }
    }

    /// Shooting star (TA-Lib `CDLSHOOTINGSTAR`, −100): body gapping up from
    /// the prior body, small body, upper shadow longer than the body, very
    /// short lower shadow.
    public static func shootingStar(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 11) { b, out, start, n in
            let bp = CandleSetting.bodyShortPeriod, vp = CandleSetting.shadowVeryShortPeriod
            let bf = CandleSetting.bodyShortFactor, lf = CandleSetting.shadowLongFactor
            let vf = CandleSetting.shadowVeryShortFactor
            var body = RunningSum(), vs = RunningSum()
            var j = start - bp; while j < start { body.total += b.body(j); j += 1 }
            j = start - vp; while j < start { vs.total += b.range(j); j += 1 }
            var i = start
            while i &+ 1 < n {
                let bodySums = body.pair(b.body2(i) - b.body2(i &- bp))
                let vsSums = vs.pair(b.range2(i) - b.range2(i &- vp))
                let realBody = b.body2(i)
                let hit =
                    (lesser2(b.o2(i), b.c2(i)) .> greater2(b.o2(i &- 1), b.c2(i &- 1)))
                    .& (realBody .< CandleSetting.average2(bf, bodySums, bp))
                    .& (b.upper2(i) .> lf * realBody)
                    .& (b.lower2(i) .< CandleSetting.average2(vf, vsSums, vp))
                storeScores(hit, -100, out + i)
                i &+= 2
            }
            if i < n {
                let hit =
                    lesser(b.o[i], b.c[i]) > greater(b.o[i - 1], b.c[i - 1])
                    && b.body(i) < CandleSetting.average(bf, body.total, bp)
                    && b.upper(i) > lf * b.body(i)
                    && b.lower(i) < CandleSetting.average(vf, vs.total, vp)
                out[i] = hit ? -100 : 0
            }
        }
    }

    /// Engulfing (TA-Lib `CDLENGULFING`): a white body engulfing the prior
    /// black one (+100) or a black body engulfing the prior white one (−100);
    /// ±80 when an open or close equals the prior close or open.
    public static func engulfing(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 2) { b, out, start, n in
            var i = start
            while i &+ 1 < n {
                let o = b.o2(i), c = b.c2(i), o1 = b.o2(i &- 1), c1 = b.c2(i &- 1)
                let white = c .>= o, prevWhite = c1 .>= o1
                let bull =
                    white .& .!prevWhite
                    .& (((c .>= o1) .& (o .< c1)) .| ((c .> o1) .& (o .<= c1)))
                let bear =
                    .!white .& prevWhite
                    .& (((o .>= c1) .& (c .< o1)) .| ((o .> c1) .& (c .<= o1)))
                let strength = SIMD2<Int64>(repeating: 80).replacing(with: 100, where: (o .!= c1) .& (c .!= o1))
                let signed = (0 &- strength).replacing(with: strength, where: white)
                let score = SIMD2<Int64>(repeating: 0).replacing(with: signed, where: bull .| bear)
                UnsafeMutableRawPointer(out + i).storeBytes(
                    of: SIMD2<Int32>(truncatingIfNeeded: score), as: SIMD2<Int32>.self)
                i &+= 2
            }
            if i < n {
                let o = b.o, c = b.c
                let white = c[i] >= o[i], prevWhite = c[i - 1] >= o[i - 1]
                let bull =
                    white && !prevWhite
                    && ((c[i] >= o[i - 1] && o[i] < c[i - 1]) || (c[i] > o[i - 1] && o[i] <= c[i - 1]))
                let bear =
                    !white && prevWhite
                    && ((o[i] >= c[i - 1] && c[i] < o[i - 1]) || (o[i] > c[i - 1] && c[i] <= o[i - 1]))
                if bull || bear {
                    let strength: Int32 = (o[i] != c[i - 1] && c[i] != o[i - 1]) ? 100 : 80
                    out[i] = white ? strength : -strength
                } else {
                    out[i] = 0
                }
            }
        }
    }

    /// Doji (TA-Lib `CDLDOJI`, +100): body ≤ 10 % of the average high-low
    /// range of the 10 prior bars.
    public static func doji(open: [Double], high: [Double], low: [Double], close: [Double]) -> [Int32] {
        run(open, high, low, close, lookback: 10) { b, out, start, n in
            let dp = CandleSetting.bodyDojiPeriod, df = CandleSetting.bodyDojiFactor
            var doji = RunningSum()
            var j = start - dp; while j < start { doji.total += b.range(j); j += 1 }
            var i = start
            while i &+ 1 < n {
                let sums = doji.pair(b.range2(i) - b.range2(i &- dp))
                storeScores(b.body2(i) .<= CandleSetting.average2(df, sums, dp), 100, out + i)
                i &+= 2
            }
            if i < n {
                out[i] = b.body(i) <= CandleSetting.average(df, doji.total, dp) ? 100 : 0
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
        // BodyDoji and ShadowVeryShort are both 10-bar high-low averages with
        // factor 0.1, so TA-Lib's two running sums (same start, same updates)
        // and the two thresholds are one and the same.
        let dp = CandleSetting.bodyDojiPeriod, df = CandleSetting.bodyDojiFactor
        assert(dp == CandleSetting.shadowVeryShortPeriod && df == CandleSetting.shadowVeryShortFactor)
        return run(open, high, low, close, lookback: 10) { b, out, start, n in
            var doji = RunningSum()
            var j = start - dp; while j < start { doji.total += b.range(j); j += 1 }
            var i = start
            while i &+ 1 < n {
                let t = CandleSetting.average2(df, doji.pair(b.range2(i) - b.range2(i &- dp)), dp)
                let upper = b.upper2(i), lower = b.lower2(i)
                let short = dragonfly ? upper : lower
                let long = dragonfly ? lower : upper
                storeScores((b.body2(i) .<= t) .& (short .< t) .& (long .> t), 100, out + i)
                i &+= 2
            }
            if i < n {
                let t = CandleSetting.average(df, doji.total, dp)
                let short = dragonfly ? b.upper(i) : b.lower(i)
                let long = dragonfly ? b.lower(i) : b.upper(i)
                out[i] = b.body(i) <= t && short < t && long > t ? 100 : 0
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
            // Near and Far are both 5-bar high-low averages (factors 0.2 and
            // 0.6): TA-Lib's Near and Far sums start and move together, so
            // one sum serves both.
            assert(np == fp)
            var vs2 = RunningSum(), vs1 = RunningSum(), vs0 = RunningSum()
            var nf2 = RunningSum(), nf1 = RunningSum(), body = RunningSum()
            var j = start - vp
            while j < start {
                vs2.total = vs2.total + b.range(j - 2); vs1.total = vs1.total + b.range(j - 1); vs0.total = vs0.total + b.range(j)
                j += 1
            }
            j = start - np
            while j < start { nf2.total = nf2.total + b.range(j - 2); nf1.total = nf1.total + b.range(j - 1); j += 1 }
            j = start - bp
            while j < start { body.total += b.body(j); j += 1 }
            var i = start
            while i &+ 1 < n {
                let r2 = b.range2(i &- 2), r1 = b.range2(i &- 1), r0 = b.range2(i)
                let vs2Sums = vs2.pair(r2 - b.range2(i &- vp &- 2))
                let vs1Sums = vs1.pair(r1 - b.range2(i &- vp &- 1))
                let vs0Sums = vs0.pair(r0 - b.range2(i &- vp))
                let nf2Sums = nf2.pair(r2 - b.range2(i &- np &- 2))
                let nf1Sums = nf1.pair(r1 - b.range2(i &- np &- 1))
                let bodySums = body.pair(b.body2(i) - b.body2(i &- bp))
                let o2 = b.o2(i &- 2), o1 = b.o2(i &- 1), o0 = b.o2(i)
                let c2 = b.c2(i &- 2), c1 = b.c2(i &- 1), c0 = b.c2(i)
                let body2 = b.body2(i &- 2), body1 = b.body2(i &- 1), body0 = b.body2(i)
                let hit =
                    (c2 .>= o2) .& (b.upper2(i &- 2) .< CandleSetting.average2(vf, vs2Sums, vp))
                    .& (c1 .>= o1) .& (b.upper2(i &- 1) .< CandleSetting.average2(vf, vs1Sums, vp))
                    .& (c0 .>= o0) .& (b.upper2(i) .< CandleSetting.average2(vf, vs0Sums, vp))
                    .& (c0 .> c1) .& (c1 .> c2)
                    .& (o1 .> o2) .& (o1 .<= c2 + CandleSetting.average2(nf, nf2Sums, np))
                    .& (o0 .> o1) .& (o0 .<= c1 + CandleSetting.average2(nf, nf1Sums, np))
                    .& (body1 .> body2 - CandleSetting.average2(ff, nf2Sums, fp))
                    .& (body0 .> body1 - CandleSetting.average2(ff, nf1Sums, fp))
                    .& (body0 .> CandleSetting.average2(bf, bodySums, bp))
                storeScores(hit, 100, out + i)
                i &+= 2
            }
            if i < n {
                let o = b.o, c = b.c
                let hit =
                    b.white(i - 2) && b.upper(i - 2) < CandleSetting.average(vf, vs2.total, vp)
                    && b.white(i - 1) && b.upper(i - 1) < CandleSetting.average(vf, vs1.total, vp)
                    && b.white(i) && b.upper(i) < CandleSetting.average(vf, vs0.total, vp)
                    && c[i] > c[i - 1] && c[i - 1] > c[i - 2]
                    && o[i - 1] > o[i - 2] && o[i - 1] <= c[i - 2] + CandleSetting.average(nf, nf2.total, np)
                    && o[i] > o[i - 1] && o[i] <= c[i - 1] + CandleSetting.average(nf, nf1.total, np)
                    && b.body(i - 1) > b.body(i - 2) - CandleSetting.average(ff, nf2.total, fp)
                    && b.body(i) > b.body(i - 1) - CandleSetting.average(ff, nf1.total, fp)
                    && b.body(i) > CandleSetting.average(bf, body.total, bp)
                out[i] = hit ? 100 : 0
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
            var vs2 = RunningSum(), vs1 = RunningSum(), vs0 = RunningSum()
            var j = start - vp
            while j < start {
                vs2.total = vs2.total + b.range(j - 2); vs1.total = vs1.total + b.range(j - 1); vs0.total = vs0.total + b.range(j)
                j += 1
            }
            var i = start
            while i &+ 1 < n {
                let vs2Sums = vs2.pair(b.range2(i &- 2) - b.range2(i &- vp &- 2))
                let vs1Sums = vs1.pair(b.range2(i &- 1) - b.range2(i &- vp &- 1))
                let vs0Sums = vs0.pair(b.range2(i) - b.range2(i &- vp))
                let o2 = b.o2(i &- 2), o1 = b.o2(i &- 1), o0 = b.o2(i)
                let c2 = b.c2(i &- 2), c1 = b.c2(i &- 1), c0 = b.c2(i)
                let hit =
                    b.white2(i &- 3) .& (c2 .< o2) .& (c1 .< o1) .& (c0 .< o0)
                    .& (o1 .< o2) .& (o1 .> c2)
                    .& (o0 .< o1) .& (o0 .> c1)
                    .& (b.h2(i &- 3) .> c2)
                    .& (c2 .> c1) .& (c1 .> c0)
                    .& (b.lower2(i &- 2) .< CandleSetting.average2(vf, vs2Sums, vp))
                    .& (b.lower2(i &- 1) .< CandleSetting.average2(vf, vs1Sums, vp))
                    .& (b.lower2(i) .< CandleSetting.average2(vf, vs0Sums, vp))
                storeScores(hit, -100, out + i)
                i &+= 2
            }
            if i < n {
                let o = b.o, c = b.c, h = b.h
                let hit =
                    b.white(i - 3) && !b.white(i - 2) && !b.white(i - 1) && !b.white(i)
                    && o[i - 1] < o[i - 2] && o[i - 1] > c[i - 2]
                    && o[i] < o[i - 1] && o[i] > c[i - 1]
                    && h[i - 3] > c[i - 2]
                    && c[i - 2] > c[i - 1] && c[i - 1] > c[i]
                    && b.lower(i - 2) < CandleSetting.average(vf, vs2.total, vp)
                    && b.lower(i - 1) < CandleSetting.average(vf, vs1.total, vp)
                    && b.lower(i) < CandleSetting.average(vf, vs0.total, vp)
                out[i] = hit ? -100 : 0
            }
        }
    }
}
