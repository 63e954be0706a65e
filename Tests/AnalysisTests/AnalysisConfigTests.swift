import Analysis
import Foundation
import Testing

/// The analysis config: defaults, JSON, errors that name the field.
struct AnalysisConfigTests {
    static func decode(_ json: String) throws -> AnalysisConfig {
        try JSONDecoder().decode(AnalysisConfig.self, from: Data(json.utf8))
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func defaultsAndJSON() throws {
        let c = AnalysisConfig()
        #expect(c.spread == 0 && c.commission == 0 && c.maxHoldingBars == 24 && c.costs.model(for: "EURUSD") == CostModel(spreadBps: 1))
        #expect(c.initialEquity == 10000 && c.sizing == .risk && c.riskFraction == 0.01)
        #expect(try Self.decode("{}") == c)
        let d = try Self.decode(#"{"spread": 0.0002, "max_holding_bars": 12, "sizing": "units", "units": 1000}"#)
        #expect(d.spread == 0.0002 && d.maxHoldingBars == 12 && d.sizing == .units && d.units == 1000)
        #expect(try JSONDecoder().decode(AnalysisConfig.self, from: JSONEncoder().encode(d)) == d)
    }

    @Test func errorsNameTheField() {
        #expect(Self.message { _ = try Self.decode(#"{"spread": -1}"#) } == "analysis.spread: must be ≥ 0")
        #expect(Self.message { _ = try Self.decode(#"{"commission": 1}"#) } == "analysis.commission: must be in [0, 1)")
        #expect(Self.message { _ = try Self.decode(#"{"max_holding_bars": 0}"#) } == "analysis.max_holding_bars: must be ≥ 1")
        #expect(Self.message { _ = try Self.decode(#"{"max_holding_bars": "x"}"#) } == "analysis.max_holding_bars: must be an integer")
        #expect(Self.message { _ = try Self.decode(#"{"sizing": "kelly"}"#) } == "analysis.sizing: must be one of risk, units")
        #expect(Self.message { _ = try Self.decode(#"{"risk_fraction": 0}"#) } == "analysis.risk_fraction: must be in (0, 1]")
        #expect(Self.message { _ = try Self.decode(#"{"slippage": 1}"#) } == "analysis.slippage: unknown member")
        var c = AnalysisConfig()
        c.initialEquity = 0
        #expect(Self.message { _ = try Backtest.run([], config: c) } == "analysis.initial_equity: must be > 0")
    }

    @Test func inputErrorsNameTheMember() {
        var input = BacktestTests.input(BacktestTests.bars, signals: [(0, .long, 98, 104)])
        input.signals[0].timestamp += 1
        #expect(
            Self.message { _ = try Backtest.run(input) }
                == "analysis.inputs[X 1h].signals[0].timestamp: no bar opens at 1")
        input = BacktestTests.input(BacktestTests.bars, signals: [])
        input.close.removeLast()
        #expect(Self.message { _ = try Backtest.run(input) } == "analysis.inputs[X 1h].close: has 9 values for 10 bars")
    }
}
