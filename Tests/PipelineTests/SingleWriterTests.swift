import Foundation
import Testing

/// `Lifecycle` is the one authority on state changes, and `Engine.perform`
/// the one place that makes them: a scan of `Sources/` fails when any other
/// code writes an experiment's state.
struct SingleWriterTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every Swift file under `Sources/`, by path relative to the repository.
    static func sources() throws -> [(path: String, text: String)] {
        let base = root.appendingPathComponent("Sources")
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var out: [(String, String)] = []
        for case let url as URL in walker where url.pathExtension == "swift" {
            let relative = String(url.path.dropFirst(root.path.count + 1))
            out.append((relative, try String(contentsOf: url, encoding: .utf8)))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Where `needle` occurs, as `path:line`.
    static func occurrences(of needle: String, in files: [(path: String, text: String)]) -> [String] {
        files.flatMap { f in
            f.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .filter { $0.element.contains(needle) && !$0.element.trimmingCharacters(in: .whitespaces).hasPrefix("///") }
                .map { "\(f.path):\($0.offset + 1)" }
        }
    }

    @Test func theScanSeesTheSources() throws {
        let files = try Self.sources()
        #expect(files.count > 50)
        #expect(files.contains { $0.path == "Sources/Pipeline/Engine.swift" })
    }

    /// State changes through the repository are called from `Engine` only, and there from `perform` once.
    @Test func onlyTheEngineCallsTheRepositorysStateChanges() throws {
        let files = try Self.sources()
        let definitions: Set<String> = [
            "Sources/Pipeline/ExperimentRepository.swift", "Sources/Service/Engine/PostgresExperimentRepository.swift",
        ]
        let outside = Self.occurrences(of: ".transition(", in: files).filter { hit in
            !hit.hasPrefix("Sources/Pipeline/Engine.swift:") && !definitions.contains { hit.hasPrefix($0 + ":") }
        }
        #expect(outside.isEmpty, ".transition( called outside the engine: \(outside)")
        let engine = try #require(files.first { $0.path == "Sources/Pipeline/Engine.swift" })
        #expect(Self.occurrences(of: "repository.transition(", in: [engine]).count == 1)
        // No hand-written copy of the rules: the engine never names expected states itself.
        #expect(Self.occurrences(of: "from: [.", in: files.filter { !definitions.contains($0.path) }).isEmpty)
        #expect(Self.occurrences(of: "let (next, _) =", in: files).isEmpty)
    }

    /// SQL that sets `experiments.status` lives in the engine's repository only
    /// (and creating an experiment, which inserts it `queued`, in the store).
    @Test func noOtherCodeUpdatesTheStatusColumn() throws {
        let files = try Self.sources()
        var writers: [String] = []
        for f in files {
            var rest = Substring(f.text)
            while let r = rest.range(of: "UPDATE experiments", options: .caseInsensitive) {
                // The statement's SET list: up to its FROM / WHERE / RETURNING or the end of the string literal.
                let tail = rest[r.upperBound...]
                let end =
                    ["WHERE", "FROM", "RETURNING", "\"\"\"", "\")"].compactMap { tail.range(of: $0)?.lowerBound }.min() ?? tail.endIndex
                let set = tail[..<end]
                if set.range(of: #"(^|[\s,])status\s*="#, options: .regularExpression) != nil { writers.append(f.path) }
                rest = tail
            }
        }
        #expect(!writers.isEmpty, "the scan should see the repository's updates")
        let outside = Set(writers).subtracting(["Sources/Service/Engine/PostgresExperimentRepository.swift"])
        #expect(outside.isEmpty, "experiments.status written outside the repository: \(outside.sorted())")
        let inserts = Self.occurrences(of: "INSERT INTO experiments", in: files)
        #expect(inserts.allSatisfy { $0.hasPrefix("Sources/Store/ExperimentStore.swift:") }, "\(inserts)")
    }
}
