import Forecasting
import Foundation
import Testing

struct EvaluationTests {
    /// Hand-checked: bar 0 hit (|err| .05), bar 1 miss (|err| .3), bar 2 no
    /// prediction, bar 3 no realized, bar 4 prediction 0 (no direction, |err| .1),
    /// bar 5 realized 0 (no direction, |err| .2), bar 6 hit on the short side (|err| .05).
    @Test func handCheckedExample() {
        let predictions = [0.10, -0.20, .nan, 0.30, 0.0, 0.2, -0.15]
        let realized = [0.05, 0.10, 0.20, .nan, -0.10, 0.0, -0.10]
        let e = ForecastEvaluation.evaluate(predictions: predictions, realized: realized)
        #expect(e.evaluated == 5)
        #expect(abs(e.meanAbsoluteError - (0.05 + 0.3 + 0.1 + 0.2 + 0.05) / 5) < 1e-15)
        #expect(e.directionalBars == 3)
        #expect(e.hits == 2)
        #expect(abs(e.directionalAccuracy - 2.0 / 3.0) < 1e-15)
    }

    @Test func nothingToEvaluateIsNaN() {
        let e = ForecastEvaluation.evaluate(predictions: [.nan, 0.1], realized: [0.2, .nan])
        #expect(e.evaluated == 0)
        #expect(e.meanAbsoluteError.isNaN)
        #expect(e.directionalAccuracy.isNaN)
    }

    @Test func forwardAndOneBarLogReturns() {
        let close = [100.0, 110.0, 99.0, 0.0, 120.0]
        let r = LogReturns.oneBar(close)
        #expect(r[0].isNaN)
        #expect(abs(r[1] - log(1.1)) < 1e-15)
        #expect(r[3].isNaN && r[4].isNaN)  // a non-positive close has no return
        let y = LogReturns.forward(close, horizon: 2)
        #expect(abs(y[0] - log(0.99)) < 1e-15)
        #expect(y[1].isNaN)  // close[3] is 0
        #expect(y[3].isNaN && y[4].isNaN)  // not realized within the series
    }
}
