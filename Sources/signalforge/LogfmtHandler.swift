import Foundation
import Logging
import MarketData
import Synchronization

/// Writes one logfmt line per event to standard error:
/// `ts=… level=info msg=request method=GET path=/healthz status=200 …`.
///
/// Lines go into a shared buffer that a background thread writes out every
/// 50 ms (or as soon as 64 KiB are waiting), so a request never waits on a
/// `write(2)`; `error` and worse are written at once, and `LogOutput.flush()`
/// runs at shutdown.
struct LogfmtHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(192)
        line.append(contentsOf: "ts=".utf8)
        Self.appendTimestamp(to: &line)
        line.append(contentsOf: " level=".utf8)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(contentsOf: " msg=".utf8)
        Self.appendValue(event.message.description, to: &line)
        // Fields in the logger's own order: sorting costs more than it helps.
        for (k, v) in metadata where event.metadata?[k] == nil { Self.append(k, v, to: &line) }
        if let m = event.metadata { for (k, v) in m { Self.append(k, v, to: &line) } }
        line.append(0x0A)
        LogOutput.shared.write(line, urgent: event.level >= .error)
    }

    private static func append(_ key: String, _ value: Logger.MetadataValue, to line: inout [UInt8]) {
        line.append(0x20)
        line.append(contentsOf: key.utf8)
        line.append(0x3D)
        switch value {
        case .string(let s): appendValue(s, to: &line)
        case .stringConvertible(let c): appendValue(c.description, to: &line)
        default: appendValue("\(value)", to: &line)
        }
    }

    static func appendValue(_ s: String, to out: inout [UInt8]) {
        if !s.isEmpty, s.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C && $0 < 0x7F }) {
            out.append(contentsOf: s.utf8)
            return
        }
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }

    /// The formatted second, reused while it lasts.
    private static let secondCache = Mutex<(second: Int, text: [UInt8])>((-1, []))

    /// RFC 3339 UTC with milliseconds, by arithmetic (no strftime, no locale).
    static func appendTimestamp(to out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let secs = Int(ts.tv_sec)
        let cached = secondCache.withLock { c -> [UInt8]? in c.second == secs ? c.text : nil }
        if let cached {
            out.append(contentsOf: cached)
        } else {
            let text = formatSecond(secs)
            secondCache.withLock { $0 = (secs, text) }
            out.append(contentsOf: text)
        }
        let ms = ts.tv_nsec / 1_000_000
        out.append(0x2E)
        out.append(UInt8(0x30 + ms / 100))
        out.append(UInt8(0x30 + ms / 10 % 10))
        out.append(UInt8(0x30 + ms % 10))
        out.append(0x5A)
    }

    /// `YYYY-MM-DDTHH:MM:SS` of a Unix second.
    static func formatSecond(_ secs: Int) -> [UInt8] {
        let days = secs / 86_400
        let rem = secs % 86_400
        let (y, m, d) = UTCTime.civilFromDays(Int64(days))
        let (year, month, day) = (Int(y), Int(m), Int(d))
        var out: [UInt8] = []
        func pad(_ v: Int, _ n: Int) {
            let s = String(v)
            if s.count < n { out.append(contentsOf: Array(repeating: 0x30, count: n - s.count)) }
            out.append(contentsOf: s.utf8)
        }
        pad(year, 4); out.append(0x2D); pad(month, 2); out.append(0x2D); pad(day, 2); out.append(0x54)
        pad(rem / 3600, 2); out.append(0x3A); pad(rem % 3600 / 60, 2); out.append(0x3A); pad(rem % 60, 2)
        return out
    }
}

/// The buffered standard-error writer behind `LogfmtHandler`.
final class LogOutput: Sendable {
    static let shared = LogOutput()

    private let buffer = Mutex<[UInt8]>([])
    private let wake = DispatchSemaphore(value: 0)
    static let flushBytes = 64 << 10

    private init() {
        let thread = Thread { [self] in
            while true {
                _ = wake.wait(timeout: .now() + .milliseconds(50))
                flush()
            }
        }
        thread.name = "log-writer"
        thread.start()
    }

    func write(_ line: [UInt8], urgent: Bool) {
        let full = buffer.withLock { b -> Bool in
            b.append(contentsOf: line)
            return b.count >= Self.flushBytes
        }
        if urgent { flush() } else if full { wake.signal() }
    }

    /// Writes out everything buffered.
    func flush() {
        let bytes = buffer.withLock { b -> [UInt8] in
            defer { b.removeAll(keepingCapacity: true) }
            return b
        }
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(2, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }
}
