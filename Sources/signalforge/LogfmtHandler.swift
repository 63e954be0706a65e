import Foundation
import Logging

/// Writes one logfmt line per event to standard error:
/// `ts=… level=info label=… msg="request" method=GET path=/healthz status=200 …`.
/// Lines are written with one `write(2)` each, so threads never interleave.
struct LogfmtHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "ts=\(Self.timestamp()) level=\(event.level) msg=\(Self.value(event.message.description))"
        if !metadata.isEmpty { for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(Self.value("\(v)"))" } }
        if let m = event.metadata {
            for (k, v) in m.sorted(by: { $0.key < $1.key }) where metadata[k] == nil { line += " \(k)=\(Self.value("\(v)"))" }
        }
        line += "\n"
        var bytes = line
        bytes.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Foundation.write(2, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    static func value(_ s: String) -> String {
        if !s.isEmpty, s.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C && $0 < 0x7F }) { return s }
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, 32, "%Y-%m-%dT%H:%M:%S", &tm)
        let ms = ts.tv_nsec / 1_000_000
        let base = buf.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer(start: $0.baseAddress, count: n), as: UTF8.self) }
        return base + "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") + String(ms) + "Z"
    }
}
