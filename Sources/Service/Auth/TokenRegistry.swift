import Foundation
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The tokens the server accepts now: the tokens file's latest good contents.
///
/// The file is read again on ``reload(trigger:)`` (the `serve` command calls it
/// on SIGHUP) and when it changes: a thread this registry owns polls the
/// file's `stat` (device, inode, size, modification and change times) every
/// ``pollInterval`` (default 200 ms), so an in-place edit, an editor's
/// delete-and-write and an atomic rename over the file are all seen within a
/// poll. A file modified in the last second is also compared byte for byte on
/// every poll (file times are coarser than a quick rewrite). A file that does
/// not parse, cannot be read, or (beyond loopback) holds no tokens is not
/// applied: the previous set stays in force and an error names the file and
/// line. Reloads log counts, never tokens.
public final class TokenRegistry: Sendable {
    /// The tokens file; `nil` when the server runs without one (no auth).
    public let path: String?
    /// How often the watcher looks at the file; default 200 ms; zero: never (only ``reload(trigger:)``).
    public let pollInterval: Duration
    /// Whether an empty set is refused (a server bound beyond loopback).
    let requireTokens: Bool
    let logger: Logger

    private struct Loaded: Sendable {
        var store: TokenStore?
        var bytes: [UInt8]
        var signature: FileSignature?
    }

    private let loaded: Mutex<Loaded>
    private let stopping = Atomic<Bool>(false)
    private let watching = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    private let reloads = Atomic<Int>(0)
    private let failures = Atomic<Int>(0)

    /// Reads the tokens file once.
    /// - Parameters:
    ///   - path: the tokens file, or `nil` for none (every request allowed, loopback only).
    ///   - requireTokens: refuse an empty set, at start and on reload; default `false`.
    ///   - pollInterval: how often the watcher stats the file; default 200 ms; zero: no watcher.
    ///   - logger: where reloads and refused reloads are logged.
    /// - Throws: `TokenFileError` naming the file, line and reason.
    public init(path: String?, requireTokens: Bool = false, pollInterval: Duration = .milliseconds(200), logger: Logger) throws {
        self.path = path
        self.requireTokens = requireTokens
        self.pollInterval = pollInterval
        self.logger = logger
        guard let path else {
            loaded = Mutex(Loaded(store: nil, bytes: [], signature: nil))
            return
        }
        let signature = FileSignature(path: path)
        let bytes = try Self.read(path)
        let store = try TokenStore.parse(String(decoding: bytes, as: UTF8.self), file: path)
        loaded = Mutex(Loaded(store: store, bytes: bytes, signature: signature))
    }

    /// The tokens in force; `nil` without a tokens file.
    public var current: TokenStore? { loaded.withLock { $0.store } }

    /// Successful reloads that changed the file's contents, and refused ones.
    public var statistics: (reloads: Int, failures: Int) {
        (reloads.load(ordering: .relaxed), failures.load(ordering: .relaxed))
    }

    /// Reads the file again and applies it if it is valid; otherwise keeps
    /// the previous set and logs why.
    /// - Parameter trigger: what asked (`SIGHUP`, `file changed`), for the log.
    /// - Returns: whether the set in force is now the file's contents.
    @discardableResult
    public func reload(trigger: String) -> Bool {
        guard let path else { return true }
        let signature = FileSignature(path: path)
        let bytes: [UInt8]
        let store: TokenStore
        do {
            bytes = try Self.read(path)
            store = try TokenStore.parse(String(decoding: bytes, as: UTF8.self), file: path)
            if requireTokens, store.entries.isEmpty {
                throw TokenFileError(description: "\(path): no tokens, and this server listens beyond loopback")
            }
        } catch {
            // Remember what was seen, so a broken file is reported once, not every poll.
            let previous = loaded.withLock { state -> Int in
                state.signature = signature
                return state.store?.entries.count ?? 0
            }
            failures.add(1, ordering: .relaxed)
            logger.error(
                "tokens file not reloaded; the previous tokens stay in force",
                metadata: ["trigger": "\(trigger)", "error": "\(error)", "tokens": "\(previous)"])
            return false
        }
        let change = loaded.withLock { state -> (old: [TokenEntry], changed: Bool) in
            let old = state.store?.entries ?? []
            let changed = state.bytes != bytes
            state = Loaded(store: store, bytes: bytes, signature: signature)
            return (old, changed)
        }
        guard change.changed || trigger == "SIGHUP" else { return true }
        reloads.add(1, ordering: .relaxed)
        let added = store.entries.filter { e in !change.old.contains(e) }.count
        let removed = change.old.filter { e in !store.entries.contains(e) }.count
        logger.notice(
            "tokens reloaded",
            metadata: [
                "trigger": "\(trigger)", "tokens": "\(store.entries.count)", "added": "\(added)", "removed": "\(removed)",
            ])
        return true
    }

    /// Starts the thread that reloads the file when it changes (no-op without
    /// a file, or when already watching).
    public func startWatching() {
        guard path != nil, pollInterval > .zero, !watching.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let seconds = Double(pollInterval.components.seconds) + Double(pollInterval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while !stopping.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: seconds)
                if stopping.load(ordering: .acquiring) { break }
                poll()
            }
            stopped.signal()
        }
        thread.name = "tokens-watcher"
        thread.start()
    }

    /// Stops the watcher thread and waits for it to finish (at most one poll interval).
    public func stopWatching() {
        guard watching.load(ordering: .acquiring), !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopped.wait()
    }

    /// One look at the file: reload when its signature changed, or when it
    /// changed in the last second and its bytes differ from those in force.
    func poll() {
        guard let path else { return }
        let signature = FileSignature(path: path)
        let (seen, bytes) = loaded.withLock { ($0.signature, $0.bytes) }
        guard let signature else {
            // Gone (an editor between delete and write, or removed): keep the set, report once.
            if seen != nil {
                loaded.withLock { $0.signature = nil }
                logger.error("tokens file is missing; the previous tokens stay in force", metadata: ["file": "\(path)"])
            }
            return
        }
        if signature != seen {
            reload(trigger: "file changed")
        } else if signature.isRecent, let now = try? Self.read(path), now != bytes {
            reload(trigger: "file changed")
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenFileError(description: "\(path): cannot read the tokens file")
        }
        return Array(data)
    }
}

/// What `stat` says about a file: enough to notice an edit or a replacement.
struct FileSignature: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64  // ns since the epoch
    var changed: Int64  // ns since the epoch

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }

    /// Changed within the last second: a rewrite may not have moved the times.
    var isRecent: Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ns = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        return ns - max(modified, changed) < 1_000_000_000
    }
}
