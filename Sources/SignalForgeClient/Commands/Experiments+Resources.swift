import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments resources ID`: RSS, CPU and rows/s samples.
    struct Resources: ParsableCommand {
        static let columns = ["id", "ts", "stage", "rss_bytes", "cpu_percent", "rows_per_second"]

        static let configuration = CommandConfiguration(
            abstract: "An experiment's resource samples (RSS, CPU, rows per second) as a table and sparklines.",
            discussion: """
                The server samples every 2 s by default (its metrics_interval_ms) while the experiment runs; \
                rows/s is the rows its stages processed per second since the previous sample. csv columns: \(columns.joined(separator: ",")). \
                json: an array of samples as the server sent them.
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        @Option(help: "Table: show only the last N samples (the sparklines use them all; 0 = all)")
        var last = 20

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let items = try options.client().items(
                    APIClient.path("v1", "experiments", id.value, "metrics"), query: [("limit", "5000")], cursorParameter: "after"
                ).items
                switch options.output {
                case .json: Console.line(JSONValue.array(items).pretty)
                case .csv: Console.out(CSV.table(Self.columns, items))
                case .table: Console.out(Self.table(items, last: last))
                }
                return 0
            }
        }

        static func table(_ items: [JSONValue], last: Int, colors: Bool = Terminal.colors) -> String {
            guard !items.isEmpty else { return "no samples (the server records one every 2 s by default while the experiment runs)\n" }
            var t = TextTable(["TIME", "STAGE", "RSS", "CPU", "ROWS/S"], rightAligned: [2, 3, 4])
            for s in last > 0 ? Array(items.suffix(last)) : items {
                t.add([
                    Timestamp.short(s["ts"]?.string), s["stage"]?.cell ?? "", s["rss_bytes"]?.double.map(Format.bytes) ?? "",
                    s["cpu_percent"]?.double.map(Format.percent) ?? "", s["rows_per_second"]?.double.map(Format.count) ?? "",
                ])
            }
            var out = t.render(colors: colors)
            if last > 0, items.count > last { out += "(\(items.count - last) earlier samples not shown)\n" }
            out += "\n"
            let width = max(10, min(60, Terminal.width() - 40))
            let series: [(String, String, (Double) -> String)] = [
                ("rss", "rss_bytes", Format.bytes), ("cpu", "cpu_percent", Format.percent), ("rows/s", "rows_per_second", Format.count),
            ]
            for (label, key, fmt) in series {
                let values = items.map { $0[key]?.double }
                let present = values.compactMap { $0 }
                guard let lo = present.min(), let hi = present.max() else { continue }
                out +=
                    label.padding(toLength: 8, withPad: " ", startingAt: 0) + Sparkline.render(values, width: width)
                    + "  min \(fmt(lo))  max \(fmt(hi))  last \(fmt(present.last!))\n"
            }
            return out
        }
    }
}
