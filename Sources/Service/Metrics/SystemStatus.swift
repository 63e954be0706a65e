import Foundation
import MicroHTTP
import Pipeline
import PostgresClient
import Synchronization

/// What this instance and its host look like now, for `/metrics` (Prometheus
/// gauges) and `GET /v1/system` (JSON): process RSS, CPU seconds, open
/// descriptors and threads; the data folder's disk; the host's memory and
/// load; the PostgreSQL pool and probe; the log spill; experiment counts.
final class SystemStatus: Sendable {
    let pool: PostgresPool
    let engine: Engine
    let sampler: EngineSampler
    let logWriter: LogWriter
    let dataDir: String
    /// This instance's name in leases (`host:pid:random`).
    let instance: String
    /// The API version (the contract's `info.version`).
    let version: String
    /// When the service was built (seconds since the epoch).
    let startedAt: Date

    init(pool: PostgresPool, engine: Engine, sampler: EngineSampler, logWriter: LogWriter, dataDir: String, startedAt: Date = Date()) {
        self.pool = pool
        self.engine = engine
        self.sampler = sampler
        self.logWriter = logWriter
        self.dataDir = dataDir
        self.instance = engine.configuration.owner
        self.version = Self.apiVersion(EmbeddedFiles.files["openapi.yaml"] ?? "")
        self.startedAt = startedAt
    }

    /// `info.version` of the OpenAPI document (`unknown` when absent).
    static func apiVersion(_ spec: String) -> String {
        var inInfo = false
        for line in spec.split(separator: "\n") {
            if line.hasPrefix("info:") {
                inInfo = true
            } else if inInfo, !line.hasPrefix(" ") {
                break
            } else if inInfo, line.trimmingCharacters(in: .whitespaces).hasPrefix("version:") {
                return line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            }
        }
        return "unknown"
    }

    var uptimeSeconds: Double { Date().timeIntervalSince(startedAt) }

    /// The gauges as Prometheus exposition text (no database access: the
    /// probe's last answer stands for PostgreSQL).
    func prometheus() -> String {
        let s = SystemSnapshot.read(dataDir: dataDir)
        var out = ""
        func gauge(_ name: String, _ help: String, _ value: String?, type: String = "gauge") {
            guard let value else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        func num(_ d: Double?) -> String? { d.map { JSONText.number($0) } }
        gauge("process_resident_memory_bytes", "Resident memory of the process", "\(s.rssBytes)")
        gauge("process_cpu_seconds_total", "CPU time (user + system) the process has used", num(s.cpuSeconds), type: "counter")
        gauge("process_open_fds", "Open file descriptors", s.openFDs.map(String.init))
        gauge("process_max_fds", "Limit on open file descriptors", s.maxFDs.map(String.init))
        gauge("process_threads", "Threads of the process", s.threads.map(String.init))
        gauge("process_start_time_seconds", "When the service started, seconds since the epoch", num(startedAt.timeIntervalSince1970))
        gauge("signalforge_uptime_seconds", "Seconds since the service started", num(uptimeSeconds))
        gauge("signalforge_data_dir_size_bytes", "Size of the data folder's file system", s.diskTotalBytes.map(String.init))
        gauge("signalforge_data_dir_used_bytes", "Bytes used on the data folder's file system", s.diskUsedBytes.map(String.init))
        gauge(
            "signalforge_data_dir_free_bytes", "Bytes free (to the service) on the data folder's file system",
            s.diskFreeBytes.map(String.init))
        gauge("signalforge_host_memory_total_bytes", "Memory of the host", s.memoryTotalBytes.map(String.init))
        gauge(
            "signalforge_host_memory_available_bytes", "Memory the host can give without swapping", s.memoryAvailableBytes.map(String.init))
        gauge("signalforge_host_load1", "Host load average over 1 minute", num(s.load1))
        gauge("signalforge_host_load5", "Host load average over 5 minutes", num(s.load5))
        gauge("signalforge_host_load15", "Host load average over 15 minutes", num(s.load15))
        let up = sampler.databaseUp.load(ordering: .relaxed)
        gauge("signalforge_database_up", "1 when the last probe of PostgreSQL (every 5 s) answered, else 0", up < 0 ? nil : "\(up)")
        gauge(
            "signalforge_log_spill_files", "Log spill files waiting for PostgreSQL (above 0: logs are going to disk)",
            "\(logWriter.spillFileCount)")
        return out
    }

    /// Experiments by state across every instance: (running, queued, paused);
    /// running counts `pausing` and `cancelling` too.
    func experimentCounts() throws -> (running: Int, queued: Int, paused: Int) {
        try pool.withConnection { c in
            let rows = try c.query(
                """
                SELECT count(*) FILTER (WHERE status IN ('running', 'pausing', 'cancelling')),
                       count(*) FILTER (WHERE status = 'queued'),
                       count(*) FILTER (WHERE status = 'paused')
                FROM experiments WHERE status IN ('running', 'pausing', 'cancelling', 'queued', 'paused')
                """)
            guard let row = rows.first else { return (0, 0, 0) }
            return (try row.decode(0, as: Int.self), try row.decode(1, as: Int.self), try row.decode(2, as: Int.self))
        }
    }

    /// `GET /v1/system` as JSON. The experiment counts need PostgreSQL: when it
    /// does not answer they are null and `database.up` is false; the rest is there.
    func json() -> String {
        let s = SystemSnapshot.read(dataDir: dataDir)
        let counts = try? experimentCounts()
        let p = pool.statistics
        func int(_ v: Int?) -> String { v.map(String.init) ?? "null" }
        func int64(_ v: Int64?) -> String { v.map(String.init) ?? "null" }
        func num(_ v: Double?) -> String { v.map { JSONText.number($0) } ?? "null" }
        let up = sampler.databaseUp.load(ordering: .relaxed)
        let databaseUp = counts != nil || up == 1
        return """
            {"instance":\(JSONText.quote(instance)),"version":\(JSONText.quote(version)),\
            "started_at":\(JSONText.quote(Timestamps.iso8601(startedAt))),"uptime_seconds":\(num(uptimeSeconds)),\
            "experiments":{"running":\(int(counts?.running)),"queued":\(int(counts?.queued)),"paused":\(int(counts?.paused)),\
            "running_here":\(engine.runningIDs.count)},\
            "process":{"rss_bytes":\(s.rssBytes),"cpu_seconds":\(num(s.cpuSeconds)),"open_fds":\(int(s.openFDs)),\
            "max_fds":\(int(s.maxFDs)),"threads":\(int(s.threads))},\
            "host":{"memory_total_bytes":\(int64(s.memoryTotalBytes)),"memory_available_bytes":\(int64(s.memoryAvailableBytes)),\
            "load1":\(num(s.load1)),"load5":\(num(s.load5)),"load15":\(num(s.load15))},\
            "data_dir":{"path":\(JSONText.quote(dataDir)),"total_bytes":\(int64(s.diskTotalBytes)),\
            "used_bytes":\(int64(s.diskUsedBytes)),"free_bytes":\(int64(s.diskFreeBytes))},\
            "database":{"up":\(databaseUp),"pool":{"in_use":\(p.inUse),"idle":\(p.idle),"waiting":\(p.waiting),"max":\(p.max)}},\
            "logs":{"spill_files":\(logWriter.spillFileCount),"pending_lines":\(logWriter.pendingCount)}}
            """
    }
}
