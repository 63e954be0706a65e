import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments history`: finished experiments with their outcome.
    struct History: ParsableCommand {
        static let columns = [
            "id", "name", "outcome", "started_at", "finished_at", "duration_s", "stages_completed", "stages_total", "signals_accepted",
            "total_return", "sharpe", "verdict", "error",
        ]

        static let configuration = CommandConfiguration(
            abstract: "Finished experiments (succeeded, failed, cancelled): outcome, duration, stages, signals, return, Sharpe, verdict.",
            discussion: """
                Newest finished first. csv columns: \(columns.joined(separator: ",")). json: an array of objects \
                with those members (numbers as numbers; signals_accepted is null when the server does not serve \
                signals for the experiment; total_return, sharpe and verdict are null without a report).
                """)

        @OptionGroup var options: ClientOptions

        @Option(help: "At most this many")
        var limit = 20

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let client = try options.client()
                var finished: [JSONValue] = []
                for status in ["succeeded", "failed", "cancelled"] {
                    finished += try client.items(
                        "/v1/experiments", query: [("status", status), ("limit", String(min(limit, 500)))], cursorParameter: "cursor",
                        max: limit
                    ).items
                }
                finished.sort { ($0["finished_at"]?.string ?? "") > ($1["finished_at"]?.string ?? "") }
                let rows = try finished.prefix(limit).map { e throws(ClientError) in try Self.row(e, client) }
                switch options.output {
                case .json: Console.line(JSONValue.array(rows).pretty)
                case .csv: Console.out(CSV.table(Self.columns, rows))
                case .table:
                    var t = TextTable(
                        ["ID", "NAME", "OUTCOME", "FINISHED", "DURATION", "STAGES", "SIGNALS", "RETURN", "SHARPE", "VERDICT"],
                        rightAligned: [4, 5, 6, 7, 8])
                    for r in rows {
                        t.add([
                            r["id"]?.cell ?? "", (r["name"]?.cell ?? "").truncated(to: 28), r["outcome"]?.cell ?? "",
                            Timestamp.short(r["finished_at"]?.string), r["duration_s"]?.double.map(Format.duration) ?? "-",
                            "\(r["stages_completed"]?.cell ?? "?")/\(r["stages_total"]?.cell ?? "?")",
                            r["signals_accepted"]?.isNull == false ? r["signals_accepted"]!.cell : "-",
                            r["total_return"]?.double.map { String(format: "%+.2f%%", $0 * 100) } ?? "-",
                            r["sharpe"]?.double.map { String(format: "%.2f", $0) } ?? "-",
                            r["verdict"]?.isNull == false ? r["verdict"]!.cell : "-",
                        ])
                    }
                    Console.out(
                        t.render { column, raw, padded in
                            column == 2 ? padded.replacingOccurrences(of: raw, with: Terminal.paintStatus(raw)) : padded
                        })
                }
                return 0
            }
        }

        /// One history row: the experiment, its completed stages (from its
        /// events) and its accepted signals (counted from `/signals`).
        static func row(_ e: JSONValue, _ client: APIClient) throws(ClientError) -> JSONValue {
            let id = e["id"]?.string ?? ""
            let events = try client.items(
                APIClient.path("v1", "experiments", id, "events"), query: [("limit", "1000")], cursorParameter: "after"
            ).items
            let completed = Set(events.filter { $0["kind"]?.string == "stage_completed" }.compactMap { $0["stage"]?.string })
            let total = e["request"]?["stages"]?.array?.count
            let signals = try acceptedSignals(id, client)
            let duration = Timestamp.seconds(from: e["started_at"], to: e["finished_at"])
            let report = try Self.report(id, client)
            let summary: JSONValue? = report?["backtest"]?["summary"]
            let overall: JSONValue? = report?["evaluation"]?["overall"]
            let totalReturn: JSONValue = summary?["total_return"] ?? .null
            let sharpe: JSONValue = summary?["sharpe"] ?? .null
            let verdict: JSONValue = overall?["verdict"] ?? .null
            var members: [(String, JSONValue)] = []
            members.append(("id", .string(id)))
            members.append(("name", e["name"] ?? .null))
            members.append(("outcome", e["status"] ?? .null))
            members.append(("started_at", e["started_at"] ?? .null))
            members.append(("finished_at", e["finished_at"] ?? .null))
            members.append(("duration_s", duration.map { .number(String(format: "%.3f", $0)) } ?? .null))
            members.append(("stages_completed", .number(String(completed.count))))
            members.append(("stages_total", total.map { .number(String($0)) } ?? .null))
            members.append(("signals_accepted", signals.map { .number(String($0)) } ?? .null))
            members.append(("total_return", totalReturn))
            members.append(("sharpe", sharpe))
            members.append(("verdict", verdict))
            members.append(("error", e["error"] ?? .null))
            return .object(members)
        }

        /// The experiment's report; nil when it has none (404).
        static func report(_ id: String, _ client: APIClient) throws(ClientError) -> JSONValue? {
            do { return try client.json("GET", APIClient.path("v1", "experiments", id, "report")) } catch  where error.status == 404 {
                return nil
            }
        }

        /// How many accepted signals the experiment has; nil when the server
        /// has none to show (404: no signals route yet, or none stored).
        static func acceptedSignals(_ id: String, _ client: APIClient) throws(ClientError) -> Int? {
            do {
                return try client.items(
                    APIClient.path("v1", "experiments", id, "signals"), query: [("accepted", "true"), ("limit", "5000")],
                    cursorParameter: "after"
                ).items.count
            } catch  where error.status == 404 {
                return nil
            }
        }
    }
}
