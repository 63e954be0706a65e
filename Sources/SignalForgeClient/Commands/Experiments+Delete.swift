import ArgumentParser

extension Experiments {
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an experiment and everything it owns (rows, artifacts, checkpoints); needs an admin token.",
            discussion: """
                An experiment that may still run (queued, running, pausing, paused, cancelling) is refused (409, exit 4) \
                unless --cancel: then it is cancelled and deleted once its runner has stopped. Deleting an experiment that \
                does not exist (or no longer) is a 404 (exit 4).
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        @Flag(help: "Cancel it first when it may still run") var cancel = false
        func run() throws {
            try deleteResource("experiment", collection: "experiments", id: id.value, cancel: cancel, options)
        }
    }

    /// `experiments pin|unpin ID` share this.
    static func pin(_ action: String, _ id: ExperimentID, _ options: ClientOptions) throws {
        try runClient { () throws(ClientError) -> Int32 in
            let e = try options.client().json("POST", APIClient.path("v1", "experiments", id.value, action))
            if options.output == .table {
                let pinned = e["pinned"]?.cell == "true"
                Console.line("experiment \(e["id"]?.cell ?? id.value): \(pinned ? "pinned (retention keeps it)" : "not pinned")")
            } else {
                ExperimentView.show([e], as: options.output, single: true)
            }
            return 0
        }
    }

    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin an experiment: retention never deletes it (an explicit delete still does).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        func run() throws { try Experiments.pin("pin", id, options) }
    }

    struct Unpin: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unpin an experiment: retention may delete it again.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID
        func run() throws { try Experiments.pin("unpin", id, options) }
    }
}

/// `experiments delete` and `sweeps delete`: DELETE `/v1/<collection>/<id>`
/// (`?cancel=true` when asked), then one line in the chosen output format.
func deleteResource(_ noun: String, collection: String, id: String, cancel: Bool, _ options: ClientOptions) throws {
    try runClient { () throws(ClientError) -> Int32 in
        let client = try options.client()
        _ = try client.checked(
            client.send("DELETE", APIClient.path("v1", collection, id), query: cancel ? [("cancel", "true")] : [], timeout: 120))
        if options.output == .json {
            Console.line("{\"id\":\"\(id)\",\"deleted\":true}")
        } else if options.output == .csv {
            Console.line("id,deleted")
            Console.line("\(id),true")
        } else {
            Console.line("\(noun) \(id): deleted")
        }
        return 0
    }
}
