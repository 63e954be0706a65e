import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A headless Chromium driven through the Chrome DevTools Protocol over
/// `--remote-debugging-pipe`: the browser reads JSON commands, each ended by a
/// NUL byte, on its fd 3 and writes answers and events the same way on fd 4.
/// No websocket, no port, nothing to discover.
///
/// One page (target) per browser; calls are synchronous and must come from
/// one thread at a time.
final class Chromium {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private var buffer: [UInt8] = []
    private var nextID = 0
    private var sessionID = ""
    let profile: String
    let stderrPath: String
    /// Uncaught exceptions and console errors of the page, for the tests' last check.
    private(set) var pageErrors: [String] = []
    private var exited = false

    /// The browser binary: `SIGNALFORGE_CHROMIUM`, else `chromium` or
    /// `chromium-browser` on PATH or in /usr/bin.
    static func executable() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let path = env["SIGNALFORGE_CHROMIUM"], !path.isEmpty {
            guard access(path, X_OK) == 0 else {
                throw Failure(
                    description: "SIGNALFORGE_CHROMIUM=\(path) is not an executable file (deploy/lib/browser.sh installs Debian's chromium)"
                )
            }
            return path
        }
        let dirs = (env["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for dir in dirs {
            for name in ["chromium", "chromium-browser"] where access("\(dir)/\(name)", X_OK) == 0 { return "\(dir)/\(name)" }
        }
        throw Failure(
            description: """
                headless Chromium is not installed, so the web view cannot be tested. \
                Install Debian's package (`apt-get install -y chromium`, or `deploy/lib/browser.sh`, which deploy/test.sh runs), \
                or point SIGNALFORGE_CHROMIUM at a chromium binary.
                """)
    }

    /// Starts the browser with one blank page of `width` × `height` CSS pixels.
    init(width: Int = 1280, height: Int = 900) throws {
        let path = try Self.executable()
        profile = NSTemporaryDirectory() + "sf-chromium-\(UUID().uuidString)"
        stderrPath = profile + ".stderr"
        try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else {
            throw Failure(description: "pipe failed: errno \(errno)")
        }
        // Only the browser gets these, as its fds 3 and 4 (dup2 clears the flag on the copies).
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let args =
            [
                path, "--headless=new", "--remote-debugging-pipe", "--user-data-dir=\(profile)",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                "--mute-audio", "--hide-scrollbars", "--force-color-profile=srgb", "--font-render-hinting=none",
                "--window-size=\(width),\(height)",
            ] + (getuid() == 0 ? ["--no-sandbox"] : []) + ["about:blank"]

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
        Glibc.close(toBrowser[0])
        Glibc.close(fromBrowser[1])
        guard rc == 0 else {
            Glibc.close(toBrowser[1])
            Glibc.close(fromBrowser[0])
            throw Failure(description: "could not start \(path): posix_spawn error \(rc)")
        }
        pid = child
        commands = toBrowser[1]
        answers = fromBrowser[0]
        do {
            let target = try call("Target.createTarget", ["url": "about:blank"], browserLevel: true)
            guard let targetID = target["targetId"] as? String else { throw Failure(description: "no targetId in \(target)") }
            let attached = try call("Target.attachToTarget", ["targetId": targetID, "flatten": true], browserLevel: true)
            guard let session = attached["sessionId"] as? String else { throw Failure(description: "no sessionId in \(attached)") }
            sessionID = session
            _ = try call("Page.enable")
            _ = try call("Runtime.enable")
            try setViewport(width: width, height: height)
            try emulateColorScheme("light")
        } catch {
            close()
            throw Failure(description: "Chromium did not start: \(error); its stderr:\n\(stderrTail())")
        }
    }

    deinit { close() }

    /// Ends the browser and removes its profile.
    func close() {
        guard !exited else { return }
        exited = true
        _ = try? send("Browser.close", [:], browserLevel: true)
        Glibc.close(commands)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(3)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(20_000)
        }
        Glibc.close(answers)
        try? FileManager.default.removeItem(atPath: profile)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    func stderrTail() -> String {
        let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return String(text.suffix(3000))
    }

    // MARK: protocol

    @discardableResult
    private func send(_ method: String, _ params: [String: Any], browserLevel: Bool) throws -> Int {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": params]
        if !browserLevel { message["sessionId"] = sessionID }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "writing to Chromium failed: errno \(errno)")
            }
            offset += n
        }
        return nextID
    }

    /// Sends a command and waits (up to `timeout` seconds) for its answer.
    /// - Returns: the `result` object.
    /// - Throws: `Failure` for a protocol error, a timeout or a browser that went away.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], browserLevel: Bool = false, timeout: Double = 15) throws -> [String: Any] {
        let id = try send(method, params, browserLevel: browserLevel)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let message = try readMessage(until: deadline, waitingFor: method)
            if message["id"] as? Int == id {
                if let error = message["error"] as? [String: Any] {
                    throw Failure(description: "\(method): \(error["message"] ?? error)")
                }
                return message["result"] as? [String: Any] ?? [:]
            }
            note(message)
        }
    }

    private func note(_ event: [String: Any]) {
        guard let method = event["method"] as? String, let params = event["params"] as? [String: Any] else { return }
        if method == "Runtime.exceptionThrown", let details = params["exceptionDetails"] as? [String: Any] {
            let exception = (details["exception"] as? [String: Any])?["description"] as? String
            pageErrors.append(exception ?? details["text"] as? String ?? "\(details)")
        } else if method == "Runtime.consoleAPICalled", params["type"] as? String == "error" {
            let args = (params["args"] as? [[String: Any]] ?? []).map { "\($0["value"] ?? $0["description"] ?? "")" }
            pageErrors.append("console.error: " + args.joined(separator: " "))
        }
    }

    private func readMessage(until deadline: Date, waitingFor method: String) throws -> [String: Any] {
        while true {
            if let nul = buffer.firstIndex(of: 0) {
                let data = Data(buffer[..<nul])
                buffer.removeSubrange(...nul)
                guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                return object
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "Chromium did not answer \(method) in time") }
            var p = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 1) * 1000) + 1)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(answers, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "Chromium closed its pipe (it exited?); stderr:\n\(stderrTail())") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    // MARK: page helpers

    func setViewport(width: Int, height: Int) throws {
        try call("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
    }

    /// Prefers the dark or light colour scheme (`prefers-color-scheme`), and
    /// reduced motion (no CSS transitions: screenshots show final states).
    func emulateColorScheme(_ scheme: String) throws {
        try call(
            "Emulation.setEmulatedMedia",
            ["features": [["name": "prefers-color-scheme", "value": scheme], ["name": "prefers-reduced-motion", "value": "reduce"]]])
    }

    /// Opens `url` and waits until the document has loaded.
    func navigate(_ url: String, timeout: Double = 10) throws {
        let r = try call("Page.navigate", ["url": url])
        if let error = r["errorText"] as? String { throw Failure(description: "navigating to \(url): \(error)") }
        try waitFor("document.readyState === 'complete'", timeout: timeout, what: "\(url) to load")
    }

    /// Evaluates a JavaScript expression in the page (promises are awaited).
    /// - Returns: the value, as JSON turns it into Foundation objects (nil for undefined/null).
    @discardableResult
    func evaluate(_ expression: String, timeout: Double = 10) throws -> Any? {
        let r = try call(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true], timeout: timeout)
        if let details = r["exceptionDetails"] as? [String: Any] {
            let text = ((details["exception"] as? [String: Any])?["description"] as? String) ?? "\(details)"
            throw Failure(description: "JavaScript error in `\(expression.prefix(120))`: \(text)")
        }
        let result = r["result"] as? [String: Any]
        return result?["value"]
    }

    /// Polls `expression` every 25 ms until it is truthy.
    /// - Returns: the seconds it took.
    /// - Throws: `Failure` naming `what` after `timeout` seconds.
    @discardableResult
    func waitFor(_ expression: String, timeout: Double, what: String) throws -> Double {
        let start = Date()
        while true {
            let v = try evaluate("!!(\(expression))")
            if v as? Bool == true { return Date().timeIntervalSince(start) }
            if Date().timeIntervalSince(start) > timeout {
                throw Failure(description: "timed out after \(timeout) s waiting for \(what) (`\(expression)`)")
            }
            usleep(25_000)
        }
    }

    /// A PNG of the whole page (`fullPage`) or of the viewport.
    func screenshot(fullPage: Bool = true, width: Int = 1280) throws -> Data {
        if fullPage {
            let height = try evaluate("Math.ceil(document.documentElement.scrollHeight)") as? Int ?? 900
            try setViewport(width: width, height: max(600, min(height, 6000)))
            // Let canvases redraw at the new size.
            try evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        }
        let r = try call("Page.captureScreenshot", ["format": "png"], timeout: 20)
        guard let b64 = r["data"] as? String, let data = Data(base64Encoded: b64) else {
            throw Failure(description: "Page.captureScreenshot returned no image")
        }
        return data
    }
}
