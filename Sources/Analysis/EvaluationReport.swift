/// The report's `evaluation` member: per symbol × timeframe and overall.
/// Undefined figures (no data) are absent. See ``Evaluation`` for each figure.
public struct EvaluationReport: Sendable, Equatable, Codable {
    public var overall: EvaluationSection
    public var series: [EvaluationSection]
    /// The costs used, by symbol.
    public var costs: [String: CostModel]
    public var alpha: Double
    public var minTrades: Int
    public var randomRuns: Int

    enum CodingKeys: String, CodingKey {
        case overall, series, costs, alpha
        case minTrades = "min_trades"
        case randomRuns = "random_runs"
    }
}

/// The evaluation of one symbol × timeframe, or of all of them (`symbol` and `timeframe` absent).
public struct EvaluationSection: Sendable, Equatable, Codable {
    public struct Bin: Sendable, Equatable, Codable {
        public var lower: Double
        public var upper: Double
        public var count: Int
        /// Mean quality in the bin.
        public var predicted: Double
        /// Share of the bin's signals with R > 0.
        public var realized: Double
        public var meanR: Double

        enum CodingKeys: String, CodingKey {
            case lower, upper, count, predicted, realized
            case meanR = "mean_r"
        }
    }

    public struct Calibration: Sendable, Equatable, Codable {
        /// Resolved, calibrated signals.
        public var count: Int
        public var bins: [Bin]
        public var brier: Double?
        public var baseRate: Double?
        /// The Brier score of always predicting the base rate.
        public var baseRateBrier: Double?

        enum CodingKeys: String, CodingKey {
            case count, bins, brier
            case baseRate = "base_rate"
            case baseRateBrier = "base_rate_brier"
        }
    }

    public struct Outcomes: Sendable, Equatable, Codable {
        /// Resolved signals.
        public var count: Int
        public var hitRate: Double?
        public var meanR: Double?

        enum CodingKeys: String, CodingKey {
            case count
            case hitRate = "hit_rate"
            case meanR = "mean_r"
        }
    }

    public struct Strategy: Sendable, Equatable, Codable {
        /// Resolved accepted signals.
        public var trades: Int
        public var meanR: Double?
        /// Per trade: mean R / standard deviation of R.
        public var sharpe: Double?

        enum CodingKeys: String, CodingKey {
            case trades, sharpe
            case meanR = "mean_r"
        }
    }

    public struct BuyAndHold: Sendable, Equatable, Codable {
        public var `return`: Double?
        /// Annualised, from bar returns.
        public var sharpe: Double?
    }

    public struct RandomEntries: Sendable, Equatable, Codable {
        public var runs: Int
        public var trades: Int
        public var sharpeMean: Double?
        public var sharpeP95: Double?
        /// `(1 + #runs with Sharpe ≥ the strategy's) / (1 + runs)`.
        public var pValue: Double?

        enum CodingKeys: String, CodingKey {
            case runs, trades
            case sharpeMean = "sharpe_mean"
            case sharpeP95 = "sharpe_p95"
            case pValue = "p_value"
        }
    }

    public struct Baselines: Sendable, Equatable, Codable {
        public var buyAndHold: BuyAndHold
        public var randomEntries: RandomEntries

        enum CodingKeys: String, CodingKey {
            case buyAndHold = "buy_and_hold"
            case randomEntries = "random_entries"
        }
    }

    public enum Verdict: String, Sendable, Equatable, Codable {
        case edge
        case noEdge = "no_edge"
        case insufficientData = "insufficient_data"
    }

    public var symbol: String?
    public var timeframe: String?
    /// Every signal, and those resolved.
    public var signals: Int
    public var resolved: Int
    public var calibration: Calibration
    public var accepted: Outcomes
    public var rejected: Outcomes
    public var strategy: Strategy
    public var baselines: Baselines
    public var deflatedSharpe: Double?
    public var trials: Int
    public var verdict: Verdict
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case symbol, timeframe, signals, resolved, calibration, accepted, rejected, strategy, baselines, trials, verdict, reason
        case deflatedSharpe = "deflated_sharpe"
    }
}
