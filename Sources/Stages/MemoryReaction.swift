import Logging
import Pipeline

/// What a table stage does about memory pressure, decided anew at each of its
/// units of work (a timeframe's table): at `shrink` (80 % of the budget) it
/// lets go of the input tables it has consumed whose checkpoint is on disk; at
/// `spill` (90 %) it also keeps its own tables on disk only (their checkpoint),
/// so that the next stage reads them back one timeframe at a time.
///
/// The computation is the same either way (a table read back from its
/// checkpoint is bit for bit the one written), so the results do not depend on
/// the pressure. The first time a stage reacts at a level, it logs "memory
/// pressure: …" and records a `memory_streaming` event naming the stage, the
/// pressure, the reaction and the unit of work. Used by one runner thread.
struct MemoryReaction {
    let context: StageContext
    private var reported: MemoryPressure = .normal

    init(_ context: StageContext) { self.context = context }

    /// The pressure now, reported the first time it reaches a level in this stage.
    /// - Parameter unit: the unit of work about to be done (`timeframe 15m`), for the log and the event.
    /// - Throws: what recording the event throws (e.g. the run lost its lease).
    mutating func level(_ unit: String) throws -> MemoryPressure {
        let now = context.memoryPressure
        guard now > reported else { return now }
        reported = now
        let reaction =
            now == .spill
            ? "tables stream through their checkpoint files, read back one timeframe at a time"
            : "consumed input tables are let go (they are on disk)"
        context.logger.notice(
            "memory pressure: \(reaction)",
            metadata: ["pressure": "\(now)", "unit": "\(unit)", "budget_bytes": "\(context.memoryBudgetBytes ?? 0)"])
        try context.event(
            "memory_streaming",
            ["stage": context.stage, "pressure": "\(now)", "reaction": now == .spill ? "stream" : "shrink", "unit": unit])
        return now
    }
}
