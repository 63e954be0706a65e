/// One model's successful run.
public struct ModelResult: Sendable {
    /// The model's name (`ar`, `ridge`, `drift`, `ensemble`, or a custom model's).
    public var name: String
    /// Its predictions and confidences, one per bar.
    public var series: ForecastSeries
    /// Out-of-sample directional accuracy and MAE against the realized h-bar log returns.
    public var evaluation: ForecastEvaluation
    /// Wall time of the model's run, seconds.
    public var seconds: Double

    /// Creates a result.
    public init(name: String, series: ForecastSeries, evaluation: ForecastEvaluation, seconds: Double) {
        self.name = name
        self.series = series
        self.evaluation = evaluation
        self.seconds = seconds
    }

    /// `series.predictions`.
    public var predictions: [Double] { series.predictions }
    /// `series.confidence`.
    public var confidence: [Double] { series.confidence }
}

/// A model that was left out of the results.
public struct ModelFailure: Sendable, Equatable, CustomStringConvertible {
    /// Why it was left out.
    public enum Kind: String, Sendable, Equatable {
        /// It ran past its own timeout or the total timeout.
        case timeout
        /// It threw (the reason is the error's text) or returned a malformed series.
        case error
    }

    /// The model's name.
    public var name: String
    public var kind: Kind
    /// `timeout after 30 s`, `timeout after 60 s (total timeout)`, or the error's text.
    public var reason: String

    /// Creates a record.
    public init(name: String, kind: Kind, reason: String) {
        self.name = name
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "\(name): \(reason)" }
}

/// What ``ForecastRunner/run(_:models:progress:checkpoint:)`` returns.
public struct ForecastReport: Sendable {
    /// The models that succeeded, in the order they were given, then the
    /// ensemble (present when at least two models succeeded).
    public var results: [ModelResult]
    /// The models left out, in the order they were given.
    public var failures: [ModelFailure]
    /// Wall time of the run, seconds (time parked in a paused checkpoint included).
    public var seconds: Double

    /// Creates a report.
    public init(results: [ModelResult], failures: [ModelFailure], seconds: Double) {
        self.results = results
        self.failures = failures
        self.seconds = seconds
    }

    /// The result of the model named `name`, if it succeeded.
    public func result(named name: String) -> ModelResult? { results.first { $0.name == name } }

    /// Flat metrics for the stage and the report: per successful model
    /// `<name>.directional_accuracy`, `<name>.mae`, `<name>.evaluated`,
    /// `<name>.seconds` (NaN accuracy/MAE when nothing was evaluated), plus
    /// `models_succeeded` and `models_failed`.
    public var metrics: [String: Double] {
        var metrics: [String: Double] = [
            "models_succeeded": Double(results.count),
            "models_failed": Double(failures.count),
        ]
        for result in results {
            metrics["\(result.name).directional_accuracy"] = result.evaluation.directionalAccuracy
            metrics["\(result.name).mae"] = result.evaluation.meanAbsoluteError
            metrics["\(result.name).evaluated"] = Double(result.evaluation.evaluated)
            metrics["\(result.name).seconds"] = result.seconds
        }
        return metrics
    }
}
