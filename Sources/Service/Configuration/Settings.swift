import Foundation
public import Store
import Yams

/// Every setting of `signalforge serve`, with its sources: a flag, then an
/// environment variable, then the config file, then the default. One table
/// drives parsing, `--help` and the README's configuration table.
public struct Settings: Sendable, Equatable {
    public var address = "127.0.0.1"
    public var port = 8080
    public var databaseURL: String? = nil
    public var dataDir = ".data"
    public var tokensFile: String? = nil
    public var tokensPollMs = 200
    public var memoryBudgetMB: Int? = nil
    public var metricsIntervalMs = 2000
    public var maxRunning = ProcessInfo.processInfo.activeProcessorCount
    public var httpThreads = ProcessInfo.processInfo.activeProcessorCount
    public var maxBodyBytes = 1 << 20
    public var maxUploadBytes: Int64 = 2 << 30
    public var maxLineBytes = 64 << 10
    public var connectionLimit = 1024
    /// `nil`: an eighth of `connectionLimit`.
    public var perIPConnectionLimit: Int? = nil
    public var idleTimeoutSeconds = 60
    public var headerDeadlineSeconds = 10.0
    public var minBodyRateBytesPerSecond = 1024
    public var poolMin = 1
    public var poolMax = 16
    public var poolTimeoutMs = 5000
    public var logLevel = "info"
    public var logBufferLines = 200_000
    public var accessLog = true
    /// Server-wide webhooks: every experiment created by this instance is
    /// notified to each (the file's `webhooks` list, then the one of
    /// `webhook_url`/`webhook_events`/`webhook_secret`).
    public var webhooks: [WebhookSubscription] = []
    /// The single webhook of `webhook_url`, `webhook_events`, `webhook_secret`.
    var webhookURL: String? = nil
    var webhookEvents: [String]? = nil
    var webhookSecret: RedactedSecret? = nil
    /// Seconds without progress before a running experiment is `stuck`.
    public var stuckAfterSeconds = 600.0
    /// How long a run waits out an unreachable PostgreSQL before it is interrupted (and requeued).
    public var outageWaitSeconds = 600
    /// First retry delay of a failed delivery; doubles each attempt (capped at 5 min).
    public var notifyBackoffBaseMs = 1000
    /// How long a delivery is retried before it is given up.
    public var notifyGiveUpSeconds = 3600
    /// Connect and read timeout of one delivery attempt.
    public var notifyTimeoutMs = 10_000
    /// Threads delivering webhooks on this instance.
    public var notifyWorkers = 2
    /// The stage cache's size limit in GiB (`0` disables the cache).
    public var cacheMaxGB = 10.0
    /// Whether the stage cache is used at all; default on (`cache: off`
    /// disables it). Writing an entry hard-links the files the stage wrote
    /// (docs/cache.md), so a cold experiment costs about the same with it.
    public var cacheEnabled = true
    /// Whether `GET /v1/experiments/{id}` answers from a row cache kept fresh
    /// by PostgreSQL notifications (`read_cache: off` reads every request from
    /// the database, batched).
    public var readCache = true
    /// Retention: finished, unpinned experiments older than this many days are deleted; nil: no age limit.
    public var retentionDays: Double? = nil
    /// Retention: the experiments' folders stay under this many GiB (oldest finished, unpinned ones go first); nil: no limit.
    public var retentionMaxGB: Double? = nil
    /// How often this instance applies retention and finishes deletions a crash cut short.
    public var retentionPollSeconds = 3600.0

    /// The retention policy of `retention_days` and `retention_max_gb`.
    public var retentionPolicy: RetentionPolicy {
        RetentionPolicy(maxAgeDays: retentionDays, maxBytes: retentionMaxGB.map { Int64(($0 * 1_073_741_824).rounded()) })
    }

    public init() {}

    /// A setting's names in each source and its documentation.
    public struct Key: Sendable {
        public let name: String
        public let env: String
        public let flag: String
        public let help: String
        public let defaultText: String
        let apply: @Sendable (inout Settings, String) throws -> Void
    }

    public static let keys: [Key] = [
        key("address", env: "SIGNALFORGE_ADDRESS", "IP address to listen on; beyond loopback requires tokens", "127.0.0.1") { s, v in
            s.address = v
        },
        key("port", env: "SIGNALFORGE_PORT", "TCP port to listen on (0 = any free port)", "8080") { s, v in
            s.port = try int(v, "port", 0...65535)
        },
        key("database_url", env: "DATABASE_URL", "PostgreSQL URL, postgres://user:pw@host:port/db", "none: required") { s, v in
            s.databaseURL = v
        },
        key("data_dir", env: "SIGNALFORGE_DATA_DIR", "folder for datasets, artifacts and spill files", ".data") { s, v in
            s.dataDir = v
        },
        key(
            "tokens_file", env: "SIGNALFORGE_TOKENS_FILE", "bearer tokens file (NAME SCOPE SHA256HEX per line)",
            "none: no auth, loopback only"
        ) { s, v in
            s.tokensFile = v
        },
        key(
            "tokens_poll_ms", env: "SIGNALFORGE_TOKENS_POLL_MS", "how often the tokens file is checked for changes (0 = only on SIGHUP)",
            "200"
        ) { s, v in
            s.tokensPollMs = try int(v, "tokens_poll_ms", 0...60_000)
        },
        key(
            "memory_budget_mb", env: "SIGNALFORGE_MEMORY_BUDGET_MB", "memory budget of the experiments, in MiB",
            "half of the cgroup limit or of RAM"
        ) { s, v in
            s.memoryBudgetMB = try int(v, "memory_budget_mb", 16...(1 << 24))
        },
        key(
            "metrics_interval_ms", env: "SIGNALFORGE_METRICS_INTERVAL_MS",
            "how often each running experiment's resources and rows/s are sampled", "2000"
        ) { s, v in
            s.metricsIntervalMs = try int(v, "metrics_interval_ms", 10...3_600_000)
        },
        key("max_running", env: "SIGNALFORGE_MAX_RUNNING", "experiments run at once by this instance", "number of cores") { s, v in
            s.maxRunning = try int(v, "max_running", 1...1024)
        },
        key("http_threads", env: "SIGNALFORGE_HTTP_THREADS", "threads of the HTTP server's epoll pool", "number of cores") { s, v in
            s.httpThreads = try int(v, "http_threads", 1...256)
        },
        key("max_body_bytes", env: "SIGNALFORGE_MAX_BODY_BYTES", "largest JSON request body", "1048576") { s, v in
            s.maxBodyBytes = try int(v, "max_body_bytes", 1024...(1 << 30))
        },
        key("max_upload_bytes", env: "SIGNALFORGE_MAX_UPLOAD_BYTES", "largest dataset upload, counted decompressed", "2147483648") { s, v in
            s.maxUploadBytes = Int64(try int(v, "max_upload_bytes", 1024...Int(Int64.max)))
        },
        key("max_line_bytes", env: "SIGNALFORGE_MAX_LINE_BYTES", "longest line of an uploaded dataset", "65536") { s, v in
            s.maxLineBytes = try int(v, "max_line_bytes", 256...(64 << 20))
        },
        key("connection_limit", env: "SIGNALFORGE_CONNECTION_LIMIT", "most open HTTP connections", "1024") { s, v in
            s.connectionLimit = try int(v, "connection_limit", 1...1_000_000)
        },
        key(
            "per_ip_connection_limit", env: "SIGNALFORGE_PER_IP_CONNECTION_LIMIT",
            "most connections from one IP (0 = no limit); more get a 503", "connection_limit / 8"
        ) { s, v in
            s.perIPConnectionLimit = try int(v, "per_ip_connection_limit", 0...1_000_000)
        },
        key(
            "header_deadline_s", env: "SIGNALFORGE_HEADER_DEADLINE_S",
            "seconds a client has to send a complete request head (also the longest idle time of a kept-alive connection)", "10"
        ) { s, v in
            guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, d >= 0.1, d <= 3600 else {
                throw SettingsError("header_deadline_s: '\(v)' is not a number of seconds in 0.1…3600")
            }
            s.headerDeadlineSeconds = d
        },
        key(
            "min_body_rate_bytes_per_s", env: "SIGNALFORGE_MIN_BODY_RATE_BYTES_PER_S",
            "slowest request body accepted after a 10 s grace, in bytes/s (0 = no minimum)", "1024"
        ) { s, v in
            s.minBodyRateBytesPerSecond = try int(v, "min_body_rate_bytes_per_s", 0...(1 << 30))
        },
        key("idle_timeout_s", env: "SIGNALFORGE_IDLE_TIMEOUT_S", "seconds before an idle connection is closed", "60") { s, v in
            s.idleTimeoutSeconds = try int(v, "idle_timeout_s", 1...86_400)
        },
        key("pool_min", env: "SIGNALFORGE_POOL_MIN", "PostgreSQL connections kept open", "1") { s, v in
            s.poolMin = try int(v, "pool_min", 0...1000)
        },
        key("pool_max", env: "SIGNALFORGE_POOL_MAX", "most PostgreSQL connections", "16") { s, v in
            s.poolMax = try int(v, "pool_max", 1...1000)
        },
        key("pool_timeout_ms", env: "SIGNALFORGE_POOL_TIMEOUT_MS", "longest wait for a free PostgreSQL connection", "5000") { s, v in
            s.poolTimeoutMs = try int(v, "pool_timeout_ms", 1...600_000)
        },
        key("log_level", env: "SIGNALFORGE_LOG_LEVEL", "trace, debug, info, notice, warning, error or critical", "info") { s, v in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(v) else { throw SettingsError("log_level: '\(v)' is not one of \(levels.joined(separator: ", "))") }
            s.logLevel = v
        },
        key(
            "log_buffer_lines", env: "SIGNALFORGE_LOG_BUFFER_LINES",
            "experiment log lines kept in memory while PostgreSQL is away; more go to spill files", "200000"
        ) { s, v in
            s.logBufferLines = try int(v, "log_buffer_lines", 1...100_000_000)
        },
        key("access_log", env: "SIGNALFORGE_ACCESS_LOG", "one log line per HTTP request (true/false)", "true") { s, v in
            switch v.lowercased() {
            case "true", "1", "yes", "on": s.accessLog = true
            case "false", "0", "no", "off": s.accessLog = false
            default: throw SettingsError("access_log: '\(v)' is not true or false")
            }
        },
        key(
            "webhook_url", env: "SIGNALFORGE_WEBHOOK_URL", "a server-wide webhook (http or https URL) told of every experiment's events",
            "none"
        ) { s, v in
            if let reason = WebhookSubscription.urlProblem(v) { throw SettingsError("webhook_url: \(reason)") }
            s.webhookURL = v
        },
        key(
            "webhook_events", env: "SIGNALFORGE_WEBHOOK_EVENTS",
            "events sent to webhook_url, comma-separated (\(WebhookSubscription.allowedEvents.joined(separator: ", ")))",
            WebhookSubscription.defaultEvents.joined(separator: ",")
        ) { s, v in
            let list = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if let reason = WebhookSubscription.eventsProblem(list) { throw SettingsError("webhook_events: \(reason)") }
            s.webhookEvents = list
        },
        key(
            "webhook_secret", env: "SIGNALFORGE_WEBHOOK_SECRET", "HMAC-SHA256 key that signs deliveries to webhook_url (never logged)",
            "none: unsigned"
        ) { s, v in
            if let reason = WebhookSubscription.secretProblem(v) { throw SettingsError("webhook_secret: \(reason)") }
            s.webhookSecret = RedactedSecret(v)
        },
        key("stuck_after_s", env: "SIGNALFORGE_STUCK_AFTER_S", "seconds without progress before a running experiment emits `stuck`", "600")
        { s, v in
            s.stuckAfterSeconds = Double(try int(v, "stuck_after_s", 1...604_800))
        },
        key(
            "outage_wait_s", env: "SIGNALFORGE_OUTAGE_WAIT_S",
            "seconds a run waits out an unreachable PostgreSQL (retrying its writes) before it is interrupted and requeued", "600"
        ) { s, v in
            s.outageWaitSeconds = try int(v, "outage_wait_s", 1...86_400)
        },
        key(
            "notify_backoff_base_ms", env: "SIGNALFORGE_NOTIFY_BACKOFF_BASE_MS",
            "first retry delay of a webhook delivery; doubles per attempt, at most 5 min", "1000"
        ) { s, v in
            s.notifyBackoffBaseMs = try int(v, "notify_backoff_base_ms", 1...300_000)
        },
        key("notify_give_up_s", env: "SIGNALFORGE_NOTIFY_GIVE_UP_S", "how long a webhook delivery is retried before it fails", "3600") {
            s, v in
            s.notifyGiveUpSeconds = try int(v, "notify_give_up_s", 1...604_800)
        },
        key("notify_timeout_ms", env: "SIGNALFORGE_NOTIFY_TIMEOUT_MS", "connect and read timeout of one webhook attempt", "10000") { s, v in
            s.notifyTimeoutMs = try int(v, "notify_timeout_ms", 100...300_000)
        },
        key("notify_workers", env: "SIGNALFORGE_NOTIFY_WORKERS", "threads delivering webhooks on this instance", "2") { s, v in
            s.notifyWorkers = try int(v, "notify_workers", 1...64)
        },
        key(
            "cache_max_gb", env: "SIGNALFORGE_CACHE_MAX_GB",
            "size limit of the stage cache (<data_dir>/cache), in GiB; least recently used entries are evicted (0 = no cache)", "10"
        ) { s, v in
            guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, d >= 0, d <= 1_000_000 else {
                throw SettingsError("cache_max_gb: '\(v)' is not a number of GiB in 0…1000000")
            }
            s.cacheMaxGB = d
        },
        key("cache", env: "SIGNALFORGE_CACHE", "the stage cache: on or off (docs/cache.md)", "on") {
            s, v in
            switch v.trimmingCharacters(in: .whitespaces).lowercased() {
            case "on", "true", "1": s.cacheEnabled = true
            case "off", "false", "0": s.cacheEnabled = false
            default: throw SettingsError("cache: '\(v)' is not on or off")
            }
        },
        key(
            "read_cache", env: "SIGNALFORGE_READ_CACHE",
            "answer GET /v1/experiments/{id} from rows kept fresh by PostgreSQL notifications: on or off", "on"
        ) { s, v in
            switch v.trimmingCharacters(in: .whitespaces).lowercased() {
            case "on", "true", "1": s.readCache = true
            case "off", "false", "0": s.readCache = false
            default: throw SettingsError("read_cache: '\(v)' is not on or off")
            }
        },
        key(
            "retention_days", env: "SIGNALFORGE_RETENTION_DAYS",
            "delete finished, unpinned experiments this many days after they finished (off = keep)", "off"
        ) { s, v in
            s.retentionDays = try optionalNumber(v, "retention_days", 0...36_500)
        },
        key(
            "retention_max_gb", env: "SIGNALFORGE_RETENTION_MAX_GB",
            "keep the experiments' folders under this many GiB, deleting the oldest finished, unpinned ones (off = no limit)", "off"
        ) { s, v in
            s.retentionMaxGB = try optionalNumber(v, "retention_max_gb", 0...1_000_000)
        },
        key(
            "retention_poll_s", env: "SIGNALFORGE_RETENTION_POLL_S",
            "how often retention is applied (and deletions cut short by a crash are finished)", "3600"
        ) { s, v in
            s.retentionPollSeconds = Double(try int(v, "retention_poll_s", 1...604_800))
        },
    ]

    /// A number in `range`, or nil for `off`/`none`.
    private static func optionalNumber(_ v: String, _ name: String, _ range: ClosedRange<Double>) throws(SettingsError) -> Double? {
        let t = v.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "off" || t == "none" { return nil }
        guard let d = Double(t), d.isFinite else { throw SettingsError("\(name): '\(v)' is not a number (or off)") }
        guard range.contains(d) else { throw SettingsError("\(name): \(v) is outside \(range.lowerBound)…\(range.upperBound)") }
        return d
    }

    private static func key(
        _ name: String, env: String, _ help: String, _ defaultText: String,
        _ apply: @escaping @Sendable (inout Settings, String) throws -> Void
    ) -> Key {
        Key(name: name, env: env, flag: name.replacingOccurrences(of: "_", with: "-"), help: help, defaultText: defaultText, apply: apply)
    }

    private static func int(_ v: String, _ name: String, _ range: ClosedRange<Int>) throws(SettingsError) -> Int {
        guard let n = Int(v.trimmingCharacters(in: .whitespaces)) else { throw SettingsError("\(name): '\(v)' is not an integer") }
        guard range.contains(n) else { throw SettingsError("\(name): \(n) is outside \(range.lowerBound)…\(range.upperBound)") }
        return n
    }

    /// Resolves the settings.
    /// - Parameters:
    ///   - flags: values given as command-line flags, by setting name.
    ///   - environment: the process environment.
    ///   - configFile: a YAML file of `name: value` pairs (optional).
    /// - Throws: `SettingsError` naming the setting (and the file) that is wrong.
    public static func resolve(
        flags: [String: String], environment: [String: String], configFile: String?
    ) throws(SettingsError) -> Settings {
        var fromFile: [String: String] = [:]
        var fileWebhooks: [WebhookSubscription] = []
        if let configFile {
            let text: String
            do { text = try String(contentsOfFile: configFile, encoding: .utf8) } catch {
                throw SettingsError("\(configFile): cannot read the config file")
            }
            let node: Any?
            do { node = try Yams.load(yaml: text) } catch {
                throw SettingsError("\(configFile): not valid YAML: \(error)")
            }
            guard let map = node as? [String: Any] else {
                throw SettingsError("\(configFile): expected a mapping of setting names to values")
            }
            for (k, v) in map {
                if k == "webhooks" {
                    fileWebhooks = try WebhookSubscription.parseConfigList(v, file: configFile)
                    continue
                }
                guard keys.contains(where: { $0.name == k }) else {
                    throw SettingsError(
                        "\(configFile): unknown setting '\(k)' (known: \((keys.map(\.name) + ["webhooks"]).joined(separator: ", ")))")
                }
                fromFile[k] = "\(v)"
            }
        }
        var s = Settings()
        for key in keys {
            let value: String?
            let source: String
            if let v = flags[key.name] {
                (value, source) = (v, "--\(key.flag)")
            } else if let v = environment[key.env], !v.isEmpty {
                (value, source) = (v, key.env)
            } else if let v = fromFile[key.name] {
                (value, source) = (v, configFile ?? "config")
            } else {
                (value, source) = (nil, "")
            }
            guard let value else { continue }
            do { try key.apply(&s, value) } catch {
                throw SettingsError("\(source): \((error as? SettingsError)?.message ?? "\(error)")")
            }
        }
        s.webhooks = fileWebhooks
        if let url = s.webhookURL {
            s.webhooks.append(
                WebhookSubscription(url: url, events: s.webhookEvents ?? WebhookSubscription.defaultEvents, secret: s.webhookSecret?.value))
        } else if s.webhookEvents != nil || s.webhookSecret != nil {
            throw SettingsError("webhook_events and webhook_secret need webhook_url")
        }
        return s
    }

    /// Whether `address` is a loopback address (127.0.0.0/8 or ::1).
    public var isLoopback: Bool {
        address.hasPrefix("127.") || address == "::1" || address == "localhost"
    }
}

extension Settings: CustomStringConvertible, CustomDebugStringConvertible {
    /// Every setting, with the database URL's password (and query) redacted,
    /// so that printing or logging the settings never leaks a credential.
    public var description: String {
        var shown = self
        shown.databaseURL = databaseURL.map(Self.redactedDatabaseURL)
        let fields = Mirror(reflecting: shown).children.map { child in "\(child.label ?? "?"): \(child.value)" }
        return "Settings(\(fields.joined(separator: ", ")))"
    }
    public var debugDescription: String { description }

    /// `url` with the password of its user-info and its query replaced by `…`
    /// (`postgres://sf:…@db:5432/signalforge`).
    static func redactedDatabaseURL(_ url: String) -> String {
        var shown = url
        if let q = shown.firstIndex(of: "?") { shown = String(shown[..<q]) + "?…" }
        guard let scheme = shown.range(of: "://") else { return shown }
        let authority = shown[scheme.upperBound...].prefix(while: { $0 != "/" })
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return shown }
        shown.replaceSubrange(shown.index(after: colon)..<at, with: "…")
        return shown
    }
}

public struct SettingsError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
