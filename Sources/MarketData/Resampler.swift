/// Resamples OHLCV bars to a coarser timeframe on UTC-aligned buckets.
///
/// Each output bar covers one bucket of the target timeframe (weeks start on
/// Monday 00:00 UTC, months on the 1st 00:00 UTC and end when the next month
/// starts) and takes open = first, high = max, low = min, close = last,
/// volume = sum of the input bars in it; extra columns take the bucket's last
/// value. A bucket with no input bar produces no bar. Output timestamps are the
/// buckets' open times.
///
/// The resampler is a state you feed chunks to, in time order: ``feed(_:)``
/// returns the bars that are complete, and keeps the last, possibly unfinished
/// bucket until the next chunk or ``finish()``. Memory is bounded by the chunk
/// size, so a dataset larger than memory resamples chunk by chunk.
/// ``resample(_:to:)`` does a whole series at once.
public struct Resampler: Sendable {
    /// The timeframe produced.
    public let target: Timeframe
    private var pending: PendingBar? = nil
    private var extraNames: [String]? = nil
    private var symbol = ""

    private struct PendingBar: Sendable {
        var time: Int64
        var open: Double, high: Double, low: Double, close: Double, volume: Double
        var extras: [Double]
    }

    /// Creates a resampler.
    /// - Parameter target: the timeframe to produce.
    public init(to target: Timeframe) {
        self.target = target
    }

    /// Resamples a whole series.
    ///
    /// A series whose timeframe already is `target` is returned untouched (the
    /// same arrays, not copies).
    /// - Parameters:
    ///   - series: bars in increasing time order.
    ///   - target: the timeframe to produce.
    /// - Returns: the resampled series, with timeframe `target`.
    /// - Throws: ``MarketDataError`` (`.resample`) when `target` is finer than the series' timeframe,
    ///   or its buckets are not whole numbers of the series' bars (`1w` → `1M`).
    public static func resample(_ series: OHLCVSeries, to target: Timeframe) throws(MarketDataError) -> OHLCVSeries {
        if series.timeframe == target { return series }
        var resampler = Resampler(to: target)
        var out = try resampler.feed(series)
        out.append(contentsOf: resampler.finish())
        return out
    }

    /// Feeds the next chunk of bars (later than every bar fed before).
    /// - Parameter chunk: bars in increasing time order.
    /// - Returns: the bars completed by this chunk (may be empty). A chunk whose
    ///   timeframe already is the target comes back untouched.
    /// - Throws: ``MarketDataError`` (`.resample`) when `target` is finer than the chunk's timeframe,
    ///   or its buckets are not whole numbers of the chunk's bars (`1w` → `1M`).
    public mutating func feed(_ chunk: OHLCVSeries) throws(MarketDataError) -> OHLCVSeries {
        if let tf = chunk.timeframe, tf > target {
            throw MarketDataError(.resample, reason: "cannot resample \(tf) bars to the finer timeframe \(target)")
        }
        if let tf = chunk.timeframe, !tf.nests(in: target) {
            throw MarketDataError(
                .resample, reason: "cannot resample \(tf) bars to \(target): a \(tf) bar can straddle two \(target) bars")
        }
        if extraNames == nil {
            extraNames = chunk.extras.map(\.name)
            symbol = chunk.symbol
        }
        if chunk.timeframe == target && pending == nil { return chunk }
        let n = chunk.count
        let extraCount = chunk.extras.count
        if n == 0 { return .empty(symbol: symbol, timeframe: target, extraNames: extraNames ?? []) }
        // Upper bound on the number of buckets in this chunk (each at least the
        // timeframe's shortest length), plus a pending bar.
        let firstBucket = target.bucketStart(chunk.timestamps[0])
        let span = (chunk.timestamps[n - 1] - firstBucket) / target.minimumDurationMicros + 1
        let capacity = Int(min(Int64(n), span)) + 1

        let outTime = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
        let outValues = UnsafeMutablePointer<Double>.allocate(capacity: capacity * (5 + extraCount))
        defer { outTime.deallocate(); outValues.deallocate() }
        let oOpen = outValues, oHigh = outValues + capacity, oLow = outValues + 2 * capacity
        let oClose = outValues + 3 * capacity, oVolume = outValues + 4 * capacity
        var count = 0
        // A bar that continues from the previous chunk goes on summing its
        // volume in input order (not sum(previous) + sum(this chunk), whose
        // rounding would depend on where the chunks were cut).
        let carried = pending

        chunk.timestamps.withUnsafeBufferPointer { ts in
            chunk.open.withUnsafeBufferPointer { open in
                chunk.high.withUnsafeBufferPointer { high in
                    chunk.low.withUnsafeBufferPointer { low in
                        chunk.close.withUnsafeBufferPointer { close in
                            chunk.volume.withUnsafeBufferPointer { volume in
                                let t = ts.baseAddress!
                                var i = 0
                                var lastLength = 1
                                while i < n {
                                    let bucket = target.bucketStart(t[i])
                                    let bucketEnd = target.closeTime(ofBarOpeningAt: bucket)
                                    let j = Self.firstIndex(atOrAfter: bucketEnd, in: t, from: i, count: n, guess: i + lastLength)
                                    lastLength = j - i
                                    outTime[count] = bucket
                                    oOpen[count] = open[i]
                                    oClose[count] = close[j - 1]
                                    oHigh[count] = Self.maximum(high.baseAddress!, i, j)
                                    oLow[count] = Self.minimum(low.baseAddress!, i, j)
                                    let start = count == 0 && carried?.time == bucket ? carried?.volume ?? 0 : 0
                                    oVolume[count] = Self.sum(volume.baseAddress!, i, j, startingAt: start)
                                    for e in 0..<extraCount {
                                        outValues[(5 + e) * capacity + count] = chunk.extras[e].values[j - 1]
                                    }
                                    count += 1
                                    i = j
                                }
                            }
                        }
                    }
                }
            }
        }

        // Merge the bar pending from the previous chunk into the first bucket, or emit it first.
        var emitPendingFirst: PendingBar? = nil
        if let p = pending {
            if p.time == outTime[0] {
                oOpen[0] = p.open
                oHigh[0] = max(p.high, oHigh[0])
                oLow[0] = min(p.low, oLow[0])  // (its volume was the sum's start)
            } else {
                emitPendingFirst = p
            }
        }
        // The last bucket may continue in the next chunk.
        let last = count - 1
        pending = PendingBar(
            time: outTime[last], open: oOpen[last], high: oHigh[last], low: oLow[last], close: oClose[last],
            volume: oVolume[last], extras: (0..<extraCount).map { outValues[(5 + $0) * capacity + last] })
        count -= 1

        func column(_ p: UnsafeMutablePointer<Double>, _ first: Double?) -> [Double] {
            var a: [Double] = []
            a.reserveCapacity(count + 1)
            if let first { a.append(first) }
            a.append(contentsOf: UnsafeBufferPointer(start: p, count: count))
            return a
        }
        var times: [Int64] = []
        times.reserveCapacity(count + 1)
        if let e = emitPendingFirst { times.append(e.time) }
        times.append(contentsOf: UnsafeBufferPointer(start: outTime, count: count))
        let names = extraNames ?? []
        return OHLCVSeries(
            symbol: symbol, timeframe: target, timestamps: times,
            open: column(oOpen, emitPendingFirst?.open), high: column(oHigh, emitPendingFirst?.high),
            low: column(oLow, emitPendingFirst?.low), close: column(oClose, emitPendingFirst?.close),
            volume: column(oVolume, emitPendingFirst?.volume),
            extras: names.enumerated().map { e, name in
                NamedColumn(name: name, values: column(outValues + (5 + e) * capacity, emitPendingFirst?.extras[e]))
            })
    }

    /// Ends the input and returns the last bar (if any bar was fed).
    /// - Returns: zero or one bar.
    public mutating func finish() -> OHLCVSeries {
        let names = extraNames ?? []
        guard let p = pending else { return .empty(symbol: symbol, timeframe: target, extraNames: names) }
        pending = nil
        return OHLCVSeries(
            symbol: symbol, timeframe: target, timestamps: [p.time], open: [p.open], high: [p.high], low: [p.low],
            close: [p.close], volume: [p.volume],
            extras: names.enumerated().map { NamedColumn(name: $1, values: [p.extras[$0]]) })
    }

    // MARK: - Kernels

    /// The first index `j > from` with `t[j] >= bound`, or `count`; tries `guess` first, then gallops.
    @inline(__always)
    static func firstIndex(
        atOrAfter bound: Int64, in t: UnsafePointer<Int64>, from: Int, count: Int, guess: Int
    ) -> Int {
        if guess > from && guess <= count && t[guess - 1] < bound && (guess == count || t[guess] >= bound) {
            return guess
        }
        // Gallop: find a step where t[from + step] >= bound, then binary search.
        var lo = from  // t[lo] < bound
        var step = 1
        var hi = from + 1
        while hi < count && t[hi] < bound {
            lo = hi
            step &<<= 1
            hi = from + step
        }
        if hi > count { hi = count }
        // Invariant: t[lo] < bound, and hi == count or t[hi] >= bound.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if t[mid] < bound { lo = mid } else { hi = mid }
        }
        return hi
    }

    @inline(__always)
    static func maximum(_ p: UnsafePointer<Double>, _ from: Int, _ to: Int) -> Double {
        var m0 = p[from], m1 = m0, m2 = m0, m3 = m0
        var i = from + 1
        while i + 4 <= to {
            m0 = p[i] > m0 ? p[i] : m0
            m1 = p[i + 1] > m1 ? p[i + 1] : m1
            m2 = p[i + 2] > m2 ? p[i + 2] : m2
            m3 = p[i + 3] > m3 ? p[i + 3] : m3
            i += 4
        }
        while i < to {
            m0 = p[i] > m0 ? p[i] : m0
            i += 1
        }
        return max(max(m0, m1), max(m2, m3))
    }

    @inline(__always)
    static func minimum(_ p: UnsafePointer<Double>, _ from: Int, _ to: Int) -> Double {
        var m0 = p[from], m1 = m0, m2 = m0, m3 = m0
        var i = from + 1
        while i + 4 <= to {
            m0 = p[i] < m0 ? p[i] : m0
            m1 = p[i + 1] < m1 ? p[i + 1] : m1
            m2 = p[i + 2] < m2 ? p[i + 2] : m2
            m3 = p[i + 3] < m3 ? p[i + 3] : m3
            i += 4
        }
        while i < to {
            m0 = p[i] < m0 ? p[i] : m0
            i += 1
        }
        return min(min(m0, m1), min(m2, m3))
    }

    /// A plain left-to-right sum (the order pandas' groupby sum uses, without its compensation).
    @inline(__always)
    static func sum(_ p: UnsafePointer<Double>, _ from: Int, _ to: Int, startingAt start: Double = 0) -> Double {
        var s = start
        var i = from
        while i < to {
            s += p[i]
            i += 1
        }
        return s
    }
}
