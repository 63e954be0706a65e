import Foundation
import MarketData
import Testing

struct SyntheticMarketTests {
    static let config = SyntheticMarket.Configuration(
        symbols: ["EURUSD", "GBPUSD", "USDJPY"], bars: 20_000, seed: 42, sentiment: true)

    static func all(_ config: SyntheticMarket.Configuration, chunk: Int) -> [OHLCVSeries] {
        var market = SyntheticMarket(config)
        var out: [OHLCVSeries]? = nil
        while let next = market.next(maxBars: chunk) {
            if out == nil { out = next } else { for i in next.indices { out![i].append(contentsOf: next[i]) } }
        }
        return out ?? []
    }

    @Test func deterministicWhateverTheChunks() {
        let a = Self.all(Self.config, chunk: 20_000)
        let b = Self.all(Self.config, chunk: 777)
        #expect(a == b)
        var other = Self.config
        other.seed = 43
        #expect(Self.all(other, chunk: 20_000) != a)
    }

    @Test func barsAreValidAndShaped() throws {
        let series = Self.all(Self.config, chunk: 4096)
        #expect(series.map(\.symbol) == ["EURUSD", "GBPUSD", "USDJPY"])
        for s in series {
            #expect(s.count == 20_000)
            #expect(s.timeframe == .m1)
            #expect(s.timestamps.first == SyntheticMarket.Configuration.defaultStart)
            #expect(zip(s.timestamps, s.timestamps.dropFirst()).allSatisfy { $1 - $0 == 60_000_000 })
            for i in 0..<s.count {
                #expect(s.low[i] <= min(s.open[i], s.close[i]) && s.high[i] >= max(s.open[i], s.close[i]))
                #expect(s.volume[i] >= 1 && s.volume[i] == s.volume[i].rounded())
            }
            let sentiment = try #require(s.extra("sentiment"))
            #expect(sentiment.allSatisfy { (-1...1).contains($0) })
            // Each bar opens at the previous close.
            #expect(zip(s.close, s.open.dropFirst()).allSatisfy { $0 == $1 })
        }
        // Returns: EURUSD and GBPUSD move together, USDJPY against them.
        func returns(_ s: OHLCVSeries) -> [Double] { zip(s.close, s.close.dropFirst()).map { log($1 / $0) } }
        func corr(_ a: [Double], _ b: [Double]) -> Double {
            let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
            var sab = 0.0, saa = 0.0, sbb = 0.0
            for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
            return sab / (saa * sbb).squareRoot()
        }
        let r = series.map(returns)
        #expect(corr(r[0], r[1]) > 0.4)
        #expect(corr(r[0], r[2]) < -0.4)
        // Volume follows the UTC day: the London/New York overlap beats the Asian night.
        let eur = series[0]
        func meanVolume(hours: ClosedRange<Int64>) -> Double {
            let v = eur.timestamps.indices.filter { hours.contains(eur.timestamps[$0] / 3_600_000_000 % 24) }.map { eur.volume[$0] }
            return v.reduce(0, +) / Double(v.count)
        }
        #expect(meanVolume(hours: 13...16) > 2 * meanVolume(hours: 21...23))
    }

    @Test func writesCSVThatTheReaderAccepts() throws {
        let dir = NSTemporaryDirectory() + "sf-synth-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = Self.config
        config.bars = 5_000
        let files = try SyntheticMarket.writeCSV(config, to: dir)
        #expect(files.map(\.path) == ["EURUSD", "GBPUSD", "USDJPY"].map { "\(dir)/\($0)_1m.csv" })
        let expected = Self.all(config, chunk: 5_000)
        for (f, e) in zip(files, expected) {
            let attributes = try FileManager.default.attributesOfItem(atPath: f.path)
            #expect((attributes[.size] as? NSNumber)?.int64Value == f.bytes)
            #expect(f.rows == 5_000)
            let back = try OHLCVCSVReader.read(path: f.path, symbol: f.symbol, timeframe: .m1)
            #expect(back == e, "\(f.symbol): the CSV holds exactly the generated (rounded) values")
        }
        let head = try String(contentsOfFile: files[2].path, encoding: .utf8).split(separator: "\n").prefix(2)
        #expect(head.first == "timestamp,open,high,low,close,volume,sentiment")
        #expect(head.last?.hasPrefix("2024-01-01T00:00:00Z,148.500,") == true)

        let gz = try SyntheticMarket.writeCSV(config, to: dir, gzip: true)
        #expect(gz[0].path.hasSuffix("EURUSD_1m.csv.gz") && gz[0].bytes < files[0].bytes / 2)
        #expect(try OHLCVCSVReader.read(path: gz[0].path, symbol: "EURUSD", timeframe: .m1) == expected[0])
    }
}
