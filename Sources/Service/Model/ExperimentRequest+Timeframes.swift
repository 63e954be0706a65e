import Foundation
import MarketData
import Pipeline

extension ExperimentRequest {
    /// Rows read from a dataset named by `path` to infer its timeframe when an
    /// experiment is created.
    static let timeframeProbeRows = 4_096

    /// Refuses, when it is knowable now, a request to treat data as a finer
    /// timeframe than it has (`timeframes: ["1h"]` over daily bars), or to build
    /// a timeframe its bars do not nest in (`1M` from `1w` bars): an uploaded
    /// dataset's timeframe is the one recorded at upload; a file under the data
    /// root is inferred from its first ``timeframeProbeRows`` rows when they
    /// settle it. Anything not knowable now (no such file, an unreadable or
    /// undetermined one) is left to the `load` and `resample` stages, which fail
    /// the experiment with the same reason.
    /// - Parameter environment: the engine's stage environment (nil: nothing is checked).
    /// - Throws: `APIError` 400 naming `timeframes`.
    func checkTimeframesAgainstData(_ environment: (any StageEnvironment)?) throws(APIError) {
        guard let environment, let finest = timeframes.first.flatMap(Timeframe.init(rawValue:)) else { return }
        for (i, d) in datasets.enumerated() {
            let own: Timeframe?
            let source: String
            if let id = d.datasetID {
                own = environment.datasetTimeframe(id: id).flatMap(Timeframe.init(rawValue:))
                source = "datasets[\(i)] (\(d.symbol), dataset \(id.uuidString.lowercased()))"
            } else if let path = d.path {
                own = Self.probeTimeframe(path: path, under: environment.dataRoot)
                source = "datasets[\(i)] (\(d.symbol), \(path))"
            } else {
                continue
            }
            guard let own else { continue }
            let requested = timeframes.compactMap(Timeframe.init(rawValue:))
            if let straddled = requested.first(where: { $0 > own && !own.nests(in: $0) }) {
                throw APIError(
                    400,
                    "timeframes: \(straddled) cannot be built from the \(own) bars of \(source): a \(own) bar can straddle two \(straddled) bars",
                    field: "timeframes")
            }
            guard finest < own else { continue }
            let allowed = Self.timeframeNames.filter { Timeframe(rawValue: $0).map { $0 >= own } ?? false }
            throw APIError(
                400,
                "timeframes: \(finest) is finer than the data: \(source) has \(own) bars, which cannot be treated as \(finest) bars "
                    + "(request \(allowed.joined(separator: ", ")))",
                field: "timeframes", extra: [("allowed", allowed.joined(separator: ", "))])
        }
    }

    /// The timeframe of the file at `path` under `root`, inferred from its first
    /// rows; nil when the file is missing, outside the root once resolved, bad,
    /// or its first rows do not settle it.
    static func probeTimeframe(path: String, under root: URL) -> Timeframe? {
        let base = root.standardizedFileURL.resolvingSymlinksInPath().path
        let file = root.appendingPathComponent(path).standardizedFileURL.resolvingSymlinksInPath().path
        guard file.hasPrefix(base + "/") else { return nil }
        guard let reader = try? OHLCVCSVReader(path: file, fileName: path),
            let chunk = try? reader.next(maxRows: timeframeProbeRows)
        else { return nil }
        return TimeframeInference.verdict(chunk.timestamps).timeframe
    }
}

extension TimeframeInference.Verdict {
    /// The inferred timeframe, or nil.
    var timeframe: Timeframe? {
        if case .timeframe(let tf) = self { return tf }
        return nil
    }
}
