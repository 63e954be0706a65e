import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments report ID`: the backtest report.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An experiment's backtest report.",
            discussion: """
                json: the report object as the server sent it. csv columns: key,value — every scalar of the \
                report by its path (nested members joined with '.', array items as [i]). The table shows the \
                scalars and a sparkline for each array of numbers (or of objects with one numeric member such \
                as an equity curve).
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let report = try options.client().json("GET", APIClient.path("v1", "experiments", id.value, "report"))
                switch options.output {
                case .json: Console.line(report.pretty)
                case .csv:
                    var out = CSV.row(["key", "value"]) + "\n"
                    for (k, v) in Self.flatten(report) { out += CSV.row([k, v.cell]) + "\n" }
                    Console.out(out)
                case .table: Console.out(Self.table(report))
                }
                return 0
            }
        }

        /// Every scalar leaf with its path (`trades[0].pnl`, `equity[3]`).
        static func flatten(_ value: JSONValue, prefix: String = "") -> [(String, JSONValue)] {
            switch value {
            case .object(let members):
                return members.flatMap { k, v in flatten(v, prefix: prefix.isEmpty ? k : prefix + "." + k) }
            case .array(let items):
                return items.enumerated().flatMap { i, v in flatten(v, prefix: prefix + "[\(i)]") }
            default:
                return [(prefix.isEmpty ? "value" : prefix, value)]
            }
        }

        /// Scalars as `key  value`, numeric series as sparklines, other arrays by their size.
        static func table(_ report: JSONValue, colors: Bool = Terminal.colors) -> String {
            var rows: [(String, String)] = []
            func walk(_ v: JSONValue, _ path: String) {
                switch v {
                case .object(let members):
                    for (k, m) in members { walk(m, path.isEmpty ? k : path + "." + k) }
                case .array(let items):
                    if items.isEmpty {
                        rows.append((path, "(none)"))
                    } else if let series = numericSeries(items) {
                        let finite = series.compactMap { $0 }
                        let range = finite.isEmpty ? "" : "  \(Format.count(finite.first!)) → \(Format.count(finite.last!))"
                        rows.append((path, Sparkline.render(series, width: 50) + "  (\(items.count) points)" + range))
                    } else if items.allSatisfy(\.isScalar) {
                        rows.append((path, items.map(\.cell).joined(separator: ", ")))
                    } else {
                        rows.append((path, "\(items.count) items (see --output json)"))
                    }
                default:
                    rows.append((path.isEmpty ? "value" : path, v.cell))
                }
            }
            walk(report, "")
            var head = ""
            if let overall = report["evaluation"]?["overall"], let verdict = overall["verdict"]?.cell {
                head = Terminal.paint("verdict: \(verdict)", .bold, enabled: colors) + " — " + (overall["reason"]?.cell ?? "") + "\n"
            }
            let width = rows.map(\.0.count).max() ?? 0
            return head
                + rows.map {
                    Terminal.paint($0.0.padding(toLength: width, withPad: " ", startingAt: 0), .bold, enabled: colors) + "  " + $0.1
                }
                .joined(separator: "\n") + "\n"
        }

        /// The numbers of an array of numbers, or of objects whose only
        /// numeric member (besides timestamps) is the same (an equity curve).
        static func numericSeries(_ items: [JSONValue]) -> [Double?]? {
            guard items.count > 1 else { return nil }
            if items.allSatisfy({ if case .number = $0 { true } else { false } }) { return items.map(\.double) }
            guard let first = items.first?.members else { return nil }
            let numeric = first.filter { if case .number = $0.1 { true } else { false } }.map(\.0)
            guard numeric.count == 1, let key = numeric.first else { return nil }
            return items.map { $0[key]?.double }
        }
    }
}
