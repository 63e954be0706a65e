import ArgumentParser

extension Experiments {
    /// `experiments pause|resume|cancel ID` share this.
    static func control(_ action: String, _ id: ExperimentID, _ options: ClientOptions, body: JSONValue? = nil) throws {
        try runClient { () throws(ClientError) -> Int32 in
            let e = try options.client().json(
                "POST", APIClient.path("v1", "experiments", id.value, action), body: body.map { Array($0.compact.utf8) })
            if options.output == .table {
                // What may follow comes from the server (`allowed_actions`), not from rules of our own.
                let next = ExperimentView.allowedActions(e).map { "  (allowed now: \($0))" } ?? ""
                Console.line("experiment \(e["id"]?.cell ?? id.value): \(Terminal.paintStatus(e["status"]?.cell ?? "?"))\(next)")
            } else {
                ExperimentView.show([e], as: options.output, single: true)
            }
            return 0
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a running experiment at its next checkpoint (pausing now, paused once parked).",
            discussion:
                "Prints the experiment as it is now. A state that does not allow it is a 409 (exit 4) that says what the state allows.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        func run() throws { try Experiments.control("pause", id, options) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a paused experiment.",
            discussion:
                "Prints the experiment as it is now. A state that does not allow it is a 409 (exit 4) that says what the state allows.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        func run() throws { try Experiments.control("resume", id, options) }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel an experiment (at once when queued or paused, else at its next checkpoint).",
            discussion:
                "Prints the experiment as it is now. A state that does not allow it is a 409 (exit 4) that says what the state allows.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        func run() throws { try Experiments.control("cancel", id, options) }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a failed, cancelled or interrupted experiment again.",
            discussion: "It resumes after its last completed stage, or from --from-stage. Prints the experiment as it is now.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        @Option(help: "Run again from this stage (load, resample, merge, features, patterns, forecast, fusion, export, analysis)")
        var fromStage: String?
        func run() throws {
            try Experiments.control("retry", id, options, body: fromStage.map { .object([("from_stage", .string($0))]) })
        }
    }
}
