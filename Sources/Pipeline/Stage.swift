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

    /// Checks the stage's `config` section (a JSON object) before an
    /// experiment is accepted, so a bad member is a 400 at `POST` time rather
    /// than a failure minutes later. Throw an error whose description starts
    /// with `config.<stage>.<member>: ` and says why. The default accepts anything.
    func validateConfig(_ section: Data) throws
}

extension Stage {
    public func restore(_ context: StageContext) throws -> Bool { true }
    public func validateConfig(_ section: Data) throws {}
}

/// What a stage gets: the experiment's configuration, the artifacts earlier
/// stages produced, a logger bound to the experiment and stage, its progress
/// node, and the checkpoint.
public final class StageContext: @unchecked Sendable {
    // Used by one runner thread at a time; the artifacts box is locked.
    public let experimentID: UUID
    public let stage: String
    /// The stage's section of the experiment's `config`, as JSON (`{}` when absent).
    public let config: Data
    /// The whole normalized request, as JSON.
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

    init(
        experimentID: UUID, stage: String, config: Data, request: Data, logger: Logger, progress: ProgressTree,
        artifacts: Artifacts, directory: URL, gate: PauseGate, environment: (any StageEnvironment)? = nil,
        memory: MemoryMonitor? = nil,
        recordEvent: (@Sendable (_ kind: String, _ details: [String: String]) throws -> Void)? = nil
    ) {
        self.recordEvent = recordEvent
        self.environment = environment
        self.memory = memory
        self.experimentID = experimentID
        self.stage = stage
        self.config = config
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
        let tmp = dir.appendingPathComponent(".\(name).tmp")
        try Data(bytes).write(to: tmp)
        guard rename(tmp.path, dir.appendingPathComponent(name).path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: dir.appendingPathComponent(name).path])
        }
    }

    /// A checkpoint file written by this stage in an earlier run, or nil.
    public func readCheckpoint(_ name: String) -> [UInt8]? {
        (try? Data(contentsOf: checkpointDirectory.appendingPathComponent(name))).map { [UInt8]($0) }
    }

    /// Decodes this stage's config section.
    public func config<T: Decodable>(as type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: config) }
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

/// The stages a build knows, by name.
public struct StageRegistry: Sendable {
    private var stages: [String: any Stage] = [:]

    public init(_ stages: [any Stage] = []) {
        for s in stages { self.stages[s.name] = s }
    }

    public mutating func register(_ stage: any Stage) { stages[stage.name] = stage }

    public func stage(_ name: String) -> (any Stage)? { stages[name] }

    public var names: [String] { stages.keys.sorted() }

    public var isEmpty: Bool { stages.isEmpty }
}
