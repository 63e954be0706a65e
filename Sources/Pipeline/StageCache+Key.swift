public import Foundation
import Hashing
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A stage whose output the ``StageCache`` can keep: it says what its output
/// depends on besides its input (the stage before it, whose key is chained
/// into its own), writes that output into an entry, and restores it.
public protocol CacheableStage: Stage {
    /// What the output depends on besides the previous stage's output: the
    /// stage's code version, the canonical encoding of every option it reads
    /// (``StageCacheKey/canonical(_:)``), for `load` the datasets' content
    /// hashes. It must depend on the experiment's plan and environment only,
    /// not on which stage `context` was made for (keys are computed once per run).
    /// - Returns: the material, or nil when this run's output must not be
    ///   cached (the stages after it are then not cached either).
    /// - Throws: when the plan or a dataset cannot be read (the run then caches nothing from here on).
    func cacheKeyMaterial(_ context: StageContext) throws -> String?

    /// Adds the stage's output, just computed, to `entry`.
    /// - Returns: false when this output must not be kept (e.g. it depended on a timeout).
    func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool

    /// Restores the stage's output from `entry` into the experiment (files
    /// into its folder, rows for its id, values into `context.artifacts`).
    /// - Parameter needed: whether the next stage of the experiment will be
    ///   computed (so it reads this output); when false, a stage whose output
    ///   only feeds the next one may leave it in the entry.
    func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws

    /// Whether restoring reads the entry's files (they are then checked
    /// against their checksums first). Default: true.
    func restoreReadsEntry(needed: Bool) -> Bool

    /// What only a cheap last pass of the stage reads (e.g. `fusion`'s
    /// acceptance threshold): left out of ``cacheKeyMaterial(_:)``, so runs
    /// differing in it share one entry, which ``restoreCacheEntry(_:from:needed:)``
    /// adapts; but chained into the key the next stage sees, since the
    /// output differs. Default: nil (nothing).
    /// - Throws: when the plan cannot be read.
    func cacheOutputMaterial(_ context: StageContext) throws -> String?

    /// Parts of the output that depend on fewer inputs than the whole (e.g.
    /// `export`'s feature files: the tables, not the signals), each stored
    /// under its own key, so that a run that must compute the stage restores
    /// them and computes only the rest. Default: none.
    /// - Throws: when the plan cannot be read.
    func cacheParts(_ context: StageContext) throws -> [StageCachePart]

    /// Adds the part `part` of the output just computed to `entry`.
    /// - Returns: false when there is nothing to keep.
    func writeCachePart(_ part: String, _ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool

    /// Restores the part `part` into the experiment before the stage runs;
    /// the stage then leaves it out of its work.
    func restoreCachePart(_ part: String, _ context: StageContext, from entry: StageCacheEntry) throws
}

/// Thrown by ``CacheableStage/restoreCacheEntry(_:from:needed:)`` when the
/// entry keeps no values and they are needed (e.g. `load`'s, whose series
/// are cheaper to read again than to store): the stage is computed.
public struct StageCacheValuesNotKept: Error, Sendable {
    /// The error.
    public init() {}
}

/// A part of a stage's output with a key of its own (``CacheableStage/cacheParts(_:)``).
public struct StageCachePart: Sendable, Equatable {
    /// Its name, unique within the stage (`features`).
    public var name: String
    /// What it depends on besides the output of the stage `after`, like ``CacheableStage/cacheKeyMaterial(_:)``.
    public var material: String
    /// The earlier stage of the experiment whose key is chained into the
    /// part's (instead of the previous stage's): the part depends on nothing after it.
    public var after: String

    /// A part.
    public init(name: String, material: String, after: String) {
        self.name = name
        self.material = material
        self.after = after
    }
}

extension CacheableStage {
    public func restoreReadsEntry(needed: Bool) -> Bool { true }
    public func cacheOutputMaterial(_ context: StageContext) throws -> String? { nil }
    public func cacheParts(_ context: StageContext) throws -> [StageCachePart] { [] }
    public func writeCachePart(_ part: String, _ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool { false }
    public func restoreCachePart(_ part: String, _ context: StageContext, from entry: StageCacheEntry) throws {}
}

/// How a stage's cache key is made: SHA-256 over a versioned header, the
/// stage's name, its material (``CacheableStage/cacheKeyMaterial(_:)``) and
/// the key of the stage before it in the experiment ("" for the first).
public enum StageCacheKey {
    /// Bumped when the key's make-up changes (every key changes with it).
    public static let scheme = "signalforge.stage-cache.v2"

    /// The key of a stage.
    public static func key(stage: String, material: String, previous: String?) -> String {
        let text = "\(scheme)\nstage=\(stage)\nprevious=\(previous ?? "")\n\(material)"
        return SHA256.hex(Array(text.utf8))
    }

    /// A canonical text of a value: every stored property (defaults
    /// included, so an option left out and one given with its default value
    /// read alike), in declaration order; dictionary entries and set members
    /// sorted; numbers in their shortest exact form, strings quoted.
    public static func canonical(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let child = mirror.children.first else { return "nil" }
            return canonical(child.value)
        case .struct, .class:
            let members = mirror.children.map { "\($0.label ?? "_")=\(canonical($0.value))" }
            return "\(typeName(value)){\(members.joined(separator: ","))}"
        case .tuple:
            return "(" + mirror.children.map { "\($0.label ?? "_")=\(canonical($0.value))" }.joined(separator: ",") + ")"
        case .collection:
            return "[" + mirror.children.map { canonical($0.value) }.joined(separator: ",") + "]"
        case .set:
            return "set[" + mirror.children.map { canonical($0.value) }.sorted().joined(separator: ",") + "]"
        case .dictionary:
            let entries = mirror.children.map { entry -> String in
                let pair = Array(Mirror(reflecting: entry.value).children)
                guard pair.count == 2 else { return canonical(entry.value) }
                return "\(canonical(pair[0].value)):\(canonical(pair[1].value))"
            }
            return "dict[" + entries.sorted().joined(separator: ",") + "]"
        case .enum:
            if let payload = mirror.children.first {
                return "\(typeName(value)).\(payload.label ?? "_")(\(canonical(payload.value)))"
            }
            return "\(typeName(value)).\(String(describing: value))"
        default:
            return String(reflecting: value)
        }
    }

    private static func typeName(_ value: Any) -> String { String(describing: type(of: value)) }

    /// Content hashes of files already hashed by this process, by path and
    /// identity (device, inode, size, modification and change times).
    private static let fileHashes = Mutex<[String: String]>([:])

    /// The content hash of a file, `xxh64:` and its ``StageCacheChecksum``
    /// (a dataset of 100 MB takes a few tens of milliseconds, not a third of
    /// a second as with SHA-256); a file unchanged since this
    /// process last hashed it (same inode, size and times, last modified more
    /// than 2 s before that) is not read again.
    /// - Parameter checkpoint: called between chunks of reading.
    /// - Throws: when the file cannot be read.
    public static func contentHash(of url: URL, checkpoint: () throws -> Void = {}) throws -> String {
        var st = stat()
        guard stat(url.path, &st) == 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path]) }
        let identity =
            "\(url.path)|\(st.st_dev)|\(st.st_ino)|\(st.st_size)|\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)|\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
        if let known = fileHashes.withLock({ $0[identity] }) { return known }
        let digest = "xxh64:" + (try StageCacheChecksum.of(file: url, checkpoint: checkpoint))
        // A file modified within the last 2 s may change again within the same
        // timestamp tick, unseen by its identity: remember only older ones.
        if Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec) > 2 { fileHashes.withLock { $0[identity] = digest } }
        return digest
    }
}
