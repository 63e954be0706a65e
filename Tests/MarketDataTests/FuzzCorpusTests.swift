import Foundation
import MarketData
import Testing

/// Replays the committed fuzzing corpus (fuzz/corpus/csv, see fuzz/README.md)
/// through the CSV reader with the fuzz target's own check: read whole and
/// in 7-row chunks through a 64-byte buffer, both give the same rows or the
/// same error. Inputs that once crashed or hung stay here as regressions.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus/csv")

    enum Outcome: Equatable {
        case rows(times: [Int64], values: [[UInt64]], extras: [String])
        case failure(String)
    }

    static func bits(_ s: OHLCVSeries) -> [[UInt64]] {
        [s.open, s.high, s.low, s.close, s.volume].map { $0.map(\.bitPattern) } + s.extras.map { $0.values.map(\.bitPattern) }
    }

    static func whole(_ path: String) -> Outcome {
        do {
            let s = try OHLCVCSVReader.read(path: path, fileName: "fuzz.csv")
            return .rows(times: s.timestamps, values: bits(s), extras: s.extras.map(\.name))
        } catch { return .failure(error.description) }
    }

    static func chunked(_ path: String) -> Outcome {
        do {
            let reader = try OHLCVCSVReader(path: path, fileName: "fuzz.csv", bufferSize: 64)
            var times: [Int64] = []
            var values: [[UInt64]] = []
            while let chunk = try reader.next(maxRows: 7) {
                times += chunk.timestamps
                let b = bits(chunk)
                if values.isEmpty { values = b } else { for i in values.indices { values[i] += b[i] } }
            }
            if values.isEmpty { values = Array(repeating: [], count: 5 + reader.extraNames.count) }
            return .rows(times: times, values: values, extras: reader.extraNames)
        } catch { return .failure(error.description) }
    }

    @Test func theCSVCorpusReadsTheSameWholeAndInChunks() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files.count >= 20, "the committed corpus is missing: \(Self.corpus.path)")
        var parsed = 0
        for name in files {
            let path = Self.corpus.appendingPathComponent(name).path
            let a = Self.whole(path)
            #expect(a == Self.chunked(path), "\(name)")
            if case .rows(let times, _, _) = a, !times.isEmpty { parsed += 1 }
        }
        #expect(parsed > 0, "some corpus inputs are valid files")
    }
}
