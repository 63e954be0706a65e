import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments logs ID [-f] [--level L] [--stage S]`.
    struct Logs: ParsableCommand {
        static let columns = ["id", "ts", "level", "stage", "message", "fields"]
        static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

        static let configuration = CommandConfiguration(
            abstract: "Print an experiment's log; with -f follow it live to the experiment's end.",
            discussion: """
                First the history (paged with the 'after' cursor), then with -f the live stream (SSE). A \
                dropped connection reconnects by itself with Last-Event-ID: no line is printed twice and \
                none is skipped. -f ends when the experiment does.

                --output json prints NDJSON, one log line object per line as the server sent it \
                (id, ts, level, stage, message, fields); csv columns: \(columns.joined(separator: ",")) \
                (fields as a JSON object).
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        @Flag(name: .shortAndLong, help: "Follow the log live until the experiment ends")
        var follow = false

        @Option(help: "The lowest level to show (trace, debug, info, notice, warning, error, critical)")
        var level: String?

        @Option(help: "Only this stage's lines")
        var stage: String?

        @Option(help: "With -f: seconds to keep reconnecting while the server is unreachable")
        var reconnectFor: Double = 60

        func validate() throws {
            if let level, !Self.levels.contains(level) {
                throw ValidationError("--level must be one of \(Self.levels.joined(separator: ", "))")
            }
            guard reconnectFor >= 0 else { throw ValidationError("--reconnect-for must be 0 or more") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let client = try options.client()
                let format = options.output
                let colors = Terminal.colors
                if format == .csv { Console.out(CSV.row(Self.columns) + "\n") }
                let show: @Sendable (JSONValue) -> Void = { Console.out(Self.render($0, format, colors: colors)) }

                var lastID: Int64 = 0
                var query: [(String, String)] = [("limit", "5000")]
                if let level { query.append(("level", level)) }
                if let stage { query.append(("stage", stage)) }
                let path = APIClient.path("v1", "experiments", id.value, "logs")
                while true {
                    let page = try client.json("GET", path, query: query + [("after", String(lastID))])
                    let items = page["items"]?.array ?? []
                    for line in items {
                        show(line)
                        if let i = line["id"]?.int { lastID = max(lastID, Int64(i)) }
                    }
                    guard page["next_cursor"]?.string != nil, !items.isEmpty else { break }
                }
                guard follow else { return 0 }
                let end = try LogFollower(client: client, id: id.value, level: level, stage: stage, reconnectFor: reconnectFor)
                    .follow(after: lastID, emit: show)
                if format == .table { Console.error("log stream ended: experiment \(end)") }
                return 0
            }
        }

        /// One log line in the chosen format, with its newline.
        static func render(_ line: JSONValue, _ format: OutputFormat, colors: Bool) -> String {
            switch format {
            case .json: return line.compact + "\n"
            case .csv: return CSV.row(columns.map { line[$0]?.cell ?? "" }) + "\n"
            case .table:
                let ts = line["ts"]?.string ?? ""
                let level = line["level"]?.string ?? ""
                let paddedLevel = level.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
                var text = Timestamp.short(ts) + (ts.count >= 23 ? String(ts.dropFirst(19).prefix(4)) : "") + " "
                text += Terminal.style(forStatus: level).map { Terminal.paint(paddedLevel, $0, enabled: colors) } ?? paddedLevel
                if let stage = line["stage"]?.string { text += Terminal.paint(stage + ": ", .dim, enabled: colors) }
                text += line["message"]?.string ?? ""
                if let fields = line["fields"]?.members, !fields.isEmpty {
                    text += Terminal.paint("  " + fields.map { "\($0.0)=\($0.1.cell)" }.joined(separator: " "), .dim, enabled: colors)
                }
                return text + "\n"
            }
        }
    }
}
