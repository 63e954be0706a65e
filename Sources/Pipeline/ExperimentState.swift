/// The states of an experiment (docs/architecture.md, "Experiment lifecycle"); the
/// `experiments.status` column holds the raw value.
public enum ExperimentState: String, Sendable, CaseIterable, Codable {
    case queued, running, pausing, paused, cancelling, succeeded, failed, cancelled, interrupted

    /// No transition leaves these except an explicit retry.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: true
        default: false
        }
    }

    /// A runner thread owns the experiment in these states.
    public var isActive: Bool {
        switch self {
        case .running, .pausing, .cancelling: true
        default: false
        }
    }
}
