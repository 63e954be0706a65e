public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A content-keyed store of stages' outputs under `<data>/cache/`, shared by
/// every experiment (and every instance) on one data directory.
///
/// Layout: `entries/<key>/` holds an entry's files and `manifest.json` (the
/// stage, the files' names, sizes and checksums); its last use is the
/// manifest's modification time. An entry is written in `tmp/<key>.<suffix>/`
/// and renamed into place (`rename(2)` of a directory onto an existing one
/// fails, so when two runs compute the same key one wins and the other's
/// copy is dropped: the contents are identical anyway). An evicted entry is
/// renamed into `trash/` before it is removed, so a reader never sees half of one.
///
/// The total size is kept under ``maxBytes`` by least-recently-used
/// eviction after each write; an entry in use (being read or written, by
/// this process or, through a shared `flock(2)` on its manifest, another
/// one on the same host) is never evicted. Reading checks each file's size,
/// and its checksum (``StageCacheChecksum``) when the reader uses the files: a mismatch drops the
/// entry and the stage is computed again.
public final class StageCache: Sendable {
    /// `<data>/cache`.
    public let directory: URL
    /// The size limit, in bytes.
    public let maxBytes: Int64
    let now: @Sendable () -> Date
    /// Keys read or written right now by this process (with their count).
    private let inUse = Mutex<[String: Int]>([:])
    /// Keys a run of this process is computing (``claim(_:)``).
    private let computing = Mutex<Set<String>>([])
    private let evicting = Mutex<Void>(())
    private let bytesNow = Atomic<Int64>(0)
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)
    private let evictionCount = Atomic<Int>(0)
    private let corruptCount = Atomic<Int>(0)

    /// Opens (creating) the cache in `directory`.
    /// - Parameters:
    ///   - directory: the cache's folder (`<data>/cache`).
    ///   - maxBytes: the size limit; entries are evicted least recently used first to stay under it.
    ///   - now: the clock of last uses (tests give a fake one); default `Date()`.
    public init(directory: URL, maxBytes: Int64, now: @escaping @Sendable () -> Date = { Date() }) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.now = now
        for d in [entriesDirectory, temporaryDirectory, trashDirectory] {
            try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        removeStale()
        // A lower limit than the last process had takes effect at once.
        evict()
    }

    var entriesDirectory: URL { directory.appendingPathComponent("entries") }
    var temporaryDirectory: URL { directory.appendingPathComponent("tmp") }
    var trashDirectory: URL { directory.appendingPathComponent("trash") }

    func entryDirectory(_ key: String) -> URL { entriesDirectory.appendingPathComponent(key) }

    // MARK: figures

    /// The entries' bytes, as of this process's last write or eviction.
    public var bytes: Int64 { bytesNow.load(ordering: .relaxed) }
    /// Stages restored from the cache by this process.
    public var hits: Int { hitCount.load(ordering: .relaxed) }
    /// Cacheable stages this process found no (intact) entry for.
    public var misses: Int { missCount.load(ordering: .relaxed) }
    /// Entries evicted by this process.
    public var evictions: Int { evictionCount.load(ordering: .relaxed) }
    /// Corrupted entries this process found and dropped.
    public var corruptions: Int { corruptCount.load(ordering: .relaxed) }

    /// The figures in Prometheus text: `signalforge_stage_cache_bytes`
    /// (gauge) and the hit, miss, eviction and corruption counters.
    public var prometheusText: String {
        func line(_ name: String, _ help: String, _ type: String, _ value: Int64) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        return line("signalforge_stage_cache_bytes", "Bytes in the stage cache's entries", "gauge", bytes)
            + line("signalforge_stage_cache_limit_bytes", "The stage cache's size limit", "gauge", maxBytes)
            + line("signalforge_stage_cache_hits_total", "Stages restored from the stage cache", "counter", Int64(hits))
            + line("signalforge_stage_cache_misses_total", "Cacheable stages computed (no intact entry)", "counter", Int64(misses))
            + line("signalforge_stage_cache_evictions_total", "Entries evicted to stay under the limit", "counter", Int64(evictions))
            + line(
                "signalforge_stage_cache_corrupt_total", "Corrupted entries detected and dropped", "counter", Int64(corruptions))
    }

    // MARK: reading

    /// What ``read(_:verify:checkpoint:_:)`` found.
    public enum ReadOutcome: Sendable, Equatable {
        /// The entry was there and intact; the body ran.
        case hit
        /// No entry under the key.
        case miss
        /// The entry was damaged (a file missing, of another size, or another checksum): dropped.
        case corrupt(String)
    }

    /// Whether an entry is stored under `key` (not checked).
    public func contains(_ key: String) -> Bool {
        FileManager.default.fileExists(atPath: entryDirectory(key).appendingPathComponent(Self.manifestName).path)
    }

    /// Reads the entry of `key`, holding it in use (never evicted meanwhile).
    /// - Parameters:
    ///   - verify: check every file's checksum (else only that each is there with its size).
    ///   - checkpoint: called between chunks of hashing (a pause parks there).
    ///   - body: restores from the entry; runs only when it is intact.
    /// - Returns: the outcome; a damaged entry is removed.
    /// - Throws: what `checkpoint` or `body` throws.
    public func read(
        _ key: String, verify: Bool, checkpoint: () throws -> Void = {}, _ body: (StageCacheEntry) throws -> Void
    ) throws -> ReadOutcome {
        let dir = entryDirectory(key)
        let manifestURL = dir.appendingPathComponent(Self.manifestName)
        acquire(key)
        defer { release(key) }
        let fd = open(manifestURL.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            missCount.add(1, ordering: .relaxed)
            return .miss
        }
        defer { close(fd) }
        _ = flock(fd, LOCK_SH)
        // Evicted between open and lock: the file we hold is in the trash.
        var held = stat()
        var current = stat()
        guard fstat(fd, &held) == 0, stat(manifestURL.path, &current) == 0, held.st_ino == current.st_ino else {
            missCount.add(1, ordering: .relaxed)
            return .miss
        }
        guard let data = try? Data(contentsOf: manifestURL),
            let manifest = try? JSONDecoder().decode(StageCacheManifest.self, from: data)
        else { return dropCorrupt(key, "the manifest does not decode") }
        for file in manifest.files {
            let url = dir.appendingPathComponent(file.name)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
            guard let size else { return dropCorrupt(key, "\(file.name) is missing") }
            guard size == file.size else { return dropCorrupt(key, "\(file.name) has \(size) bytes, not \(file.size)") }
            if verify {
                let digest = try StageCacheChecksum.of(file: url, checkpoint: checkpoint)
                guard digest == file.checksum else { return dropCorrupt(key, "\(file.name) does not match its checksum") }
            }
        }
        try body(StageCacheEntry(directory: dir, files: manifest.files.map(\.name), verified: verify))
        touch(manifestURL)
        hitCount.add(1, ordering: .relaxed)
        return .hit
    }

    private func dropCorrupt(_ key: String, _ reason: String) -> ReadOutcome {
        corruptCount.add(1, ordering: .relaxed)
        missCount.add(1, ordering: .relaxed)
        remove(key)
        return .corrupt(reason)
    }

    /// Records a miss of a cacheable stage whose key the cache was not asked about.
    public func countMiss() { missCount.add(1, ordering: .relaxed) }

    // MARK: writing

    /// Writes the entry of `key` (unless one is there already), then evicts
    /// down to the limit.
    /// - Parameters:
    ///   - stage: the stage's name, for the manifest.
    ///   - checkpoint: called between chunks of hashing.
    ///   - body: adds the files; returns false when there is nothing to keep (nothing is written).
    /// - Returns: whether this call stored the entry (false: not cacheable,
    ///   larger than the limit, or another writer stored the key first).
    /// - Throws: what `body` or `checkpoint` throws, or a file error (the temporary copy is removed).
    @discardableResult
    public func write(
        _ key: String, stage: String, checkpoint: () throws -> Void = {}, _ body: (StageCacheEntryWriter) throws -> Bool
    ) throws -> Bool {
        if contains(key) { return false }
        acquire(key)
        defer { release(key) }
        let tmp = temporaryDirectory.appendingPathComponent("\(key).\(uniqueTemporarySuffix())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        var stored = false
        defer { if !stored { try? FileManager.default.removeItem(at: tmp) } }
        let writer = StageCacheEntryWriter(directory: tmp)
        guard try body(writer) else { return false }
        var files: [StageCacheManifest.File] = []
        for name in writer.names {
            let url = tmp.appendingPathComponent(name)
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
            let checksum = try writer.checksums[name] ?? StageCacheChecksum.of(file: url, checkpoint: checkpoint)
            files.append(.init(name: name, size: size, checksum: checksum))
        }
        let total = files.reduce(0) { $0 + $1.size }
        guard total <= maxBytes else { return false }
        let manifest = StageCacheManifest(
            format: 2, key: key, stage: stage, created: now().timeIntervalSince1970, bytes: total, files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let manifestURL = tmp.appendingPathComponent(Self.manifestName)
        try encoder.encode(manifest).write(to: manifestURL)
        touch(manifestURL)
        // Another writer's complete entry stays; ours is dropped (same contents).
        guard rename(tmp.path, entryDirectory(key).path) == 0 else { return false }
        stored = true
        bytesNow.add(total, ordering: .relaxed)
        evict()
        return true
    }

    // MARK: computing once

    /// A key a run of this process is computing; released when dropped.
    public final class Claim: Sendable {
        let cache: StageCache
        /// The claimed key.
        public let key: String

        init(_ cache: StageCache, _ key: String) {
            self.cache = cache
            self.key = key
        }

        deinit { _ = cache.computing.withLock { $0.remove(key) } }
    }

    /// Claims `key` for the calling run, which is about to compute it, so
    /// that another run of this process needing the same key waits for the
    /// entry instead of computing it too (sweep children started together).
    /// - Returns: the claim (keep it until the entry is written or the
    ///   computation failed), or nil when another run holds it.
    public func claim(_ key: String) -> Claim? {
        guard computing.withLock({ $0.insert(key).inserted }) else { return nil }
        return Claim(self, key)
    }

    /// Whether a run of this process is computing `key` now.
    public func isClaimed(_ key: String) -> Bool { computing.withLock { $0.contains(key) } }

    // MARK: eviction

    /// One stored entry as eviction sees it.
    struct Listed {
        var key: String
        var bytes: Int64
        var lastUsed: Date
    }

    /// Every complete entry, with its size and last use.
    func scan() -> [Listed] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: entriesDirectory.path)) ?? []
        return names.compactMap { key in
            let url = entryDirectory(key).appendingPathComponent(Self.manifestName)
            guard let data = try? Data(contentsOf: url),
                let manifest = try? JSONDecoder().decode(StageCacheManifest.self, from: data)
            else { return nil }
            let used = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
            return Listed(key: key, bytes: manifest.bytes, lastUsed: used)
        }
    }

    /// Removes least recently used entries until the total is under the
    /// limit, skipping those in use.
    public func evict() {
        evicting.withLock { _ in
            var entries = scan().sorted { ($0.lastUsed, $0.key) < ($1.lastUsed, $1.key) }
            var total = entries.reduce(0) { $0 + $1.bytes }
            while total > maxBytes, !entries.isEmpty {
                let victim = entries.removeFirst()
                guard evictIfIdle(victim.key) else { continue }
                total -= victim.bytes
                evictionCount.add(1, ordering: .relaxed)
            }
            bytesNow.store(total, ordering: .relaxed)
        }
    }

    /// Removes the entry unless this or another process holds it.
    private func evictIfIdle(_ key: String) -> Bool {
        if inUse.withLock({ $0[key] ?? 0 }) > 0 { return false }
        let fd = open(entryDirectory(key).appendingPathComponent(Self.manifestName).path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        remove(key)
        return true
    }

    /// Moves the entry to the trash (atomically) and deletes it there.
    private func remove(_ key: String) {
        let trash = trashDirectory.appendingPathComponent("\(key).\(uniqueTemporarySuffix())")
        if rename(entryDirectory(key).path, trash.path) == 0 {
            try? FileManager.default.removeItem(at: trash)
        }
    }

    /// Leftovers of writers and evicters that died: temporary entries older
    /// than an hour, anything in the trash.
    private func removeStale() {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: trashDirectory.path)) ?? [] {
            try? fm.removeItem(at: trashDirectory.appendingPathComponent(name))
        }
        let cutoff = Date().addingTimeInterval(-3600)
        for name in (try? fm.contentsOfDirectory(atPath: temporaryDirectory.path)) ?? [] {
            let url = temporaryDirectory.appendingPathComponent(name)
            if let m = try? fm.attributesOfItem(atPath: url.path)[.modificationDate] as? Date, m < cutoff {
                try? fm.removeItem(at: url)
            }
        }
    }

    private func acquire(_ key: String) { inUse.withLock { $0[key, default: 0] += 1 } }

    private func release(_ key: String) {
        inUse.withLock {
            $0[key, default: 1] -= 1
            if $0[key] == 0 { $0.removeValue(forKey: key) }
        }
    }

    /// Marks a use now (the manifest's modification time).
    private func touch(_ url: URL) {
        try? FileManager.default.setAttributes([.modificationDate: now()], ofItemAtPath: url.path)
    }

    static let manifestName = "manifest.json"
}

/// An entry's `manifest.json`.
struct StageCacheManifest: Codable, Sendable {
    struct File: Codable, Sendable {
        var name: String
        var size: Int64
        /// ``StageCacheChecksum`` (XXH64, hex).
        var checksum: String
    }
    /// 2 (1 had SHA-256s: such an entry does not decode and is dropped).
    var format: Int
    var key: String
    var stage: String
    /// Seconds since 1970.
    var created: Double
    var bytes: Int64
    var files: [File]
}

/// A stored entry, as a stage restores from it.
public struct StageCacheEntry: Sendable {
    /// The entry's folder.
    public let directory: URL
    /// Its files' names.
    public let files: [String]
    /// Whether the files' checksums were checked before this was handed out.
    public let verified: Bool

    /// The file `name` of the entry.
    public func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// The bytes of the file `name`.
    /// - Throws: when it cannot be read.
    public func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    /// Puts the file `name` at `destination` (its folder is created): a hard
    /// link when the file system allows one, else a copy; either way under a
    /// temporary name renamed over `destination`.
    /// - Throws: a file error.
    public func place(_ name: String, at destination: URL) throws {
        try StageCacheEntryWriter.linkOrCopy(url(name), to: destination)
    }
}

/// Collects the files of an entry being written.
public final class StageCacheEntryWriter: @unchecked Sendable {
    // Used by one runner thread.
    /// The temporary folder of the entry.
    public let directory: URL
    private(set) var names: [String] = []
    /// Checksums known without reading the file back (data written from memory).
    private(set) var checksums: [String: String] = [:]

    init(directory: URL) { self.directory = directory }

    /// Adds the file at `source` as `name` (a hard link, else a copy).
    /// - Throws: a file error.
    public func add(file source: URL, as name: String) throws {
        try Self.check(name)
        try Self.linkOrCopy(source, to: directory.appendingPathComponent(name))
        checksums[name] = nil
        if !names.contains(name) { names.append(name) }
    }

    /// Adds `data` as the file `name`.
    /// - Throws: a file error.
    public func add(_ data: Data, as name: String) throws {
        try Self.check(name)
        try data.write(to: directory.appendingPathComponent(name))
        checksums[name] = data.withUnsafeBytes { StageCacheChecksum.of($0) }
        if !names.contains(name) { names.append(name) }
    }

    /// Where a file `name` written by the caller itself goes; add it with ``added(_:)``.
    public func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Records a file the caller wrote at ``url(_:)``.
    /// - Throws: when the name is not a plain file name.
    /// - Parameter checksum: its ``StageCacheChecksum``, when the caller
    ///   computed it while writing (else the file is read to compute it).
    public func added(_ name: String, checksum: String? = nil) throws {
        try Self.check(name)
        checksums[name] = checksum
        if !names.contains(name) { names.append(name) }
    }

    private static func check(_ name: String) throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), name != StageCache.manifestName else {
            throw CocoaError(.fileWriteInvalidFileName, userInfo: [NSFilePathErrorKey: name])
        }
    }

    static func linkOrCopy(_ source: URL, to destination: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(uniqueTemporarySuffix()).tmp")
        if link(source.path, tmp.path) != 0 {
            try fm.copyItem(at: source, to: tmp)
        }
        guard rename(tmp.path, destination.path) == 0 else {
            try? fm.removeItem(at: tmp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path])
        }
    }
}
