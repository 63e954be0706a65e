/// Double tops/bottoms and (inverse) head-and-shoulders, found causally.
///
/// The detector walks the bars once. At bar `t` it first confirms the swing
/// at `t − swingWindow` (see ``SwingDetector``), then turns new swings into
/// *candidates*, then checks every open candidate against bar `t` only:
///
/// - **Double top**: a new swing high `B` and the most recent earlier swing
///   high `A` with `minSpan ≤ B−A ≤ maxSpan`, `|A−B| ≤ peakTolerance·max(A,B)`,
///   no high between them above `min(A,B)`, and a trough (lowest low strictly
///   between them) at least `minDepth·min(A,B)` below the lower peak. The
///   neckline is horizontal at the trough. It is **confirmed at the first bar
///   whose close is below the neckline**; it is dropped if a high exceeds
///   `max(A,B)` first or `maxSpan` bars pass after `B`. Double bottom mirrors it.
/// - **Head and shoulders**: three consecutive swing highs `L, H, R` with the
///   head above both shoulders by `headMargin` (relative), shoulders within
///   `shoulderTolerance` of each other, the neckline through the lowest lows
///   between `L–H` and `H–R`; confirmed at the first close below the neckline
///   (extrapolated to that bar), dropped if a high exceeds the head or
///   `R − L` bars pass after `R`. The inverse mirrors it on swing lows.
///
/// Each event spans its first peak/trough to the confirmation bar, and
/// `confirmedAt` is that bar: the detection at `t` reads only bars `≤ t`, so
/// cutting the data after `t` leaves every event confirmed at or before `t`
/// unchanged.
///
/// Confidence (all parts clamped to [0, 1]):
/// - double top/bottom: `0.4·similarity + 0.4·depth + 0.2·breakout`, with
///   `similarity = 1 − |A−B| / (peakTolerance·max(A,B))`,
///   `depth = (pattern height / lower peak) / (2·minDepth)` and
///   `breakout = (neckline − close) / (0.5·pattern height)` on the
///   confirmation bar (mirrored for bottoms);
/// - head and shoulders: `0.35·symmetry + 0.35·prominence + 0.3·flatness`,
///   with `symmetry = 1 − |L−R| / (shoulderTolerance·max(L,R))`,
///   `prominence = ((H − max(L,R)) / H) / (2·headMargin)` and
///   `flatness = 1 − |neckline slope over L…R| / (H − neckline low)`.
public struct ChartPatternDetector: Sendable {
    /// Bars on each side of a swing. Default 3.
    public var swingWindow: Int
    /// Largest relative difference between the two peaks/troughs of a double
    /// top/bottom. Default 0.02.
    public var peakTolerance: Double
    /// Smallest relative depth of the trough (peak) between them. Default 0.01.
    public var minDepth: Double
    /// Fewest bars between the two peaks. Default 5.
    public var minSpan: Int
    /// Most bars between the two peaks, and the most bars to wait for the
    /// breakout after the second. Default 100.
    public var maxSpan: Int
    /// How far (relative) the head must stand above both shoulders. Default 0.01.
    public var headMargin: Double
    /// Largest relative difference between the shoulders. Default 0.03.
    public var shoulderTolerance: Double

    /// Creates a detector; every parameter has the default stated on its property.
    public init(
        swingWindow: Int = 3, peakTolerance: Double = 0.02, minDepth: Double = 0.01,
        minSpan: Int = 5, maxSpan: Int = 100, headMargin: Double = 0.01,
        shoulderTolerance: Double = 0.03
    ) {
        precondition(swingWindow >= 1 && minSpan >= 1 && maxSpan >= minSpan, "invalid chart pattern settings")
        self.swingWindow = swingWindow
        self.peakTolerance = peakTolerance
        self.minDepth = minDepth
        self.minSpan = minSpan
        self.maxSpan = maxSpan
        self.headMargin = headMargin
        self.shoulderTolerance = shoulderTolerance
    }

    /// A pattern waiting for its breakout.
    struct Candidate {
        var pattern: ChartPattern
        var start: Int
        var lastPoint: Int
        var extreme: Double  // invalidation level (peak / head, or trough / head)
        var neckline: Neckline
        var expires: Int
        var score: Double  // the breakout-independent part of the confidence
        var height: Double  // pattern height used for the breakout part
    }

    /// Finds the chart patterns in the bars.
    ///
    /// - Parameters:
    ///   - high, low, close: the bars' columns, all of the same length.
    /// - Returns: events in order of `confirmedAt` (ties in creation order).
    public func detect(high: [Double], low: [Double], close: [Double]) -> [PatternEvent] {
        precondition(high.count == low.count && low.count == close.count, "column lengths differ")
        let n = close.count
        let w = swingWindow
        var events: [PatternEvent] = []
        var highs: [SwingPoint] = []
        var lows: [SwingPoint] = []
        var open: [Candidate] = []
        high.withUnsafeBufferPointer { h in
            low.withUnsafeBufferPointer { l in
                close.withUnsafeBufferPointer { c in
                    var t = 0
                    while t < n {
                        let s = t - w
                        if s >= w {
                            if SwingDetector.isSwingHigh(h, at: s, window: w) {
                                let point = SwingPoint(kind: .high, index: s, price: h[s], confirmedAt: t)
                                if let cand = doubleTop(point, highs, h, l) { open.append(cand) }
                                highs.append(point)
                                if let cand = headAndShoulders(highs, l, inverse: false) { open.append(cand) }
                            }
                            if SwingDetector.isSwingLow(l, at: s, window: w) {
                                let point = SwingPoint(kind: .low, index: s, price: l[s], confirmedAt: t)
                                if let cand = doubleBottom(point, lows, h, l) { open.append(cand) }
                                lows.append(point)
                                if let cand = headAndShoulders(lows, h, inverse: true) { open.append(cand) }
                            }
                        }
                        var k = 0
                        while k < open.count {
                            let cand = open[k]
                            let bearish = cand.pattern == .doubleTop || cand.pattern == .headAndShoulders
                            let level = cand.neckline.value(at: t)
                            let broke = bearish ? c[t] < level : c[t] > level
                            let invalid = bearish ? h[t] > cand.extreme : l[t] < cand.extreme
                            if broke && t > cand.lastPoint {
                                let push = bearish ? level - c[t] : c[t] - level
                                let breakout = clamp(push / (0.5 * cand.height))
                                let weight = (cand.pattern == .doubleTop || cand.pattern == .doubleBottom) ? 0.2 : 0.0
                                events.append(
                                    PatternEvent(
                                        kind: .chart(cand.pattern),
                                        direction: bearish ? .bearish : .bullish,
                                        confidence: clamp(cand.score + weight * breakout),
                                        startIndex: cand.start, endIndex: t, confirmedAt: t,
                                        neckline: cand.neckline))
                                open.remove(at: k)
                            } else if invalid || t > cand.expires {
                                open.remove(at: k)
                            } else {
                                k += 1
                            }
                        }
                        t += 1
                    }
                }
            }
        }
        return events
    }

    func clamp(_ x: Double) -> Double { x.isNaN ? 0 : Swift.min(1, Swift.max(0, x)) }

    func doubleTop(_ b: SwingPoint, _ highs: [SwingPoint], _ h: UnsafeBufferPointer<Double>, _ l: UnsafeBufferPointer<Double>) -> Candidate?
    {
        for a in highs.reversed() {
            let span = b.index - a.index
            if span < minSpan { continue }
            if span > maxSpan { break }
            let top = Swift.max(a.price, b.price), lowerPeak = Swift.min(a.price, b.price)
            guard Swift.abs(a.price - b.price) <= peakTolerance * top else { continue }
            var trough = Double.infinity, troughIdx = a.index + 1, blocked = false
            for i in a.index + 1..<b.index {
                if h[i] > lowerPeak { blocked = true; break }
                if l[i] < trough { trough = l[i]; troughIdx = i }
            }
            if blocked { continue }
            let height = lowerPeak - trough
            guard height >= minDepth * lowerPeak else { continue }
            let similarity = 1 - Swift.abs(a.price - b.price) / (peakTolerance * top)
            let depth = (height / lowerPeak) / (2 * minDepth)
            return Candidate(
                pattern: .doubleTop, start: a.index, lastPoint: b.confirmedAt, extreme: top,
                neckline: .horizontal(at: troughIdx, price: trough), expires: b.index + maxSpan,
                score: 0.4 * clamp(similarity) + 0.4 * clamp(depth), height: height)
        }
        return nil
    }

    func doubleBottom(
        _ b: SwingPoint, _ lows: [SwingPoint], _ h: UnsafeBufferPointer<Double>, _ l: UnsafeBufferPointer<Double>
    ) -> Candidate? {
        for a in lows.reversed() {
            let span = b.index - a.index
            if span < minSpan { continue }
            if span > maxSpan { break }
            let bottom = Swift.min(a.price, b.price), higherTrough = Swift.max(a.price, b.price)
            guard Swift.abs(a.price - b.price) <= peakTolerance * higherTrough else { continue }
            var peak = -Double.infinity, peakIdx = a.index + 1, blocked = false
            for i in a.index + 1..<b.index {
                if l[i] < higherTrough { blocked = true; break }
                if h[i] > peak { peak = h[i]; peakIdx = i }
            }
            if blocked { continue }
            let height = peak - higherTrough
            guard height >= minDepth * higherTrough else { continue }
            let similarity = 1 - Swift.abs(a.price - b.price) / (peakTolerance * higherTrough)
            let depth = (height / higherTrough) / (2 * minDepth)
            return Candidate(
                pattern: .doubleBottom, start: a.index, lastPoint: b.confirmedAt, extreme: bottom,
                neckline: .horizontal(at: peakIdx, price: peak), expires: b.index + maxSpan,
                score: 0.4 * clamp(similarity) + 0.4 * clamp(depth), height: height)
        }
        return nil
    }

    /// The last three swings (highs, or lows when `inverse`) as shoulders and
    /// head; `other` is the opposite column (lows for the neckline of a top).
    func headAndShoulders(_ swings: [SwingPoint], _ other: UnsafeBufferPointer<Double>, inverse: Bool) -> Candidate? {
        guard swings.count >= 3 else { return nil }
        let left = swings[swings.count - 3], head = swings[swings.count - 2], right = swings[swings.count - 1]
        guard right.index - left.index <= 2 * maxSpan, head.index - left.index >= 2, right.index - head.index >= 2 else { return nil }
        let (L, H, R) = inverse ? (-left.price, -head.price, -right.price) : (left.price, head.price, right.price)
        let scale = Swift.abs(head.price)
        guard H - Swift.max(L, R) >= headMargin * scale else { return nil }
        let shoulderTop = Swift.max(Swift.abs(left.price), Swift.abs(right.price))
        guard Swift.abs(left.price - right.price) <= shoulderTolerance * shoulderTop else { return nil }
        // Neckline anchors: the lowest low (highest high when inverse) in each gap.
        func anchor(_ from: Int, _ to: Int) -> (Int, Double) {
            var best = from + 1, value = other[from + 1]
            for i in from + 1..<to {
                let v = other[i]
                if inverse ? v > value : v < value { value = v; best = i }
            }
            return (best, value)
        }
        let (i1, p1) = anchor(left.index, head.index)
        let (i2, p2) = anchor(head.index, right.index)
        let neckline = Neckline(startIndex: i1, startPrice: p1, endIndex: i2, endPrice: p2)
        let neckFar = inverse ? Swift.max(p1, p2) : Swift.min(p1, p2)
        let height = Swift.abs(head.price - neckFar)
        guard height > 0 else { return nil }
        // The shoulders must stand clear of the neckline.
        guard
            inverse
                ? (left.price < neckline.value(at: left.index) && right.price < neckline.value(at: right.index))
                : (left.price > neckline.value(at: left.index) && right.price > neckline.value(at: right.index))
        else { return nil }
        let symmetry = 1 - Swift.abs(left.price - right.price) / (shoulderTolerance * shoulderTop)
        let prominence = ((H - Swift.max(L, R)) / scale) / (2 * headMargin)
        let drift = Swift.abs(neckline.value(at: right.index) - neckline.value(at: left.index))
        let flatness = 1 - drift / height
        return Candidate(
            pattern: inverse ? .inverseHeadAndShoulders : .headAndShoulders,
            start: left.index, lastPoint: right.confirmedAt, extreme: head.price,
            neckline: neckline, expires: right.index + (right.index - left.index),
            score: 0.35 * clamp(symmetry) + 0.35 * clamp(prominence) + 0.3 * clamp(flatness),
            height: height)
    }
}
