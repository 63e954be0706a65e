/// Which past samples a walk-forward refit trains on.
///
/// In JSON: the string `"expanding"` or a positive integer (the rolling
/// window length in bars).
public enum TrainingWindow: Sendable, Equatable, Codable {
    /// Every sample whose target is known at the refit bar. The default.
    case expanding
    /// Only the latest `bars` samples whose targets are known at the refit bar.
    case rolling(bars: Int)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard text == "expanding" else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "must be \"expanding\" or a positive integer, not \"\(text)\"")
            }
            self = .expanding
            return
        }
        guard let bars = try? container.decode(Int.self) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be \"expanding\" or a positive integer")
        }
        self = .rolling(bars: bars)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .expanding: try container.encode("expanding")
        case .rolling(let bars): try container.encode(bars)
        }
    }
}
