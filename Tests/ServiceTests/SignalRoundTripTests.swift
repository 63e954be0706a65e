import Foundation
import Logging
import Pipeline
import PostgresClient
import Store
import Testing

@testable import Service

/// Signals written to PostgreSQL and read back (what a run resumed after
/// fusion works from) are the signals fusion made: every double bit for bit,
/// in the order they were written.
struct SignalRoundTripTests {
    /// Doubles that text formatting or `jsonb` (`numeric`) would change.
    static let awkward: [Double] = [
        1.0 / 3.0, 0.1 + 0.2, .leastNonzeroMagnitude,  // 5e-324
        1.7976931348623157e308, -0.0, 0.0,
        0.12345678901234567, 1.2345678901234567e-300, -9.876543210987654e200, 2.2250738585072014e-308,
        1e23, 9_007_199_254_740_991, 1.0000000000000002, 0.9999999999999999, 1.0811781320000319,
        -123456.78901234567, .nan, .infinity, -.infinity,
    ]
    /// Bar times (µs) far from 2001 too, where `Date`'s `Double` seconds miss the microsecond.
    static let timestamps: [Int64] = [
        1_700_000_000_123_457, 1_700_003_600_000_001, -2_208_988_799_999_999, 7_258_118_400_000_001, 4_102_444_800_999_999,
    ]
    /// The subset a `quality` (CHECK 0…1) may hold.
    static let unitInterval = awkward.filter { $0 >= 0 && $0 <= 1 }

    static func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

    @Test func awkwardDoublesSurviveWriteAndReadBitExactlyAndInWrittenOrder() throws {
        let url = try TestApp.freshDatabase()
        let logger = Logger(label: "test")
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: url), maxConnections: 2, logger: logger)
        defer { pool.close() }
        try pool.withConnection { c in _ = try Migrator.migrate(c, logger: logger) }
        let experiment = UUID()
        try pool.withConnection { c in
            try c.execute(
                "INSERT INTO experiments (id, name, status, priority, request) VALUES (\(experiment), 'x', 'running', 'medium', '{}')")
        }
        let n = Self.awkward.count
        // Not in time order (later bars first, symbols interleaved), as fusion's
        // timeframe-then-symbol order is not either.
        var written: [SignalRecord] = []
        for i in 0..<(3 * n) {
            let v = { (k: Int) in Self.awkward[(i + k) % n] }
            written.append(
                SignalRecord(
                    symbol: i % 2 == 0 ? "EURUSD" : "AAPL", timeframe: i % 3 == 0 ? "1h" : "15m",
                    timestampMicros: Self.timestamps[i % Self.timestamps.count] - Int64(i) * 900_000_001,
                    direction: i % 2 == 0 ? "long" : "short", entry: v(0), stop: v(1), target: v(2), horizonBars: i,
                    quality: Self.unitInterval[i % Self.unitInterval.count], accepted: i % 4 == 0,
                    components: (3..<9).map(v), sources: ["pattern:x\(i)", "forecast:ar"]))
        }
        let environment = ServiceStageEnvironment(dataRoot: URL(fileURLWithPath: NSTemporaryDirectory()), pool: pool)
        try environment.replaceSignals(written, experiment: experiment)
        let read = try environment.signals(experiment: experiment)

        #expect(read.count == written.count)
        for (w, r) in zip(written, read) {
            #expect(r.symbol == w.symbol && r.timeframe == w.timeframe && r.direction == w.direction)
            #expect(r.timestampMicros == w.timestampMicros, "\(w.timestampMicros) came back as \(r.timestampMicros)")
            #expect(r.horizonBars == w.horizonBars, "rows came back in another order")
            #expect(r.accepted == w.accepted && r.sources == w.sources)
            for (name, a, b) in [
                ("entry", w.entry, r.entry), ("stop", w.stop, r.stop), ("target", w.target, r.target),
                ("quality", w.quality, r.quality),
            ] {
                #expect(Self.same(a, b), "\(name) \(a) (\(a.bitPattern)) came back as \(b) (\(b.bitPattern))")
            }
            #expect(r.components.count == 6)
            for (a, b) in zip(w.components, r.components) {
                #expect(Self.same(a, b), "component \(a) (\(a.bitPattern)) came back as \(b) (\(b.bitPattern))")
            }
        }
        // Every awkward value went through each column kind at least once.
        #expect(Set(written.map(\.entry.bitPattern)).count == n)
        #expect(Set(written.flatMap(\.components).map(\.bitPattern)).count == n)

        // A second write replaces the first, and the order is again the written one.
        let reversed = Array(written.reversed())
        try environment.replaceSignals(reversed, experiment: experiment)
        #expect(try environment.signals(experiment: experiment).map(\.horizonBars) == reversed.map(\.horizonBars))
    }

    @Test func aFloat8ParameterAndColumnReadBackExactly() throws {
        let url = try TestApp.freshDatabase()
        let logger = Logger(label: "test")
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: logger)
        defer { conn.close() }
        try conn.execute("CREATE TEMP TABLE t (i integer, v float8)")
        for (i, v) in Self.awkward.enumerated() { try conn.execute("INSERT INTO t VALUES (\(i), \(v))") }
        let back = try conn.query("SELECT v FROM t ORDER BY i").map { try $0.decode(0, as: Double.self) }
        #expect(back.count == Self.awkward.count)
        for (a, b) in zip(Self.awkward, back) { #expect(Self.same(a, b), "\(a) came back as \(b)") }
        // Whatever the server's default, the session prints doubles exactly.
        #expect(try conn.query("SHOW extra_float_digits").first?.decode(0, as: String.self) == "3")
    }
}
