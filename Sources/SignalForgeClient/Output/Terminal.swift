import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What stdout is, and the few ANSI sequences the client writes.
///
/// Colours and in-place redrawing happen only when stdout is a terminal, and
/// colours never when `NO_COLOR` is set (to anything, https://no-color.org).
enum Terminal {
    /// Whether stdout is a terminal.
    static let isTTY: Bool = isatty(STDOUT_FILENO) == 1

    /// Whether to colour stdout.
    static let colors: Bool =
        isTTY && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    /// The width in columns of the terminal on `fd` (default stdout): `COLUMNS`, else 80 when unknown.
    static func width(of fd: Int32 = STDOUT_FILENO) -> Int {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), c > 0 { return c }
        return 80
    }

    enum Style: String {
        case bold = "1"
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case magenta = "35"
        case cyan = "36"
    }

    /// `text` in `style` when colouring, else `text`.
    static func paint(_ text: String, _ style: Style, enabled: Bool = colors) -> String {
        enabled ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// The style of an experiment or progress status.
    static func style(forStatus status: String) -> Style? {
        switch status {
        case "succeeded", "completed": .green
        case "failed", "error", "critical": .red
        case "cancelled", "cancelling", "interrupted", "warning": .yellow
        case "paused", "pausing", "notice": .magenta
        case "running": .cyan
        case "queued", "pending", "skipped", "debug", "trace": .dim
        default: nil
        }
    }

    static func paintStatus(_ status: String, enabled: Bool = colors) -> String {
        guard let s = style(forStatus: status) else { return status }
        return paint(status, s, enabled: enabled)
    }
}

/// Writes to stdout and stderr without stdio buffering surprises: each call
/// is written (and flushed) at once, so streamed lines reach a pipe or a CI
/// log as they happen.
enum Console {
    static func out(_ text: String) {
        write(STDOUT_FILENO, text)
    }

    static func line(_ text: String) { out(text + "\n") }

    static func error(_ text: String) { write(STDERR_FILENO, text + "\n") }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { raw in Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
        bytes = []
    }
}
