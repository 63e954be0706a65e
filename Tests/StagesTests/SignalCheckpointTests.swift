import Foundation
import Pipeline
import SignalFusion
import Testing

@testable import Stages

struct SignalCheckpointTests {
    static func signal(_ i: Int, accepted: Bool, open: Bool, sources: [String]) -> SignalRecord {
        SignalRecord(
            symbol: i % 2 == 0 ? "EURUSD" : "USDJPY", timeframe: i % 3 == 0 ? "15m" : "1h",
            timestampMicros: 1_700_000_000_000_000 + Int64(i),
            direction: i % 2 == 0 ? "long" : "short", entry: 1.1 + Double(i) * 1e-7, stop: 1.09 + 1e-17, target: .pi,
            horizonBars: 12 + i, quality: 0.1 * Double(i % 10), accepted: accepted,
            components: [0.1, 0.2, 0.3 + Double(i) * 1e-9, 0, 1, 0.5], sources: sources, qualityPrior: 0.123456789012345,
            outcome: open ? "open" : "target", outcomeR: open ? nil : -1.25 + Double(i) * 1e-12,
            resolvedAtMicros: open ? nil : Int64(i) * 60_000_000)
    }

    @Test func everySignalComesBackBitForBit() throws {
        let signals = (0..<500).map {
            Self.signal($0, accepted: $0 % 4 == 0, open: $0 % 5 == 0, sources: $0 % 7 == 0 ? [] : ["forecast:ensemble", "cdl_hammer"])
        }
        let bytes = SignalCheckpoint.encode(signals)
        let back = try #require(SignalCheckpoint.decode(bytes))
        #expect(back == signals)
        // Compact: about 140 bytes a signal.
        #expect(bytes.count < signals.count * 160)
        // A negative outcome R of zero, NaN components and an empty list survive too.
        var odd = Self.signal(1, accepted: false, open: false, sources: [""])
        odd.outcomeR = -0.0
        odd.components[0] = .nan
        let one = try #require(SignalCheckpoint.decode(SignalCheckpoint.encode([odd])))
        #expect(one[0].outcomeR?.bitPattern == (-0.0).bitPattern)
        #expect(one[0].components[0].isNaN && one[0].sources == [""])
        #expect(SignalCheckpoint.decode(SignalCheckpoint.encode([])) == [])
    }

    @Test func aTruncatedOrForeignFileIsNotACheckpoint() {
        let bytes = SignalCheckpoint.encode([Self.signal(1, accepted: true, open: true, sources: [])])
        #expect(SignalCheckpoint.decode(Array(bytes.dropLast())) == nil)
        #expect(SignalCheckpoint.decode(Array("SFTABLE1".utf8) + Array(bytes.dropFirst(8))) == nil)
        #expect(SignalCheckpoint.decode([]) == nil)
    }

    @Test func fusionStoreIsReadFromTheRequestAndChecked() throws {
        func request(_ fusion: String) -> Data {
            Data(#"{"datasets":[{"symbol":"A","path":"a.csv"}],"config":{"fusion":\#(fusion)}}"#.utf8)
        }
        #expect(try FusionStorage(request: Data(#"{"datasets":[]}"#.utf8)) == .accepted)
        #expect(try FusionStorage(request: request("{}")) == .accepted)
        #expect(try FusionStorage(request: request(#"{"store":"all"}"#)) == .all)
        #expect(throws: StageError("config.fusion.store: must be one of accepted, all")) {
            try FusionStorage(request: request(#"{"store":"rejected"}"#))
        }
        // The fusion section decodes with it (FusionConfig itself does not know the member) …
        let plan = try ExperimentPlan(request: request(#"{"store":"all","quality_threshold":0.4}"#))
        #expect(plan.options(FusionConfig.self).qualityThreshold == 0.4)
        // … and refuses a bad value naming it.
        #expect(throws: StageError("config.fusion.store: must be one of accepted, all")) {
            try ExperimentPlan(request: request(#"{"store":3}"#))
        }
        #expect(FusionConfig.schema.member(["store"]) != nil)
    }
}
