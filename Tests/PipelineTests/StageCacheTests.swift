import Foundation
import Synchronization
import Testing

@testable import Pipeline

/// The stage cache without a server: keys, writing and reading entries,
/// checksums, least-recently-used eviction on a fake clock.
struct StageCacheTests {
    /// A clock the test moves by hand.
    final class FakeClock: Sendable {
        private let seconds = Mutex<Double>(1_700_000_000)
        func advance(_ s: Double) { seconds.withLock { $0 += s } }
        var now: @Sendable () -> Date { { [self] in Date(timeIntervalSince1970: seconds.withLock { $0 }) } }
    }

    static func temporaryDirectory() -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sf-cache-\(UUID().uuidString)")
    }

    /// Writes an entry of one file of `size` bytes (of `byte`).
    @discardableResult
    static func put(_ cache: StageCache, _ key: String, size: Int, byte: UInt8 = 1) throws -> Bool {
        try cache.write(key, stage: "test") { entry in
            try entry.add(Data(repeating: byte, count: size), as: "data.bin")
            return true
        }
    }

    static func get(_ cache: StageCache, _ key: String, verify: Bool = true) throws -> (StageCache.ReadOutcome, Data?) {
        var read: Data?
        let outcome = try cache.read(key, verify: verify) { entry in read = try entry.data("data.bin") }
        return (outcome, read)
    }

    // MARK: keys

    struct Options {
        var threshold = 0.65
        var models = ["ar", "ridge"]
        var weights: [String: Double] = ["a": 1, "b": 2, "c": 3, "d": 4]
        var window: Int? = nil
        var tolerance = (seconds: 0, inclusive: true)
    }

    @Test func theCanonicalEncodingStatesEveryMemberAndIgnoresDictionaryOrder() {
        let a = Options()
        var b = Options()
        b.weights = [:]
        for (k, v) in [("d", 4.0), ("c", 3), ("b", 2), ("a", 1)] { b.weights[k] = v }
        #expect(StageCacheKey.canonical(a) == StageCacheKey.canonical(b))
        let text = StageCacheKey.canonical(a)
        #expect(text.contains("threshold=0.65"), "\(text)")
        #expect(text.contains("window=nil"), "\(text)")
        #expect(text.contains(#"models=["ar","ridge"]"#), "\(text)")
        var c = a
        c.threshold = 0.6500000000000001
        #expect(StageCacheKey.canonical(c) != text, "a change in the last bit of a double changes the encoding")
        var d = a
        d.window = 0
        #expect(StageCacheKey.canonical(d) != text)
        var e = a
        e.models = ["ridge", "ar"]
        #expect(StageCacheKey.canonical(e) != text, "list order is meaningful")
        var f = a
        f.tolerance.inclusive = false
        #expect(StageCacheKey.canonical(f) != text)
        #expect(StageCacheKey.canonical("a,b") != StageCacheKey.canonical(["a", "b"]))
    }

    @Test func aKeyChangesWithItsStageMaterialAndPreviousKeyOnly() {
        let k = StageCacheKey.key(stage: "merge", material: "m", previous: "p")
        #expect(k == StageCacheKey.key(stage: "merge", material: "m", previous: "p"))
        #expect(k.count == 64)
        #expect(k != StageCacheKey.key(stage: "features", material: "m", previous: "p"))
        #expect(k != StageCacheKey.key(stage: "merge", material: "m2", previous: "p"))
        #expect(k != StageCacheKey.key(stage: "merge", material: "m", previous: "q"))
        #expect(k != StageCacheKey.key(stage: "merge", material: "m", previous: nil))
    }

    @Test func theChecksumIsXXH64WhateverTheChunks() throws {
        // The reference values of XXH64 with seed 0.
        #expect(StageCacheChecksum.of(UnsafeRawBufferPointer(start: nil, count: 0)) == "ef46db3751d8e999")
        #expect([UInt8]("abc".utf8).withUnsafeBytes { StageCacheChecksum.of($0) } == "44bc2cf5ad770999")
        let text = [UInt8]("Nobody inspects the spammish repetition".utf8)
        #expect(text.withUnsafeBytes { StageCacheChecksum.of($0) } == "fbcea83c8a378bf1")
        // Fed in uneven pieces, the same; one flipped bit, another.
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
        let whole = bytes.withUnsafeBytes { StageCacheChecksum.of($0) }
        var pieces = StageCacheChecksum()
        var at = 0
        for n in [1, 3, 31, 32, 33, 7, 1000, 64, 5] + Array(repeating: 997, count: 9) where at < bytes.count {
            let end = min(bytes.count, at + n)
            pieces.update(Array(bytes[at..<end]))
            at = end
        }
        pieces.update(Array(bytes[at...]))
        #expect(pieces.finalize() == whole)
        var flipped = bytes
        flipped[4321] ^= 0x10
        #expect(flipped.withUnsafeBytes { StageCacheChecksum.of($0) } != whole)
        // From a file (read in chunks), the same.
        let dir = Self.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("b.bin")
        try Data(bytes).write(to: file)
        #expect(try StageCacheChecksum.of(file: file) == whole)
    }

    @Test func aFilesContentHashFollowsItsContent() throws {
        let dir = Self.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.csv")
        try Data("abc".utf8).write(to: file)
        let first = try StageCacheKey.contentHash(of: file)
        #expect(first == "xxh64:44bc2cf5ad770999")
        #expect(try StageCacheKey.contentHash(of: file) == first)
        // Same size, same inode, rewritten at once (within the file system's timestamp granularity).
        try Data("abd".utf8).write(to: file)
        #expect(try StageCacheKey.contentHash(of: file) != first)
    }

    // MARK: entries

    @Test func anEntryWrittenReadsBackAndASecondWriterOfTheKeyLeavesTheFirst() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = StageCache(directory: dir, maxBytes: 1 << 20)
        #expect(try Self.get(cache, "k").0 == .miss)
        #expect(try Self.put(cache, "k", size: 100, byte: 7))
        #expect(try !Self.put(cache, "k", size: 100, byte: 8), "the key was stored already")
        let (outcome, data) = try Self.get(cache, "k")
        #expect(outcome == .hit)
        #expect(data == Data(repeating: 7, count: 100))
        #expect(cache.bytes == 100)
        #expect(cache.hits == 1 && cache.misses == 1)
        // No temporary folder is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("tmp").path).isEmpty)
    }

    @Test func twoWritersRacingOnOneKeyLeaveOneCompleteEntry() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Two caches on one folder stand for two instances on one data dir.
        let caches = [StageCache(directory: dir, maxBytes: 1 << 24), StageCache(directory: dir, maxBytes: 1 << 24)]
        let stored = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            if (try? Self.put(caches[i % 2], "same", size: 1 << 16, byte: 3)) == true { stored.add(1, ordering: .relaxed) }
        }
        #expect(stored.load(ordering: .relaxed) == 1)
        let (outcome, data) = try Self.get(caches[1], "same")
        #expect(outcome == .hit)
        #expect(data == Data(repeating: 3, count: 1 << 16))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("tmp").path).isEmpty)
    }

    @Test func aCorruptedFileIsDetectedAndTheEntryDropped() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = StageCache(directory: dir, maxBytes: 1 << 20)
        try Self.put(cache, "k", size: 1000)
        // Same size, one byte changed: only the checksum tells.
        let file = cache.entryDirectory("k").appendingPathComponent("data.bin")
        var bytes = try Data(contentsOf: file)
        bytes[500] ^= 0xFF
        try bytes.write(to: file)
        // A reader that does not use the files only checks sizes.
        #expect(try Self.get(cache, "k", verify: false).0 == .hit)
        var ran = false
        let outcome = try cache.read("k", verify: true) { _ in ran = true }
        guard case .corrupt(let reason) = outcome else {
            Issue.record("expected corrupt, got \(outcome)")
            return
        }
        #expect(reason.contains("data.bin"))
        #expect(!ran, "a corrupted entry is never handed out")
        #expect(!cache.contains("k"), "dropped")
        #expect(cache.corruptions == 1)
        // A truncated file is caught by its size.
        try Self.put(cache, "k2", size: 1000)
        try Data(repeating: 1, count: 10).write(to: cache.entryDirectory("k2").appendingPathComponent("data.bin"))
        #expect(try Self.get(cache, "k2", verify: false).0 != .hit)
        #expect(!cache.contains("k2"))
    }

    @Test func aKeyIsClaimedByOneRunAtATimeUntilTheClaimIsDropped() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = StageCache(directory: dir, maxBytes: 1 << 20)
        var first = cache.claim("k")
        #expect(first != nil)
        #expect(cache.isClaimed("k"))
        #expect(cache.claim("k") == nil, "another run waits")
        #expect(cache.claim("other") != nil)
        #expect(!cache.isClaimed("other"), "a claim not kept is released at once")
        first = nil
        #expect(!cache.isClaimed("k"))
        #expect(cache.claim("k") != nil)
    }

    @Test func evictionRemovesTheLeastRecentlyUsedFirst() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = FakeClock()
        let cache = StageCache(directory: dir, maxBytes: 3000, now: clock.now)
        for key in ["a", "b", "c"] {
            try Self.put(cache, key, size: 1000)
            clock.advance(10)
        }
        // `a` is used again: `b` is now the least recently used.
        #expect(try Self.get(cache, "a").0 == .hit)
        clock.advance(10)
        try Self.put(cache, "d", size: 1000)
        #expect(cache.contains("a") && !cache.contains("b") && cache.contains("c") && cache.contains("d"))
        #expect(cache.bytes == 3000)
        clock.advance(10)
        // Two more: `c` then `a` go (each older than what stays).
        try Self.put(cache, "e", size: 1000)
        clock.advance(10)
        try Self.put(cache, "f", size: 1000)
        #expect(!cache.contains("c") && !cache.contains("a"))
        #expect(cache.contains("d") && cache.contains("e") && cache.contains("f"))
        #expect(cache.evictions == 3)
        // An entry larger than the whole limit is not stored at all.
        #expect(try !Self.put(cache, "huge", size: 4000))
        #expect(!cache.contains("huge") && cache.contains("d"))
    }

    @Test func anEntryInUseIsNeverEvicted() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = FakeClock()
        let cache = StageCache(directory: dir, maxBytes: 2000, now: clock.now)
        try Self.put(cache, "old", size: 1000)
        clock.advance(10)
        try Self.put(cache, "newer", size: 1000)
        clock.advance(10)
        // While `old` (the least recently used) is being read, a write needs room.
        let outcome = try cache.read("old", verify: true) { entry in
            try Self.put(cache, "third", size: 1000)
            #expect(FileManager.default.fileExists(atPath: entry.url("data.bin").path), "the entry being read stays")
        }
        #expect(outcome == .hit)
        #expect(cache.contains("old") && !cache.contains("newer") && cache.contains("third"))
        // Another process holding it (a shared lock on its manifest) keeps it too.
        // (Opening a cache evicts down to its limit, here 0: all that is idle.)
        _ = try cache.read("third", verify: false) { _ in StageCache(directory: dir, maxBytes: 0, now: clock.now).evict() }
        #expect(cache.contains("third"), "held by the other cache object's read")
        #expect(!cache.contains("old"))
    }
}
