/// Backtests accepted signals (stage 9, **analysis**). Pure: columns in,
/// report out, no I/O.
///
/// ## Rules, per input
/// - **One position at a time.** A signal at bar `t` enters at `open[t+1]`
///   when no position is open after bar `t` and no entry is already pending;
///   otherwise it is skipped (counted in `skipped_signals`). A trade that
///   exits during bar `t` leaves room for a signal at `t`. A signal on the last
///   bar is skipped, and so is one whose entry open is not strictly between
///   its stop and target (long: `stop < open < target`; short mirrored).
/// - **Costs.** Bar prices are mids. A buy fills at `mid + h`, a sell at
///   `mid − h` with the half spread `h = spread/2 + mid·spread_bps/20000 +
///   slippage` (the input's ``CostModel`` and the signal's slippage), and
///   `(commission + commission_bps/10⁴) × units × fill` is charged on each side.
/// - **Sizing.** `risk`: `units = equity · risk_fraction / |entry fill − stop|`
///   with the realized equity at entry; `units`: a fixed number of units.
/// - **Exits**, checked on every bar from the entry bar on, in this order:
///   1. (after the entry bar) the bar opens beyond the stop → exit at that open
///      (`stop`); beyond the target → exit at that open (`target`);
///   2. the stop lies within the bar's range (long: `low ≤ stop`) → exit at
///      the stop; so when a bar reaches both stop and target, the **stop is
///      assumed first** (conservative);
///   3. the target lies within the range → exit at the target;
///   4. the bar is the `max_holding_bars`-th of the trade (the entry bar is
///      the first) → exit at its close (`time`);
///   5. the bar is the last one → exit at its close (`end_of_data`).
///   The exit fill is that price ∓ half the spread.
/// - **P&L**: `pnl = d·units·(exit − entry) − commission·units·(entry + exit)`
///   with `d = ±1`; `r = pnl / (units·|entry − stop|)` (entry = the fill).
/// - **Equity** at each bar's close: realized equity plus
///   `d·units·(close − entry)` for an open position.
///
/// ## Combining inputs
/// Every input starts with its own `initial_equity`. The combined curve runs
/// over the union of all bar timestamps; at each it adds, per input, the
/// equity of that input's latest bar opened at or before it (its initial
/// equity before its first bar). The summary's trade figures pool all trades;
/// its Sharpe uses the annualization of the input with the shortest bars; its exposure counts the points at
/// which any input's latest bar, still running, held a position. With inputs on
/// one timeframe and one time index (as merged) this is exact; with mixed
/// timeframes it is an approximation.
public enum Backtest {
    /// Backtests one input.
    ///
    /// - Parameters:
    ///   - input: the bars and signals.
    ///   - config: costs, limits, sizing; validated first. Default ``AnalysisConfig/init()``.
    /// - Returns: the figures, one equity point per bar, and the trades in order.
    /// - Throws: ``AnalysisError`` for an invalid config or input, naming the field.
    public static func run(_ input: BacktestInput, config: AnalysisConfig = AnalysisConfig()) throws(AnalysisError) -> BacktestResult {
        try config.validate()
        return try simulate(input, config: config).result
    }

    /// Backtests several inputs (e.g. one per symbol) and combines them.
    ///
    /// - Parameters:
    ///   - inputs: the inputs, each backtested on its own.
    ///   - config: shared by all; validated first. Default ``AnalysisConfig/init()``.
    /// - Returns: the results in input order, the combined curve and summary.
    ///   - checkpoint: called before each input's backtest and, while the
    ///     results are combined, after sorting the bar times and every 16,384
    ///     of them, so a caller can pause or stop the run; what it throws ends
    ///     `run`, as is. Default: nothing.
    /// - Throws: ``AnalysisError`` for an invalid config or input, naming the field.
    public static func run(
        _ inputs: [BacktestInput], config: AnalysisConfig = AnalysisConfig(),
        checkpoint: () throws(AnalysisError) -> Void = {}
    ) throws(AnalysisError) -> BacktestReport {
        try config.validate()
        var runs: [(result: BacktestResult, inPosition: [Bool])] = []
        for input in inputs {
            try checkpoint()
            runs.append(try simulate(input, config: config))
        }
        try checkpoint()
        return try combine(inputs, runs, config: config, checkpoint: checkpoint)
    }

    /// Bars in a calendar year of 365.25 days: `365.25·86400·10⁶ / barDurationMicros`:
    /// the annualization of fixed-length bars (1d → 365.25, 1h → 8,766) unless an
    /// input gives its own ``BacktestInput/periodsPerYear`` (1w → 52, 1M → 12).
    public static func barsPerYear(barDurationMicros: Int64) -> Double {
        365.25 * 86_400 * 1_000_000 / Double(barDurationMicros)
    }

    struct Position {
        var direction: Double
        var units: Double
        var entry: Double
        var stop: Double
        var target: Double
        var entryBar: Int
        var signalBar: Int
        var slippage: Double
    }

    static func simulate(
        _ input: BacktestInput, config: AnalysisConfig
    ) throws(AnalysisError) -> (result: BacktestResult, inPosition: [Bool]) {
        let queue = try input.signalBars()
        let n = input.timestamps.count
        let half = config.spread / 2
        let relativeHalf = (input.costs?.spreadBps ?? 0) / 20_000
        let fee = config.commission + (input.costs?.commissionBps ?? 0) / 10_000
        var cash = config.initialEquity
        var equity = [Double](repeating: 0, count: n)
        var inPosition = [Bool](repeating: false, count: n)
        var trades: [Trade] = []
        var skipped = 0
        var q = 0
        var pending = -1
        var position: Position?
        let open = input.open, high = input.high, low = input.low, close = input.close

        for k in 0..<n {
            if pending >= 0 {
                let s = input.signals[pending]
                pending = -1
                let d = s.direction.sign
                let o = open[k]
                let valid = d > 0 ? (s.stop < o && o < s.target) : (s.target < o && o < s.stop)
                let fill = o + d * (half + o * relativeHalf + s.slippage)
                let risk = Swift.abs(fill - s.stop)
                let units = config.sizing == .risk ? cash * config.riskFraction / risk : config.units
                if valid && risk > 0 && units.isFinite && units > 0 {
                    cash -= fee * units * fill
                    position = Position(
                        direction: d, units: units, entry: fill, stop: s.stop, target: s.target,
                        entryBar: k, signalBar: k - 1, slippage: s.slippage)
                } else {
                    skipped += 1
                }
            }
            if let p = position {
                inPosition[k] = true
                let o = open[k], h = high[k], l = low[k]
                let later = k > p.entryBar
                var exitMid = Double.nan
                var reason: ExitReason?
                if p.direction > 0 {
                    if later && o <= p.stop {
                        exitMid = o; reason = .stop
                    } else if later && o >= p.target {
                        exitMid = o; reason = .target
                    } else if l <= p.stop {
                        exitMid = p.stop; reason = .stop
                    } else if h >= p.target {
                        exitMid = p.target; reason = .target
                    }
                } else {
                    if later && o >= p.stop {
                        exitMid = o; reason = .stop
                    } else if later && o <= p.target {
                        exitMid = o; reason = .target
                    } else if h >= p.stop {
                        exitMid = p.stop; reason = .stop
                    } else if l <= p.target {
                        exitMid = p.target; reason = .target
                    }
                }
                if reason == nil {
                    if k - p.entryBar + 1 >= config.maxHoldingBars {
                        exitMid = close[k]; reason = .time
                    } else if k == n - 1 {
                        exitMid = close[k]; reason = .endOfData
                    }
                }
                if let reason {
                    let exit = exitMid - p.direction * (half + exitMid * relativeHalf + p.slippage)
                    let gross = p.direction * p.units * (exit - p.entry)
                    cash += gross - fee * p.units * exit
                    let pnl = gross - fee * p.units * (p.entry + exit)
                    trades.append(
                        Trade(
                            symbol: input.symbol, timeframe: input.timeframe,
                            direction: p.direction > 0 ? .long : .short,
                            signalTime: input.timestamps[p.signalBar],
                            entryTime: input.timestamps[p.entryBar], entryPrice: p.entry,
                            exitTime: input.timestamps[k], exitPrice: exit, exitReason: reason,
                            units: p.units, stop: p.stop, target: p.target,
                            pnl: pnl, r: pnl / (p.units * Swift.abs(p.entry - p.stop)),
                            barsHeld: k - p.entryBar + 1))
                    position = nil
                }
            }
            if let p = position {
                equity[k] = cash + p.direction * p.units * (close[k] - p.entry)
            } else {
                equity[k] = cash
            }
            while q < queue.count && queue[q].bar == k {
                if position == nil && pending < 0 && k + 1 < n { pending = queue[q].signal } else { skipped += 1 }
                q += 1
            }
        }

        let held = inPosition.reduce(0) { $0 + ($1 ? 1 : 0) }
        let metrics = Self.metrics(
            equity: equity, initial: config.initialEquity, trades: trades, barsInPosition: held,
            skipped: skipped, barsPerYear: input.annualization)
        var curve: [EquityPoint] = []
        curve.reserveCapacity(n)
        for k in 0..<n { curve.append(EquityPoint(timestamp: input.timestamps[k], equity: equity[k])) }
        let result = BacktestResult(
            symbol: input.symbol, timeframe: input.timeframe, metrics: metrics,
            equityCurve: curve, trades: trades)
        return (result, inPosition)
    }

    /// The figures of an equity curve and its trades.
    static func metrics(
        equity: [Double], initial: Double, trades: [Trade], barsInPosition: Int,
        skipped: Int, barsPerYear: Double
    ) -> BacktestMetrics {
        var wins = 0, losses = 0
        var grossProfit = 0.0, grossLoss = 0.0, sumR = 0.0
        for t in trades {
            if t.pnl > 0 { wins += 1; grossProfit += t.pnl } else if t.pnl < 0 { losses += 1; grossLoss -= t.pnl }
            sumR += t.r
        }
        let count = trades.count
        let profitFactor: Double = grossLoss > 0 ? grossProfit / grossLoss : (grossProfit > 0 ? .infinity : .nan)

        // Per-bar returns, the first against the initial equity.
        let n = equity.count
        var sharpe = Double.nan
        if n >= 2 {
            var sum = 0.0
            var previous = initial
            for e in equity { sum += e / previous - 1; previous = e }
            let mean = sum / Double(n)
            var squares = 0.0
            previous = initial
            for e in equity { let d = e / previous - 1 - mean; squares += d * d; previous = e }
            let sd = (squares / Double(n - 1)).squareRoot()
            if sd > 0 { sharpe = mean / sd * barsPerYear.squareRoot() }
        }
        var peak = initial, maxDrawdown = 0.0
        for e in equity {
            if e > peak { peak = e }
            let dd = (peak - e) / peak
            if dd > maxDrawdown { maxDrawdown = dd }
        }
        let final = equity.last ?? initial
        return BacktestMetrics(
            bars: n, trades: count, wins: wins, losses: losses,
            winRate: count > 0 ? Double(wins) / Double(count) : .nan,
            averageR: count > 0 ? sumR / Double(count) : .nan,
            grossProfit: grossProfit, grossLoss: grossLoss, profitFactor: profitFactor,
            netProfit: trades.reduce(0) { $0 + $1.pnl },
            initialEquity: initial, finalEquity: final, totalReturn: final / initial - 1,
            sharpe: sharpe, maxDrawdown: maxDrawdown,
            exposure: n > 0 ? Double(barsInPosition) / Double(n) : 0,
            skippedSignals: skipped, periodsPerYear: barsPerYear)
    }

    /// Combines the runs on the union of their timestamps (see ``Backtest``).
    static func combine(
        _ inputs: [BacktestInput], _ runs: [(result: BacktestResult, inPosition: [Bool])],
        config: AnalysisConfig, checkpoint: () throws(AnalysisError) -> Void = {}
    ) throws(AnalysisError) -> BacktestReport {
        var times: [Int64] = []
        for input in inputs { times.append(contentsOf: input.timestamps) }
        times.sort()
        try checkpoint()
        var unique: [Int64] = []
        unique.reserveCapacity(times.count)
        for t in times where unique.last != t { unique.append(t) }

        var cursor = [Int](repeating: -1, count: inputs.count)
        var equity = [Double](repeating: 0, count: unique.count)
        var held = 0
        for (u, time) in unique.enumerated() {
            if u & 16_383 == 16_383 { try checkpoint() }
            var total = 0.0
            var any = false
            for i in inputs.indices {
                let ts = inputs[i].timestamps
                var j = cursor[i]
                while j + 1 < ts.count && ts[j + 1] <= time { j += 1 }
                cursor[i] = j
                if j >= 0 {
                    total += runs[i].result.equityCurve[j].equity
                    if runs[i].inPosition[j] && time < inputs[i].closeTime(j) { any = true }
                } else {
                    total += config.initialEquity
                }
            }
            equity[u] = total
            if any { held += 1 }
        }
        try checkpoint()
        let trades = runs.flatMap(\.result.trades)
        let shortest = inputs.min { $0.barDurationMicros < $1.barDurationMicros }
        var summary = metrics(
            equity: equity, initial: config.initialEquity * Double(inputs.count), trades: trades,
            barsInPosition: held, skipped: runs.reduce(0) { $0 + $1.result.metrics.skippedSignals },
            barsPerYear: shortest?.annualization ?? barsPerYear(barDurationMicros: 1))
        if inputs.isEmpty { summary.totalReturn = 0 }
        var curve: [EquityPoint] = []
        curve.reserveCapacity(unique.count)
        for (u, time) in unique.enumerated() { curve.append(EquityPoint(timestamp: time, equity: equity[u])) }
        return BacktestReport(summary: summary, equityCurve: curve, results: runs.map(\.result))
    }
}
