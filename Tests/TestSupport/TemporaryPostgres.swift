import Foundation
public import PostgresClient
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster in a temporary folder, listening on
/// 127.0.0.1 on a free port, with trust authentication, user `signalforge`
/// and database `signalforge` (the logic of `deploy/lib/postgres.sh`).
///
/// Uses the newest server in `/usr/lib/postgresql/*/bin`. As root it runs the
/// server as the `postgres` OS user (PostgreSQL refuses to run as root). A
/// watchdog process stops the server and removes the folder if the test
/// process dies without cleaning up.
public final class TemporaryPostgres: Sendable {
    /// Why a cluster could not be created, started or stopped.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The folder holding the cluster (removed by ``destroy()`` and deinit).
    public let directory: String
    /// The data folder (also the Unix socket folder).
    public let dataDirectory: String
    private let binDirectory: String
    private let asPostgresUser: Bool
    private let state = Mutex<(running: Bool, destroyed: Bool, watchdog: pid_t?)>((false, false, nil))

    /// `postgres://signalforge@127.0.0.1:PORT/signalforge`.
    public var url: String { "postgres://signalforge@127.0.0.1:\(port)/signalforge" }

    /// The configuration of ``url``.
    public var configuration: PostgresConfiguration {
        PostgresConfiguration(host: "127.0.0.1", port: port, user: "signalforge", database: "signalforge")
    }

    /// Creates a cluster (`initdb`), starts it and creates the database.
    ///
    /// - Throws: `Failure` with the tool's output when a step fails.
    public init() throws {
        binDirectory = try Self.findBinDirectory()
        asPostgresUser = getuid() == 0
        directory = NSTemporaryDirectory() + "signalforge-pg-\(UUID().uuidString.prefix(8).lowercased())"
        dataDirectory = directory + "/data"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        chmod(dataDirectory, 0o700)
        if asPostgresUser {
            guard let entry = getpwnam("postgres") else {
                throw Failure(description: "running as root, but there is no \"postgres\" OS user to run the server")
            }
            guard chown(dataDirectory, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
                throw Failure(description: "chown \(dataDirectory) to postgres failed (errno \(errno))")
            }
        }
        port = try Self.freePort()
        do {
            try initdb()
            startWatchdog()
            try start()
            try run(binDirectory + "/createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "signalforge", "signalforge"])
        } catch {
            destroy()
            throw error
        }
    }

    deinit {
        destroy()
    }

    /// Starts the server (again) on the same port with the same data.
    ///
    /// - Throws: `Failure` with the end of the server log.
    public func start() throws {
        // fsync=off and full_page_writes=off only matter when the machine
        // crashes (the OS keeps what was written). synchronous_commit stays on:
        // off, a commit reported to the client can vanish when the server's
        // processes die (kill -9 of the postmaster, which the fault tests do) —
        // the database would lose rows a real one keeps, not the product.
        let options = [
            "-c listen_addresses=127.0.0.1", "-c port=\(port)", "-c unix_socket_directories=\(dataDirectory)",
            "-c max_connections=200", "-c fsync=off", "-c full_page_writes=off",
        ].joined(separator: " ")
        do {
            try run(
                binDirectory + "/pg_ctl",
                ["-D", dataDirectory, "-w", "-t", "60", "-l", dataDirectory + "/server.log", "-o", options, "start"])
        } catch {
            let log = (try? String(contentsOfFile: dataDirectory + "/server.log", encoding: .utf8)) ?? ""
            throw Failure(description: "\(error)\nserver log:\n\(log.split(separator: "\n").suffix(20).joined(separator: "\n"))")
        }
        state.withLock { $0.running = true }
    }

    /// Stops the server (fast shutdown: connections are terminated). Safe to call twice.
    ///
    /// - Throws: `Failure` when `pg_ctl stop` fails.
    public func stop() throws {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning, FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") else { return }
        try run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"])
    }

    /// Kills the postmaster and every process it started with SIGKILL (a
    /// crash, not a shutdown), waits until they are gone and removes the stale
    /// `postmaster.pid`, so that ``start()`` can bring the cluster back.
    ///
    /// - Throws: `Failure` when the server is not running.
    public func killPostmaster() throws {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first, let postmaster = pid_t(first.trimmingCharacters(in: .whitespaces))
        else { throw Failure(description: "no postmaster.pid in \(dataDirectory): the server is not running") }
        let children = Self.children(of: postmaster)
        kill(postmaster, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        for pid in [postmaster] + children {
            // Gone, or a zombie its parent has not reaped yet.
            while let stat = ProcessStat(pid: pid), stat.state != "Z" { usleep(10_000) }
        }
        state.withLock { $0.running = false }
        try? FileManager.default.removeItem(atPath: dataDirectory + "/postmaster.pid")
    }

    /// The pids whose parent is `parent` (from `/proc/<pid>/stat`).
    private static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = ProcessStat(pid: pid), stat.parent == parent else { return nil }
            return pid
        }
    }

    /// Stops the server and removes the folder. Safe to call twice.
    public func destroy() {
        let watchdog = state.withLock { state -> pid_t? in
            defer { state.destroyed = true }
            return state.destroyed ? nil : state.watchdog
        }
        try? stop()
        if let watchdog {
            kill(watchdog, SIGTERM)
            _ = Self.wait(watchdog)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Steps

    private func initdb() throws {
        let common = ["-D", dataDirectory, "-U", "signalforge", "--auth=trust", "-E", "UTF8", "--no-sync"]
        do {
            try run(binDirectory + "/initdb", common + ["--locale=C.UTF-8"])
        } catch {
            try run(binDirectory + "/initdb", common + ["--no-locale"])
        }
    }

    /// A shell that waits for this process to end, then stops the server and
    /// removes the folder (covers crashes and `exit()` without deinit).
    private func startWatchdog() {
        let stopCommand = ownerPrefix().map { "\($0) " }.joined() + "'\(binDirectory)/pg_ctl' -D '\(dataDirectory)' -m immediate -w stop"
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stopCommand) >/dev/null 2>&1; rm -rf '\(directory)'"
        if let pid = try? Self.spawn(["/bin/sh", "-c", script], output: nil) {
            state.withLock { $0.watchdog = pid }
        }
    }

    private func ownerPrefix() -> [String] {
        guard asPostgresUser else { return [] }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        return [runuser ?? "runuser", "-u", "postgres", "--"]
    }

    /// Runs a PostgreSQL tool (as the `postgres` user when root) and waits.
    private func run(_ executable: String, _ arguments: [String]) throws {
        let command = ownerPrefix() + [executable] + arguments
        let outputPath = directory + "/command-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try Self.spawn(command, output: outputPath)
        let status = Self.wait(pid)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw Failure(description: "\(command.joined(separator: " ")) exited with status \(status):\n\(text)")
        }
    }

    /// Starts a process with standard input from /dev/null, standard output and
    /// error to `output` (or /dev/null), no other inherited descriptors, and
    /// default signal handling. (Not Foundation's `Process`: on Linux its
    /// `waitUntilExit` was seen to miss a child's exit and hang.)
    private static func spawn(_ command: [String], output: String?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Close every other descriptor (test-runner pipes must not leak into the server).
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments = command.map { strdup($0) }
        defer { for argument in arguments { free(argument) } }
        var argv = arguments.map { UnsafeMutablePointer<CChar>($0) }
        argv.append(nil)
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw Failure(description: "cannot start \(command[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the
    /// Glibc module does not export; looked up at run time.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Waits for a child to exit; its exit status, or 128 + the signal that ended it.
    private static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private static func findBinDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let newest = versions.last else {
            throw Failure(description: "PostgreSQL server binaries not found under \(root)/*/bin (apt-get install postgresql)")
        }
        return "\(root)/\(newest)/bin"
    }

    /// A TCP port on 127.0.0.1 that is free now, chosen below Linux's
    /// ephemeral range (32768-60999) so that no outgoing connection can take it
    /// before the server binds it (or between a stop and a restart).
    private static func freePort() throws -> Int { try localFreePort() }

}

/// A TCP port on 127.0.0.1 that is free now, in 20000...32767 (below Linux's
/// ephemeral range, so outgoing connections never take it).
public func localFreePort() throws -> Int {
    for _ in 0..<500 {
        let port = Int.random(in: 20000...32767)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { continue }
        defer { Glibc.close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
    throw TemporaryPostgres.Failure(description: "no free TCP port found in 20000...32767")
}
