import Foundation

/// Human-readable numbers for tables.
enum Format {
    /// `1.2 KiB`, `340.0 MiB`.
    static func bytes(_ n: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = n
        var u = 0
        while abs(v) >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(Int(v)) B" : String(format: "%.1f", v) + " " + units[u]
    }

    /// `950`, `1.2k`, `3.4M`.
    static func count(_ n: Double) -> String {
        if abs(n) >= 1_000_000 { return String(format: "%.1fM", n / 1_000_000) }
        if abs(n) >= 10_000 { return String(format: "%.0fk", n / 1_000) }
        if abs(n) >= 1_000 { return String(format: "%.1fk", n / 1_000) }
        if n == n.rounded() { return String(Int(n)) }
        return String(format: "%.1f", n)
    }

    /// `42s`, `3m07s`, `1h02m`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }

    static func percent(_ p: Double) -> String { String(format: "%.1f%%", p) }
}
