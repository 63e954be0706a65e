import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension Experiments {
    /// `experiments artifacts ID` and `experiments artifacts get ID NAME [-o FILE]`.
    struct Artifacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an experiment's exported files, or download one.",
            subcommands: [ListFiles.self, Get.self],
            defaultSubcommand: ListFiles.self)

        static let columns = ["name", "format", "size_bytes", "rows", "sha256", "created_at", "url"]

        struct ListFiles: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list",
                abstract: "List an experiment's exported files (the default).",
                discussion: "csv columns: \(Artifacts.columns.joined(separator: ",")). json: an array of artifacts as the server sent them."
            )

            @OptionGroup var options: ClientOptions
            @Argument(help: "The experiment's id") var id: ExperimentID

            func run() throws {
                try runClient { () throws(ClientError) -> Int32 in
                    let items = try options.client().items(
                        APIClient.path("v1", "experiments", id.value, "artifacts"), cursorParameter: "cursor"
                    ).items
                    switch options.output {
                    case .json: Console.line(JSONValue.array(items).pretty)
                    case .csv: Console.out(CSV.table(Artifacts.columns, items))
                    case .table:
                        guard !items.isEmpty else {
                            Console.line("no artifacts")
                            return 0
                        }
                        var t = TextTable(["NAME", "FORMAT", "SIZE", "ROWS", "CREATED"], rightAligned: [2, 3])
                        for a in items {
                            t.add([
                                a["name"]?.cell ?? "", a["format"]?.cell ?? "", a["size_bytes"]?.double.map(Format.bytes) ?? "",
                                a["rows"]?.cell ?? "", Timestamp.short(a["created_at"]?.string),
                            ])
                        }
                        Console.out(t.render())
                    }
                    return 0
                }
            }
        }

        struct Get: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Download one exported file.",
                discussion: """
                    Downloads into FILE.part and renames it to FILE when complete (default FILE: the artifact's \
                    name in the current folder; '-' writes to stdout). An interrupted download resumes: the next \
                    run (or an automatic retry) asks for the rest with Range and If-Range (the ETag kept in \
                    FILE.part.etag), and starts over if the file changed on the server. The byte count is \
                    checked against Content-Length, and the content against the SHA-256 in the ETag when the \
                    server recorded one. json prints {name, path, size_bytes, sha256, resumed_from}; csv the \
                    same columns.
                    """)

            @OptionGroup var options: ClientOptions
            @Argument(help: "The experiment's id") var id: ExperimentID
            @Argument(help: "The artifact's name (see 'artifacts ID')") var name: String

            @Option(name: [.customShort("o"), .customLong("out")], help: "Where to write it ('-' for stdout)")
            var out: String?

            @Option(help: "Automatic resumes after a broken connection")
            var retries = 3

            func run() throws {
                try runClient { () throws(ClientError) -> Int32 in
                    let client = try options.client()
                    let dest = out ?? ((name as NSString).lastPathComponent.isEmpty ? "artifact" : (name as NSString).lastPathComponent)
                    let download = Download(client: client, path: APIClient.path("v1", "experiments", id.value, "artifacts", name))
                    if dest == "-" {
                        _ = try download.toStandardOutput()
                        return 0
                    }
                    let result = try download.toFile(dest, retries: max(0, retries))
                    let record = JSONValue.object([
                        ("name", .string(name)), ("path", .string(dest)), ("size_bytes", .number(String(result.size))),
                        ("sha256", result.sha256.map(JSONValue.string) ?? .null), ("resumed_from", .number(String(result.resumedFrom))),
                    ])
                    switch options.output {
                    case .json: Console.line(record.pretty)
                    case .csv: Console.out(CSV.table(["name", "path", "size_bytes", "sha256", "resumed_from"], [record]))
                    case .table:
                        var line = "saved \(dest) (\(Format.bytes(Double(result.size))))"
                        if result.resumedFrom > 0 { line += ", resumed at byte \(result.resumedFrom)" }
                        if result.sha256 != nil { line += ", SHA-256 verified" }
                        Console.line(line)
                    }
                    return 0
                }
            }
        }
    }
}
