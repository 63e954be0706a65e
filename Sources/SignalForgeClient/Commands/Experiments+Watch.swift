import ArgumentParser

extension Experiments {
    /// `experiments watch ID`: follow an experiment to its end; exit with its outcome.
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow an experiment's progress to its end and exit with its outcome.",
            discussion: """
                On a terminal: the progress tree (pipeline → stage → step) redrawn in place, a bar per \
                running stage with percent, rate and ETA, the state and the latest log line. Otherwise \
                (a pipe, a CI log): one plain line per change. --output json prints one NDJSON record per \
                change, --output csv one row; their columns: \(WatchRenderer.recordColumns.joined(separator: ",")).

                Exit status: 0 succeeded, 1 failed, 2 cancelled, 3 interrupted; 4 the server answered \
                with an error (e.g. no such experiment); 5 the server stayed unreachable for --reconnect-for seconds.
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        @Option(help: "Seconds between polls")
        var interval: Double = 0.25

        @Option(help: "Seconds to keep trying while the server is unreachable")
        var reconnectFor: Double = 60

        func validate() throws {
            guard interval > 0 else { throw ValidationError("--interval must be positive") }
            guard reconnectFor >= 0 else { throw ValidationError("--reconnect-for must be 0 or more") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                try Watcher(client: options.client(), id: id.value, format: options.output, interval: interval, reconnectFor: reconnectFor)
                    .run()
            }
        }
    }
}
