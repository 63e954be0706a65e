import Foundation
import MarketData

/// What the market-data stages read from the experiment's normalized request:
/// the datasets, the timeframes and the `config` sections.
struct ExperimentPlan {
    /// One dataset of the request.
    public struct Dataset: Sendable, Equatable {
        public var symbol: String
        public var datasetID: UUID?
        public var path: String?
    }

    public var datasets: [Dataset]
    /// The stages the experiment runs, in order (all of them when the request names none).
    public var stages: [String]
    /// The requested timeframes, finest first.
    public var timeframes: [Timeframe]
    /// `config.<section>` as JSON objects (empty when absent).
    var config: [String: [String: Any]]

    /// Parses the normalized request JSON.
    /// - Throws: ``StageError`` when it has no datasets or an unknown timeframe.
    public init(request: Data) throws(StageError) {
        guard let object = (try? JSONSerialization.jsonObject(with: request)) as? [String: Any] else {
            throw StageError("the experiment's request is not a JSON object")
        }
        var datasets: [Dataset] = []
        for item in object["datasets"] as? [[String: Any]] ?? [] {
            guard let symbol = item["symbol"] as? String else { throw StageError("a dataset has no symbol") }
            let id = (item["dataset_id"] as? String).flatMap(UUID.init(uuidString:))
            datasets.append(Dataset(symbol: symbol, datasetID: id, path: item["path"] as? String))
        }
        guard !datasets.isEmpty else { throw StageError("the experiment names no datasets") }
        var timeframes: [Timeframe] = []
        for name in object["timeframes"] as? [String] ?? ["1h"] {
            do { timeframes.append(try Timeframe(parsing: name)) } catch { throw StageError("\(error)") }
        }
        self.datasets = datasets
        self.stages = object["stages"] as? [String]
            ?? ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]
        self.timeframes = Array(Set(timeframes)).sorted()
        var config: [String: [String: Any]] = [:]
        for (k, v) in object["config"] as? [String: Any] ?? [:] { config[k] = v as? [String: Any] ?? [:] }
        self.config = config
    }

    /// The symbols, in request order.
    public var symbols: [String] { datasets.map(\.symbol) }

    /// A config section given as JSON (not an object: empty).
    static func object(_ section: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: section)) as? [String: Any] ?? [:]
    }

    /// One config section (empty when absent).
    func section(_ name: String) -> [String: Any] { config[name] ?? [:] }
}
