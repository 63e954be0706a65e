import Foundation
import Logging
import PostgresClient
import TestSupport
import Testing

/// Runs `sf-test-server` (a real SignalForge server with test stages) as a
/// child process.
final class ServerProcess {
    let process = Process()
    let port: Int

    init(databaseURL: String, dataDir: String, port: Int, units: Int = 200, environment: [String: String] = [:]) throws {
        self.port = port
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var dir = binary
        // The test bundle sits in .build/<triple>/debug/…; the server is built beside it.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sf-test-server").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        process.executableURL = dir.appendingPathComponent("sf-test-server")
        process.environment = ProcessInfo.processInfo.environment.merging([
            "DATABASE_URL": databaseURL, "SF_TEST_PORT": "\(port)", "SF_TEST_DATA_DIR": dataDir,
            "SF_TEST_LEASE_SECONDS": "2", "SF_TEST_UNITS": "\(units)",
        ]) { $1 }.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? httpRequest(port: port, "GET", "/healthz").status) == 200 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw RawHTTPConnection.Failure(description: "sf-test-server did not answer on port \(port)")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func request(_ method: String, _ target: String, body: String? = nil) throws -> RawHTTPConnection.Response {
        try httpRequest(
            port: port, method, target, headers: body == nil ? [:] : ["Content-Type": "application/json"], body: Array((body ?? "").utf8))
    }

    deinit {
        if process.isRunning { kill9() }
    }

    static func freePort() -> Int { (try? localFreePort()) ?? 0 }
}

struct CrashRecoveryTests {
    /// kill -9 mid-run, then a new server: the experiment completes, completed
    /// stages are not run again (logged as skipped), and every log line that
    /// was stored before the kill is still there, with no gap.
    @Test func killNineThenRestartCompletesWithoutRerunningCompletedStages() throws {
        let url = try TestApp.freshDatabase()
        let dataDir = NSTemporaryDirectory() + "sf-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var server: ServerProcess? = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort())
        let created = try server!.request("POST", "/v1/experiments", body: body("crash", stages: ["load", "resample", "merge"]))
        let id = try #require(created.json["id"] as? String)

        // Wait until it is well into the second stage.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let logs =
                try server!.request("GET", "/v1/experiments/\(id)/logs?stage=resample&limit=5000").json["items"] as? [[String: Any]] ?? []
            if logs.contains(where: { $0["message"] as? String == "line 40" }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        server!.kill9()
        server = nil

        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: Logger(label: "test"))
        defer { conn.close() }
        func lines(_ stage: String) throws -> [Int] {
            try conn.query(
                """
                SELECT (fields->>'i')::int FROM pipeline_logs
                WHERE experiment_id = \(UUID(uuidString: id)!) AND stage = \(stage) AND message LIKE 'line %' ORDER BY id
                """
            ).map { try $0.decode(0, as: Int.self) }
        }
        let beforeLoad = try lines("load")
        let beforeResample = try lines("resample")
        #expect(beforeLoad == Array(0..<200), "the whole first stage's log survives the kill")
        #expect(beforeResample.count >= 41)
        #expect(beforeResample == Array(0..<beforeResample.count), "stored lines have no gap")
        #expect(
            try conn.query("SELECT status FROM experiments WHERE id = \(UUID(uuidString: id)!)").first?.decode(0, as: String.self)
                == "running")

        // A new server: the expired lease is recovered, the experiment resumes after "load".
        let again = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort())
        var status = ""
        let end = Date().addingTimeInterval(40)
        while Date() < end {
            status = try again.request("GET", "/v1/experiments/\(id)").json["status"] as? String ?? ""
            if status == "succeeded" || status == "failed" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status == "succeeded")
        let runs = try String(contentsOfFile: dataDir + "/runs.log", encoding: .utf8).split(separator: "\n")
        #expect(runs.filter { $0 == "load started" }.count == 1, "load ran again: \(runs)")
        #expect(runs.filter { $0 == "resample started" }.count == 2)
        #expect(runs.filter { $0 == "merge started" }.count == 1)
        let events = (try again.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? [])
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("interrupted"))
        #expect(kinds.contains("requeued"))
        #expect(events.contains { $0["kind"] as? String == "stage_skipped" && $0["stage"] as? String == "load" })
        let skippedLine =
            try again.request("GET", "/v1/experiments/\(id)/logs?stage=load&limit=5000").json["items"] as? [[String: Any]] ?? []
        #expect(skippedLine.contains { $0["message"] as? String == "stage skipped: it completed in an earlier run" })
        // Everything stored before the kill is still stored.
        let afterResample = try lines("resample")
        #expect(Array(afterResample.prefix(beforeResample.count)) == beforeResample)
        #expect(try lines("load") == beforeLoad)
    }
}
