/// How much of an independent observation each triple-barrier outcome is.
public enum SampleUniqueness {
    /// The average uniqueness of every resolved signal's outcome (López de
    /// Prado, *AFML* ch. 4.4): with `c(τ)` the number of outcomes of the same
    /// symbol (any timeframe) still undecided at time `τ` — known at or before
    /// `τ`, resolved after it, or never —
    /// `uᵢ = (1 / (eᵢ − sᵢ)) · ∫_{sᵢ}^{eᵢ} dτ / c(τ)` over the signal's life from
    /// its known time `sᵢ` to its `resolved_at` `eᵢ`. 1 for an outcome that
    /// overlaps no other, `1/k` when `k` run side by side throughout: the
    /// labels of overlapping outcomes share the same price moves, so they count
    /// as that much of one independent observation. NaN for open signals.
    ///
    /// Causal: `c(τ)` for `τ ≤ eᵢ` depends only on signals known by `eᵢ` and on
    /// whether they had resolved by `τ`, all known at `eᵢ`; the running
    /// integral is summed in time order, so it is the same, to the last bit,
    /// on data cut at any time after `eᵢ`. O(n log n) (one sort).
    ///
    /// - Parameters:
    ///   - knownAt: when each signal is known (its bar's close, µs).
    ///   - resolvedAt: when its outcome resolved (µs), `Int64.max` while open.
    ///   - group: its symbol's index; lives overlap only within a group.
    /// - Returns: `uᵢ` in (0, 1] per signal, NaN for an open one.
    public static func average(knownAt: [Int64], resolvedAt: [Int64], group: [Int32]) -> [Double] {
        let n = knownAt.count
        var u = [Double](repeating: .nan, count: n)
        // Events: start (kind 1) and end (kind 0) of every signal's life; at
        // one time ends are applied before starts (a life is [s, e)).
        var events: [(group: Int32, time: Int64, kind: Int8, signal: Int32)] = []
        events.reserveCapacity(2 * n)
        for i in 0..<n {
            events.append((group[i], knownAt[i], 1, Int32(i)))
            if resolvedAt[i] != .max { events.append((group[i], resolvedAt[i], 0, Int32(i))) }
        }
        events.sort { a, b in
            a.group != b.group
                ? a.group < b.group : a.time != b.time ? a.time < b.time : a.kind != b.kind ? a.kind < b.kind : a.signal < b.signal
        }
        var integralAtStart = [Double](repeating: 0, count: n)
        var k = 0
        while k < events.count {
            let g = events[k].group
            var active = 0
            var integral = 0.0
            var last = events[k].time
            while k < events.count && events[k].group == g {
                let e = events[k]
                if active > 0 { integral += Double(e.time - last) / Double(active) }
                last = e.time
                let i = Int(e.signal)
                if e.kind == 1 {
                    integralAtStart[i] = integral
                    active += 1
                } else {
                    let life = Double(resolvedAt[i] - knownAt[i])
                    u[i] = life > 0 ? Swift.min(1, Swift.max(0, (integral - integralAtStart[i]) / life)) : 1
                    active -= 1
                }
                k += 1
            }
        }
        return u
    }
}
