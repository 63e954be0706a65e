import Foundation
import Hashing
import Logging
import Service
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Tokens files for the reload tests: each name's token is `sf_<name>_token`.
enum ReloadTokens {
    static func token(_ name: String) -> String { "sf_\(name)_token_for_reload_tests" }
    static func line(_ name: String, _ scope: String = "operate") -> String {
        "\(name) \(scope) \(SHA256.hex(Array(token(name).utf8)))"
    }
    static func file(_ names: [String]) -> String { "# reload tests\n" + names.map { line($0) }.joined(separator: "\n") + "\n" }

    /// Polls until `condition` holds; returns the seconds it took, or nil after `timeout`.
    static func secondsUntil(_ timeout: Double = 5, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = ContinuousClock.now
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() {
                let d = ContinuousClock.now - start
                return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return nil
    }
}

struct TokenReloadTests {
    func status(_ t: TestApp, _ name: String) throws -> Int {
        try t.request("GET", "/v1/experiments", token: ReloadTokens.token(name)).status
    }

    @Test func aRemovedTokenIsRefusedAndAnAddedOneAcceptedWithinASecond() throws {
        let t = try TestApp(tokens: ReloadTokens.file(["alpha", "beta"]))
        let file = try #require(t.app.settings.tokensFile)
        #expect(try status(t, "alpha") == 200)
        #expect(try status(t, "gamma") == 401)

        // Replaced by an atomic rename (a new inode), as `mv` or a careful writer does.
        try ReloadTokens.file(["beta"]).write(toFile: file, atomically: true, encoding: .utf8)
        let removed = try ReloadTokens.secondsUntil { try status(t, "alpha") == 401 }
        #expect(removed != nil && removed! < 1, "alpha still accepted after \(removed ?? -1) s")
        #expect(try status(t, "beta") == 200)

        // Appended in place (same inode), as `signalforge token new` does.
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data((ReloadTokens.line("gamma") + "\n").utf8))
        handle.closeFile()
        let added = try ReloadTokens.secondsUntil { try status(t, "gamma") == 200 }
        #expect(added != nil && added! < 1, "gamma still refused after \(added ?? -1) s")
        #expect(try status(t, "beta") == 200)

        // Reloads are logged with counts, never tokens or hashes.
        let reloads = t.logs.messages("tokens reloaded")
        #expect(reloads.count >= 2)
        #expect(reloads.last?.metadata["tokens"] == "2")
        #expect(reloads.last?.metadata["added"] == "1")
        let logged = t.logs.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!logged.contains(ReloadTokens.token("gamma")))
        #expect(!logged.contains(SHA256.hex(Array(ReloadTokens.token("gamma").utf8))))
    }

    /// An editor that rewrites the file in place, same size (times may not move).
    @Test func anInPlaceRewriteOfTheSameSizeIsSeen() throws {
        let t = try TestApp(tokens: ReloadTokens.file(["alpha"]))
        let file = try #require(t.app.settings.tokensFile)
        #expect(try status(t, "alpha") == 200)
        let replacement = Data(ReloadTokens.file(["bravo"]).utf8)
        #expect(replacement.count == (try Data(contentsOf: URL(fileURLWithPath: file))).count)
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.write(replacement)
        handle.closeFile()
        let seen = try ReloadTokens.secondsUntil { try status(t, "bravo") == 200 }
        #expect(seen != nil && seen! < 1, "bravo still refused after \(seen ?? -1) s")
        #expect(try status(t, "alpha") == 401)
    }

    @Test func aMalformedFileKeepsThePreviousTokens() throws {
        let t = try TestApp(tokens: ReloadTokens.file(["alpha"]))
        let file = try #require(t.app.settings.tokensFile)
        try (ReloadTokens.file(["beta"]) + "delta operate not-a-hash\n").write(toFile: file, atomically: true, encoding: .utf8)
        let refused = ReloadTokens.secondsUntil { !t.logs.messages("tokens file not reloaded; the previous tokens stay in force").isEmpty }
        #expect(refused != nil)
        let error = t.logs.messages("tokens file not reloaded; the previous tokens stay in force").first?.metadata["error"] ?? ""
        #expect(error.contains("\(file):3:"), "the error names the line: \(error)")
        #expect(try status(t, "alpha") == 200, "the previous set stays in force")
        #expect(try status(t, "beta") == 401, "nothing of the broken file is applied")
        #expect(t.app.tokenRegistry.statistics.failures >= 1)

        // Fixed: applied at once.
        try ReloadTokens.file(["beta"]).write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ReloadTokens.secondsUntil { (try? status(t, "beta")) == 200 } != nil)
        #expect(try status(t, "alpha") == 401)
    }

    @Test func anEmptyFileIsNotAppliedBeyondLoopback() throws {
        let dir = NSTemporaryDirectory() + "sf-tokens-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/tokens"
        try ReloadTokens.file(["alpha"]).write(toFile: file, atomically: true, encoding: .utf8)
        let logs = LogCapture()
        let registry = try TokenRegistry(path: file, requireTokens: true, pollInterval: .zero, logger: logs.logger())
        try "# nobody\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(registry.reload(trigger: "test") == false)
        #expect(registry.current?.entries.map(\.name) == ["alpha"], "an open server would let everyone in")
        try ReloadTokens.file(["beta"]).write(toFile: file, atomically: true, encoding: .utf8)
        #expect(registry.reload(trigger: "test"))
        #expect(registry.current?.entries.map(\.name) == ["beta"])
    }

    /// `signalforge serve` as a child process, with the file watcher off so
    /// only SIGHUP can reload.
    @Test func sighupReloadsTheTokensOfARealServer() throws {
        let dir = NSTemporaryDirectory() + "sf-sighup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tokens = dir + "/tokens"
        try ReloadTokens.file(["alpha"]).write(toFile: tokens, atomically: true, encoding: .utf8)
        let port = try localFreePort()
        let process = Process()
        process.executableURL = try Self.signalforge()
        process.arguments = ["serve"]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SIGNALFORGE_") }
        env.merge([
            "DATABASE_URL": try TestApp.freshDatabase(), "SIGNALFORGE_PORT": "\(port)", "SIGNALFORGE_DATA_DIR": dir + "/data",
            "SIGNALFORGE_TOKENS_FILE": tokens, "SIGNALFORGE_TOKENS_POLL_MS": "0", "SIGNALFORGE_ACCESS_LOG": "false",
        ]) { $1 }
        process.environment = env
        let log = dir + "/stderr.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        func status(_ name: String) -> Int {
            (try? httpRequest(port: port, "GET", "/v1/experiments", headers: ["Authorization": "Bearer \(ReloadTokens.token(name))"]).status)
                ?? 0
        }
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(ReloadTokens.secondsUntil(30) { status("alpha") == 200 } != nil, "the server did not start: \(logText())")
        #expect(status("beta") == 401)

        try ReloadTokens.file(["beta"]).write(toFile: tokens, atomically: true, encoding: .utf8)
        #expect(status("alpha") == 200, "no watcher: nothing changes before the signal")
        kill(process.processIdentifier, SIGHUP)
        let reloaded = ReloadTokens.secondsUntil { status("beta") == 200 && status("alpha") == 401 }
        #expect(reloaded != nil && reloaded! < 1, "SIGHUP did not reload within 1 s (\(reloaded ?? -1) s): \(logText())")
        // The server's log is buffered: wait for the line.
        #expect(ReloadTokens.secondsUntil { logText().contains("tokens reloaded") } != nil)
        #expect(logText().contains("trigger=SIGHUP"))
        #expect(!logText().contains(ReloadTokens.token("beta")), "tokens never reach the log")

        // A malformed file on SIGHUP: logged with its line, the previous set kept.
        try (ReloadTokens.line("gamma") + "\nbroken line\n").write(toFile: tokens, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        #expect(ReloadTokens.secondsUntil { logText().contains("tokens file not reloaded") } != nil)
        #expect(logText().contains("\(tokens):2:"))
        #expect(status("beta") == 200)
        #expect(status("gamma") == 401)
        #expect(process.isRunning, "SIGHUP must not end the server")

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// `signalforge`, built beside the test bundle.
    static func signalforge() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("signalforge")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        throw RawHTTPConnection.Failure(description: "signalforge not found near \(CommandLine.arguments[0]); swift build --build-tests")
    }
}
