import Foundation

/// RFC 3339 timestamps as the server writes them (`2024-05-01T12:00:00.123456Z`).
enum Timestamp {
    /// Seconds since 1970 of an RFC 3339 UTC timestamp (fraction optional,
    /// `Z` or a numeric offset), or nil.
    static func parse(_ text: String) -> Double? {
        let u = Array(text.utf8)
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= u.count else { return nil }
            var v = 0
            for b in u[from..<from + n] {
                guard b >= 0x30, b <= 0x39 else { return nil }
                v = v * 10 + Int(b - 0x30)
            }
            return v
        }
        guard u.count >= 20, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
            let s = num(17, 2)
        else { return nil }
        var i = 19
        var frac = 0.0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                frac += Double(u[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            guard let oh = num(i + 1, 2), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Double(days * 86400 + h * 3600 + mi * 60 + s - offset) + frac
    }

    /// Seconds between two timestamps (nil when either is absent or malformed).
    static func seconds(from start: JSONValue?, to end: JSONValue?) -> Double? {
        guard let a = start?.string.flatMap(parse), let b = end?.string.flatMap(parse) else { return nil }
        return b - a
    }

    /// `2024-05-01 12:00:00` (UTC, whole seconds) for tables.
    static func short(_ text: String?) -> String {
        guard let text, text.count >= 19 else { return text ?? "" }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(8)
    }

    /// `12:00:00.123` for log and progress lines.
    static func time(_ text: String) -> String {
        guard text.count >= 23 else { return text }
        return String(text.dropFirst(11).prefix(12))
    }

    /// Now, as `HH:MM:SS` UTC.
    static func nowTime() -> String {
        var t = time_t(Date().timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// Now, RFC 3339 UTC with milliseconds.
    static func now() -> String {
        let d = Date().timeIntervalSince1970
        var t = time_t(d)
        var parts = tm()
        gmtime_r(&t, &parts)
        let ms = Int((d - Double(Int(d))) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
            parts.tm_min, parts.tm_sec, ms)
    }
}
