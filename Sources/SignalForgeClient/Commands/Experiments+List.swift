import ArgumentParser
import Foundation

extension Experiments {
    static let statuses = ["queued", "running", "pausing", "paused", "cancelling", "succeeded", "failed", "cancelled", "interrupted"]

    /// `experiments list [--status S]`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List experiments, newest first.",
            discussion: "csv columns: \(ExperimentView.csvColumns.joined(separator: ",")). json: an array of experiments.")

        @OptionGroup var options: ClientOptions

        @Option(help: "Only this status (\(Experiments.statuses.joined(separator: ", ")))")
        var status: String?

        @Option(help: "At most this many (0 = all)")
        var limit = 50

        func validate() throws {
            if let status, !Experiments.statuses.contains(status) {
                throw ValidationError("--status must be one of \(Experiments.statuses.joined(separator: ", "))")
            }
            guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let client = try options.client()
                var query: [(String, String)] = [("limit", String(limit == 0 ? 500 : min(limit, 500)))]
                if let status { query.append(("status", status)) }
                let items = try client.items("/v1/experiments", query: query, cursorParameter: "cursor", max: limit == 0 ? .max : limit)
                    .items
                ExperimentView.show(items, as: options.output, single: false)
                return 0
            }
        }
    }

    /// `experiments status ID`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one experiment.",
            discussion: "csv columns: \(ExperimentView.csvColumns.joined(separator: ",")). json: the experiment as the server sent it.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let e = try options.client().json("GET", APIClient.path("v1", "experiments", id.value))
                ExperimentView.show([e], as: options.output, single: true)
                return 0
            }
        }
    }
}
