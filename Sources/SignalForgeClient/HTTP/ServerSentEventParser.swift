/// One dispatched server-sent event.
struct ServerSentEvent: Sendable, Equatable {
    /// The `id:` of this event (nil when it had none).
    var id: String?
    /// `event:`, `message` when absent.
    var event: String
    /// The `data:` lines joined with `\n`.
    var data: String
}

/// An incremental `text/event-stream` parser (the WHATWG HTML "event stream
/// interpretation"): feed it bytes as they arrive, in chunks of any size, and
/// take the complete events.
///
/// Lines end with LF, CRLF or CR (a CR at the end of a chunk waits for the next
/// chunk to see whether an LF follows). Comment lines (`:`) are ignored; an
/// event is dispatched at a blank line. Bytes after the last blank line are
/// an incomplete event: when the connection ends there, they are discarded,
/// which is what makes resuming with `Last-Event-ID` exact — the last id the
/// caller saw belongs to an event it received whole.
struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var pendingCR = false
    private var id: String?
    private var event = ""
    private var data: [String] = []
    private var hasData = false
    /// The last `retry:` value, in milliseconds.
    private(set) var retryMilliseconds: Int?

    init() {}

    /// Consumes `bytes` and returns the events they complete.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var out: [ServerSentEvent] = []
        for b in bytes {
            if pendingCR {
                pendingCR = false
                if b == 0x0A { continue }  // CRLF: the CR ended the line already
            }
            switch b {
            case 0x0A:
                if let e = endLine() { out.append(e) }
            case 0x0D:
                pendingCR = true
                if let e = endLine() { out.append(e) }
            default:
                line.append(b)
            }
        }
        return out
    }

    /// Forgets a partial event (call when a connection ends before its blank line).
    mutating func reset() {
        line = []
        pendingCR = false
        id = nil
        event = ""
        data = []
        hasData = false
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                id = nil
                event = ""
                data = []
                hasData = false
            }
            guard hasData || id != nil || !event.isEmpty else { return nil }
            return ServerSentEvent(id: id, event: event.isEmpty ? "message" : event, data: data.joined(separator: "\n"))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let field: String
        var value: String
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: line[..<colon], as: UTF8.self)
            var start = line.index(after: colon)
            if start < line.endIndex, line[start] == 0x20 { start += 1 }
            value = String(decoding: line[start...], as: UTF8.self)
        } else {
            field = String(decoding: line, as: UTF8.self)
            value = ""
        }
        switch field {
        case "event": event = value
        case "data":
            data.append(value)
            hasData = true
        case "id":
            if !value.contains("\0") { id = value }
        case "retry":
            if let ms = Int(value), ms >= 0 { retryMilliseconds = ms }
        default:
            value = ""
        }
        return nil
    }
}
