public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `signalforge serve` process (the product's executable, built beside
/// the test bundle) on a free loopback port, for tests that kill, stop or
/// start instances. Its standard output and error go to ``logPath``, which
/// survives the process so a test can count what it printed.
public final class SignalForgeProcess {
    /// Why the executable could not be found, started or reached.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The process.
    public let process = Process()
    /// The HTTP port on 127.0.0.1.
    public let port: Int
    /// Where its standard output and error go (appended).
    public let logPath: String

    /// The operating-system process id.
    public var pid: Int32 { process.processIdentifier }

    /// Starts `signalforge serve` and waits until `/healthz` answers 200.
    ///
    /// - Parameters:
    ///   - databaseURL: the database (`--database-url`).
    ///   - dataDir: the data folder (`--data-dir`); instances of one test share it.
    ///   - logPath: the file for its output (appended to).
    ///   - arguments: more `serve` flags; none by default.
    ///   - environment: added to this process's environment.
    /// - Throws: `Failure` when it exits or does not answer within 60 s.
    public init(
        databaseURL: String, dataDir: String, logPath: String, arguments: [String] = [], environment: [String: String] = [:]
    ) throws {
        port = try localFreePort()
        self.logPath = logPath
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        guard let output = FileHandle(forWritingAtPath: logPath) else { throw Failure(description: "cannot write \(logPath)") }
        output.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments =
            [
                "serve", "--port", "\(port)", "--data-dir", dataDir, "--database-url", databaseURL,
                "--log-level", "info", "--access-log", "false",
            ] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try? output.close()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if (try? httpRequest(port: port, "GET", "/healthz").status) == 200 { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        if process.isRunning { kill9() }
        throw Failure(description: "signalforge serve did not answer on port \(port):\n\(log.suffix(2000))")
    }

    deinit {
        if process.isRunning { kill9() }
    }

    /// One request on a fresh connection; a JSON body gets its content type.
    public func request(_ method: String, _ target: String, body: String? = nil) throws -> RawHTTPConnection.Response {
        try httpRequest(
            port: port, method, target, headers: body == nil ? [:] : ["Content-Type": "application/json"], body: Array((body ?? "").utf8))
    }

    /// SIGKILL, then waits for the exit.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the exit.
    ///
    /// - Returns: the seconds from the signal to the exit, or nil when it
    ///   was still running after `timeout` (it is then killed).
    public func terminate(timeout: Double = 30) -> Double? {
        let start = Date()
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                kill9()
                return nil
            }
            usleep(5_000)
        }
        return Date().timeIntervalSince(start)
    }

    /// The user plus system CPU seconds the process has used (from `/proc`).
    public var cpuSeconds: Double? { ProcessStat(pid: pid)?.cpuSeconds }

    /// Runs `signalforge sample-data` (1m bars, seed 42, with sentiment) into `folder`.
    ///
    /// - Throws: `Failure` when it exits with a non-zero status.
    public static func sampleData(into folder: String, symbols: [String], days: Int) throws {
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: try executable())
        tool.arguments = [
            "sample-data", "--out", folder, "--symbols", symbols.joined(separator: ","), "--timeframe", "1m",
            "--days", "\(days)", "--seed", "42", "--sentiment",
        ]
        tool.standardOutput = FileHandle.nullDevice
        try tool.run()
        tool.waitUntilExit()
        guard tool.terminationStatus == 0 else { throw Failure(description: "sample-data exited with \(tool.terminationStatus)") }
    }

    /// The `signalforge` executable in the build folder above the test bundle.
    public static func executable() throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("signalforge").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        throw Failure(description: "no signalforge executable above \(CommandLine.arguments[0]) (swift build --build-tests builds it)")
    }
}
