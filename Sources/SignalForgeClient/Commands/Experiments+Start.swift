import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments start`: queue an experiment from a request file or flags.
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start an experiment.",
            discussion: """
                The request comes from --file (a JSON ExperimentRequest; '-' reads stdin), from flags, \
                or both: flags replace the file's members. --dataset SYMBOL=PATH_OR_ID may repeat; a UUID \
                is an uploaded dataset's id, anything else a path under the server's data root.

                Prints the experiment (csv columns: \(ExperimentView.csvColumns.joined(separator: ","))); \
                with --quiet only its id. With --idempotency-key a retried call gets the first call's \
                experiment instead of starting another. With --wait it then follows the experiment like \
                watch (its progress on stderr) and exits with its outcome (0 succeeded, 1 failed, 2 cancelled, 3 interrupted).
                """)

        @OptionGroup var options: ClientOptions

        @Option(help: "A JSON request body ('-' for stdin)")
        var file: String?

        @Option(help: ArgumentHelp("SYMBOL=PATH_OR_ID; repeat for more datasets", valueName: "symbol=path-or-id"))
        var dataset: [String] = []

        @Option(help: "Comma-separated timeframes (e.g. 15m,1h; server default 1h)")
        var timeframes: String?

        @Option(help: "Comma-separated stages (server default: all this build runs)")
        var stages: String?

        @Option(help: "high, medium or low (server default medium)")
        var priority: String?

        @Option(help: "A name (server default experiment-<id prefix>)")
        var name: String?

        @Option(help: "Sent as Idempotency-Key: the same key and body never start two experiments")
        var idempotencyKey: String?

        @Flag(help: "Follow the experiment to its end like watch, and exit with its outcome")
        var wait = false

        @Flag(name: .shortAndLong, help: "Print only the experiment's id")
        var quiet = false

        @Option(help: "With --wait: seconds between polls")
        var interval: Double = 0.25

        func validate() throws {
            if file == nil, dataset.isEmpty { throw ValidationError("give --file or at least one --dataset SYMBOL=PATH_OR_ID") }
            for d in dataset where Self.parseDataset(d) == nil {
                throw ValidationError("--dataset '\(d)' is not SYMBOL=PATH_OR_ID")
            }
            if let p = priority, !["high", "medium", "low"].contains(p) {
                throw ValidationError("--priority must be high, medium or low")
            }
            if let key = idempotencyKey,
                key.isEmpty || key.utf8.count > 255 || !key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
            {
                throw ValidationError("--idempotency-key must be 1 to 255 visible ASCII characters")
            }
            guard interval > 0 else { throw ValidationError("--interval must be positive") }
        }

        static func parseDataset(_ text: String) -> JSONValue? {
            guard let eq = text.firstIndex(of: "=") else { return nil }
            let symbol = String(text[..<eq])
            let ref = String(text[text.index(after: eq)...])
            guard !symbol.isEmpty, !ref.isEmpty else { return nil }
            if UUID(uuidString: ref) != nil {
                return .object([("symbol", .string(symbol)), ("dataset_id", .string(ref.lowercased()))])
            }
            return .object([("symbol", .string(symbol)), ("path", .string(ref))])
        }

        static func list(_ text: String) -> JSONValue {
            .strings(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }

        /// The request body: the file's object with the flags' members set over it.
        func body() throws(ClientError) -> JSONValue {
            var members: [(String, JSONValue)] = []
            if let file {
                let bytes: [UInt8]
                if file == "-" {
                    bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
                } else {
                    guard let data = FileManager.default.contents(atPath: file) else { throw .local("cannot read \(file)") }
                    bytes = [UInt8](data)
                }
                let parsed: JSONValue
                do { parsed = try JSONValue.parse(bytes) } catch { throw .local("\(file): \(error.description)") }
                guard let m = parsed.members else { throw .local("\(file): the request must be a JSON object") }
                members = m
            }
            func set(_ key: String, _ value: JSONValue?) {
                guard let value else { return }
                if let i = members.firstIndex(where: { $0.0 == key }) { members[i].1 = value } else { members.append((key, value)) }
            }
            set("name", name.map(JSONValue.string))
            set("priority", priority.map(JSONValue.string))
            set("datasets", dataset.isEmpty ? nil : .array(dataset.compactMap(Self.parseDataset)))
            set("timeframes", timeframes.map(Self.list))
            set("stages", stages.map(Self.list))
            return .object(members)
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                let client = try options.client()
                var headers: [String: String] = [:]
                if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
                let response = try client.checked(
                    client.send("POST", "/v1/experiments", headers: headers, body: Array(try body().compact.utf8)))
                let experiment = try response.json()
                guard let id = experiment["id"]?.string else { throw .transport("the server's answer has no experiment id") }
                if response.header("Idempotent-Replayed") == "true" {
                    Console.error(
                        "note: Idempotency-Key '\(idempotencyKey ?? "")' was used before: this is experiment \(id), not a new one")
                }
                if quiet { Console.line(id) } else { ExperimentView.show([experiment], as: options.output, single: true) }
                guard wait else { return 0 }
                // stdout holds the experiment (or its id); the progress goes to stderr.
                return try Watcher(client: client, id: id, format: .table, interval: interval, fd: STDERR_FILENO).run()
            }
        }
    }
}
