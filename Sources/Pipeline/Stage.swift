public import Foundation
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One step of an experiment's pipeline. A stage orchestrates: the math lives
/// in the computation modules, persistence in Store.
///
/// `run` is called on the experiment's runner thread (never Swift's
/// cooperative pool), so it may block. It must call `context.checkpoint()`
/// between chunks of work — every few milliseconds — so the experiment can be
/// paused and cancelled inside the stage.
public protocol Stage: Sendable {
    var name: String { get }
    func run(_ context: StageContext) throws

    /// Reloads what this stage produced in an earlier run (its checkpoint
    /// files, see `StageContext.writeCheckpoint`) into `context.artifacts`, so
    /// later stages can go on after a restart without running it again.
    /// - Returns: false when the checkpoint is missing: the stage then runs
    ///   again, and the log says so. The default (a stage with no outputs) is true.
    func restore(_ context: StageContext) throws -> Bool

    /// The stages that must run before this one in an experiment (by name).
    /// The default is none.
    var prerequisites: [String] { get }

    /// Called on the runner's thread once every stage of the experiment has
    /// completed, before its success is recorded and its `checkpoints/`
    /// folder is removed (see ``StageRegistry/compactSucceeded(_:logger:)``):
    /// keeps, outside `checkpoints/`, what is served after success (the
    /// chart's bars). The default keeps nothing.
    /// - Parameters:
    ///   - directory: the experiment's folder, `<data dir>/experiments/<id>`.
    ///   - logger: the experiment's logger.
    /// - Throws: any error, logged as a warning (it does not fail the experiment).
    func keepAfterSuccess(_ directory: URL, logger: Logger) throws
}

extension Stage {
    public func restore(_ context: StageContext) throws -> Bool { true }
    public var prerequisites: [String] { [] }
    public func keepAfterSuccess(_ directory: URL, logger: Logger) throws {}
}

/// What a stage gets: the experiment's request (the stages module decodes it
/// once per run into a typed plan, kept in `artifacts`), the artifacts earlier
/// stages produced, a logger bound to the experiment and stage, its progress
/// node, and the checkpoint.
public final class StageContext: @unchecked Sendable {
    // Used by one runner thread at a time; the artifacts box is locked.
    public let experimentID: UUID
    public let stage: String
    /// The whole normalized request, as JSON, as stored.
    public let request: Data
    public let logger: Logger
    public let progress: ProgressTree
    /// This stage's node in `progress` (`pipeline/<stage>`).
    public let node: String
    public let artifacts: Artifacts
    /// Where this experiment keeps checkpoints and exported files.
    public let directory: URL
    /// Datasets, the data root and artifact recording (nil when the engine has none).
    public let environment: (any StageEnvironment)?
    /// The memory pressure of the process (read it at checkpoints).
    public var memoryPressure: MemoryPressure { memory?.pressure ?? .normal }
    /// The process's memory budget in bytes (nil when the engine watches none).
    public var memoryBudgetBytes: Int64? { memory?.budgetBytes }
    let memory: MemoryMonitor?
    let gate: PauseGate
    let recordEvent: (@Sendable (_ kind: String, _ details: [String: String]) throws -> Void)?
    let runStore: RunStore?

    init(
        experimentID: UUID, stage: String, request: Data, logger: Logger, progress: ProgressTree,
        artifacts: Artifacts, directory: URL, gate: PauseGate, environment: (any StageEnvironment)? = nil,
        memory: MemoryMonitor? = nil,
        recordEvent: (@Sendable (_ kind: String, _ details: [String: String]) throws -> Void)? = nil,
        runStore: RunStore? = nil
    ) {
        self.runStore = runStore
        self.recordEvent = recordEvent
        self.environment = environment
        self.memory = memory
        self.experimentID = experimentID
        self.stage = stage
        self.request = request
        self.logger = logger
        self.progress = progress
        self.node = "pipeline/\(stage)"
        self.artifacts = artifacts
        self.directory = directory
        self.gate = gate
    }

    /// Records a notable moment of the stage in `pipeline_events` (kind,
    /// details), e.g. a model's out-of-sample figures. Without an engine
    /// behind the context it only goes to the log.
    public func event(_ kind: String, _ details: [String: String]) throws {
        guard let recordEvent else {
            logger.info("event", metadata: ["kind": "\(kind)", "details": "\(details)"])
            return
        }
        try recordEvent(kind, details)
    }

    /// Parks here while the experiment is paused; returns at once otherwise.
    /// - Throws: `StageCancelled` once the experiment is cancelled.
    public func checkpoint() throws(StageCancelled) { try gate.checkpoint() }

    /// Enrolls a thread the stage starts (e.g. a forecast model's) as one more
    /// worker of the experiment's pause gate: the experiment reads `paused`
    /// only once it, too, is parked at its checkpoint. Call `leave()` when the
    /// thread's work ends.
    public func joinWorker() -> PauseGate.Worker { gate.join() }

    /// The experiment's paused (and otherwise suspended) time so far in this
    /// run: leave its growth out of timeouts and durations.
    public var suspendedTime: Duration { gate.suspendedTime }

    /// Runs a wait that is not work (e.g. for an unreachable PostgreSQL) with
    /// its time counted as suspended (see ``PauseGate/suspend(_:)``).
    public func suspend<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T { try gate.suspend(body) }

    /// Where this stage's checkpoint files live (`<experiment>/checkpoints/<stage>`).
    public var checkpointDirectory: URL { directory.appendingPathComponent("checkpoints/\(stage)") }

    /// Writes a checkpoint file atomically (a temporary file renamed into place).
    public func writeCheckpoint(_ name: String, _ bytes: [UInt8]) throws {
        let dir = checkpointDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(name).\(uniqueTemporarySuffix()).tmp")
        try Data(bytes).write(to: tmp)
        guard rename(tmp.path, dir.appendingPathComponent(name).path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: dir.appendingPathComponent(name).path])
        }
    }

    /// A checkpoint file written by this stage in an earlier run, or nil.
    public func readCheckpoint(_ name: String) -> [UInt8]? {
        (try? Data(contentsOf: checkpointDirectory.appendingPathComponent(name))).map { [UInt8]($0) }
    }
}

/// Typed values handed from stage to stage, by name.
public final class Artifacts: Sendable {
    private let values = Mutex<[String: any Sendable]>([:])

    public init() {}

    public func set<T: Sendable>(_ name: String, _ value: T) { values.withLock { $0[name] = value } }

    public func get<T: Sendable>(_ name: String, as type: T.Type = T.self) -> T? { values.withLock { $0[name] as? T } }

    public func remove(_ name: String) { _ = values.withLock { $0.removeValue(forKey: name) } }

    public var names: [String] { values.withLock { Array($0.keys).sorted() } }
}

/// The stages a build knows, in pipeline order: what the engine runs, and
/// the names, order and prerequisites that requests are checked against.
/// The engine knows stages only through this (it names none itself).
public struct StageRegistry: Sendable {
    private var stages: [String: any Stage] = [:]
    /// The stage names in pipeline order (the order they were registered in).
    public private(set) var names: [String] = []

    /// - Parameter stages: the stages in pipeline order; a later stage of the
    ///   same name replaces an earlier one in its place.
    public init(_ stages: [any Stage] = []) {
        for s in stages { register(s) }
    }

    /// Adds `stage` at the end of the order (or replaces the stage of its name in place).
    public mutating func register(_ stage: any Stage) {
        if stages[stage.name] == nil { names.append(stage.name) }
        stages[stage.name] = stage
    }

    public func stage(_ name: String) -> (any Stage)? { stages[name] }

    /// The position of `name` in the pipeline order, or nil when unknown.
    public func position(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The stages `name` needs to have run before it (empty when unknown).
    public func prerequisites(of name: String) -> [String] { stages[name]?.prerequisites ?? [] }

    public var isEmpty: Bool { stages.isEmpty }

    /// Compacts a succeeded experiment's folder: each stage keeps what is
    /// served after success (``Stage/keepAfterSuccess(_:logger:)``), then
    /// `checkpoints/` — tables, candidate signals, stage checkpoint files —
    /// is removed: a succeeded experiment never runs again (retry takes only
    /// failed, cancelled or interrupted ones), so nothing reads them. A
    /// failure is logged as a warning, never the experiment's.
    /// - Parameters:
    ///   - directory: the experiment's folder, `<data dir>/experiments/<id>`.
    ///   - logger: the experiment's logger.
    public func compactSucceeded(_ directory: URL, logger: Logger) {
        for name in names {
            do { try stages[name]?.keepAfterSuccess(directory, logger: logger) } catch {
                logger.warning("cannot keep what the stage serves after success", metadata: ["stage": "\(name)", "error": "\(error)"])
            }
        }
        let checkpoints = directory.appendingPathComponent("checkpoints")
        guard FileManager.default.fileExists(atPath: checkpoints.path) else { return }
        let bytes = Self.bytes(under: checkpoints)
        do {
            try FileManager.default.removeItem(at: checkpoints)
            logger.info("checkpoints removed: the experiment succeeded", metadata: ["bytes": "\(bytes)"])
        } catch {
            logger.warning("cannot remove the checkpoints", metadata: ["error": "\(error)"])
        }
    }

    /// The bytes of the regular files under `url`.
    static func bytes(under url: URL) -> Int64 {
        let files = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey])
        var total: Int64 = 0
        while let file = files?.nextObject() as? URL {
            total += Int64((try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0)
        }
        return total
    }
}

/// A suffix no other writer uses (process id and a random number), for the
/// temporary file a writer renames into place: two runners of one experiment
/// (a stale one fenced out a moment later) never write, remove or rename each
/// other's temporary files; whichever renames last leaves a complete file.
public func uniqueTemporarySuffix() -> String {
    "\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
}
