/// The candlestick patterns SignalForge recognizes.
public enum CandlestickPattern: String, CaseIterable, Sendable, Codable {
    case hammer
    case shootingStar = "shooting_star"
    case bullishEngulfing = "bullish_engulfing"
    case bearishEngulfing = "bearish_engulfing"
    case doji
    case dragonflyDoji = "dragonfly_doji"
    case gravestoneDoji = "gravestone_doji"
    case threeWhiteSoldiers = "three_white_soldiers"
    case threeBlackCrows = "three_black_crows"

    /// The TA-Lib function whose output this pattern reproduces.
    public var taLibFunction: String {
        switch self {
        case .hammer: "CDLHAMMER"
        case .shootingStar: "CDLSHOOTINGSTAR"
        case .bullishEngulfing, .bearishEngulfing: "CDLENGULFING"
        case .doji: "CDLDOJI"
        case .dragonflyDoji: "CDLDRAGONFLYDOJI"
        case .gravestoneDoji: "CDLGRAVESTONEDOJI"
        case .threeWhiteSoldiers: "CDL3WHITESOLDIERS"
        case .threeBlackCrows: "CDL3BLACKCROWS"
        }
    }

    /// The feature column name (`cdl_hammer`, `cdl_engulfing`, …).
    public var featureName: String {
        "cdl_" + taLibFunction.dropFirst(3).lowercased()
    }

    /// How many bars the pattern spans (the last one is the signal bar).
    public var span: Int {
        switch self {
        case .hammer, .shootingStar, .doji, .dragonflyDoji, .gravestoneDoji: 1
        case .bullishEngulfing, .bearishEngulfing: 2
        case .threeWhiteSoldiers: 3
        case .threeBlackCrows: 4
        }
    }
}
