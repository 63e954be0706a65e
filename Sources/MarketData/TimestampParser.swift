/// Parses a timestamp field into microseconds since the Unix epoch, UTC.
///
/// Accepted forms:
/// - ISO-8601 / RFC 3339: `YYYY-MM-DD`, then `T`, `t` or a space, `HH:MM[:SS[.f…]]`
///   (up to 9 fraction digits, truncated to µs), then an optional zone: `Z`, `UTC`,
///   `±HH`, `±HHMM` or `±HH:MM`. Without a zone the time is taken as UTC.
/// - A date alone, `YYYY-MM-DD`: midnight UTC.
/// - A Unix epoch number, optionally with a fraction, whose unit is decided by
///   the magnitude of its integer part, so that every unit covers the years up
///   to 9999: up to 253,402,300,799 (9999-12-31T23:59:59Z; at most 12 digits)
///   seconds, up to 253,402,300,799,999 (13 to 15 digits) milliseconds, up to
///   253,402,300,799,999,999 (16 to 18 digits) microseconds, else (19 digits)
///   nanoseconds, which reach 2262-04-11. So `253402300799` is the last second
///   of 9999, not a millisecond of 1978; the cost is that milliseconds before
///   1978-01-11 (and microseconds, nanoseconds before that) read as a coarser
///   unit. A negative number is a time before 1970 by the same rule. Numbers
///   past the nanosecond range, or before 0000-01-01, are out of range
///   (``rangeProblem(_:_:)`` says so for the error).
enum TimestampParser {
    /// The largest epoch number read as seconds: 9999-12-31T23:59:59Z.
    static let maxSeconds: Int64 = 253_402_300_799
    /// The earliest time accepted, 0000-01-01T00:00:00Z, in µs.
    static let minMicros: Int64 = -62_167_219_200_000_000

    /// Parses `[start, start + count)`.
    /// - Returns: microseconds since the epoch, or `nil` when the text is not a timestamp.
    @inline(__always)
    static func parse(_ start: UnsafePointer<UInt8>, _ count: Int) -> Int64? {
        if count >= 10 && start[4] == UInt8(ascii: "-") && start[7] == UInt8(ascii: "-") {
            return parseISO(start, count)
        }
        return parseEpoch(start, count)
    }

    /// The last date seen by ``parseSecondsZ(_:from:limit:cache:into:)``: its 10 bytes and midnight in µs.
    struct DateCache {
        var head: UInt64 = 0
        var tail: UInt16 = 0
        var valid = false
        var midnight: Int64 = 0
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` at `base[from]` when it is followed at once
    /// by a field or record end (`,`, LF, CR), reusing the date of the previous call when
    /// its bytes are the same, as the CSV reader's single-pass fast path.
    ///
    /// Gives the same value as ``parse(_:_:)`` on the same bytes whenever it succeeds;
    /// anything else returns -1 so the caller takes the general path.
    /// - Returns: the index of the terminator, or -1.
    @inline(__always)
    static func parseSecondsZ(
        _ base: UnsafePointer<UInt8>, from: Int, limit: Int, cache: inout DateCache, into value: inout Int64
    ) -> Int {
        guard from + 20 < limit else { return -1 }
        let s = base + from
        let c = s[20]
        guard c == 44 || c == 10 || c == 13, s[10] == UInt8(ascii: "T"), s[13] == UInt8(ascii: ":"),
            s[16] == UInt8(ascii: ":"), s[19] == UInt8(ascii: "Z")
        else { return -1 }
        let raw = UnsafeRawPointer(s)
        let head = raw.loadUnaligned(as: UInt64.self)
        let tail = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        let midnight: Int64
        if cache.valid && head == cache.head && tail == cache.tail {
            midnight = cache.midnight
        } else {
            guard s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"), let year = digits(s, 0, 4),
                let month = digits(s, 5, 2), let day = digits(s, 8, 2),
                month >= 1, month <= 12, day >= 1, day <= UTCTime.daysInMonth(year: year, month: month)
            else { return -1 }
            midnight = UTCTime.daysFromCivil(year: year, month: month, day: day) * UTCTime.dayMicros
            cache = DateCache(head: head, tail: tail, valid: true, midnight: midnight)
        }
        let h0 = s[11] &- 48, h1 = s[12] &- 48, m0 = s[14] &- 48, m1 = s[15] &- 48
        let s0 = s[17] &- 48, s1 = s[18] &- 48
        guard h0 <= 9, h1 <= 9, m0 <= 9, m1 <= 9, s0 <= 9, s1 <= 9 else { return -1 }
        let hour = Int64(h0) * 10 + Int64(h1), minute = Int64(m0) * 10 + Int64(m1)
        let second = Int64(s0) * 10 + Int64(s1)
        guard hour <= 23, minute <= 59, second <= 60 else { return -1 }
        value = midnight + (hour * 3600 + minute * 60 + second) * 1_000_000
        return from + 20
    }

    @inline(__always)
    private static func digits(_ p: UnsafePointer<UInt8>, _ at: Int, _ n: Int) -> Int64? {
        var v: Int64 = 0
        for k in at..<(at + n) {
            let d = p[k] &- 48
            if d > 9 { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    private static func parseISO(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard let year = digits(p, 0, 4), let month = digits(p, 5, 2), let day = digits(p, 8, 2),
            month >= 1, month <= 12, day >= 1, day <= UTCTime.daysInMonth(year: year, month: month)
        else { return nil }
        var micros = UTCTime.daysFromCivil(year: year, month: month, day: day) * UTCTime.dayMicros
        var i = 10
        if i == n { return micros }
        let sep = p[i]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        i += 1
        guard i + 5 <= n, let hour = digits(p, i, 2), p[i + 2] == UInt8(ascii: ":"), let minute = digits(p, i + 3, 2),
            hour <= 23, minute <= 59
        else { return nil }
        i += 5
        var second: Int64 = 0
        if i < n && p[i] == UInt8(ascii: ":") {
            guard i + 3 <= n, let s = digits(p, i + 1, 2), s <= 60 else { return nil }
            second = s
            i += 3
        }
        micros += (hour * 3600 + minute * 60 + second) * 1_000_000
        if i < n && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            var scale: Int64 = 100_000
            var fraction: Int64 = 0
            var any = false
            while i < n {
                let d = p[i] &- 48
                if d > 9 { break }
                any = true
                fraction += Int64(d) * scale
                scale /= 10
                i += 1
            }
            if !any { return nil }
            micros += fraction
        }
        while i < n && p[i] == UInt8(ascii: " ") { i += 1 }
        if i == n { return micros }
        let z = p[i]
        if z == UInt8(ascii: "Z") || z == UInt8(ascii: "z") {
            i += 1
        } else if z == UInt8(ascii: "U"), i + 3 <= n, p[i + 1] == UInt8(ascii: "T"), p[i + 2] == UInt8(ascii: "C") {
            i += 3
        } else if z == UInt8(ascii: "+") || z == UInt8(ascii: "-") {
            guard i + 3 <= n, let oh = digits(p, i + 1, 2), oh <= 23 else { return nil }
            i += 3
            var om: Int64 = 0
            if i < n && p[i] == UInt8(ascii: ":") { i += 1 }
            if i + 2 <= n, let m = digits(p, i, 2) {
                guard m <= 59 else { return nil }
                om = m
                i += 2
            }
            let offset = (oh * 3600 + om * 60) * 1_000_000
            micros += z == UInt8(ascii: "+") ? -offset : offset
        } else {
            return nil
        }
        while i < n && p[i] == UInt8(ascii: " ") { i += 1 }
        return i == n ? micros : nil
    }

    /// Splits an epoch number into sign, integer part and the index after it; nil when it has no
    /// digits or its integer part overflows 64 bits.
    @inline(__always)
    private static func epochWhole(_ p: UnsafePointer<UInt8>, _ n: Int) -> (negative: Bool, whole: Int64, end: Int)? {
        var i = 0
        var negative = false
        if n > 0 && (p[0] == UInt8(ascii: "-") || p[0] == UInt8(ascii: "+")) {
            negative = p[0] == UInt8(ascii: "-")
            i = 1
        }
        var whole: Int64 = 0
        var any = false
        while i < n {
            let d = p[i] &- 48
            if d > 9 { break }
            any = true
            let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            whole = next
            i += 1
        }
        return any ? (negative, whole, i) : nil
    }

    private static func parseEpoch(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard let (negative, whole, end) = epochWhole(p, n) else { return nil }
        var i = end
        // Unit by magnitude: seconds, milliseconds, microseconds up to the year 9999; then nanoseconds.
        let unitMicros: Int64
        let divisor: Int64
        if whole <= maxSeconds {
            unitMicros = 1_000_000; divisor = 1
        } else if whole <= maxSeconds * 1_000 + 999 {
            unitMicros = 1_000; divisor = 1
        } else if whole <= maxSeconds * 1_000_000 + 999_999 {
            unitMicros = 1; divisor = 1
        } else {
            unitMicros = 1; divisor = 1_000
        }
        var micros = divisor == 1 ? whole * unitMicros : whole / divisor
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            var scale = unitMicros  // micros per unit; each fraction digit is a tenth of it
            var fraction: Int64 = 0
            while i < n {
                let d = p[i] &- 48
                if d > 9 { break }
                scale /= 10
                fraction += Int64(d) * scale
                i += 1
            }
            if divisor == 1 { micros += fraction }
        }
        guard i == n else { return nil }
        let value = negative ? -micros : micros
        return value >= minMicros ? value : nil
    }

    /// Why `[start, start + count)`, which ``parse(_:_:)`` refused, is out of
    /// range, or nil when it is simply not a timestamp.
    static func rangeProblem(_ start: UnsafePointer<UInt8>, _ count: Int) -> String? {
        var n = count
        while n > 0 && (start[n - 1] == UInt8(ascii: " ") || start[n - 1] == UInt8(ascii: "\t")) { n -= 1 }
        var first = 0
        while first < n && (start[first] == UInt8(ascii: " ") || start[first] == UInt8(ascii: "\t")) { first += 1 }
        let p = start + first
        n -= first
        var digits = 0
        var i = (n > 0 && (p[0] == UInt8(ascii: "-") || p[0] == UInt8(ascii: "+"))) ? 1 : 0
        while i < n && p[i] &- 48 <= 9 { digits += 1; i += 1 }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < n && p[i] &- 48 <= 9 { i += 1 }
        }
        guard digits > 0, i == n else { return nil }
        if let (negative, _, _) = epochWhole(p, n), negative {
            return "is before 0000-01-01 (negative epoch numbers are read as seconds, milliseconds, … by the same magnitude rule)"
        }
        return "is out of range: an epoch number is read as seconds up to 253402300799 (9999-12-31T23:59:59Z), "
            + "then milliseconds, microseconds, and nanoseconds up to 9223372036854775807 (2262-04-11)"
    }
}
