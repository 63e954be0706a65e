import Foundation
import TestSupport
import Testing

@testable import MarketData

struct CSVReaderTests {
    let header = "timestamp,open,high,low,close,volume\n"

    @Test func readsAPlainFile() throws {
        let dir = try TempDir()
        let path = try dir.file(
            "a.csv",
            header + "2024-01-01T00:00:00Z,1.1,1.2,1.0,1.15,100\n2024-01-01T00:01:00Z,1.15,1.25,1.1,1.2,50.5\n")
        let s = try OHLCVCSVReader.read(path: path, symbol: "EURUSD", timeframe: .m1)
        #expect(s.count == 2)
        #expect(s.symbol == "EURUSD" && s.timeframe == .m1)
        #expect(s.timestamps == [1_704_067_200_000_000, 1_704_067_260_000_000])
        #expect(s.open == [1.1, 1.15])
        #expect(s.high == [1.2, 1.25])
        #expect(s.low == [1.0, 1.1])
        #expect(s.close == [1.15, 1.2])
        #expect(s.volume == [100, 50.5])
    }

    @Test func headerNamesAndExtraColumns() throws {
        let dir = try TempDir()
        // Case-insensitive names, another order, `Date` as the time column, an extra column with an empty value.
        let a = try dir.file(
            "a.csv",
            "Volume,CLOSE,Date,Open,High,Low,Sentiment\n5,2,2024-01-02,1,3,0.5,0.25\n6,2,2024-01-03,2,2,2,\n")
        let s = try OHLCVCSVReader.read(path: a)
        #expect(s.timestamps == [1_704_153_600_000_000, 1_704_240_000_000_000])
        #expect(s.open == [1, 2] && s.close == [2, 2] && s.volume == [5, 6])
        #expect(s.extras.map(\.name) == ["sentiment"])
        let sentiment = try #require(s.extra("Sentiment"))
        #expect(sentiment[0] == 0.25 && sentiment[1].isNaN)
        // An unnamed first column (pandas' index), `datetime`, `time`.
        for first in ["", "datetime", "time", "TimeStamp"] {
            let p = try dir.file("b.csv", "\(first),open,high,low,close,volume\n1700000000,1,1,1,1,0\n")
            #expect(try OHLCVCSVReader.read(path: p).timestamps == [1_700_000_000_000_000])
        }
        let bad = try dir.file("c.csv", "when,open,high,low,close,volume\n1,1,1,1,1,1\n")
        #expect(throws: MarketDataError.self) { try OHLCVCSVReader.read(path: bad) }
        let missing = try dir.file("d.csv", "timestamp,open,high,low,close\n1,1,1,1,1\n")
        do {
            _ = try OHLCVCSVReader.read(path: missing, fileName: "d.csv")
            Issue.record("no error")
        } catch {
            #expect(error.code == .header)
            #expect(error.description == "d.csv:1: no 'volume' column")
        }
    }

    @Test func timestampForms() throws {
        let dir = try TempDir()
        let forms: [(String, Int64)] = [
            ("2024-01-01T00:00:00Z", 1_704_067_200_000_000),
            ("2024-01-01 00:00:01", 1_704_067_201_000_000),
            ("2024-01-01T00:00:02.5Z", 1_704_067_202_500_000),
            ("2024-01-01T01:00:03+01:00", 1_704_067_203_000_000),
            ("2024-01-01T00:00:04.123456789-00:00", 1_704_067_204_123_456),
            ("2023-12-31T19:00:05-0500", 1_704_067_205_000_000),
            ("2024-01-01 00:00:06 UTC", 1_704_067_206_000_000),
            ("2024-01-01t00:01", 1_704_067_260_000_000),
            ("1704067300", 1_704_067_300_000_000),  // seconds (≤ 253402300799)
            ("1704067300.25", 1_704_067_300_250_000),
            ("1704067400000", 1_704_067_400_000_000),  // milliseconds
            ("1704067500000000", 1_704_067_500_000_000),  // microseconds
            ("2024-01-02", 1_704_153_600_000_000),  // date only
        ]
        let body = forms.map { "\($0.0),1,1,1,1,1\n" }.joined()
        let s = try OHLCVCSVReader.read(path: try dir.file("t.csv", header + body))
        #expect(s.timestamps == forms.map(\.1))
        for bad in ["2024-13-01", "2024-02-30", "2024-01-01T25:00:00Z", "yesterday", "2024-01-01T00:00:00+xx"] {
            let p = try dir.file("bad.csv", header + "\(bad),1,1,1,1,1\n")
            do {
                _ = try OHLCVCSVReader.read(path: p)
                Issue.record("\(bad) parsed")
            } catch {
                #expect(error.code == .unparseableTimestamp && error.line == 2)
            }
        }
    }

    /// Epoch numbers: the unit by magnitude, each unit up to the year 9999; out of range is an error naming the line.
    @Test func epochUnitsByMagnitude() throws {
        func parse(_ text: String) -> Int64? {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBufferPointer { TimestampParser.parse($0.baseAddress!, $0.count) }
        }
        #expect(parse("253402300799") == 253_402_300_799_000_000)  // 9999-12-31T23:59:59Z in seconds, not 1978 in ms
        #expect(parse("1704067200") == 1_704_067_200_000_000)
        #expect(parse("99999999999") == 99_999_999_999_000_000)  // 11 digits: seconds (5138)
        #expect(parse("253402300800") == 253_402_300_800_000)  // past 9999 as seconds: milliseconds (1978)
        #expect(parse("1704067200123") == 1_704_067_200_123_000)  // 13 digits: ms
        #expect(parse("253402300799999") == 253_402_300_799_999_000)  // the last ms of 9999
        #expect(parse("1704067200123456") == 1_704_067_200_123_456)  // 16 digits: µs
        #expect(parse("1704067200123456789") == 1_704_067_200_123_456)  // 19 digits: ns
        #expect(parse("9223372036854775807") == 9_223_372_036_854_775)  // the largest: 2262-04-11 in ns
        #expect(parse("-86400") == -86_400_000_000)
        #expect(parse("1704067200.5") == 1_704_067_200_500_000)
        for bad in ["9223372036854775808", "99999999999999999999", "-99999999999999"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
        let dir = try TempDir()
        let good = "1704067200,1,1,1,1,1\n"
        // 12 digits read as the last second of 9999.
        let s = try OHLCVCSVReader.read(path: try dir.file("y.csv", header + good + "253402300799,1,1,1,1,1\n"))
        #expect(s.timestamps == [1_704_067_200_000_000, 253_402_300_799_000_000])
        for bad in ["99999999999999999999", "-99999999999999"] {
            let path = try dir.file("bad.csv", header + good + good.replacingOccurrences(of: "1704067200", with: bad))
            do {
                _ = try OHLCVCSVReader.read(path: path, fileName: "x.csv")
                Issue.record("\(bad) read")
            } catch {
                #expect(error.code == .unparseableTimestamp && error.line == 3, "\(error)")
                #expect(
                    error.reason.contains("'\(bad)'") && (error.reason.contains("out of range") || error.reason.contains("before 0000")),
                    "\(error)")
            }
        }
        // Not a number at all stays "unparseable".
        let p = try dir.file("bad.csv", header + "12ab,1,1,1,1,1\n")
        #expect(throws: MarketDataError.self) { try OHLCVCSVReader.read(path: p) }
        do { _ = try OHLCVCSVReader.read(path: p) } catch { #expect(error.reason.hasPrefix("unparseable timestamp"), "\(error)") }
    }

    @Test func bomCRLFQuotesBlankLinesAndNoFinalNewline() throws {
        let dir = try TempDir()
        let text =
            "\u{FEFF}\"timestamp\",\"open\",high,low,close,volume\r\n\r\n"
            + "\"2024-01-01T00:00:00Z\",\"1.5\", 2 ,1,1.5,\"1e3\"\r\n"
            + "\r\n\n"
            + "2024-01-01T00:01:00Z,1.5,2,1,1.5,7"
        let s = try OHLCVCSVReader.read(path: try dir.file("q.csv", text))
        #expect(s.count == 2)
        #expect(s.open == [1.5, 1.5] && s.high == [2, 2] && s.volume == [1000, 7])
        // A quoted extra column with an escaped quote and a comma is read (and must still be numeric).
        let q = try dir.file("q2.csv", "timestamp,open,high,low,close,volume,note\n1,1,1,1,1,1,\"2,5\"\n")
        #expect(throws: MarketDataError.self) { try OHLCVCSVReader.read(path: q) }
        // Lone CR line ends.
        let cr = try dir.file("cr.csv", "timestamp,open,high,low,close,volume\r1,1,1,1,1,1\r2,1,1,1,1,1\r")
        #expect(try OHLCVCSVReader.read(path: cr).count == 2)
    }

    @Test func numbersParseExactly() throws {
        let dir = try TempDir()
        let texts = [
            "1.08345", "0.1", "123456.789012", "-0.0", "1e-5", "2.5E+3", "9007199254740993",
            "0.30000000000000004", "1.7976931348623157e308", "12345678901234567890123", "000001.50",
            "4.9e-324", ".5", "5.",
        ]
        // Prices must be > 0, so -0.0 is read as a volume; the rest in every column.
        let body = texts.enumerated().map { i, t in
            let p = t == "-0.0" ? "1" : t
            return "\(i + 1),\(p),\(p),\(p),\(p),\(t)\n"
        }.joined()
        let s = try OHLCVCSVReader.read(path: try dir.file("n.csv", header + body))
        let expected = texts.map { Double($0.hasPrefix(".") ? "0" + $0 : $0.hasSuffix(".") ? $0 + "0" : $0)! }
        #expect(s.volume == expected)
        #expect(s.open == expected.map { $0 == 0 ? 1 : $0 })
        #expect(s.close == s.open)
        #expect(s.volume[3].sign == .minus)
    }

    @Test func validationErrorsNameTheLine() throws {
        let dir = try TempDir()
        let good = "2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"
        let cases: [(String, MarketDataError.Code, String)] = [
            ("2024-01-01T00:01:00Z,1,2,0.5,abc,10\n", .unparseableNumber, "unparseable number 'abc' in column 'close'"),
            ("2024-01-01T00:01:00Z,1,2,0.5,,10\n", .unparseableNumber, "column 'close'"),
            ("2024-01-01T00:01:00Z,NaN,2,0.5,1.5,10\n", .notFinite, "NaN or infinite price"),
            ("2024-01-01T00:01:00Z,1,inf,0.5,1.5,10\n", .notFinite, "NaN or infinite price"),
            ("2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n", .nonIncreasingTimestamp, "is not after"),
            ("2023-12-31T23:59:00Z,1,2,0.5,1.5,10\n", .nonIncreasingTimestamp, "is not after"),
            ("2024-01-01T00:01:00Z,1,2,1.2,1.5,10\n", .lowAboveBody, "low 1.2 > min(open, close) 1.0"),
            ("2024-01-01T00:01:00Z,1,1.4,0.5,1.5,10\n", .highBelowBody, "high 1.4 < max(open, close) 1.5"),
            ("2024-01-01T00:01:00Z,1,2,0.5,1.5,-1\n", .negativeVolume, "negative volume -1.0"),
            ("2024-01-01T00:01:00Z,0,2,0,1.5,1\n", .nonPositivePrice, "open 0.0 is not a positive price"),
            ("2024-01-01T00:01:00Z,-0.0,2,0.5,1.5,1\n", .nonPositivePrice, "open -0.0 is not a positive price"),
            ("2024-01-01T00:01:00Z,1,2,-0.5,1.5,1\n", .nonPositivePrice, "low -0.5 is not a positive price"),
            ("2024-01-01T00:01:00Z,-1,-0.5,-3.25,-1,1\n", .nonPositivePrice, "open -1.0 is not a positive price"),
            ("2024-01-01T00:01:00Z,1,2,0.5,0,1\n", .nonPositivePrice, "close 0.0 is not a positive price"),
            ("2024-01-01T00:01:00Z,1,2,0.5,1.5\n", .fieldCount, "expected 6 fields, found 5"),
            ("2024-01-01T00:01:00Z,1,2,0.5,1.5,1,9\n", .fieldCount, "expected 6 fields, found 7"),
        ]
        for (row, code, reason) in cases {
            // Header on line 1, a blank line 2, a good row on line 3, then the bad row on line 4.
            let path = try dir.file("bad.csv", header + "\n" + good + row + good)
            do {
                _ = try OHLCVCSVReader.read(path: path, fileName: "EURUSD_1m.csv")
                Issue.record("no error for \(row)")
            } catch {
                #expect(error.code == code, "\(row)")
                #expect(error.line == 4, "\(row)")
                #expect(error.file == "EURUSD_1m.csv")
                #expect(error.description.hasPrefix("EURUSD_1m.csv:4: "), "\(error)")
                #expect(error.reason.contains(reason), "\(error.reason)")
            }
        }
    }

    @Test func streamsInChunksAcrossSmallBuffers() throws {
        let dir = try TempDir()
        var text = header
        let n = 1000
        for i in 0..<n { text += "\(1_700_000_000 + i * 60),\(i).5,\(i + 1),\(i).125,\(i).25,\(i)\n" }
        let path = try dir.file("big.csv", text)
        let whole = try OHLCVCSVReader.read(path: path)
        #expect(whole.count == n)
        // A 64-byte buffer forces records to straddle refills; chunks of 7 rows.
        let reader = try OHLCVCSVReader(path: path, bufferSize: 64)
        var joined = OHLCVSeries.empty()
        var chunks = 0
        while let chunk = try reader.next(maxRows: 7) {
            #expect(chunk.count <= 7)
            joined.append(contentsOf: chunk)
            chunks += 1
        }
        #expect(chunks == (n + 6) / 7)
        #expect(joined == whole)
        #expect(whole.close[999] == 999.25)
        // Non-increasing timestamps across chunk boundaries are still caught, with the right line.
        let bad = try dir.file("bad.csv", header + "3,1,1,1,1,1\n4,1,1,1,1,1\n4,1,1,1,1,1\n")
        let r2 = try OHLCVCSVReader(path: bad, bufferSize: 64)
        _ = try r2.next(maxRows: 2)
        #expect(throws: MarketDataError.self) { try r2.next(maxRows: 2) }
    }

    @Test func readsGzipInput() throws {
        let dir = try TempDir()
        var text = header
        for i in 0..<5000 { text += "\(1_700_000_000 + i * 60),1.5,2,1,1.25,\(i)\n" }
        let plain = try dir.file("g.csv", text)
        _ = try runProcess("/bin/sh", ["-c", "gzip -c '\(plain)' > '\(plain).gz'"])
        let s = try OHLCVCSVReader.read(path: plain + ".gz")
        #expect(s == (try OHLCVCSVReader.read(path: plain)))
        #expect(s.count == 5000)
        // Two concatenated gzip members read as one stream; a truncated file is an error.
        _ = try runProcess("/bin/sh", ["-c", "cat '\(plain).gz' > '\(plain).2.gz'; printf '5,1,1,1,1,1\\n' | gzip -c >> '\(plain).2.gz'"])
        let twoMembers = try dir.file("two.csv", header + "1,1,1,1,1,1\n")
        _ = try runProcess(
            "/bin/sh",
            [
                "-c",
                "printf '2,1,1,1,1,1\\n' | gzip -c > '\(twoMembers).gz.tail'; gzip -c '\(twoMembers)' > '\(twoMembers).gz'; cat '\(twoMembers).gz.tail' >> '\(twoMembers).gz'",
            ])
        #expect(try OHLCVCSVReader.read(path: twoMembers + ".gz").timestamps == [1_000_000, 2_000_000])
        let gz = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        let truncated = try dir.file("t.csv.gz", bytes: Array(gz.prefix(gz.count / 2)))
        do {
            _ = try OHLCVCSVReader.read(path: truncated)
            Issue.record("truncated gzip read")
        } catch {
            #expect(error.code == .compression)
        }
    }

    @Test func missingAndEmptyFiles() throws {
        let dir = try TempDir()
        #expect(throws: MarketDataError.self) { try OHLCVCSVReader.read(path: dir.path("nope.csv")) }
        #expect(throws: MarketDataError.self) { try OHLCVCSVReader.read(path: try dir.file("e.csv", "")) }
        let headerOnly = try OHLCVCSVReader.read(path: try dir.file("h.csv", header))
        #expect(headerOnly.isEmpty)
    }
}
