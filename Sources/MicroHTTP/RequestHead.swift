/// Limits on a request head, checked before libmicrohttpd parses it.
///
/// They must leave room in libmicrohttpd's per-connection pool
/// (`ServerConfiguration.connectionMemoryLimit`, 32 KiB): half of it is the
/// read buffer, the rest holds one record per header field, query parameter
/// and cookie plus a copy of the `Cookie` field. A head over these limits is
/// answered here, so libmicrohttpd never has to refuse one itself.
public struct HeadLimits: Sendable, Equatable {
    /// Longest request line (method, target, version) in bytes (default 8 KiB); longer → 414.
    public var maxRequestLineBytes = 8 << 10
    /// Longest head (request line and header fields) in bytes (default 12 KiB); longer → 431.
    public var maxHeadBytes = 12 << 10
    /// Most header fields, query parameters and cookies together (default 100); more → 431.
    public var maxFields = 100

    public init() {}
}

/// What the edge learnt from the bytes of a request head.
enum HeadScan: Equatable {
    /// More bytes are needed.
    case incomplete
    /// A well-formed head of `length` bytes. `contentLength` is the declared
    /// body length (0 without a body); `nil` for a chunked body.
    case complete(length: Int, contentLength: Int64?)
    /// A head that must be refused with this problem (and the connection closed).
    case refused(ProblemDetails)
}

/// The rules for request heads: the byte-level scan the edge runs before
/// libmicrohttpd sees a connection, and the framing rules that the server also
/// applies to every request libmicrohttpd parses (later requests of a kept-alive
/// connection). Pure functions; no I/O.
enum RequestHead {
    /// Scans the start of a connection's bytes for one request head.
    static func scan(_ b: UnsafeRawBufferPointer, limits: HeadLimits) -> HeadScan {
        let n = b.count
        // A method must come first: bytes that cannot start one (a TLS
        // handshake sent to the plain-HTTP port, binary noise) are refused at
        // once instead of waiting for a line end that may never come.
        var m = 0
        while m < n, b[m] != 0x20 {
            if !isTChar(b[m]) { return .refused(malformed("the request does not start with a method (TLS sent to a plain-HTTP port?)")) }
            m += 1
        }
        // Request line.
        guard let lineEnd = firstLF(b, from: 0, limit: min(n, limits.maxRequestLineBytes + 2)) else {
            if n > limits.maxRequestLineBytes + 1 { return .refused(uriTooLong(limits)) }
            return .incomplete
        }
        let requestLine = trimCR(b, 0, lineEnd)
        if requestLine.count > limits.maxRequestLineBytes { return .refused(uriTooLong(limits)) }
        // Find the end of the head (an empty line) within the limit.
        var fieldsRange: [(Int, Int)] = []
        var pos = lineEnd + 1
        var headEnd = -1
        while true {
            guard let lf = firstLF(b, from: pos, limit: min(n, limits.maxHeadBytes + 2)) else {
                if n > limits.maxHeadBytes { return .refused(headTooLarge(limits)) }
                return .incomplete
            }
            let line = trimCR(b, pos, lf)
            pos = lf + 1
            if line.isEmpty {
                headEnd = pos
                break
            }
            fieldsRange.append((line.lowerBound, line.upperBound))
            if fieldsRange.count > limits.maxFields { return .refused(headTooLarge(limits)) }
        }
        if headEnd > limits.maxHeadBytes + 2 { return .refused(headTooLarge(limits)) }

        // The request line: method SP target SP HTTP/d.d, nothing else.
        guard let sp1 = index(of: 0x20, in: b, requestLine), let sp2 = index(of: 0x20, in: b, (sp1 + 1)..<requestLine.upperBound)
        else { return .refused(malformed("the request line must be METHOD SP target SP HTTP-version")) }
        let method = requestLine.lowerBound..<sp1
        let target = (sp1 + 1)..<sp2
        let version = (sp2 + 1)..<requestLine.upperBound
        if method.isEmpty || !method.allSatisfy({ isTChar(b[$0]) }) {
            return .refused(malformed("the method is not a token"))
        }
        if target.isEmpty || !target.allSatisfy({ b[$0] > 0x20 && b[$0] < 0x7F }) {
            return .refused(malformed("the request target is empty or holds spaces, control or non-ASCII bytes"))
        }
        if b[target.lowerBound] != UInt8(ascii: "/") {
            return .refused(malformed("the request target must be a path starting with '/'"))
        }
        guard let v = httpVersion(b, version) else {
            return .refused(malformed("the HTTP version must be HTTP/1.0 or HTTP/1.1"))
        }
        if v.major != 1 {
            return .refused(
                ProblemDetails(
                    status: 505, detail: "HTTP/\(v.major).\(v.minor) is not supported; use HTTP/1.1",
                    extensions: [("supported", "HTTP/1.0, HTTP/1.1")]))
        }
        if let problem = checkTarget(b, target, limits: limits) { return .refused(problem) }

        // Header fields: name ":" OWS value OWS; no folding, no stray CR or NUL.
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(fieldsRange.count)
        var cookies = 0
        for (lo, hi) in fieldsRange {
            if b[lo] == 0x20 || b[lo] == 0x09 {
                return .refused(malformed("obsolete line folding is not accepted"))
            }
            guard let colon = index(of: UInt8(ascii: ":"), in: b, lo..<hi), colon > lo else {
                return .refused(malformed("a header line has no field name and colon"))
            }
            if !(lo..<colon).allSatisfy({ isTChar(b[$0]) }) {
                return .refused(malformed("a header field name holds a character that is not allowed (or whitespace before the colon)"))
            }
            // Leading whitespace is dropped; trailing whitespace is kept, as
            // libmicrohttpd keeps it, so "Content-Length: 2 " is refused here
            // rather than by libmicrohttpd's own error page.
            var vlo = colon + 1
            let vhi = hi
            while vlo < vhi, b[vlo] == 0x20 || b[vlo] == 0x09 { vlo += 1 }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: b[lo..<colon]), as: UTF8.self)
            for i in vlo..<vhi where (b[i] < 0x20 && b[i] != 0x09) || b[i] == 0x7F {
                return .refused(field(name, "the value holds a control character (NUL, CR, …)"))
            }
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: b[vlo..<vhi]), as: UTF8.self)
            if HTTPHeaders.equalsIgnoringCase(name, "Cookie") {
                cookies += 1 + (vlo..<vhi).reduce(0) { $0 + ((b[$1] == 0x3B || b[$1] == 0x2C) ? 1 : 0) }
            }
            fields.append((name, value))
        }
        if fields.count + cookies + queryParameterCount(b, target) > limits.maxFields {
            return .refused(headTooLarge(limits))
        }
        if let problem = checkFraming(major: v.major, minor: v.minor, fields: fields) { return .refused(problem) }
        var contentLength: Int64? = 0
        for f in fields where HTTPHeaders.equalsIgnoringCase(f.name, "Transfer-Encoding") { contentLength = nil }
        for f in fields where HTTPHeaders.equalsIgnoringCase(f.name, "Content-Length") { contentLength = Int64(f.value) }
        return .complete(length: headEnd, contentLength: contentLength)
    }

    /// The framing rules every request must meet (RFC 9112 §6): one plain
    /// decimal `Content-Length` at most, never together with
    /// `Transfer-Encoding`, `chunked` as the only transfer coding (and not
    /// in HTTP/1.0), and exactly one `Host` in HTTP/1.1.
    /// - Returns: the problem to answer (always with `Connection: close`), or `nil`.
    static func checkFraming(major: Int, minor: Int, fields: some Sequence<(name: String, value: String)>) -> ProblemDetails? {
        var lengths: [String] = [], codings: [String] = [], hosts = 0
        for f in fields {
            // Compare lengths first: this runs for every request.
            switch f.name.utf8.count {
            case 14 where HTTPHeaders.equalsIgnoringCase(f.name, "Content-Length"): lengths.append(f.value)
            case 17 where HTTPHeaders.equalsIgnoringCase(f.name, "Transfer-Encoding"): codings.append(f.value)
            case 4 where HTTPHeaders.equalsIgnoringCase(f.name, "Host"): hosts += 1
            default: break
            }
        }
        if lengths.count > 1 {
            return field("Content-Length", "the request has \(lengths.count) Content-Length fields; exactly one is allowed")
        }
        if let length = lengths.first, !isPlainDecimal(length, maxDigits: 18) {
            return field("Content-Length", "Content-Length must be a plain decimal number of at most 18 digits")
        }
        if !codings.isEmpty {
            if !lengths.isEmpty {
                return field("Transfer-Encoding", "Transfer-Encoding and Content-Length must not both be present")
            }
            if codings.count > 1 || !HTTPHeaders.equalsIgnoringCase(codings[0], "chunked") {
                return field("Transfer-Encoding", "the only transfer coding accepted is exactly 'chunked'")
            }
            if major == 1 && minor == 0 {
                return field("Transfer-Encoding", "Transfer-Encoding is not allowed in an HTTP/1.0 request")
            }
        }
        if major == 1 && minor >= 1 && hosts != 1 {
            return field(
                "Host",
                hosts == 0 ? "an HTTP/1.1 request must carry a Host field" : "the request has \(hosts) Host fields; exactly one is allowed")
        }
        return nil
    }

    /// Whether the path (before `?`) holds a percent-encoded NUL or `/`
    /// (`%00`, `%2f`, `%2F`), which would cut or split a segment once decoded.
    static func hasEncodedSeparator(_ target: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = target.count
        while i < n {
            let c = target[i]
            if c == UInt8(ascii: "?") { return false }
            if c == UInt8(ascii: "%"), i + 2 < n {
                let h = target[i + 1], l = target[i + 2] | 0x20
                if (h == UInt8(ascii: "0") && l == UInt8(ascii: "0")) || (h == UInt8(ascii: "2") && l == UInt8(ascii: "f")) {
                    return true
                }
            }
            i += 1
        }
        return false
    }

    static let encodedSeparatorProblem = ProblemDetails(
        status: 400, detail: "the path holds a percent-encoded NUL or '/' (%00, %2F) inside a segment",
        extensions: [("field", "path")])

    /// `HTTP/d.d` → (major, minor), else `nil`.
    static func httpVersion(_ text: UnsafeRawBufferPointer) -> (major: Int, minor: Int)? {
        httpVersion(text, 0..<text.count)
    }

    // MARK: helpers

    private static func httpVersion(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> (major: Int, minor: Int)? {
        guard r.count == 8 else { return nil }
        let o = r.lowerBound
        guard b[o] == 0x48, b[o + 1] == 0x54, b[o + 2] == 0x54, b[o + 3] == 0x50, b[o + 4] == 0x2F, b[o + 6] == 0x2E,
            (0x30...0x39).contains(b[o + 5]), (0x30...0x39).contains(b[o + 7])
        else { return nil }
        return (Int(b[o + 5] - 0x30), Int(b[o + 7] - 0x30))
    }

    private static func checkTarget(_ b: UnsafeRawBufferPointer, _ target: Range<Int>, limits: HeadLimits) -> ProblemDetails? {
        if hasEncodedSeparator(UnsafeRawBufferPointer(rebasing: b[target])) { return encodedSeparatorProblem }
        return nil
    }

    private static func queryParameterCount(_ b: UnsafeRawBufferPointer, _ target: Range<Int>) -> Int {
        guard let q = index(of: UInt8(ascii: "?"), in: b, target) else { return 0 }
        return 1 + ((q + 1)..<target.upperBound).reduce(0) { $0 + (b[$1] == UInt8(ascii: "&") ? 1 : 0) }
    }

    static func isPlainDecimal(_ s: String, maxDigits: Int) -> Bool {
        let u = s.utf8
        return !u.isEmpty && u.count <= maxDigits && u.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// The first LF at or after `from` and before `limit`.
    private static func firstLF(_ b: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int? {
        var i = from
        while i < limit {
            if b[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    /// `from..<lf` without one trailing CR.
    private static func trimCR(_ b: UnsafeRawBufferPointer, _ from: Int, _ lf: Int) -> Range<Int> {
        lf > from && b[lf - 1] == 0x0D ? from..<(lf - 1) : from..<lf
    }

    private static func index(of byte: UInt8, in b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        r.first { b[$0] == byte }
    }

    /// RFC 9110 `tchar`.
    private static func isTChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    private static func malformed(_ detail: String) -> ProblemDetails {
        ProblemDetails(status: 400, detail: "malformed request head: \(detail)")
    }

    private static func field(_ name: String, _ detail: String) -> ProblemDetails {
        ProblemDetails(status: 400, detail: "\(name): \(detail)", extensions: [("field", name)])
    }

    private static func uriTooLong(_ limits: HeadLimits) -> ProblemDetails {
        ProblemDetails(
            status: 414, detail: "the request line is longer than \(limits.maxRequestLineBytes) bytes",
            extensions: [("limit", "\(limits.maxRequestLineBytes)")])
    }

    private static func headTooLarge(_ limits: HeadLimits) -> ProblemDetails {
        ProblemDetails(
            status: 431,
            detail:
                "the request head is larger than \(limits.maxHeadBytes) bytes or has more than \(limits.maxFields) fields, query parameters and cookies",
            extensions: [("limit", "\(limits.maxHeadBytes)")])
    }
}
