public import Foundation
public import MarketData
public import Pipeline

/// An experiment's request, decoded once into typed values: the datasets,
/// the stages, the timeframes and every built-in stage's options — each
/// `config` section decoded into its ``StageOptions`` type whether or not the
/// experiment runs that stage.
///
/// `POST /v1/experiments` builds it (after the request checker has checked
/// every member against the options types' schemas), so a request that
/// cannot become a plan is a 400; a runner builds it again from the stored,
/// normalized request once per run (``StageContext/plan``), and every stage
/// reads its options from it.
public struct ExperimentPlan: Sendable {
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
    /// Every built-in stage's options, by section name.
    private var options: [String: any StageOptions]

    /// Parses the normalized request JSON and decodes every `config` section.
    /// - Throws: ``StageError`` when it has no datasets, an unknown timeframe,
    ///   or a section its options type refuses (`config.<section>.<member>: <reason>`).
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
        self.stages = object["stages"] as? [String] ?? BuiltInStages.names
        self.timeframes = Array(Set(timeframes)).sorted()
        let config = object["config"] ?? [String: Any]()
        guard let sections = config as? [String: Any] else { throw StageError("config: expected an object") }
        if let unknown = sections.keys.sorted().first(where: { BuiltInStages.descriptor($0) == nil }) {
            throw StageError("config.\(unknown): unknown section")
        }
        self.options = try Self.decodeOptions(sections)
    }

    /// Decodes each built-in stage's section (`{}` when absent) into its options type.
    private static func decodeOptions(_ sections: [String: Any]) throws(StageError) -> [String: any StageOptions] {
        var out: [String: any StageOptions] = [:]
        for descriptor in BuiltInStages.descriptors {
            let type = descriptor.options
            guard let value = sections[type.section] else {
                out[type.section] = type.init()
                continue
            }
            guard value is [String: Any], let json = try? JSONSerialization.data(withJSONObject: value) else {
                throw StageError("config.\(type.section): expected an object")
            }
            out[type.section] = try type.init(configSection: json)
        }
        return out
    }

    /// The symbols, in request order.
    public var symbols: [String] { datasets.map(\.symbol) }

    /// A stage's options, as decoded from its section (the defaults when absent).
    public func options<T: StageOptions>(_ type: T.Type = T.self) -> T {
        options[T.section] as? T ?? T()
    }
}

extension StageContext {
    /// The artifact under which a run keeps its decoded plan.
    static let planArtifact = "experiment.plan"

    /// The experiment's plan, decoded from its stored request once per run
    /// (kept in `artifacts` for the stages after the first).
    /// - Throws: ``StageError`` when the stored request does not decode.
    public var plan: ExperimentPlan {
        get throws(StageError) {
            if let plan = artifacts.get(Self.planArtifact, as: ExperimentPlan.self) { return plan }
            let plan = try ExperimentPlan(request: request)
            artifacts.set(Self.planArtifact, plan)
            return plan
        }
    }

    /// A stage's typed options from the experiment's plan: `context.options(MergeOptions.self)`.
    public func options<T: StageOptions>(_ type: T.Type) throws(StageError) -> T { try plan.options(type) }
}
