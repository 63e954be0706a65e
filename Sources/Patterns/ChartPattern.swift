/// The chart patterns SignalForge recognizes.
public enum ChartPattern: String, CaseIterable, Sendable, Codable {
    case doubleTop = "double_top"
    case doubleBottom = "double_bottom"
    case headAndShoulders = "head_and_shoulders"
    case inverseHeadAndShoulders = "inverse_head_and_shoulders"
}
