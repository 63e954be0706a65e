import ArgumentParser
import Foundation

/// The options every client command takes: where the server is, the token,
/// and the output format.
struct ClientOptions: ParsableArguments {
    @Option(help: "The server's URL (env SIGNALFORGE_URL; default http://127.0.0.1:8080)")
    var server: String?

    @Option(help: "A bearer token (env SIGNALFORGE_TOKEN; default none)")
    var token: String?

    @Option(help: "table, json or csv (json and csv are stable for scripts)")
    var output: OutputFormat = .table

    static let defaultServer = "http://127.0.0.1:8080"

    var resolvedServer: String {
        server ?? ProcessInfo.processInfo.environment["SIGNALFORGE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultServer
    }

    var resolvedToken: String? { token ?? ProcessInfo.processInfo.environment["SIGNALFORGE_TOKEN"] }

    func validate() throws {
        let s = resolvedServer
        guard let url = URL(string: s), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw ValidationError("--server (or SIGNALFORGE_URL) must be an http:// or https:// URL, not '\(s)'")
        }
    }

    /// A client for the resolved server and token.
    func client() throws(ClientError) -> APIClient { try APIClient(server: resolvedServer, token: resolvedToken) }
}

/// Runs a command body: a `ClientError` is printed to stderr as
/// `error: <detail> (HTTP <status> <title>)` and becomes the exit status of
/// ``ClientError/exitCode``; the body's own status is returned as the exit status.
func runClient(_ body: () throws(ClientError) -> Int32) throws {
    let status: Int32
    do {
        status = try body()
    } catch {
        Console.error("error: " + error.message)
        throw ExitCode(error.exitCode)
    }
    if status != 0 { throw ExitCode(status) }
}

/// Checks that an experiment id is a UUID before asking the server.
struct ExperimentID: ExpressibleByArgument, Sendable {
    var value: String

    init?(argument: String) {
        guard UUID(uuidString: argument) != nil else { return nil }
        value = argument.lowercased()
    }
}
