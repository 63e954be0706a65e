import Foundation

/// Aligned text columns for `--output table`.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns whose cells are right-aligned (numbers).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    /// The table as lines; `paint` styles a cell after padding (colour codes do not count toward width).
    func render(colors: Bool = Terminal.colors, paint: (Int, String, String) -> String = { _, _, s in s }) -> String {
        var widths = headers.map(\.count)
        for r in rows {
            for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) }
        }
        func pad(_ s: String, _ i: Int) -> String {
            let fill = String(repeating: " ", count: max(0, widths[i] - s.count))
            return rightAligned.contains(i) ? fill + s : s + fill
        }
        var out =
            headers.enumerated().map { i, h in Terminal.paint(pad(h, i), .bold, enabled: colors) }
            .joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        for r in rows {
            let cells = headers.indices.map { i -> String in
                let raw = i < r.count ? r[i] : ""
                return paint(i, raw, pad(raw, i))
            }
            out += cells.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        return out
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }

    /// At most `width` characters, with `…` when cut.
    func truncated(to width: Int) -> String {
        guard count > width, width > 1 else { return self }
        return String(prefix(width - 1)) + "…"
    }
}
