public import ArgumentParser
import Foundation

/// `signalforge status`: the server instance, its process and host resources,
/// the PostgreSQL pool and the experiment counts (`GET /v1/system`).
public struct SystemStatus: ParsableCommand {
    /// The csv columns (paths into the server's JSON, joined with `.`).
    static let columns = [
        "instance", "version", "uptime_seconds", "experiments.running", "experiments.queued", "experiments.paused",
        "experiments.running_here", "process.rss_bytes", "process.cpu_seconds", "process.open_fds", "process.threads",
        "data_dir.path", "data_dir.used_bytes", "data_dir.free_bytes", "host.memory_total_bytes",
        "host.memory_available_bytes", "host.load1", "host.load5", "host.load15", "database.up", "database.pool.in_use",
        "database.pool.waiting", "logs.spill_files",
    ]

    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a server's instance, resources (process, host, data disk), database pool and experiment counts.",
        discussion: """
            Takes --server, --token (scope read) and --output like the experiments commands. \
            csv columns: \(columns.joined(separator: ",")). json: the object as the server sent it.
            """)

    @OptionGroup var options: ClientOptions

    public init() {}

    public func run() throws {
        try runClient { () throws(ClientError) -> Int32 in
            let s = try options.client().json("GET", APIClient.path("v1", "system"))
            switch options.output {
            case .json: Console.line(s.pretty)
            case .csv: Console.out(CSV.table(Self.columns, [s]) { item, path in Self.value(item, path)?.cell ?? "" })
            case .table: Console.out(Self.text(s))
            }
            return 0
        }
    }

    /// The member at a dotted path (`process.rss_bytes`).
    static func value(_ s: JSONValue, _ path: String) -> JSONValue? {
        var v: JSONValue? = s
        for key in path.split(separator: ".") { v = v?[String(key)] }
        return v
    }

    /// The status as aligned `name  value` lines.
    static func text(_ s: JSONValue) -> String {
        func bytes(_ path: String) -> String { value(s, path)?.double.map(Format.bytes) ?? "n/a" }
        func count(_ path: String) -> String { value(s, path)?.int.map(String.init) ?? "n/a" }
        func load(_ path: String) -> String { value(s, path)?.double.map { String(format: "%.2f", $0) } ?? "n/a" }
        let disk: String = {
            guard let used = value(s, "data_dir.used_bytes")?.double, let free = value(s, "data_dir.free_bytes")?.double else {
                return "n/a"
            }
            let share = used + free > 0 ? used / (used + free) * 100 : 0
            return "\(Format.bytes(used)) used, \(Format.bytes(free)) free (\(Format.percent(share)) used)"
        }()
        let up = value(s, "database.up")?.bool
        let rows: [(String, String)] = [
            ("instance", s["instance"]?.string ?? "n/a"),
            ("version", s["version"]?.string ?? "n/a"),
            ("uptime", s["uptime_seconds"]?.double.map(Format.duration) ?? "n/a"),
            (
                "experiments",
                "\(count("experiments.running")) running, \(count("experiments.queued")) queued, "
                    + "\(count("experiments.paused")) paused (\(count("experiments.running_here")) running here)"
            ),
            (
                "process",
                "rss \(bytes("process.rss_bytes")), cpu \(value(s, "process.cpu_seconds")?.double.map { String(format: "%.1f s", $0) } ?? "n/a"), "
                    + "\(count("process.open_fds")) open fds, \(count("process.threads")) threads"
            ),
            ("data dir", (value(s, "data_dir.path")?.string ?? "?") + ": " + disk),
            ("host memory", "\(bytes("host.memory_available_bytes")) available of \(bytes("host.memory_total_bytes"))"),
            ("load", "\(load("host.load1")) \(load("host.load5")) \(load("host.load15"))"),
            (
                "database",
                (up == true ? "up" : up == false ? "DOWN" : "n/a")
                    + ", pool \(count("database.pool.in_use")) in use, \(count("database.pool.waiting")) waiting, max \(count("database.pool.max"))"
            ),
            ("log spill", "\(count("logs.spill_files")) files, \(count("logs.pending_lines")) lines pending"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
    }
}
