import Foundation

/// The committed bars and TA-Lib's CDL* outputs on them (made by
/// `scripts/reference/generate.py`; no Python at test time).
struct Fixture {
    var open: [Double] = []
    var high: [Double] = []
    var low: [Double] = []
    var close: [Double] = []
    var reference: [String: [Int32]] = [:]

    static let shared: Fixture = {
        var f = Fixture()
        let bars = readCSV("ohlcv")
        f.open = bars["open"]!.map { Double($0)! }
        f.high = bars["high"]!.map { Double($0)! }
        f.low = bars["low"]!.map { Double($0)! }
        f.close = bars["close"]!.map { Double($0)! }
        f.reference = readCSV("reference").mapValues { $0.map { Int32($0)! } }
        return f
    }()

    static func readCSV(_ name: String) -> [String: [String]] {
        let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "csv")!
        let text = try! String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n")
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        var columns = [[String]](repeating: [], count: header.count)
        for line in lines {
            for (i, field) in line.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                columns[i].append(String(field))
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(header, columns))
    }
}
