import Foundation
import Service
import Testing

/// Replays the committed fuzzing corpus (fuzz/corpus/json, see fuzz/README.md)
/// through the JSON parser with the fuzz target's own check: a document that
/// parses serializes to text that parses back to the same value; an error
/// points inside the input. Inputs that once crashed or hung stay here.
struct JSONFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus/json")

    @Test func theJSONCorpusParsesAndRoundTrips() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files.count >= 20, "the committed corpus is missing: \(Self.corpus.path)")
        var documents = 0
        var errors = 0
        for name in files {
            let bytes = Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            do {
                let value = try JSONParser.parse(bytes)
                let again = try JSONParser.parse(Array(value.serialized.utf8))
                #expect(again.canonical == value.canonical, "\(name)")
                documents += 1
            } catch {
                #expect(error.offset >= 0 && error.offset <= bytes.count && error.line >= 1 && error.column >= 1, "\(name): \(error)")
                errors += 1
            }
        }
        #expect(documents > 0 && errors > 0, "the corpus holds both documents and broken ones")
    }
}
