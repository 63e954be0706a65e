import ArgumentParser
import Foundation

extension Experiments {
    /// `experiments signals ID [--symbol S] [--timeframe T] [--min-quality Q] [--accepted|--no-accepted]`.
    struct Signals: ParsableCommand {
        static let components = [
            "pattern_strength", "mtf_agreement", "regime_confidence", "volume_confirmation", "sentiment_alignment", "correlation_safety",
        ]
        static let columns =
            ["id", "symbol", "timeframe", "timestamp", "direction", "entry", "stop", "target", "horizon_bars", "quality", "accepted"]
            + components + ["sources", "quality_prior", "outcome", "outcome_r", "resolved_at"]

        static let configuration = CommandConfiguration(
            abstract: "An experiment's fused signals.",
            discussion: """
                csv columns: \(columns.joined(separator: ",")) — the six quality components flattened from \
                'components', 'sources' joined with ';' (objects as JSON), outcome/outcome_r/resolved_at from \
                'outcome' (exit, r, resolved_at). json: an array of signals as the \
                server sent them. The table shows the known fields first, then any other scalar field.
                """)

        @OptionGroup var options: ClientOptions
        @Argument(help: "The experiment's id") var id: ExperimentID

        @Option(help: "Only this symbol")
        var symbol: String?

        @Option(help: "Only this timeframe (1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w)")
        var timeframe: String?

        @Option(help: "Only signals with at least this quality (0…1)")
        var minQuality: Double?

        @Flag(inversion: .prefixedNo, help: "Only accepted signals (--accepted) or only rejected ones (--no-accepted)")
        var accepted: Bool?

        @Option(help: "Only signals with this outcome: target, stop, horizon or open")
        var outcome: String?

        func validate() throws {
            if let o = outcome, !["target", "stop", "horizon", "open"].contains(o) {
                throw ValidationError("--outcome must be one of target, stop, horizon, open")
            }
            if let q = minQuality, !(0...1).contains(q) { throw ValidationError("--min-quality must be between 0 and 1") }
        }

        func run() throws {
            try runClient { () throws(ClientError) -> Int32 in
                var query: [(String, String)] = [("limit", "5000")]
                if let symbol { query.append(("symbol", symbol)) }
                if let timeframe { query.append(("timeframe", timeframe)) }
                if let minQuality { query.append(("min_quality", String(minQuality))) }
                if let accepted { query.append(("accepted", accepted ? "true" : "false")) }
                if let outcome { query.append(("outcome", outcome)) }
                let items = try options.client().items(
                    APIClient.path("v1", "experiments", id.value, "signals"), query: query, cursorParameter: "after"
                ).items
                switch options.output {
                case .json: Console.line(JSONValue.array(items).pretty)
                case .csv: Console.out(CSV.table(Self.columns, items, cell: Self.cell))
                case .table: Console.out(Self.table(items))
                }
                return 0
            }
        }

        /// A CSV cell: components by name, sources joined.
        static func cell(_ signal: JSONValue, _ column: String) -> String {
            if components.contains(column) { return signal["components"]?[column]?.cell ?? "" }
            switch column {
            case "outcome": return signal["outcome"]?["exit"]?.cell ?? ""
            case "outcome_r": return signal["outcome"]?["r"]?.cell ?? ""
            case "resolved_at": return signal["outcome"]?["resolved_at"]?.cell ?? ""
            default: break
            }
            if column == "sources", let sources = signal["sources"]?.array {
                return sources.map { $0.isScalar ? $0.cell : $0.compact }.joined(separator: ";")
            }
            return signal[column]?.cell ?? ""
        }

        static func table(_ items: [JSONValue], colors: Bool = Terminal.colors) -> String {
            guard !items.isEmpty else { return "no signals\n" }
            let known = ["symbol", "timeframe", "timestamp", "direction", "entry", "stop", "target", "quality", "accepted"]
            let hidden: Set<String> = ["id", "horizon_bars"]
            var extra: [String] = []
            for s in items {
                for (k, v) in s.members ?? [] where v.isScalar && !known.contains(k) && !hidden.contains(k) && !extra.contains(k) {
                    extra.append(k)
                }
            }
            let columns = known.filter { k in items.contains { $0[k] != nil } } + extra
            let hasOutcome = items.contains { $0["outcome"] != nil }
            var t = TextTable(columns.map { $0.uppercased() } + (hasOutcome ? ["OUTCOME", "R"] : []))
            for s in items {
                t.add(columns.map { s[$0]?.cell ?? "" } + (hasOutcome ? [cell(s, "outcome"), cell(s, "outcome_r")] : []))
            }
            return t.render(colors: colors)
        }
    }
}
