internal import Foundation

/// Formats and parses PostgreSQL's ISO timestamps without `DateFormatter`
/// (exact to the microsecond, no locale, no allocation beyond the result).
enum PostgresTimestamp {
    /// Microseconds from 1970-01-01 to 2001-01-01 (Foundation's reference date).
    private static let referenceDateMicroseconds: Int64 = 978_307_200 * 1_000_000
    private static let microsecondsPerDay: Int64 = 86_400 * 1_000_000

    /// Microseconds since 1970-01-01 00:00 UTC, rounded to the nearest.
    static func microsecondsSince1970(_ date: Date) -> Int64? {
        let micros = (date.timeIntervalSinceReferenceDate * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) < 9.0e18 else { return nil }
        return Int64(micros) + referenceDateMicroseconds
    }

    /// The date for microseconds since 1970-01-01 00:00 UTC.
    static func date(microsecondsSince1970 micros: Int64) -> Date {
        Date(timeIntervalSinceReferenceDate: Double(micros - referenceDateMicroseconds) / 1_000_000)
    }

    /// `2024-05-06 07:08:09.123456+00`, `… BC` before year 1, or `±infinity`.
    static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the text of `format(_:)` to `bytes` (used by COPY).
    static func append(_ date: Date, to bytes: inout [UInt8]) {
        guard let micros = microsecondsSince1970(date) else {
            bytes.append(contentsOf: date.timeIntervalSinceReferenceDate < 0 ? Array("-infinity".utf8) : Array("infinity".utf8))
            return
        }
        append(microsecondsSince1970: micros, to: &bytes)
    }

    /// Appends the text of the timestamp `micros` µs after 1970-01-01 00:00 UTC
    /// (exact: no `Double` on the way).
    static func append(microsecondsSince1970 micros: Int64, to bytes: inout [UInt8]) {
        let days = micros >= 0 ? micros / microsecondsPerDay : (micros - microsecondsPerDay + 1) / microsecondsPerDay
        var timeOfDay = micros - days * microsecondsPerDay
        var (year, month, day) = civil(fromDays: days)
        let beforeChrist = year <= 0
        if beforeChrist { year = 1 - year }
        let fraction = timeOfDay % 1_000_000
        timeOfDay /= 1_000_000
        appendDigits(year, width: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: " "))
        appendDigits(timeOfDay / 3600, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(timeOfDay / 60 % 60, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(timeOfDay % 60, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendDigits(fraction, width: 6, to: &bytes)
        bytes.append(UInt8(ascii: "+"))
        bytes.append(UInt8(ascii: "0"))
        bytes.append(UInt8(ascii: "0"))
        if beforeChrist {
            bytes.append(contentsOf: [UInt8(ascii: " "), UInt8(ascii: "B"), UInt8(ascii: "C")])
        }
    }

    private static func appendDigits(_ value: Int64, width: Int, to bytes: inout [UInt8]) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 || count < width
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Parses `YYYY-MM-DD[( |T)HH:MM:SS[.ffffff]][Z|±HH[:MM[:SS]]][ BC]`, `infinity`
    /// or `-infinity` (the output of `timestamptz`, `timestamp` and `date` with
    /// `DateStyle=ISO`). A value without an offset is taken as UTC.
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> Date? {
        if text.elementsEqual("infinity".utf8) { return .distantFuture }
        if text.elementsEqual("-infinity".utf8) { return .distantPast }
        var index = 0
        let count = text.count

        func number(maxDigits: Int, minDigits: Int) -> Int64? {
            var value: Int64 = 0
            var digits = 0
            while index < count, digits < maxDigits, let digit = digitValue(text[index]) {
                value = value * 10 + Int64(digit)
                digits += 1
                index += 1
            }
            return digits >= minDigits ? value : nil
        }
        func expect(_ character: UInt8) -> Bool {
            guard index < count, text[index] == character else { return false }
            index += 1
            return true
        }

        guard var year = number(maxDigits: 9, minDigits: 4), expect(UInt8(ascii: "-")),
            let month = number(maxDigits: 2, minDigits: 2), (1...12).contains(month), expect(UInt8(ascii: "-")),
            let day = number(maxDigits: 2, minDigits: 2), (1...31).contains(day)
        else { return nil }

        var seconds: Int64 = 0
        var fraction: Int64 = 0
        var offsetSeconds: Int64 = 0
        if index < count, text[index] == UInt8(ascii: " ") || text[index] == UInt8(ascii: "T"),
            index + 1 < count, digitValue(text[index + 1]) != nil
        {
            index += 1
            guard let hour = number(maxDigits: 2, minDigits: 2), hour <= 24, expect(UInt8(ascii: ":")),
                let minute = number(maxDigits: 2, minDigits: 2), minute < 60, expect(UInt8(ascii: ":")),
                let second = number(maxDigits: 2, minDigits: 2), second <= 60
            else { return nil }
            seconds = hour * 3600 + minute * 60 + second
            if expect(UInt8(ascii: ".")) {
                var scale: Int64 = 100_000
                var digits = 0
                var roundUp = false
                while index < count, let digit = digitValue(text[index]) {
                    if digits < 6 {
                        fraction += Int64(digit) * scale
                        scale /= 10
                    } else if digits == 6 {
                        roundUp = digit >= 5
                    }
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                if roundUp { fraction += 1 }
            }
            if expect(UInt8(ascii: "Z")) {
                offsetSeconds = 0
            } else if index < count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                let sign: Int64 = text[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let offsetHours = number(maxDigits: 2, minDigits: 2) else { return nil }
                var offset = offsetHours * 3600
                if expect(UInt8(ascii: ":")) {
                    guard let offsetMinutes = number(maxDigits: 2, minDigits: 2) else { return nil }
                    offset += offsetMinutes * 60
                    if expect(UInt8(ascii: ":")) {
                        guard let offsetSecondsPart = number(maxDigits: 2, minDigits: 2) else { return nil }
                        offset += offsetSecondsPart
                    }
                }
                offsetSeconds = sign * offset
            }
        }
        if index + 3 == count, text[index] == UInt8(ascii: " "), text[index + 1] == UInt8(ascii: "B"),
            text[index + 2] == UInt8(ascii: "C")
        {
            year = 1 - year
            index += 3
        }
        guard index == count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let micros = ((days * 86_400) + seconds - offsetSeconds) * 1_000_000 + fraction
        return date(microsecondsSince1970: micros)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

@inline(__always)
func digitValue(_ byte: UInt8) -> UInt8? {
    byte &- UInt8(ascii: "0") < 10 ? byte &- UInt8(ascii: "0") : nil
}
