/// A forecasting model: trained walk-forward on the past, it predicts the log
/// return over the next `horizonBars` bars, with a confidence, at every bar.
///
/// Contract, which ``ForecastRunner`` relies on and the tests check for the
/// built-in models:
/// - the result has one prediction and one confidence per bar of `input`;
/// - no look-ahead: the values at bar t depend only on the input at indices
///   ≤ t, so cutting the input after t leaves them unchanged;
/// - the model calls `context.checkpoint(completed:)` every few hundred bars
///   (a few milliseconds at most), which throws once it must stop and parks
///   while the experiment is paused.
///
/// `forecast` runs on a thread the runner owns, never on Swift's cooperative
/// pool, so it may block.
public protocol ForecastModel: Sendable {
    /// The model's name in reports and metrics (`ar`, `ridge`, `drift`, …).
    var name: String { get }

    /// Forecasts every bar of `input`.
    /// - Parameters:
    ///   - input: the close and feature columns.
    ///   - context: the configuration (horizon, walk-forward schedule) and the checkpoint.
    /// - Returns: predictions and confidences, `input.count` each.
    /// - Throws: anything; the runner reports the model as failed with the error's text.
    func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries
}
