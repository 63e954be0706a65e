/// Swing highs and lows by a fractal window.
///
/// Bar `i` is a swing high when its high is strictly above the highs of the
/// `window` bars before it and at least the highs of the `window` bars after
/// it (so a flat top yields one swing, its first bar); a swing low mirrors
/// this on the lows. A swing needs the `window` later bars, so it is
/// confirmed at `i + window` and never uses a bar after that.
public enum SwingDetector {
    /// Whether bar `i` is a swing high, reading `high[i-window ... i+window]`.
    @inlinable
    public static func isSwingHigh(_ high: UnsafeBufferPointer<Double>, at i: Int, window: Int) -> Bool {
        guard i >= window, i + window < high.count else { return false }
        let x = high[i]
        var j = i - window
        while j < i { if !(x > high[j]) { return false }; j += 1 }
        j = i + 1
        while j <= i + window { if !(x >= high[j]) { return false }; j += 1 }
        return true
    }

    /// Whether bar `i` is a swing low, reading `low[i-window ... i+window]`.
    @inlinable
    public static func isSwingLow(_ low: UnsafeBufferPointer<Double>, at i: Int, window: Int) -> Bool {
        guard i >= window, i + window < low.count else { return false }
        let x = low[i]
        var j = i - window
        while j < i { if !(x < low[j]) { return false }; j += 1 }
        j = i + 1
        while j <= i + window { if !(x <= low[j]) { return false }; j += 1 }
        return true
    }

    /// Finds every swing high and low.
    ///
    /// - Parameters:
    ///   - high, low: the bars' highs and lows.
    ///   - window: bars on each side, ≥ 1. Default 2 (the classic 5-bar fractal).
    /// - Returns: the swings in bar order (a bar can be both a high and a low;
    ///   the high comes first).
    public static func detect(high: [Double], low: [Double], window: Int = 2) -> [SwingPoint] {
        precondition(window >= 1, "swing window must be at least 1")
        precondition(high.count == low.count, "column lengths differ")
        var swings: [SwingPoint] = []
        high.withUnsafeBufferPointer { h in
            low.withUnsafeBufferPointer { l in
                var i = window
                while i + window < h.count {
                    if isSwingHigh(h, at: i, window: window) {
                        swings.append(SwingPoint(kind: .high, index: i, price: h[i], confirmedAt: i + window))
                    }
                    if isSwingLow(l, at: i, window: window) {
                        swings.append(SwingPoint(kind: .low, index: i, price: l[i], confirmedAt: i + window))
                    }
                    i += 1
                }
            }
        }
        return swings
    }
}
