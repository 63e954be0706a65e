/// Triple-barrier outcome labels (López de Prado, *Advances in Financial
/// Machine Learning*, ch. 3). Pure, O(horizon) per signal.
///
/// A signal at bar `t` with direction `d` (`+1` long, `−1` short), `stop`,
/// `target` and `horizon_bars = H` is followed bar by bar, `k = t+1 … t+H`:
/// - it is filled at `open[t+1]` (`fill`), the next bar's open, as the backtest does;
/// - on every bar, first the open: at or beyond the stop → `stop` at that open,
///   at or beyond the target → `target` at that open (a gap); then the range:
///   the stop within `[low, high]` → `stop` at the stop — so a bar that reaches
///   both counts as a **stop**; else the target within it → `target` at the target;
/// - after the `H`-th bar with neither → `horizon` at its close;
/// - fewer than `H` bars after `t` and no barrier hit → `open` (undecided, no R).
///
/// `R = (d·(exit − fill) − costs) / |entry − stop|` with the round-trip
/// ``TradingCosts`` at the fill price and `ATR[t]`; `resolved_at` is the close
/// time of the deciding bar.
public enum OutcomeLabeler {
    /// The outcome of one signal.
    ///
    /// - Parameters:
    ///   - bar: the signal bar `t`.
    ///   - direction: `+1` long, `−1` short.
    ///   - entry, stop, target: the signal's levels (`entry` sets the risk `|entry − stop|`).
    ///   - horizon: `H ≥ 1`.
    ///   - cost: the round-trip cost in price units.
    ///   - closeTime: the close time of a bar.
    public static func label(
        bar t: Int, direction d: Double, entry: Double, stop: Double, target: Double, horizon: Int, cost: Double,
        open: [Double], high: [Double], low: [Double], close: [Double], closeTime: (Int) -> Int64
    ) -> SignalOutcome {
        let n = close.count
        let risk = Swift.abs(entry - stop)
        guard t + 1 < n, risk > 0, risk.isFinite else { return .open }
        let fill = open[t + 1]
        let last = t + horizon
        var k = t + 1
        while k < n && k <= last {
            let o = open[k], h = high[k], l = low[k]
            var price = Double.nan
            var exit = SignalOutcome.Exit.open
            if d > 0 {
                if o <= stop {
                    price = o; exit = .stop
                } else if o >= target {
                    price = o; exit = .target
                } else if l <= stop {
                    price = stop; exit = .stop
                } else if h >= target {
                    price = target; exit = .target
                }
            } else {
                if o >= stop {
                    price = o; exit = .stop
                } else if o <= target {
                    price = o; exit = .target
                } else if h >= stop {
                    price = stop; exit = .stop
                } else if l <= target {
                    price = target; exit = .target
                }
            }
            if exit == .open && k == last { price = close[k]; exit = .horizon }
            if exit != .open {
                let r = (d * (price - fill) - cost) / risk
                return SignalOutcome(exit: exit, r: r, resolvedAt: closeTime(k))
            }
            k += 1
        }
        return .open
    }

    /// The R multiple a signal at every bar would have had, long and short,
    /// with levels `close[t] ∓ stopMultiple·ATR[t]` / `close[t] ± targetMultiple·ATR[t]`
    /// and the given horizon: the population that random entries draw from.
    /// NaN where `ATR[t]` is undefined or the outcome is still open.
    public static func everyBar(
        open: [Double], high: [Double], low: [Double], close: [Double], atr: [Double],
        stopMultiple: Double, targetMultiple: Double, horizon: Int, costs: TradingCosts
    ) -> (long: [Double], short: [Double]) {
        everyBar(
            open: open, high: high, low: low, close: close, atr: atr, stopMultiple: stopMultiple,
            targetMultiple: targetMultiple, horizon: horizon, costs: costs, checkpoint: {})
    }

    /// ``everyBar(open:high:low:close:atr:stopMultiple:targetMultiple:horizon:costs:)``
    /// with `checkpoint` called before every 4,096 bars (a few milliseconds of
    /// work at most), so a caller can pause or stop; what it throws ends the work, as is.
    public static func everyBar(
        open: [Double], high: [Double], low: [Double], close: [Double], atr: [Double],
        stopMultiple: Double, targetMultiple: Double, horizon: Int, costs: TradingCosts,
        checkpoint: () throws -> Void
    ) rethrows -> (long: [Double], short: [Double]) {
        let n = close.count
        var long = [Double](repeating: .nan, count: n)
        var short = [Double](repeating: .nan, count: n)
        for t in 0..<n {
            if t & 4095 == 0 { try checkpoint() }
            guard atr[t].isFinite && atr[t] > 0 && t + 1 < n else { continue }
            let cost = costs.roundTrip(price: open[t + 1], atr: atr[t])
            for d in [1.0, -1.0] {
                let e = close[t]
                let o = label(
                    bar: t, direction: d, entry: e, stop: e - d * stopMultiple * atr[t],
                    target: e + d * targetMultiple * atr[t], horizon: horizon, cost: cost,
                    open: open, high: high, low: low, close: close, closeTime: { Int64($0) })
                if let r = o.r { if d > 0 { long[t] = r } else { short[t] = r } }
            }
        }
        return (long, short)
    }
}
