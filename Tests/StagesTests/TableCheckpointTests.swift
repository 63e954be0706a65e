import Foundation
import MarketData
import Testing

@testable import Stages

struct TableCheckpointTests {
    func temporaryURL() -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sf-ck-\(UUID().uuidString)/checkpoints/t.sftable")
    }

    @Test func roundTrip() throws {
        let table = AlignedTable(
            timestamps: [1, 2, 3, 60_000_000],
            columns: [
                NamedColumn(name: "eurusd_close", values: [1.5, .nan, -0.0, .infinity]),
                NamedColumn(name: "gbpusd_close", values: [2, 3, 4, 5]),
            ])
        let url = temporaryURL()
        try TableCheckpoint.write(table, to: url)
        #expect(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == ["t.sftable"])
        let back = try #require(TableCheckpoint.read(url))
        #expect(back.timestamps == table.timestamps)
        #expect(back.columns.map(\.name) == table.columns.map(\.name))
        #expect(back.columns[0].values[0] == 1.5 && back.columns[0].values[1].isNaN && back.columns[0].values[3] == .infinity)
        #expect(back.columns[1].values == [2, 3, 4, 5])

        // Overwrite with an empty table.
        try TableCheckpoint.write(AlignedTable(timestamps: [], columns: [NamedColumn(name: "a", values: [])]), to: url)
        #expect(TableCheckpoint.read(url)?.count == 0)
    }

    @Test func aTruncatedOrMissingFileIsNoCheckpoint() throws {
        let url = temporaryURL()
        #expect(TableCheckpoint.read(url) == nil)
        let table = AlignedTable(timestamps: [1, 2], columns: [NamedColumn(name: "a", values: [1, 2])])
        try TableCheckpoint.write(table, to: url)
        let data = try Data(contentsOf: url)
        try data.dropLast(3).write(to: url)
        #expect(TableCheckpoint.read(url) == nil)
    }

    /// The checkpoint runs before every column; when it throws, the write
    /// stops, its temporary file is gone and the previous file is intact.
    @Test func aThrowingCheckpointLeavesThePreviousFile() throws {
        let url = temporaryURL()
        let old = AlignedTable(timestamps: [1, 2], columns: [NamedColumn(name: "a", values: [1, 2])])
        try TableCheckpoint.write(old, to: url)
        let new = AlignedTable(
            timestamps: [1, 2, 3], columns: (0..<4).map { NamedColumn(name: "c\($0)", values: [1, 2, Double($0)]) })
        var calls = 0
        try TableCheckpoint.write(new, to: url.deletingLastPathComponent().appendingPathComponent("u.sftable")) { calls += 1 }
        #expect(calls == 4)

        struct Stop: Error {}
        calls = 0
        #expect(throws: Stop.self) {
            try TableCheckpoint.write(new, to: url) {
                calls += 1
                if calls == 3 { throw Stop() }
            }
        }
        #expect(TableCheckpoint.read(url)?.columns.map(\.name) == ["a"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path).sorted()
                == ["t.sftable", "u.sftable"])
    }
}
