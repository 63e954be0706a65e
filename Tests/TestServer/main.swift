// A SignalForge server with test stages, for tests that must kill a real
// server process (kill -9) and start another. Not part of the product.
//
// Environment: DATABASE_URL, SF_TEST_PORT, SF_TEST_DATA_DIR,
// SF_TEST_LEASE_SECONDS (default 2), SF_TEST_UNITS (lines per stage, default 200),
// SF_TEST_OUTAGE_WAIT_S (the outage bound; default as `serve`),
// SF_TEST_MAX_UPLOAD_BYTES and SF_TEST_MAX_LINE_BYTES (the upload limits; defaults as `serve`).
import Foundation
import Logging
import Pipeline
import Service

/// Logs `units` numbered lines ~10 ms apart, notes each start in
/// `<data>/runs.log`, and leaves a checkpoint when done.
struct RecordingStage: Stage {
    let name: String
    let units: Int
    let dataDir: String

    func run(_ context: StageContext) throws {
        let runs = URL(fileURLWithPath: dataDir).appendingPathComponent("runs.log")
        if let h = FileHandle(forWritingAtPath: runs.path) {
            h.seekToEndOfFile()
            h.write(Data("\(name) started\n".utf8))
            h.closeFile()
        } else {
            try Data("\(name) started\n".utf8).write(to: runs)
        }
        let step = context.progress.child(of: context.node, "lines", total: Int64(units))
        for i in 0..<units {
            try context.checkpoint()
            context.logger.info("line \(i)", metadata: ["i": "\(i)"])
            context.progress.advance(step, by: 1)
            Thread.sleep(forTimeInterval: 0.01)
        }
        try context.writeCheckpoint("done", Array("ok".utf8))
    }

    func restore(_ context: StageContext) throws -> Bool { context.readCheckpoint("done") != nil }
}

let env = ProcessInfo.processInfo.environment
var settings = Settings()
settings.databaseURL = env["DATABASE_URL"]
settings.port = Int(env["SF_TEST_PORT"] ?? "0") ?? 0
settings.dataDir = env["SF_TEST_DATA_DIR"] ?? NSTemporaryDirectory()
settings.httpThreads = 2
if let v = env["SF_TEST_MAX_UPLOAD_BYTES"].flatMap({ Int64($0) }) { settings.maxUploadBytes = v }
if let v = env["SF_TEST_MAX_LINE_BYTES"].flatMap({ Int($0) }) { settings.maxLineBytes = v }
if let v = env["SF_TEST_OUTAGE_WAIT_S"].flatMap({ Int($0) }) { settings.outageWaitSeconds = v }
let units = Int(env["SF_TEST_UNITS"] ?? "200") ?? 200
let lease = Double(env["SF_TEST_LEASE_SECONDS"] ?? "2") ?? 2
var logger = Logger(label: "test-server")
logger.logLevel = .warning
let stages = StageRegistry(["load", "resample", "merge"].map { RecordingStage(name: $0, units: units, dataDir: settings.dataDir) })
let app = try Application(settings: settings, logger: logger, stages: stages, configureEngine: { $0.leaseSeconds = lease })
try app.start()
FileHandle.standardOutput.write(Data("listening \(app.port)\n".utf8))
signal(SIGTERM, SIG_IGN)
let source = DispatchSource.makeSignalSource(signal: SIGTERM)
source.setEventHandler {
    app.stop()
    exit(0)
}
source.resume()
while true { sleep(60) }
