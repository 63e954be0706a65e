public import ArgumentParser
import Foundation

/// `signalforge sweeps …`: start, follow and rank parameter sweeps on a
/// SignalForge server (the same options and exit statuses as `experiments`).
///
/// `watch` exits with the sweep's outcome: 0 every child succeeded, 1 a child
/// failed, 2 the sweep was cancelled (and none failed).
public struct Sweeps: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sweeps",
        abstract: "Start, follow and rank parameter sweeps (one experiment per point) on a SignalForge server.",
        discussion: """
            Every command takes --server URL (env SIGNALFORGE_URL; default http://127.0.0.1:8080), \
            --token TOKEN (env SIGNALFORGE_TOKEN) and --output table|json|csv (json prints the server's \
            objects as sent; csv the columns listed in each command's help).

            Exit status: 0 done; watch exits with the outcome: 0 every child succeeded, 1 a child failed, \
            2 cancelled; 4 the server answered with an error (its detail goes to stderr); 5 the server \
            could not be reached, or a local file failed; 64 bad usage.
            """,
        subcommands: [
            Start.self, List.self, Status.self, Watch.self, Leaderboard.self, Pause.self, Resume.self, Cancel.self,
            Delete.self,
        ]
    )

    public init() {}

    static let csvColumns = ["id", "name", "state", "mode", "count", "finished", "max_parallel", "priority", "created_at"]

    /// Prints sweeps as a table, JSON (one object or an array, as sent) or CSV.
    static func show(_ sweeps: [JSONValue], as output: OutputFormat, single: Bool) {
        switch output {
        case .json: Console.line(single ? (sweeps.first ?? .null).pretty : JSONValue.array(sweeps).pretty)
        case .csv: Console.out(CSV.table(csvColumns, sweeps))
        case .table:
            var t = TextTable(["ID", "NAME", "STATE", "MODE", "DONE", "RUNNING", "BEST"], rightAligned: [4, 5])
            for s in sweeps {
                let running = s["counts"]?["running"]?.int ?? 0
                let best = s["best"].flatMap { b in b.isNull ? nil : b["value"]?.double.map { String(format: "%.3f", $0) } } ?? "-"
                t.add([
                    s["id"]?.cell ?? "", (s["name"]?.cell ?? "").truncated(to: 28), s["state"]?.cell ?? "", s["mode"]?.cell ?? "",
                    "\(s["finished"]?.cell ?? "0")/\(s["count"]?.cell ?? "?")", "\(running)", best,
                ])
            }
            Console.out(t.render())
        }
    }

    /// `sweeps start --file SWEEP.json`.
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a sweep from a JSON SweepRequest ({base, parameters, mode, seed, count, max_parallel, priority}).",
            discussion: """
                Prints the sweep (csv columns: \(Sweeps.csvColumns.joined(separator: ","))); with --quiet only its id. \
                With --idempotency-key a retried call gets the first call's sweep. With --wait it then follows the \
                sweep like watch and exits with its outcome.
                """)

        @OptionGroup var options: ClientOptions

        @Option(help: "A JSON sweep request ('-' for stdin)")
        var file: String

        @Option(help: "Sent as Idempotency-Key: the same key and body never start two sweeps")
        var idempotencyKey: String?

        @Flag(help: "Follow the sweep to its end like watch, and exit with its outcome")
        var wait = false

        @Flag(name: .shortAndLong, help: "Print only the sweep's id")
        var quiet = false

        @Option(help: "With --wait: seconds between polls")
        var interval: Double = 0.5

        func validate() throws {
            if let key = idempotencyKey,
                key.isEmpty || key.utf8.count > 255 || !key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
            {
                throw ValidationError("--idempotency-key must be 1 to 255 visible ASCII characters")
            }
            guard interval > 0 else { throw ValidationError("--interval must be positive") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let bytes: [UInt8]
                if file == "-" {
                    bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
                } else {
                    guard let data = FileManager.default.contents(atPath: file) else { throw .local("cannot read \(file)") }
                    bytes = [UInt8](data)
                }
                do { _ = try JSONValue.parse(bytes) } catch { throw .local("\(file): \(String(describing: error))") }
                let client = try options.client()
                var headers: [String: String] = [:]
                if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
                let sweep = try client.checked(client.send("POST", "/v1/sweeps", headers: headers, body: bytes)).json()
                guard let id = sweep["id"]?.string else { throw .transport("the server's answer has no sweep id") }
                if quiet {
                    Console.line(id)
                } else if !wait || options.output != .table {
                    Sweeps.show([sweep], as: options.output, single: true)
                }
                guard wait else { return 0 }
                return try Watch.follow(id, client: client, interval: interval, output: quiet ? .csv : options.output)
            }
        }
    }

    /// `sweeps list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sweeps, newest first.",
            discussion: "csv columns: \(Sweeps.csvColumns.joined(separator: ",")). json: an array of sweeps.")

        @OptionGroup var options: ClientOptions

        @Option(help: "At most this many (0 = all)")
        var limit = 50

        func validate() throws { guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") } }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let items = try options.client().items(
                    "/v1/sweeps", query: [("limit", String(limit == 0 ? 500 : min(limit, 500)))], cursorParameter: "cursor",
                    max: limit == 0 ? .max : limit
                ).items
                Sweeps.show(items, as: options.output, single: false)
                return 0
            }
        }
    }

    /// `sweeps status ID`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one sweep: counts by state, progress, the best point so far.",
            discussion: "csv columns: \(Sweeps.csvColumns.joined(separator: ",")). json: the sweep as the server sent it.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let s = try options.client().json("GET", APIClient.path("v1", "sweeps", id.value))
                Sweeps.show([s], as: options.output, single: true)
                if options.output == .table {
                    let counts = (s["counts"]?.members ?? []).filter { ($0.1.int ?? 0) > 0 }.map { "\($0.0) \($0.1.cell)" }
                    Console.line("children: " + (counts.isEmpty ? "none" : counts.joined(separator: ", ")))
                    if let best = s["best"], !best.isNull {
                        Console.line(
                            "best: \(best["experiment_id"]?.cell ?? "") \(best["parameters"]?.compact ?? "") "
                                + "deflated_sharpe \(best["value"]?.cell ?? "")")
                    }
                }
                return 0
            }
        }
    }

    /// `sweeps watch ID`.
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a sweep to its end; exit 0 when every child succeeded, 1 if any failed, 2 when cancelled.",
            discussion: "table: a progress line per change on stderr, then the sweep. json: each new state of the sweep as NDJSON.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID

        @Option(help: "Seconds between polls")
        var interval: Double = 0.5

        func validate() throws { guard interval > 0 else { throw ValidationError("--interval must be positive") } }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                try Self.follow(id.value, client: try options.client(), interval: interval, output: options.output)
            }
        }

        /// Polls the sweep until it has ended; returns its exit status.
        static func follow(_ id: String, client: APIClient, interval: Double, output: OutputFormat) throws(ClientError) -> Int32 {
            var last = ""
            while true {
                let s = try client.json("GET", APIClient.path("v1", "sweeps", id))
                let state = s["state"]?.string ?? ""
                let line = "\(state) \(s["finished"]?.cell ?? "0")/\(s["count"]?.cell ?? "?") " + (s["counts"]?.compact ?? "")
                if line != last {
                    last = line
                    switch output {
                    case .json: Console.line(s.compact)
                    case .table: Console.error("sweep \(id): \(state), \(s["finished"]?.cell ?? "0")/\(s["count"]?.cell ?? "?") done")
                    case .csv: break
                    }
                }
                if state == "finished" || state == "cancelled" {
                    if output == .table { Sweeps.show([s], as: .table, single: true) }
                    return outcome(s)
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }

        /// 1 when a child failed, 2 when the sweep was cancelled, else 0.
        static func outcome(_ sweep: JSONValue) -> Int32 {
            if (sweep["counts"]?["failed"]?.int ?? 0) > 0 { return ExitStatus.failed }
            if sweep["state"]?.string == "cancelled" || (sweep["counts"]?["cancelled"]?.int ?? 0) > 0 { return ExitStatus.cancelled }
            return ExitStatus.succeeded
        }
    }

    /// `sweeps leaderboard ID`.
    struct Leaderboard: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every point of a sweep with its parameters and headline figures, best first.",
            discussion: """
                csv: the server's CSV (rank,experiment_id,index,state,<each parameter path>,total_return,sharpe,\
                deflated_sharpe,trades,verdict,p_value). json: the items as the server sent them.
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID

        @Option(help: "deflated_sharpe, sharpe, total_return, trades or p_value")
        var metric = "deflated_sharpe"

        @Option(help: "asc or desc (server default desc; asc for p_value)")
        var order: String?

        func validate() throws {
            guard ["deflated_sharpe", "sharpe", "total_return", "trades", "p_value"].contains(metric) else {
                throw ValidationError("--metric must be one of deflated_sharpe, sharpe, total_return, trades, p_value")
            }
            if let order, order != "asc", order != "desc" { throw ValidationError("--order must be asc or desc") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let client = try options.client()
                var query = [("metric", metric)]
                if let order { query.append(("order", order)) }
                let path = APIClient.path("v1", "sweeps", id.value, "leaderboard")
                if options.output == .csv {
                    let r = try client.checked(client.send("GET", path, query: query + [("format", "csv")]))
                    Console.out(String(decoding: r.body, as: UTF8.self))
                    return 0
                }
                let board = try client.json("GET", path, query: query)
                let items = board["items"]?.array ?? []
                if options.output == .json {
                    Console.line(JSONValue.array(items).pretty)
                    return 0
                }
                var t = TextTable(
                    ["#", "EXPERIMENT", "STATE", "PARAMETERS", "RETURN", "SHARPE", "DSR", "TRADES", "VERDICT"],
                    rightAligned: [0, 4, 5, 6, 7])
                func num(_ v: JSONValue?) -> String { v?.double.map { String(format: "%.3f", $0) } ?? "-" }
                for i in items {
                    let params = (i["parameters"]?.members ?? []).map { "\($0.0.split(separator: ".").last ?? "")=\($0.1.cell)" }
                    t.add([
                        i["rank"]?.cell ?? "", String((i["experiment_id"]?.cell ?? "").prefix(8)), i["state"]?.cell ?? "",
                        params.joined(separator: " "), num(i["total_return"]), num(i["sharpe"]), num(i["deflated_sharpe"]),
                        i["trades"]?.cell ?? "-", i["verdict"]?.isNull == false ? i["verdict"]!.cell : "-",
                    ])
                }
                Console.out(t.render())
                return 0
            }
        }
    }

    /// `sweeps pause|resume|cancel ID`.
    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a sweep: running children pause, no new child starts.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID
        func run() throws { try Sweeps.control(id.value, "pause", options) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused sweep.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID
        func run() throws { try Sweeps.control(id.value, "resume", options) }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a sweep: every child that has not ended is cancelled.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID
        func run() throws { try Sweeps.control(id.value, "cancel", options) }
    }

    /// `sweeps delete ID [--cancel]`: output and exit statuses as `experiments delete`.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a sweep and every child experiment (rows, artifacts, checkpoints); needs an admin token.",
            discussion: """
                A sweep with a child that may still run (queued, running, pausing, paused, cancelling) is refused (409, exit 4; \
                the detail names those children) unless --cancel: then the sweep and its children are cancelled, and deleted once \
                their runners have stopped. Pinned children are deleted too. Deleting a sweep that does not exist (or no longer) \
                is a 404 (exit 4).
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "The sweep's id") var id: ExperimentID
        @Flag(help: "Cancel the sweep and its children first when one may still run") var cancel = false
        func run() throws {
            try deleteResource("sweep", collection: "sweeps", id: id.value, cancel: cancel, options)
        }
    }

    static func control(_ id: String, _ verb: String, _ options: ClientOptions) throws {
        try runClient { () throws(ClientError) -> Int32 in
            let s = try options.client().json("POST", APIClient.path("v1", "sweeps", id, verb))
            Sweeps.show([s], as: options.output, single: true)
            return 0
        }
    }
}
