import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments compare A B …`: what differs and how they did, side by side.
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare 2 to 20 experiments: the config paths that differ, and their figures side by side.",
            discussion: """
                csv columns: section,key,<one column per experiment id>; section is config (key: the path that \
                differs), overall, or SYMBOL/TIMEFRAME (key: the figure). json: the server's comparison as sent \
                (with the equity curves on one grid).
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiments' ids (2 to 20)") var ids: [ExperimentID]

        func validate() throws {
            guard (2...20).contains(ids.count) else { throw ValidationError("give 2 to 20 experiment ids") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let c = try options.client().json(
                    "GET", "/v1/experiments/compare", query: [("ids", ids.map(\.value).joined(separator: ","))])
                if options.output == .json {
                    Console.line(c.pretty)
                    return 0
                }
                let rows = Self.rows(c)
                let columns = ids.map(\.value)
                if options.output == .csv {
                    Console.out(CSV.row(["section", "key"] + columns) + "\n" + rows.map { CSV.row($0) + "\n" }.joined())
                    return 0
                }
                var t = TextTable(["SECTION", "KEY"] + columns.map { String($0.prefix(8)) })
                for r in rows { t.add(r) }
                Console.out(t.render())
                return 0
            }
        }

        /// The comparison as rows: the config differences, then each figure overall and per series.
        static func rows(_ c: JSONValue) -> [[String]] {
            var rows: [[String]] = []
            for d in c["config_diff"]?.array ?? [] {
                rows.append(["config", d["path"]?.cell ?? ""] + (d["values"]?.array ?? []).map { $0.isScalar ? $0.cell : $0.compact })
            }
            let fields = (c["metrics"]?["fields"]?.array ?? []).compactMap(\.string)
            let overall = c["metrics"]?["overall"]?.array ?? []
            for f in fields { rows.append(["overall", f] + overall.map { $0[f]?.cell ?? "" }) }
            for s in c["metrics"]?["series"]?.array ?? [] {
                let name = "\(s["symbol"]?.cell ?? "")/\(s["timeframe"]?.cell ?? "")"
                let values = s["values"]?.array ?? []
                for f in fields { rows.append([name, f] + values.map { $0[f]?.cell ?? "" }) }
            }
            return rows
        }
    }
}
