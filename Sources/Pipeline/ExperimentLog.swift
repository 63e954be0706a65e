public import Foundation
public import Logging

/// One structured line of an experiment's log, on its way to `pipeline_logs`.
public struct LogLine: Sendable, Equatable {
    public var experimentID: UUID
    /// Microseconds since the Unix epoch.
    public var micros: Int64
    public var level: Logger.Level
    public var stage: String?
    public var message: String
    /// The line's metadata as a JSON object.
    public var fields: String
    /// The generation of the run that emitted it (see ``Fence``): the store
    /// refuses the line once the experiment moved on to another generation
    /// (a stale runner's late lines). nil: not a runner's line, never refused.
    public var generation: Int64?

    public init(
        experimentID: UUID, micros: Int64, level: Logger.Level, stage: String?, message: String, fields: String, generation: Int64? = nil
    ) {
        self.experimentID = experimentID
        self.micros = micros
        self.level = level
        self.stage = stage
        self.message = message
        self.fields = fields
        self.generation = generation
    }
}

/// A swift-log handler bound to one experiment (and stage): every line goes
/// to the log bus, and from there to the database writer and live followers;
/// lines at `notice` and above also reach the server's own log.
public struct ExperimentLogHandler: LogHandler {
    public let experimentID: UUID
    public let stage: String?
    /// The generation of the run whose lines these are (nil: not a runner's).
    public let generation: Int64?
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let bus: EventBus<LogLine>
    let server: Logger?

    public init(experimentID: UUID, stage: String?, generation: Int64? = nil, bus: EventBus<LogLine>, server: Logger?) {
        self.experimentID = experimentID
        self.stage = stage
        self.generation = generation
        self.bus = bus
        self.server = server
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let m = event.metadata { merged.merge(m) { $1 } }
        let now = Date().timeIntervalSince1970
        bus.publish(
            LogLine(
                experimentID: experimentID, micros: Int64((now * 1_000_000).rounded()), level: event.level, stage: stage,
                message: event.message.description, fields: Self.json(merged), generation: generation))
        if event.level >= .notice, var server {
            server[metadataKey: "experiment_id"] = "\(experimentID.uuidString.lowercased())"
            if let stage { server[metadataKey: "stage"] = "\(stage)" }
            server.log(level: event.level, event.message, metadata: event.metadata)
        }
    }

    /// Metadata as a flat JSON object of strings (nested values rendered as text).
    static func json(_ m: Logger.Metadata) -> String {
        guard !m.isEmpty else { return "{}" }
        var out = "{"
        for (i, (k, v)) in m.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out += "," }
            out += quote(k) + ":" + quote("\(v)")
        }
        return out + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}": out += "\u{FFFD}"  // PostgreSQL cannot store NUL
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
