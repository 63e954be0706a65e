import Export
import Foundation
import Pipeline
import SignalFusion
import Testing

@testable import Stages

/// The passes over every signal that fusion, export and analysis make after
/// the fusion proper: each reaches a checkpoint every few thousand rows (so a
/// pause takes effect within milliseconds) and gives what one pass without
/// checkpoints gave.
struct StageCheckpointSpacingTests {
    struct Stop: Error, Equatable {}

    /// `n` signals over 3 symbols × 2 timeframes, each series' signals together (as fusion gives them).
    static func signals(_ n: Int) -> [SignalRecord] {
        (0..<n).map { i in
            var s = SignalCheckpointTests.signal(
                i, accepted: i % 3 == 0, open: i % 5 == 0, sources: i % 7 == 0 ? [] : ["forecast:ensemble", "pattern:x\(i % 4)"])
            let series = i * 6 / n
            s.symbol = ["EURUSD", "GBPUSD", "USDJPY"][series % 3]
            s.timeframe = series < 3 ? "15m" : "1h"
            return s
        }
    }

    @Test func recordsAndCountsPassACheckpointEvery4096Rows() throws {
        let signals = Self.signals(20_000)
        var calls = 0
        let counts = FusionStage.seriesCounts(signals) { calls += 1 }
        #expect(calls == (20_000 + FusionStage.checkpointRows - 1) / FusionStage.checkpointRows)
        // The counts a grouping of every signal gives.
        let grouped = Dictionary(grouping: signals) { FusionStage.SeriesKey(symbol: $0.symbol, timeframe: $0.timeframe) }
        #expect(counts.count == 6)
        for (key, mine) in grouped {
            let expected = FusionStage.SeriesCounts(
                candidates: mine.count, accepted: mine.filter(\.accepted).count,
                resolved: mine.filter { $0.outcome != "open" }.count)
            #expect(counts[key] == expected, "\(key)")
        }
        // Signals out of series order (as a database might give them) are counted the same.
        var shuffled = signals
        shuffled.swapAt(0, 19_999)
        shuffled.swapAt(10, 10_010)
        #expect(FusionStage.seriesCounts(shuffled) {} == counts)
        #expect(throws: Stop()) { _ = try FusionStage.seriesCounts(signals) { throw Stop() } }
    }

    @Test func groupingBySeriesKeepsTheOrderAndPassesACheckpointEvery4096Rows() throws {
        var signals = Self.signals(20_000)
        signals.swapAt(1, 15_000)  // one series' signals not all together
        var calls = 0
        let bySeries = AnalysisStage.groupBySeries(signals) { calls += 1 }
        #expect(calls == (20_000 + FusionStage.checkpointRows - 1) / FusionStage.checkpointRows)
        let all = Dictionary(grouping: signals) { FusionStage.SeriesKey(symbol: $0.symbol, timeframe: $0.timeframe) }
        let accepted = Dictionary(grouping: signals.filter(\.accepted)) {
            FusionStage.SeriesKey(symbol: $0.symbol, timeframe: $0.timeframe)
        }
        #expect(bySeries.count == all.count)
        for (key, mine) in all {
            #expect(bySeries[key]?.all == mine)
            #expect(bySeries[key]?.accepted == accepted[key] ?? [])
        }
        #expect(throws: Stop()) { _ = try AnalysisStage.groupBySeries(signals) { throw Stop() } }
    }

    @Test func theCandidatesCheckpointIsEncodedWithCheckpointsAndTheSameBytes() throws {
        let signals = Self.signals(40_000)
        var calls = 0
        let checked = SignalCheckpoint.encode(signals) { () throws(Never) in calls += 1 }
        #expect(checked == SignalCheckpoint.encode(signals))
        #expect(SignalCheckpoint.decode(checked) == signals)
        // 21 passes over the signals (3 integer columns, 12 doubles, 5 indexes and the flags, 5 of them interning)
        // each split every `checkpointRows` rows.
        let chunks = (40_000 + SignalCheckpoint.checkpointRows - 1) / SignalCheckpoint.checkpointRows
        #expect(calls >= 21 * chunks)
        var left = calls / 2
        #expect(throws: Stop()) {
            _ = try SignalCheckpoint.encode(signals) { () throws(Stop) in
                left -= 1
                if left == 0 { throw Stop() }
            }
        }
    }

    /// The signals' export columns built batch by batch are the batches of the columns built at once.
    @Test func signalColumnsOfABatchAreThatBatchOfTheColumns() {
        let signals = Self.signals(1_000)
        let whole = ExportStage.signalColumns(signals)
        let batch = ExportStage.signalColumns(signals[300..<700])
        #expect(batch == whole.map { $0.slice(300..<700) })
        #expect(ExportStage.signalColumns(signals.prefix(0)).map(\.spec) == whole.map(\.spec))
    }
}
