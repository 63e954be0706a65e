/// When a walk-forward model refits.
///
/// The first fit is attempted at the first bar where `minTrain` valid
/// training samples are known; afterwards every `refitEvery` bars after the
/// previous attempt. Each decision depends only on data up to the current bar,
/// so cutting the series later cannot change it.
struct RefitSchedule {
    let refitEvery: Int
    let minTrain: Int
    private var lastAttempt = -1

    init(refitEvery: Int, minTrain: Int) {
        self.refitEvery = refitEvery
        self.minTrain = minTrain
    }

    /// Whether to refit at bar `t` given `known` valid samples so far; records the attempt.
    @inline(__always)
    mutating func due(at t: Int, known: Int) -> Bool {
        let due = lastAttempt < 0 ? known >= minTrain : t - lastAttempt >= refitEvery
        if due { lastAttempt = t }
        return due
    }
}
