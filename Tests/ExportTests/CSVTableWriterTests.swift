import Foundation
import MarketData
import TestSupport
import Testing

@testable import Export

struct CSVTableWriterTests {
    @Test func writesAndReadsBackAnOHLCVTable() throws {
        let dir = try TempDir()
        let s = OHLCVSeries(
            symbol: "EURUSD", timeframe: .m1, timestamps: [1_704_067_200_000_000, 1_704_067_260_000_500],
            open: [1.08345, 0.1], high: [1.1, 0.30000000000000004], low: [1, 0.1], close: [1.05, 0.2], volume: [0, 1e-5],
            extras: [NamedColumn(name: "sentiment", values: [.nan, -0.5])])
        for gzip in [false, true] {
            let path = dir.path(gzip ? "s.csv.gz" : "s.csv")
            let columns = ExportColumn.columns(of: s)
            let w = try CSVTableWriter(path: path, columns: columns.map(\.spec), gzip: gzip)
            try w.write(columns)
            try w.close()
            let back = try OHLCVCSVReader.read(path: path, symbol: "EURUSD", timeframe: .m1)
            #expect(back.timestamps == s.timestamps && back.open == s.open && back.high == s.high)
            #expect(back.low == s.low && back.close == s.close && back.volume == s.volume)
            #expect(back.extra("sentiment")![0].isNaN && back.extra("sentiment")![1] == -0.5)
        }
        let text = try String(contentsOfFile: dir.path("s.csv"), encoding: .utf8)
        #expect(text.hasPrefix("timestamp,open,high,low,close,volume,sentiment\n2024-01-01T00:00:00Z,1.08345,"))
        #expect(text.contains("2024-01-01T00:01:00.000500Z,0.1,0.30000000000000004,"))
    }

    @Test func quotesStringsAndWritesEveryType() throws {
        let dir = try TempDir()
        let path = dir.path("t.csv")
        let cols: [ExportColumn] = [
            ExportColumn("name", .string(["plain", "a,b", "say \"hi\"", ""])),
            ExportColumn("n", .int64([1, -2, 3, Int64.max])),
            ExportColumn("ok", .bool([true, false, true, false])),
            ExportColumn("x", .double([1.5, .nan, .infinity, -0.0])),
        ]
        let w = try CSVTableWriter(path: path, columns: cols.map(\.spec))
        try w.write(cols)
        try w.write(cols.map { ExportColumn($0.name, $0.values) })
        try w.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "name,n,ok,x")
        #expect(lines[1] == "plain,1,true,1.5")
        #expect(lines[2] == "\"a,b\",-2,false,nan")
        #expect(lines[3] == "\"say \"\"hi\"\"\",3,true,inf")
        #expect(lines[4] == ",9223372036854775807,false,-0.0")
        #expect(lines.count == 10 && lines[9] == "")
        // A batch that does not match the declaration is refused.
        let w2 = try CSVTableWriter(path: dir.path("u.csv"), columns: cols.map(\.spec))
        #expect(throws: ExportError.self) { try w2.write(Array(cols.dropLast())) }
        #expect(throws: ExportError.self) { try w2.write([cols[0], cols[1], cols[2], ExportColumn("x", .double([1]))]) }
    }
}
