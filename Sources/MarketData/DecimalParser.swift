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
