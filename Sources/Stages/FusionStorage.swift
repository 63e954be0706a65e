public import Foundation

/// `config.fusion.store`: which of fusion's candidate signals go to the
/// `signals` table.
///
/// The report's counts, calibration and evaluation use every candidate
/// whatever this says (fusion hands them to `export` and `analysis` in
/// memory, or through ``SignalCheckpoint`` in a later run); `export`'s
/// `signals.<format>` files also hold every candidate.
public enum FusionStorage: String, Sendable, CaseIterable {
    /// Only the accepted signals are stored (the default).
    case accepted
    /// Every candidate is stored, accepted or not.
    case all

    /// The member's name in `config.fusion`.
    static let member = "store"

    /// Reads `config.fusion.store` from an experiment's normalized request;
    /// `accepted` when absent.
    /// - Throws: ``StageError`` naming the allowed values.
    public init(request: Data) throws(StageError) {
        let object = (try? JSONSerialization.jsonObject(with: request)) as? [String: Any]
        let fusion = (object?["config"] as? [String: Any])?["fusion"] as? [String: Any]
        try self.init(fusion?[Self.member])
    }

    /// Reads the member's value (nil: the default).
    /// - Throws: ``StageError`` naming the allowed values.
    init(_ value: Any?) throws(StageError) {
        guard let value else {
            self = .accepted
            return
        }
        guard let name = value as? String, let store = FusionStorage(rawValue: name) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw StageError("config.fusion.store: must be one of \(allowed)")
        }
        self = store
    }
}
