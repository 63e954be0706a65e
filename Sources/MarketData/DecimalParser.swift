#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Parses decimal text straight from a byte buffer, without creating Strings.
///
/// Typical price text (up to 19 significant digits, a decimal exponent within
/// ±22 after the point is removed, a mantissa below 2⁵³) takes Clinger's fast
/// path: one exact integer conversion and one correctly rounded multiplication
/// or division by an exact power of ten, so the result is correctly rounded.
/// Everything else (long mantissas, large exponents, `nan`, `inf`) goes to the C
/// library's `strtod` on a NUL-terminated copy of the field.
enum DecimalParser {
    /// 10⁰ … 10²², all exact in a Double.
    @usableFromInline
    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// 5^q for q = -19 … 0 as normalized 128-bit values (high word, low word), as in the
    /// Eisel–Lemire algorithm (fast_float's `power_of_five_128`: 2^b / 5^-q rounded up for
    /// q < 0, 5^q shifted up for q ≥ 0).
    static let powersOfFive128: [UInt64] = [
        0xEC1E4A7DB69561A5, 0x2B31E9E3D06C32E6,  // 5^-19
        0x9392EE8E921D5D07, 0x3AFF322E62439FD0,  // 5^-18
        0xB877AA3236A4B449, 0x09BEFEB9FAD487C3,  // 5^-17
        0xE69594BEC44DE15B, 0x4C2EBE687989A9B4,  // 5^-16
        0x901D7CF73AB0ACD9, 0x0F9D37014BF60A11,  // 5^-15
        0xB424DC35095CD80F, 0x538484C19EF38C95,  // 5^-14
        0xE12E13424BB40E13, 0x2865A5F206B06FBA,  // 5^-13
        0x8CBCCC096F5088CB, 0xF93F87B7442E45D4,  // 5^-12
        0xAFEBFF0BCB24AAFE, 0xF78F69A51539D749,  // 5^-11
        0xDBE6FECEBDEDD5BE, 0xB573440E5A884D1C,  // 5^-10
        0x89705F4136B4A597, 0x31680A88F8953031,  // 5^-9
        0xABCC77118461CEFC, 0xFDC20D2B36BA7C3E,  // 5^-8
        0xD6BF94D5E57A42BC, 0x3D32907604691B4D,  // 5^-7
        0x8637BD05AF6C69B5, 0xA63F9A49C2C1B110,  // 5^-6
        0xA7C5AC471B478423, 0x0FCF80DC33721D54,  // 5^-5
        0xD1B71758E219652B, 0xD3C36113404EA4A9,  // 5^-4
        0x83126E978D4FDF3B, 0x645A1CAC083126EA,  // 5^-3
        0xA3D70A3D70A3D70A, 0x3D70A3D70A3D70A4,  // 5^-2
        0xCCCCCCCCCCCCCCCC, 0xCCCCCCCCCCCCCCCD,  // 5^-1
        0x8000000000000000, 0x0000000000000000,  // 5^0
    ]

    /// Parses the whole of `[start, start + count)` as a Double.
    /// - Parameters:
    ///   - start: the first byte of the field (already trimmed of quotes).
    ///   - count: the number of bytes.
    /// - Returns: the value, or `nil` when the text is not a number (an empty field is not a number).
    @inline(__always)
    static func parse(_ start: UnsafePointer<UInt8>, _ count: Int) -> Double? {
        var i = 0
        var negative = false
        if count == 0 { return nil }
        let first = start[0]
        if first == UInt8(ascii: "-") { negative = true; i = 1 } else if first == UInt8(ascii: "+") { i = 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var dropped = 0  // integer digits beyond 19 significant ones
        var sawDigit = false
        while i < count {
            let d = start[i] &- 48
            if d > 9 { break }
            sawDigit = true
            if significant < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { significant += 1 }
            } else {
                dropped += 1
            }
            i += 1
        }
        var fractionDigits = 0
        if i < count && start[i] == UInt8(ascii: ".") {
            i += 1
            while i < count {
                let d = start[i] &- 48
                if d > 9 { break }
                sawDigit = true
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { significant += 1 }
                    fractionDigits += 1
                }
                i += 1
            }
        }
        if !sawDigit { return slowParse(start, count) }
        var exponent = 0
        if i < count && (start[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < count && (start[i] == UInt8(ascii: "-") || start[i] == UInt8(ascii: "+")) {
                expNegative = start[i] == UInt8(ascii: "-")
                i += 1
            }
            var sawExpDigit = false
            while i < count {
                let d = start[i] &- 48
                if d > 9 { break }
                sawExpDigit = true
                if exponent < 100_000 { exponent = exponent * 10 + Int(d) }
                i += 1
            }
            if !sawExpDigit { return nil }
            if expNegative { exponent = -exponent }
        }
        if i != count { return nil }
        let exp10 = exponent - fractionDigits + dropped
        if significant == 0 { return negative ? -0.0 : 0.0 }
        if mantissa <= (1 << 53) && exp10 >= -22 && exp10 <= 22 {
            var value = Double(mantissa)
            if exp10 < 0 { value /= powersOfTen[-exp10] } else if exp10 > 0 { value *= powersOfTen[exp10] }
            return negative ? -value : value
        }
        return slowParse(start, count)
    }

    /// Parses a plain number (`-`? digits, optionally `.` digits; at most 19 digits in all)
    /// that starts at `base[from]` and ends right at a field or record end (`,`, LF, CR),
    /// as the CSV reader's single-pass fast path.
    ///
    /// Gives the same value as ``parse(_:_:)`` on the same bytes whenever it succeeds;
    /// anything else (a `+` sign, an exponent, spaces, a long or huge mantissa, no
    /// terminator before `limit`) returns -1 so the caller takes the general path.
    /// - Parameters:
    ///   - base: the buffer.
    ///   - from: the first byte of the field.
    ///   - limit: the end of the valid bytes.
    ///   - powers: 10⁰ … 10²² (see ``powersOfTen``).
    ///   - fives: ``powersOfFive128``.
    ///   - value: set to the value on success.
    /// - Returns: the index of the terminator, or -1.
    @inline(__always)
    static func parseDelimited(
        _ base: UnsafePointer<UInt8>, from: Int, limit: Int, powers: UnsafePointer<Double>, fives: UnsafePointer<UInt64>,
        into value: inout Double
    ) -> Int {
        var i = from
        var negative = false
        if i < limit && base[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        let integerStart = i
        while i < limit {
            let d = base[i] &- 48
            if d > 9 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            i += 1
        }
        var digitCount = i - integerStart
        var fractionDigits = 0
        if i < limit && base[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < limit {
                let d = base[i] &- 48
                if d > 9 { break }
                mantissa = mantissa &* 10 &+ UInt64(d)
                i += 1
            }
            fractionDigits = i - fractionStart
            digitCount += fractionDigits
        }
        // With at most 19 digits nothing wrapped and the decimal exponent is -fractionDigits ≥ -19.
        guard i < limit, digitCount >= 1, digitCount <= 19 else { return -1 }
        let c = base[i]
        guard c == 44 || c == 10 || c == 13 else { return -1 }
        if mantissa <= (1 << 53) {
            // Exactly parse(_:_:)'s Clinger fast path.
            var v = Double(mantissa)
            if fractionDigits > 0 { v /= powers[fractionDigits] }
            value = negative ? -v : v
            return i
        }
        // A mantissa above 2^53 (e.g. 17 significant digits): Eisel–Lemire, correctly rounded.
        guard let v = eiselLemire(mantissa, exponent: -fractionDigits, fives: fives) else { return -1 }
        value = negative ? -v : v
        return i
    }

    /// The correctly rounded Double nearest `w × 10^q` for `w > 2^53` and `-19 ≤ q ≤ 0`
    /// (Eisel–Lemire, as in fast_float's `compute_float`; exact for `-27 ≤ q ≤ 55`).
    /// - Returns: the value, or `nil` in the one case the algorithm would need a wider product.
    @inline(__always)
    static func eiselLemire(_ w: UInt64, exponent q: Int, fives: UnsafePointer<UInt64>) -> Double? {
        let lz = w.leadingZeroBitCount
        let normalized = w << UInt64(lz)
        let index = 2 * (q + 19)
        var (high, low) = normalized.multipliedFullWidth(by: fives[index])
        if high & 0x1FF == 0x1FF {
            let second = normalized.multipliedFullWidth(by: fives[index + 1]).high
            let sum = low &+ second
            if second > sum { high &+= 1 }
            low = sum
        }
        if low == UInt64.max { return nil }
        let upperBit = Int(high >> 63)
        let shift = upperBit + 9
        var m = high >> UInt64(shift)
        var power2 = (((152_170 + 65_536) * q) >> 16) + 63 + upperBit - lz + 1023
        // Halfway between two Doubles with an even result: round down.
        if low <= 1 && q >= -4 && (m & 3) == 1 && (m << UInt64(shift)) == high { m &= ~1 }
        m += m & 1
        m >>= 1
        if m >= (2 << 52) {
            m = 1 << 52
            power2 += 1
        }
        m &= ~(1 << 52)
        if power2 <= 0 || power2 >= 0x7FF { return nil }
        return Double(bitPattern: UInt64(power2) << 52 | m)
    }

    /// `strtod` on a NUL-terminated copy; accepts only a fully consumed field.
    static func slowParse(_ start: UnsafePointer<UInt8>, _ count: Int) -> Double? {
        if count > 1023 { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Double? in
            let base = buffer.baseAddress!
            UnsafeMutableRawPointer(base).copyMemory(from: start, byteCount: count)
            base[count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(base, &end)
            guard let end, end == base + count else { return nil }
            return value
        }
    }
}
