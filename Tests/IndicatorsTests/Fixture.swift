import Foundation

/// The committed fixtures: synthetic bars and TA-Lib's values on them
/// (made by `scripts/reference/generate.py`; no Python at test time).
struct Fixture {
    var open: [Double] = []
    var high: [Double] = []
    var low: [Double] = []
    var close: [Double] = []
    /// Reference columns by name (`sma_20`, `macd_hist`, …).
    var reference: [String: [Double]] = [:]

    static let shared: Fixture = {
        var fixture = Fixture()
        let bars = readCSV("ohlcv")
        fixture.open = bars["open"]!
        fixture.high = bars["high"]!
        fixture.low = bars["low"]!
        fixture.close = bars["close"]!
        fixture.reference = readCSV("reference")
        return fixture
    }()

    static func readCSV(_ name: String) -> [String: [Double]] {
        let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "csv")!
        let text = try! String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        var columns = [[Double]](repeating: [], count: header.count)
        for line in lines {
            for (i, field) in line.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                columns[i].append(field == "nan" ? .nan : Double(field)!)
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(header, columns))
    }
}

/// Compares a computed series with TA-Lib's: NaN exactly where TA-Lib has
/// NaN, and relative error ≤ 1e-9 elsewhere (|a−b| ≤ 1e-9·max(|a|,|b|), with
/// an absolute floor of 1e-12 for values that are zero up to rounding, such
/// as a MACD histogram crossing zero).
func mismatches(_ ours: [Double], _ theirs: [Double]) -> [String] {
    guard ours.count == theirs.count else { return ["length \(ours.count) ≠ \(theirs.count)"] }
    var problems: [String] = []
    for i in ours.indices {
        let a = ours[i], b = theirs[i]
        if a.isNaN || b.isNaN {
            if a.isNaN != b.isNaN { problems.append("[\(i)] \(a) vs \(b)") }
            continue
        }
        let scale = max(abs(a), abs(b))
        if abs(a - b) > max(1e-9 * scale, 1e-12) { problems.append("[\(i)] \(a) vs \(b)") }
        if problems.count > 5 { break }
    }
    return problems
}
