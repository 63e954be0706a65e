/// Unicode block sparklines: `▁▂▃▄▅▆▇█`.
enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// One character per value (after averaging down to at most `width`
    /// buckets), scaled between the series' minimum and maximum; a missing
    /// value is a space.
    static func render(_ values: [Double?], width: Int = 60) -> String {
        guard !values.isEmpty else { return "" }
        var series = values
        if values.count > width {
            series = (0..<width).map { b in
                let lo = b * values.count / width
                let hi = max(lo + 1, (b + 1) * values.count / width)
                let present = values[lo..<hi].compactMap { $0 }
                return present.isEmpty ? nil : present.reduce(0, +) / Double(present.count)
            }
        }
        let present = series.compactMap { $0 }.filter(\.isFinite)
        guard let lo = present.min(), let hi = present.max() else { return String(repeating: " ", count: series.count) }
        return String(
            series.map { v -> Character in
                guard let v, v.isFinite else { return " " }
                if hi == lo { return blocks[hi == 0 ? 0 : blocks.count / 2] }
                let i = Int(((v - lo) / (hi - lo) * Double(blocks.count - 1)).rounded())
                return blocks[min(blocks.count - 1, max(0, i))]
            })
    }
}
