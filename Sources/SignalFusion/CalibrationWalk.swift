/// The walk-forward calibration of `quality` (meta-labeling).
///
/// Signals are visited in the order they become known (their bar's close,
/// ties in fusion order). Before a signal is scored, every signal whose
/// outcome resolved at or before its bar's close joins the training set (in
/// order of `resolved_at`, ties in fusion order), with label `R > 0`. Once
/// the set holds `min_history` signals the ``QualityModel`` is fitted, and it
/// is refitted (warm-started) whenever the set has grown by
/// `max(refit_every, 10 %)` since the last fit — so O(log n) refits of O(n)
/// each after the first `refit_every`-spaced ones, O(n log n) in all.
/// A signal scored by the model gets `quality = P(R > 0)`; one scored before
/// the first fit keeps the prior and the flag `flag:calibration_warmup`.
/// Nothing here reads a bar after the signal's close: its outcome is only
/// used for signals that are known after it resolved.
struct CalibrationWalk {
    typealias Features = (Double, Double, Double, Double, Double, Double, Double, Double)
    var knownAt: [Int64] = []
    /// The symbol's index: outcomes of one symbol overlap in time on one price path.
    var group: [Int32] = []
    var features: [Double] = []

    init(capacity: Int) {
        knownAt.reserveCapacity(capacity)
        group.reserveCapacity(capacity)
        features.reserveCapacity(capacity * QualityModel.featureCount)
    }

    mutating func add(knownAt time: Int64, group g: Int, _ x: Features) {
        knownAt.append(time)
        group.append(Int32(g))
        features.append(contentsOf: [x.0, x.1, x.2, x.3, x.4, x.5, x.6, x.7])
    }

    func run(
        _ signals: inout [FusedSignal], config: FusionConfig, checkpoint: () throws(FusionError) -> Void
    ) throws(FusionError) {
        let n = signals.count
        let p = QualityModel.featureCount
        let known = knownAt
        try checkpoint()
        let order = (0..<n).sorted { known[$0] != known[$1] ? known[$0] < known[$1] : $0 < $1 }
        try checkpoint()
        var resolvedTime = [Int64](repeating: .max, count: n)
        for i in 0..<n { if let r = signals[i].outcome.resolvedAt { resolvedTime[i] = r } }
        try checkpoint()
        let resolved = (0..<n).filter { resolvedTime[$0] != .max }
            .sorted { resolvedTime[$0] != resolvedTime[$1] ? resolvedTime[$0] < resolvedTime[$1] : $0 < $1 }
        try checkpoint()
        let unique = SampleUniqueness.average(knownAt: known, resolvedAt: resolvedTime, group: group)
        try checkpoint()
        var x: [Double] = []
        var y: [Double] = []
        var uniquenessSum = 0.0
        x.reserveCapacity(resolved.count * p)
        y.reserveCapacity(resolved.count)
        var model = QualityModel()
        var fitted = false
        var lastFit = 0
        var next = 0
        var stopped: FusionError?
        features.withUnsafeBufferPointer { f in
            for (visited, i) in order.enumerated() {
                if visited & 4095 == 4095 {
                    do throws(FusionError) { try checkpoint() } catch {
                        stopped = error
                        return
                    }
                }
                while next < resolved.count && resolvedTime[resolved[next]] <= known[i] {
                    let j = resolved[next]
                    x.append(contentsOf: f[j * p..<(j + 1) * p])
                    y.append((signals[j].outcome.r ?? 0) > 0 ? 1 : 0)
                    uniquenessSum += unique[j]
                    next += 1
                }
                let m = y.count
                // Evidence is the effective sample Σu = m·ū (overlapping outcomes
                // count as fractions of one): the first fit waits for
                // `min_history` of it, and the penalty weighs against it.
                if uniquenessSum >= Double(config.minHistory)
                    && (!fitted || m >= lastFit + Swift.max(config.refitEvery, lastFit / 10))
                {
                    let meanUniqueness = Swift.max(uniquenessSum / Double(m), 1e-6)
                    // A fit on many signals takes tens of milliseconds: a checkpoint before each of its steps.
                    do throws(FusionError) {
                        try model.fit(x: x, y: y, count: m, lambda: config.calibrationL2 / meanUniqueness, checkpoint: checkpoint)
                    } catch {
                        stopped = error
                        return
                    }
                    fitted = true
                    lastFit = m
                }
                if fitted {
                    signals[i].quality = model.predict(UnsafeBufferPointer(rebasing: f[i * p..<(i + 1) * p]))
                } else {
                    signals[i].sources.append("flag:calibration_warmup")
                }
                signals[i].accepted = signals[i].quality >= config.qualityThreshold
            }
        }
        if let stopped { throw stopped }
    }
}
