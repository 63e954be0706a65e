import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments events ID`: the lifecycle events.
    struct Events: ParsableCommand {
        static let columns = ["id", "ts", "kind", "stage", "from_status", "to_status", "duration_ms", "details"]

        static let configuration = CommandConfiguration(
            abstract: "An experiment's lifecycle events, oldest first.",
            discussion: """
                csv columns: \(columns.joined(separator: ",")) (details as a JSON object). json: an array of \
                events as the server sent them.
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let items = try options.client().items(
                    APIClient.path("v1", "experiments", id.value, "events"), query: [("limit", "1000")], cursorParameter: "after"
                ).items
                switch options.output {
                case .json: Console.line(JSONValue.array(items).pretty)
                case .csv: Console.out(CSV.table(Self.columns, items))
                case .table:
                    var t = TextTable(["TIME", "KIND", "STAGE", "TRANSITION", "DURATION", "DETAILS"], rightAligned: [4])
                    for e in items {
                        let from = e["from_status"]?.string
                        let to = e["to_status"]?.string
                        let transition = from != nil || to != nil ? "\(from ?? "")→\(to ?? "")" : ""
                        let details = e["details"]?.members.map { $0.map { "\($0.0)=\($0.1.cell)" }.joined(separator: " ") } ?? ""
                        t.add([
                            Timestamp.short(e["ts"]?.string), e["kind"]?.cell ?? "", e["stage"]?.cell ?? "", transition,
                            e["duration_ms"]?.double.map { Format.duration($0 / 1000) } ?? "", details.truncated(to: 60),
                        ])
                    }
                    Console.out(t.render())
                }
                return 0
            }
        }
    }
}
