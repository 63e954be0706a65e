/// A chart pattern's neckline: the line through two troughs (or peaks), or
/// a horizontal level when both ends are the same point.
public struct Neckline: Sendable, Equatable, Codable {
    /// Bar index of the first anchor.
    public var startIndex: Int
    /// Price at the first anchor.
    public var startPrice: Double
    /// Bar index of the second anchor.
    public var endIndex: Int
    /// Price at the second anchor.
    public var endPrice: Double

    /// Creates a neckline through two anchors.
    public init(startIndex: Int, startPrice: Double, endIndex: Int, endPrice: Double) {
        self.startIndex = startIndex
        self.startPrice = startPrice
        self.endIndex = endIndex
        self.endPrice = endPrice
    }

    /// A horizontal neckline at `price`, anchored at `index`.
    public static func horizontal(at index: Int, price: Double) -> Neckline {
        Neckline(startIndex: index, startPrice: price, endIndex: index, endPrice: price)
    }

    /// The line's price at bar `index` (extrapolated linearly).
    public func value(at index: Int) -> Double {
        guard endIndex != startIndex else { return startPrice }
        let slope = (endPrice - startPrice) / Double(endIndex - startIndex)
        return startPrice + slope * Double(index - startIndex)
    }
}
