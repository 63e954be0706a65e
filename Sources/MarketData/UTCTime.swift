/// Civil-calendar arithmetic on the proleptic Gregorian calendar, UTC, and the
/// ISO-8601 text form that SignalForge writes.
package enum UTCTime {
    /// Microseconds in one day.
    package static let dayMicros: Int64 = 86_400_000_000

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
    @inline(__always)
    package static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    @inline(__always)
    package static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The number of days in a month.
    package static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SSZ` (with `.ffffff` before `Z` when the microseconds are not zero).
    /// - Parameters:
    ///   - micros: microseconds since the epoch, UTC (years 0…9999).
    ///   - out: at least 27 bytes.
    /// - Returns: the number of bytes written (20 or 27).
    @inline(__always)
    package static func formatISO8601(_ micros: Int64, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var days = micros / dayMicros
        var rest = micros % dayMicros
        if rest < 0 { rest += dayMicros; days -= 1 }
        let (y, m, d) = civilFromDays(days)
        let seconds = rest / 1_000_000
        let fraction = rest % 1_000_000
        @inline(__always) func two(_ v: Int64, _ at: Int) {
            out[at] = UInt8(48 + v / 10)
            out[at + 1] = UInt8(48 + v % 10)
        }
        let year = min(max(y, 0), 9999)
        two(year / 100, 0); two(year % 100, 2)
        out[4] = UInt8(ascii: "-"); two(m, 5)
        out[7] = UInt8(ascii: "-"); two(d, 8)
        out[10] = UInt8(ascii: "T"); two(seconds / 3600, 11)
        out[13] = UInt8(ascii: ":"); two(seconds / 60 % 60, 14)
        out[16] = UInt8(ascii: ":"); two(seconds % 60, 17)
        if fraction == 0 {
            out[19] = UInt8(ascii: "Z")
            return 20
        }
        out[19] = UInt8(ascii: ".")
        var f = fraction
        for k in stride(from: 25, through: 20, by: -1) {
            out[k] = UInt8(48 + f % 10)
            f /= 10
        }
        out[26] = UInt8(ascii: "Z")
        return 27
    }
}
