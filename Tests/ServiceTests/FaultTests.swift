import Foundation
import Hashing
import Logging
import PostgresClient
import TestSupport
import Testing

/// Issue 11's fault matrix, one scenario of each kind (the whole matrix is
/// `bash bench/faults/run.sh`): real `signalforge serve` processes on one
/// private PostgreSQL and one data folder run the default experiment (all nine
/// stages); a fault lands inside a chosen stage; the run must end `succeeded`
/// with one runner at a time and the files of an undisturbed run.
@Suite(.serialized)
struct FaultTests {
    static let stages = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]
    static let symbols = ["EURUSD", "GBPUSD", "USDJPY"]
    /// Days of 1m bars per symbol (env `SF_FAULT_DAYS`); enough that the targeted stages last about a second in a debug build.
    static let days = Int(ProcessInfo.processInfo.environment["SF_FAULT_DAYS"] ?? "") ?? 30
    static let body: String = {
        let datasets = symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        let list = stages.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"name":"faults","datasets":[\#(datasets)],"timeframes":["15m","1h","4h"],"stages":[\#(list)],"#
            + #""config":{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5}}}"#
    }()

    /// The data folder every run of this suite shares (sample bars written once).
    static let dataDir: Result<String, any Error> = Result {
        let dir = NSTemporaryDirectory() + "sf-faults-\(UUID().uuidString.prefix(8))"
        try SignalForgeProcess.sampleData(into: dir + "/samples", symbols: symbols, days: days)
        return dir
    }

    /// What an undisturbed run leaves, computed once.
    static let baseline: Result<FaultRun.Outcome, any Error> = Result {
        let run = try FaultRun(instances: 1)
        let id = try run.create()
        let status = try run.waitFinal(id)
        guard status == "succeeded" else { throw FaultRun.Failure(description: "the undisturbed run ended \(status)") }
        return try run.outcome(id)
    }

    /// kill -9 of the owner during fusion (two instances): the other one
    /// recovers the expired lease and finishes; the files equal an undisturbed run's.
    @Test func killNineOfTheOwnerDuringFusion() throws {
        let expected = try Self.baseline.get()
        let run = try FaultRun(instances: 2)
        let id = try run.create()
        try run.waitForStage(id, "fusion")
        let owner = try #require(try run.ownerIndex(id), "no living instance owns the experiment")
        run.instances[owner].kill9()
        try run.expectUndisturbed(id, as: expected)
    }

    /// PostgreSQL stopped for 5 s during fusion: the run waits it out and
    /// ends `succeeded` with the signals, events, progress, report, log lines
    /// and files of an undisturbed run.
    @Test func postgresStoppedFiveSecondsDuringFusion() throws {
        let expected = try Self.baseline.get()
        let run = try FaultRun(instances: 1)
        let id = try run.create()
        try run.waitForStage(id, "fusion")
        try run.pg.stop()
        run.wait(seconds: 5)
        try run.pg.start()
        try run.expectUndisturbed(id, as: expected, stored: true)
    }

    /// SIGTERM during export: the instance exits within 2 s, the experiment
    /// `interrupted` (cause `drain`) and requeued; the next instance resumes it after its last
    /// completed stage and it ends `succeeded` with the undisturbed files.
    @Test func sigtermDuringExportExitsWithinTwoSecondsAndResumes() throws {
        let expected = try Self.baseline.get()
        let run = try FaultRun(instances: 1)
        let id = try run.create()
        try run.waitForStage(id, "export")
        let exit = run.instances[0].terminate(timeout: 30)
        #expect(exit != nil && exit! <= 2, "SIGTERM to exit: \(exit.map { "\($0) s" } ?? "still running after 30 s")")
        // Interrupted, and at once back in the queue (one transaction) so any
        // instance resumes it: the last two events say so, the status is queued.
        let afterSignal = try run.status(id)
        #expect(afterSignal == "queued", "after SIGTERM the experiment is \(afterSignal)")
        let last = try run.strings(
            "SELECT kind || ':' || coalesce(details->>'cause', '') FROM pipeline_events WHERE experiment_id = \(UUID(uuidString: id)!) ORDER BY id DESC LIMIT 2"
        )
        #expect(last == ["requeued:", "interrupted:drain"], "the events after SIGTERM: \(last)")
        let completed = try run.completedStages(id)
        try run.startInstance()
        try run.expectUndisturbed(id, as: expected)
        let starts = try run.stageStarts(id)
        for stage in completed {
            #expect(starts[stage, default: 0] <= 1, "\(stage) completed before SIGTERM but ran again")
        }
        #expect(starts["export", default: 0] == 2, "export was not run again after SIGTERM: \(starts)")
    }

    /// Three instances, the postmaster (and its children) killed -9 during
    /// export and PostgreSQL back 5 s later: one runner at a time throughout,
    /// one "experiment succeeded", the undisturbed files.
    @Test func threeInstancesAndAKilledPostmasterDuringExport() throws {
        let expected = try Self.baseline.get()
        let run = try FaultRun(instances: 3)
        let id = try run.create()
        try run.waitForStage(id, "export")
        try run.pg.killPostmaster()
        run.wait(seconds: 5)
        try run.pg.start()
        try run.expectUndisturbed(id, as: expected)
    }
}

/// N `signalforge serve` instances on one private PostgreSQL and the suite's data folder.
final class FaultRun {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// What a finished run left, for comparisons (timestamps and ids left out).
    struct Outcome: Sendable {
        /// Artifact name → sha256 (report.json without the id and the "seconds" fields).
        var files: [String: String]
        var signals: [String]
        var events: [String]
        var progress: [String]
        var report: String
        /// "stage|message" (digit runs as N) → how many stored.
        var logs: [String: Int]
    }

    /// Where two line lists first differ, briefly (no full dump).
    static func difference(_ got: [String], _ expected: [String]) -> String {
        let index = (0..<min(got.count, expected.count)).first { got[$0] != expected[$0] } ?? min(got.count, expected.count)
        let line = { (xs: [String]) in index < xs.count ? String(xs[index].prefix(160)) : "(none)" }
        return "\(got.count) lines vs \(expected.count); line \(index): \(line(got)) vs \(line(expected))"
    }

    let pg: TemporaryPostgres
    let dataDir: String
    let logDir: String
    var instances: [SignalForgeProcess] = []

    init(instances count: Int) throws {
        dataDir = try FaultTests.dataDir.get()
        pg = try TemporaryPostgres()
        logDir = pg.directory + "-logs"
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        for _ in 0..<count { try startInstance() }
    }

    deinit {
        for i in instances where i.process.isRunning { i.kill9() }
        pg.destroy()
        try? FileManager.default.removeItem(atPath: logDir)
    }

    func startInstance() throws {
        instances.append(
            try SignalForgeProcess(databaseURL: pg.url, dataDir: dataDir, logPath: logDir + "/instance-\(instances.count).log"))
    }

    var living: SignalForgeProcess? { instances.first { $0.process.isRunning } }

    func create() throws -> String {
        let server = try #require(living)
        let response = try server.request("POST", "/v1/experiments", body: FaultTests.body)
        guard response.status == 201 || response.status == 202, let id = response.json["id"] as? String else {
            throw Failure(description: "POST /v1/experiments: \(response.status) \(response.text)")
        }
        return id
    }

    /// A fault-free pause of the test thread (the outage's length).
    func wait(seconds: Double) { Thread.sleep(forTimeInterval: seconds) }

    // MARK: - Database reads

    func connect() throws -> PostgresConnection {
        try PostgresConnection.connect(pg.configuration, logger: Logger(label: "fault-test"))
    }

    func strings(_ query: PostgresQuery) throws -> [String] {
        let conn = try connect()
        defer { conn.close() }
        return try conn.query(query).map { try $0.decode(0, as: String.self) }
    }

    func status(_ id: String) throws -> String {
        try strings("SELECT status FROM experiments WHERE id = \(UUID(uuidString: id)!)").first ?? ""
    }

    func error(_ id: String) throws -> String? {
        try strings("SELECT coalesce(error, '') FROM experiments WHERE id = \(UUID(uuidString: id)!)").first
    }

    func completedStages(_ id: String) throws -> [String] {
        let text =
            try strings("SELECT array_to_string(completed_stages, ',') FROM experiments WHERE id = \(UUID(uuidString: id)!)").first ?? ""
        return text.split(separator: ",").map(String.init)
    }

    /// `stage_started` events per stage.
    func stageStarts(_ id: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for s in try strings(
            "SELECT stage FROM pipeline_events WHERE experiment_id = \(UUID(uuidString: id)!) AND kind = 'stage_started' ORDER BY id")
        {
            out[s, default: 0] += 1
        }
        return out
    }

    /// The index of the living instance whose pid is in the lease owner (`host:pid:nonce`).
    func ownerIndex(_ id: String) throws -> Int? {
        guard let owner = try strings("SELECT coalesce(lease_owner, '') FROM experiments WHERE id = \(UUID(uuidString: id)!)").first else {
            return nil
        }
        let parts = owner.split(separator: ":")
        guard parts.count >= 2, let pid = pid_t(parts[parts.count - 2]) else { return nil }
        return instances.firstIndex { $0.process.isRunning && $0.pid == pid }
    }

    /// Polls until the experiment runs `stage` and that stage has made progress.
    func waitForStage(_ id: String, _ stage: String, timeout: Double = 300) throws {
        let conn = try connect()
        defer { conn.close() }
        let uuid = UUID(uuidString: id)!
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let row = try conn.query(
                "SELECT status, coalesce(stage, ''), array_to_string(completed_stages, ',') FROM experiments WHERE id = \(uuid)"
            ).first
            let status = try row?.decode(0, as: String.self) ?? ""
            let current = try row?.decode(1, as: String.self) ?? ""
            let completed = try row?.decode(2, as: String.self) ?? ""
            if completed.split(separator: ",").contains(Substring(stage)) || ["succeeded", "failed", "cancelled"].contains(status) {
                throw Failure(
                    description:
                        "\(stage) was over before the fault could land in it (status \(status), completed \(completed)); raise SF_FAULT_DAYS"
                )
            }
            if status == "running", current == stage {
                let done =
                    try conn.query(
                        "SELECT coalesce(max(units_done), 0)::bigint FROM pipeline_progress WHERE experiment_id = \(uuid) AND node_path LIKE \("%/" + stage + "%")"
                    ).first?.decode(0, as: Int64.self) ?? 0
                if done > 0 { return }
            }
            usleep(20_000)
        }
        throw Failure(description: "the experiment never ran \(stage) within \(timeout) s")
    }

    /// Polls (PostgreSQL may be away meanwhile) until succeeded, failed or cancelled.
    func waitFinal(_ id: String, timeout: Double = 600) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            if let status = try? status(id) {
                last = status
                if ["succeeded", "failed", "cancelled"].contains(status) { return status }
            }
            usleep(200_000)
        }
        return "still \(last) after \(timeout) s"
    }

    // MARK: - Checks

    /// What every scenario checks once its fault is over: the run ends
    /// `succeeded`, one runner at a time, every artifact as in the undisturbed
    /// run `expected`; with `stored`, also the stored signals, events,
    /// progress, report, and every log line stored as many times (none lost, none twice).
    func expectUndisturbed(
        _ id: String, as expected: Outcome, stored: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let status = try waitFinal(id)
        let error = try self.error(id) ?? ""
        #expect(status == "succeeded", "\(error)", sourceLocation: sourceLocation)
        try expectSingleRunner(id, sourceLocation: sourceLocation)
        guard status == "succeeded" else { return }
        try expectSameFiles(id, as: expected, sourceLocation: sourceLocation)
        guard stored else { return }
        let got = try outcome(id)
        #expect(
            got.signals == expected.signals,
            "stored signals differ from an undisturbed run's: \(Self.difference(got.signals, expected.signals))",
            sourceLocation: sourceLocation)
        #expect(
            got.events == expected.events, "events differ from an undisturbed run's: \(Self.difference(got.events, expected.events))",
            sourceLocation: sourceLocation)
        #expect(
            got.progress == expected.progress,
            "stored progress differs from an undisturbed run's: \(Self.difference(got.progress, expected.progress))",
            sourceLocation: sourceLocation)
        #expect(got.report == expected.report, "the stored report differs from an undisturbed run's", sourceLocation: sourceLocation)
        // Lines the disturbed run adds (outage warnings) are allowed.
        let logs = expected.logs.keys.sorted().filter { got.logs[$0, default: 0] != expected.logs[$0] }
        #expect(
            logs.isEmpty,
            "log lines stored a different number of times than in an undisturbed run: \(logs.prefix(10).map { "\($0) ×\(got.logs[$0, default: 0]) (\(expected.logs[$0, default: 0]))" })",
            sourceLocation: sourceLocation)
    }

    /// No `started` while the previous owner still held the run; one stored "experiment succeeded".
    func expectSingleRunner(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let conn = try connect()
        defer { conn.close() }
        let uuid = UUID(uuidString: id)!
        var holder: String?
        var overlaps: [String] = []
        for row in try conn.query(
            "SELECT kind, coalesce(to_status, ''), coalesce(details->>'owner', '') FROM pipeline_events WHERE experiment_id = \(uuid) ORDER BY id"
        ) {
            let kind = try row.decode(0, as: String.self)
            let to = try row.decode(1, as: String.self)
            let owner = try row.decode(2, as: String.self)
            if kind == "started" {
                if let holder { overlaps.append("\(owner) started while \(holder) held it") }
                holder = owner
            } else if ["queued", "interrupted", "succeeded", "failed", "cancelled"].contains(to) || kind == "requeued"
                || kind == "interrupted"
            {
                holder = nil
            }
        }
        #expect(overlaps.isEmpty, "two running owners: \(overlaps)", sourceLocation: sourceLocation)
        let succeeded = try conn.query(
            "SELECT count(*)::bigint FROM pipeline_logs WHERE experiment_id = \(uuid) AND message = 'experiment succeeded'"
        ).first?.decode(0, as: Int64.self)
        #expect(succeeded == 1, "\"experiment succeeded\" stored \(succeeded ?? 0) times", sourceLocation: sourceLocation)
    }

    /// Every artifact's sha256 equals the undisturbed run's.
    func expectSameFiles(_ id: String, as expected: Outcome, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let got = try files(id)
        #expect(Set(got.keys) == Set(expected.files.keys), "artifact names differ", sourceLocation: sourceLocation)
        let differing = expected.files.keys.sorted().filter { got[$0] != expected.files[$0] }
        #expect(differing.isEmpty, "artifacts that differ from an undisturbed run's: \(differing)", sourceLocation: sourceLocation)
    }

    func files(_ id: String) throws -> [String: String] {
        let conn = try connect()
        defer { conn.close() }
        var out: [String: String] = [:]
        for row in try conn.query("SELECT name, path FROM artifacts WHERE experiment_id = \(UUID(uuidString: id)!) ORDER BY name") {
            let name = try row.decode(0, as: String.self)
            var path = try row.decode(1, as: String.self)
            if !path.hasPrefix("/") { path = dataDir + "/" + path }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            if name == "report.json" {
                var text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: id, with: "ID")
                text = text.replacingOccurrences(of: #""seconds":[-+0-9.eE]+"#, with: #""seconds":0"#, options: .regularExpression)
                out[name] = SHA256.hex(Array(text.utf8))
            } else {
                out[name] = SHA256.hex([UInt8](data))
            }
        }
        return out
    }

    func outcome(_ id: String) throws -> Outcome {
        let uuid = UUID(uuidString: id)!
        let files = try files(id)
        let signals = try strings(
            """
            SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', symbol, timeframe, ts, direction, entry, stop, target,
                   horizon_bars, quality, accepted, components, sources)
            FROM signals WHERE experiment_id = \(uuid) ORDER BY symbol, timeframe, ts, direction
            """)
        let events = try strings(
            """
            SELECT kind || '/' || coalesce(stage, '') || '/' || coalesce(from_status, '') || '/' || coalesce(to_status, '')
            FROM pipeline_events WHERE experiment_id = \(uuid) AND kind NOT IN ('memory_warning', 'memory_critical') ORDER BY id
            """)
        let progress = try strings(
            """
            SELECT format('%s|%s|%s|%s|%s|%s', node_path, kind, name, status, units_done, units_total)
            FROM pipeline_progress WHERE experiment_id = \(uuid) ORDER BY node_path
            """)
        var report = try strings("SELECT body::text FROM reports WHERE experiment_id = \(uuid)").first ?? ""
        report = report.replacingOccurrences(of: id, with: "ID")
            .replacingOccurrences(of: #""seconds": ?[-+0-9.eE]+"#, with: #""seconds":0"#, options: .regularExpression)
        var logs: [String: Int] = [:]
        for line in try strings(
            "SELECT coalesce(stage, '-') || '|' || regexp_replace(message, '[0-9]+', 'N', 'g') FROM pipeline_logs WHERE experiment_id = \(uuid)"
        ) {
            logs[line, default: 0] += 1
        }
        return Outcome(files: files, signals: signals, events: events, progress: progress, report: report, logs: logs)
    }
}
