import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Follows an experiment to its end by polling `GET /v1/experiments/{id}`,
/// its `/progress` and the newest line of its `/logs` (`tail=1`).
///
/// On a terminal it redraws the progress tree in place; elsewhere (a pipe, a
/// CI log) it prints one plain line per change; with `--output json|csv` one
/// record per change. While the server cannot be reached (a restart, a 503)
/// it keeps trying for `reconnectFor` seconds.
struct Watcher {
    let client: APIClient
    let id: String
    let format: OutputFormat
    /// Seconds between polls.
    var interval: Double = 0.25
    /// How long the server may stay unreachable before giving up.
    var reconnectFor: Double = 60
    /// Where the progress goes (stdout; stderr for `start --wait`, whose stdout is the experiment).
    var fd: Int32 = STDOUT_FILENO

    /// Polls until the experiment is final.
    /// - Returns: The exit status of the outcome: 0 succeeded, 1 failed, 2 cancelled, 3 interrupted.
    /// - Throws: `ClientError` for a problem answer (e.g. 404) or when the
    ///   server stayed unreachable for `reconnectFor` seconds.
    func run() throws(ClientError) -> Int32 {
        let tty = isatty(fd) == 1
        let colors = tty && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let live = tty && format == .table
        var drawn = 0
        var lastKey = ""
        var logCursor: String?
        var latestLog: JSONValue?
        var failingSince: Date?
        var tree: ProgressNode?
        let experimentPath = APIClient.path("v1", "experiments", id)
        if format == .csv { write(CSV.row(WatchRenderer.recordColumns) + "\n") }

        while true {
            let experiment: JSONValue
            do {
                experiment = try client.json("GET", experimentPath)
                if let t = try? client.json("GET", experimentPath + "/progress") { tree = ProgressNode(t) }
                // Only the newest line is shown: ask for just that (`tail=1`),
                // however long the log is.
                let page = try client.json("GET", experimentPath + "/logs", query: [("tail", "1")])
                if let last = page["items"]?.array?.last, last["id"]?.cell != logCursor {
                    latestLog = last
                    logCursor = last["id"]?.cell
                }
                if failingSince != nil { Console.error("\(Timestamp.nowTime()) reconnected") }
                failingSince = nil
            } catch  where error.code == .transport || (error.status.map(HTTPStatus.isTransient) ?? false) {
                let since = failingSince ?? Date()
                if failingSince == nil {
                    Console.error("\(Timestamp.nowTime()) \(error.message); retrying for up to \(Int(reconnectFor)) s")
                }
                failingSince = since
                if Date().timeIntervalSince(since) > reconnectFor {
                    throw ClientError(
                        code: error.code, message: error.message + " (gave up after \(Int(reconnectFor)) s)", status: error.status)
                }
                Thread.sleep(forTimeInterval: max(interval, 0.5))
                continue
            }

            let snapshot = WatchSnapshot(experiment: experiment, tree: tree, log: latestLog)
            let outcome = ExitStatus.outcome(snapshot.status)
            if live {
                let lines = WatchRenderer.treeLines(snapshot, width: max(20, Terminal.width(of: fd) - 1), colors: colors)
                var frame = drawn > 0 ? "\u{1B}[\(drawn)F\u{1B}[J" : ""
                frame += lines.joined(separator: "\n") + "\n"
                write(frame)
                drawn = lines.count
            } else {
                let key = WatchRenderer.changeKey(snapshot)
                if key != lastKey {
                    lastKey = key
                    switch format {
                    case .table: write(WatchRenderer.plainLine(snapshot) + "\n")
                    case .json: write(WatchRenderer.record(snapshot).compact + "\n")
                    case .csv:
                        let record = WatchRenderer.record(snapshot)
                        write(CSV.row(WatchRenderer.recordColumns.map { record[$0]?.cell ?? "" }) + "\n")
                    }
                }
            }
            if let outcome {
                if format == .table {
                    var summary = "experiment \(snapshot.id) \(Terminal.paintStatus(snapshot.status, enabled: colors))"
                    if let d = Timestamp.seconds(from: experiment["started_at"], to: experiment["finished_at"]) {
                        summary += " in " + Format.duration(d)
                    }
                    if let error = snapshot.error, !error.isEmpty, !live { summary += ": " + error }
                    write(summary + "\n")
                }
                return outcome
            }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    private func write(_ text: String) {
        if fd == STDERR_FILENO {
            var t = text
            if t.hasSuffix("\n") { t.removeLast() }
            Console.error(t)
        } else {
            Console.out(text)
        }
    }
}
