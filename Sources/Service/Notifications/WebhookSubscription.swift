import Foundation

/// Where and what to notify: a URL, the events it wants, and the secret that
/// signs each delivery. The secret is stored in `notification_subscriptions`
/// only; it never appears in a response, in the stored request, nor in a log
/// line (`description` redacts it).
public struct WebhookSubscription: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var url: String
    public var events: [String]
    public var secret: String?

    public init(url: String, events: [String] = WebhookSubscription.defaultEvents, secret: String? = nil) {
        self.url = url
        self.events = events
        self.secret = secret
    }

    /// Events a subscription may name: lifecycle states an experiment moves
    /// to, `started` (claimed by an instance) and `stuck` (no progress for
    /// `stuck_after_s`).
    public static let allowedEvents = ["started", "paused", "succeeded", "failed", "cancelled", "interrupted", "stuck"]
    /// Events of a subscription that names none.
    public static let defaultEvents = ["succeeded", "failed", "cancelled", "stuck"]
    /// Subscriptions one request may carry.
    static let maxPerRequest = 8
    /// Bytes of a secret (an HMAC-SHA256 key).
    static let secretBytes = 16...256

    public var description: String {
        "WebhookSubscription(url: \(Self.redactedURL(url)), events: \(events.joined(separator: ",")), secret: \(secret == nil ? "none" : "<redacted>"))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["url": Self.redactedURL(url), "events": events], displayStyle: .struct) }

    /// The URL without credentials or query (webhook URLs sometimes carry
    /// tokens there), for logs and responses.
    static func redactedURL(_ url: String) -> String {
        var base = url
        if let q = base.firstIndex(of: "?") { base = String(base[..<q]) + "?…" }
        if let scheme = base.range(of: "://"), let at = base[scheme.upperBound...].prefix(while: { $0 != "/" }).lastIndex(of: "@") {
            base.removeSubrange(scheme.upperBound...at)
        }
        return base
    }

    // MARK: validation (shared by settings and requests)

    /// Why `url` cannot be a webhook, or nil.
    public static func urlProblem(_ url: String) -> String? {
        guard (1...2048).contains(url.utf8.count) else { return "must be 1 to 2048 bytes" }
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            return "must not contain spaces or control characters"
        }
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased() else { return "is not a URL" }
        guard scheme == "http" || scheme == "https" else { return "must be an http or https URL, not \(scheme)" }
        guard let host = c.host, !host.isEmpty else { return "must name a host" }
        guard c.user == nil, c.password == nil else { return "must not carry credentials (sign with a secret instead)" }
        guard c.fragment == nil else { return "must not have a fragment" }
        return nil
    }

    /// Why `events` cannot be a subscription's events, or nil.
    public static func eventsProblem(_ events: [String]) -> String? {
        guard !events.isEmpty else { return "must name at least one event" }
        for (i, e) in events.enumerated() {
            guard allowedEvents.contains(e) else { return "'\(e)' is not one of \(allowedEvents.joined(separator: ", "))" }
            guard !events[..<i].contains(e) else { return "'\(e)' appears twice" }
        }
        return nil
    }

    /// Why `secret` cannot sign deliveries, or nil. Never quotes the secret.
    public static func secretProblem(_ secret: String) -> String? {
        guard secretBytes.contains(secret.utf8.count) else {
            return "must be \(secretBytes.lowerBound) to \(secretBytes.upperBound) bytes"
        }
        return nil
    }

    /// The request's `notify` member.
    /// - Throws: `APIError` 400 naming `notify[i].url`, `notify[i].events[j]`, `notify[i].secret`, ….
    static func parseRequest(_ value: JSONValue) throws(APIError) -> [WebhookSubscription] {
        guard case .array(let items) = value else {
            throw APIError.invalid("notify", "must be an array of {url, events, secret}, not \(value.typeName)")
        }
        guard items.count <= maxPerRequest else { throw APIError.invalid("notify", "at most \(maxPerRequest) webhooks") }
        var out: [WebhookSubscription] = []
        for (i, item) in items.enumerated() {
            let f = "notify[\(i)]"
            guard case .object(let members) = item else { throw APIError.invalid(f, "must be an object, not \(item.typeName)") }
            if let unknown = members.first(where: { !["url", "events", "secret"].contains($0.0) }) {
                throw APIError.invalid("\(f).\(unknown.0)", "unknown member (known: url, events, secret)")
            }
            guard case .string(let url)? = item["url"] else { throw APIError.invalid("\(f).url", "is required and must be a string") }
            if let reason = urlProblem(url) { throw APIError.invalid("\(f).url", reason) }
            var events = defaultEvents
            if let ev = item["events"] {
                guard case .array(let list) = ev else {
                    throw APIError.invalid("\(f).events", "must be an array of strings, not \(ev.typeName)")
                }
                guard !list.isEmpty else { throw APIError.invalid("\(f).events", "must name at least one event") }
                events = []
                for (j, e) in list.enumerated() {
                    guard case .string(let name) = e else {
                        throw APIError.invalid("\(f).events[\(j)]", "must be a string, not \(e.typeName)")
                    }
                    guard allowedEvents.contains(name) else {
                        throw APIError(
                            400, "\(f).events[\(j)]: '\(name)' is not one of \(allowedEvents.joined(separator: ", "))",
                            field: "\(f).events[\(j)]", extra: [("allowed", allowedEvents.joined(separator: ", "))])
                    }
                    guard !events.contains(name) else { throw APIError.invalid("\(f).events[\(j)]", "'\(name)' appears twice") }
                    events.append(name)
                }
            }
            var secret: String?
            if let sv = item["secret"] {
                // Never echo the value: only its type or length is at fault.
                guard case .string(let s) = sv else { throw APIError.invalid("\(f).secret", "must be a string, not \(sv.typeName)") }
                if let reason = secretProblem(s) { throw APIError.invalid("\(f).secret", reason) }
                secret = s
            }
            out.append(WebhookSubscription(url: url, events: events, secret: secret))
        }
        return out
    }

    /// The config file's `webhooks:` list of `{url, events, secret}` maps.
    static func parseConfigList(_ value: Any, file: String) throws(SettingsError) -> [WebhookSubscription] {
        guard let items = value as? [Any] else { throw SettingsError("\(file): webhooks: must be a list of {url, events, secret}") }
        var out: [WebhookSubscription] = []
        for (i, item) in items.enumerated() {
            let f = "\(file): webhooks[\(i)]"
            guard let map = item as? [String: Any] else { throw SettingsError("\(f): must be a mapping with url, events, secret") }
            if let unknown = map.keys.sorted().first(where: { !["url", "events", "secret"].contains($0) }) {
                throw SettingsError("\(f).\(unknown): unknown member (known: url, events, secret)")
            }
            guard let url = map["url"] as? String else { throw SettingsError("\(f).url: is required and must be a string") }
            if let reason = urlProblem(url) { throw SettingsError("\(f).url: \(reason)") }
            var events = defaultEvents
            if let ev = map["events"] {
                let list: [String]
                if let a = ev as? [Any] {
                    list = a.map { "\($0)" }
                } else if let s = ev as? String {
                    list = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                } else {
                    throw SettingsError("\(f).events: must be a list of event names")
                }
                if let reason = eventsProblem(list) { throw SettingsError("\(f).events: \(reason)") }
                events = list
            }
            var secret: String?
            if let sv = map["secret"] {
                let s = "\(sv)"
                if let reason = secretProblem(s) { throw SettingsError("\(f).secret: \(reason)") }
                secret = s
            }
            out.append(WebhookSubscription(url: url, events: events, secret: secret))
        }
        return out
    }

    /// The subscription as the API shows it: never the secret.
    var publicJSON: JSONValue {
        .object([("url", .string(Self.redactedURL(url))), ("events", .array(events.map { .string($0) })), ("signed", .bool(secret != nil))])
    }
}

/// A secret held in settings: printing or dumping it shows `<redacted>`.
struct RedactedSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    init(_ value: String) { self.value = value }
    var description: String { "<redacted>" }
    var debugDescription: String { "<redacted>" }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
