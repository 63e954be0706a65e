import Foundation
import Hashing
import Logging
import MicroHTTP
import Pipeline
import Service
import Synchronization
import TestSupport
import Testing

/// A real HTTP server on a loopback port that records every webhook request
/// and answers 500 to the first `failFirst` of them.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var path: String
        var headers: [String: String]
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var event: String? { json["event"] as? String }
        var experimentID: String? { (json["experiment"] as? [String: Any])?["id"] as? String }
    }

    private final class State: Sendable {
        let received = Mutex<[Delivery]>([])
        let failuresLeft: Atomic<Int>
        let failing = Atomic<Bool>(false)
        init(failFirst: Int) { failuresLeft = Atomic(failFirst) }
    }

    private let server: HTTPServer
    private let state: State

    init(failFirst: Int = 0) throws {
        let state = State(failFirst: failFirst)
        self.state = state
        var router = Router()
        for path in ["/hook", "/server-hook"] {
            router.post(path) { req in
                var headers: [String: String] = [:]
                for (k, v) in req.headers { headers[k.lowercased()] = v }
                state.received.withLock { $0.append(Delivery(path: req.path, headers: headers, body: req.body)) }
                if state.failing.load(ordering: .relaxed)
                    || (state.failuresLeft.load(ordering: .relaxed) > 0 && state.failuresLeft.subtract(1, ordering: .relaxed).oldValue > 0)
                {
                    return .text("try again later", status: 500)
                }
                return .text("ok")
            }
        }
        var config = ServerConfiguration()
        config.port = 0
        config.threads = 1
        config.accessLog = false
        server = HTTPServer(
            configuration: config, routes: router.freeze(), logger: Logger(label: "receiver") { _ in SwiftLogNoOpLogHandler() })
        try server.start()
    }

    deinit { server.stop() }

    var url: String { "http://127.0.0.1:\(server.port)/hook" }
    var serverURL: String { "http://127.0.0.1:\(server.port)/server-hook" }
    var all: [Delivery] { state.received.withLock { $0 } }
    /// While true, every request gets a 500.
    func setFailing(_ on: Bool) { state.failing.store(on, ordering: .relaxed) }
}

/// Advances one unit, then makes no progress (while still calling the
/// checkpoint, so pause and cancel work) until nudged (one more unit each
/// time) or released.
final class ParkingStage: Stage, Sendable {
    let name: String
    let nudges = Atomic<Int>(0)
    let released = Atomic<Bool>(false)
    init(name: String) { self.name = name }

    func run(_ context: StageContext) throws {
        let step = context.progress.child(of: context.node, "work", total: 100)
        context.progress.advance(step, by: 1)
        var done = 0
        while !released.load(ordering: .relaxed) {
            try context.checkpoint()
            if nudges.load(ordering: .relaxed) > done {
                done += 1
                context.progress.advance(step, by: 1)
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
@discardableResult
func eventually(timeout: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

func notifyBody(_ name: String, stages: [String], notify: String) -> String {
    let list = stages.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"name":"\#(name)","datasets":[{"symbol":"A","path":"a.csv"}],"stages":[\#(list)],"notify":\#(notify)}"#
}

extension TestApp {
    func deliveries(_ id: String) throws -> [[String: Any]] {
        try request("GET", "/v1/experiments/\(id)/notifications").json["items"] as? [[String: Any]] ?? []
    }

    func metric(_ line: String) throws -> Int? {
        let text = try request("GET", "/metrics").text
        return text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
    }
}

func signatureIsValid(_ d: WebhookReceiver.Delivery, secret: String) -> Bool {
    guard let header = d.headers["x-signalforge-signature"], header.hasPrefix("sha256=") else { return false }
    let expected = "sha256=" + HMACSHA256.hex(key: Array(secret.utf8), message: d.body)
    return HMACSHA256.constantTimeEquals(Array(header.utf8), Array(expected.utf8))
}

@Suite(.serialized) struct NotificationTests {
    @Test func oneSignedDeliveryPerSubscribedEvent() throws {
        let receiver = try WebhookReceiver()
        let secret = "request-secret-\(UUID().uuidString)"
        let serverSecret = "server-secret-\(UUID().uuidString)"
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 20)])) { s in
            s.webhooks = [WebhookSubscription(url: receiver.serverURL, events: ["succeeded"], secret: serverSecret)]
        }
        let notify = #"[{"url":"\#(receiver.url)","events":["started","succeeded","failed"],"secret":"\#(secret)"}]"#
        let id = try t.create(notifyBody("signed", stages: ["load"], notify: notify))
        #expect(try t.waitFor(id) { $0["status"] as? String == "succeeded" }["status"] as? String == "succeeded")

        // Three deliveries (started and succeeded to the request's hook, succeeded to the server's), all delivered.
        let settled = try eventually {
            let items = try t.deliveries(id)
            return items.count == 3 && items.allSatisfy { $0["status"] as? String == "delivered" }
        }
        #expect(settled, "deliveries: \((try? t.deliveries(id)) ?? [])")
        let got = receiver.all
        let hook = got.filter { $0.path == "/hook" }
        let server = got.filter { $0.path == "/server-hook" }
        #expect(hook.map { $0.event ?? "?" }.sorted() == ["started", "succeeded"])
        #expect(server.map { $0.event ?? "?" } == ["succeeded"])
        for d in hook {
            #expect(signatureIsValid(d, secret: secret), "bad signature on \(d.headers)")
            #expect(!signatureIsValid(d, secret: serverSecret))
            #expect(d.headers["x-signalforge-event"] == d.event)
            #expect(d.headers["x-signalforge-delivery"] == d.json["id"] as? String)
            #expect(d.headers["x-signalforge-attempt"] == "1")
            #expect(Int(d.headers["x-signalforge-timestamp"] ?? "").map { abs(Double($0) - Date().timeIntervalSince1970) < 300 } == true)
            #expect(d.experimentID == id)
        }
        #expect(server.allSatisfy { signatureIsValid($0, secret: serverSecret) })
        let succeeded = try #require(hook.first { $0.event == "succeeded" })
        #expect((succeeded.json["experiment"] as? [String: Any])?["status"] as? String == "succeeded")
        #expect(Set(got.compactMap { $0.headers["x-signalforge-delivery"] }).count == 3)

        let items = try t.deliveries(id)
        #expect(items.allSatisfy { ($0["attempts"] as? [[String: Any]])?.count == 1 })
        #expect(Set(items.compactMap { $0["source"] as? String }) == ["request", "server"])
        #expect(try t.metric(#"signalforge_notification_deliveries_total{outcome="delivered"}"#) == 3)
        // Nothing is pending, so nothing more can be sent: exactly one per event.
        #expect(receiver.all.count == 3)
    }

    @Test func retriesUntilTheReceiverAnswers() throws {
        let receiver = try WebhookReceiver(failFirst: 2)
        let secret = "retry-secret-0123456789"
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 5)])) { s in s.notifyBackoffBaseMs = 100 }
        let notify = #"[{"url":"\#(receiver.url)","events":["succeeded"],"secret":"\#(secret)"}]"#
        let id = try t.create(notifyBody("retry", stages: ["load"], notify: notify))
        let delivered = try eventually { try t.deliveries(id).first?["status"] as? String == "delivered" }
        #expect(delivered, "\((try? t.deliveries(id)) ?? [])")
        let item = try #require(try t.deliveries(id).first)
        let attempts = try #require(item["attempts"] as? [[String: Any]])
        #expect(attempts.map { $0["attempt"] as? Int ?? 0 } == [1, 2, 3])
        #expect(attempts.map { $0["status_code"] as? Int ?? 0 } == [500, 500, 200])
        #expect(attempts.map { $0["outcome"] as? String ?? "" } == ["retry", "retry", "delivered"])
        #expect(attempts[0]["error"] as? String == "HTTP 500")
        let got = receiver.all
        #expect(got.count == 3)
        #expect(got.map { $0.headers["x-signalforge-attempt"] ?? "" } == ["1", "2", "3"])
        #expect(Set(got.map(\.body)).count == 1, "every attempt sends the same bytes")
        #expect(got.allSatisfy { signatureIsValid($0, secret: secret) })
        #expect(try t.metric(#"signalforge_notification_deliveries_total{outcome="retry"}"#) == 2)
    }

    @Test func twoInstancesDeliverEachEventOnce() throws {
        let receiver = try WebhookReceiver()
        let a = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 5)]))
        let b = try TestApp(databaseURL: a.databaseURL, stages: StageRegistry([ChunkedStage(name: "load", units: 5)]))
        let notify = #"[{"url":"\#(receiver.url)","events":["started","succeeded"],"secret":"two-instances-secret"}]"#
        var ids: [String] = []
        for i in 0..<8 { ids.append(try (i % 2 == 0 ? a : b).create(notifyBody("multi-\(i)", stages: ["load"], notify: notify))) }
        let settled = try eventually(timeout: 30) {
            try ids.allSatisfy { id in
                let items = try a.deliveries(id)
                return items.count == 2 && items.allSatisfy { $0["status"] as? String == "delivered" }
            }
        }
        #expect(settled)
        let got = receiver.all
        var perEvent: [String: Int] = [:]
        for d in got { perEvent["\(d.experimentID ?? "?") \(d.event ?? "?")", default: 0] += 1 }
        #expect(perEvent.count == 16)
        #expect(perEvent.values.allSatisfy { $0 == 1 }, "\(perEvent.filter { $0.value != 1 })")
        let line = #"signalforge_notification_deliveries_total{outcome="delivered"}"#
        #expect((try a.metric(line) ?? 0) + (try b.metric(line) ?? 0) == 16)
        let instances = Set(
            try ids.flatMap { try a.deliveries($0) }.flatMap {
                ($0["attempts"] as? [[String: Any]] ?? []).compactMap { $0["instance"] as? String }
            })
        #expect(!instances.isEmpty && instances.count <= 2)
    }

    @Test func aStalledRunEmitsStuck() throws {
        let receiver = try WebhookReceiver()
        let stage = ParkingStage(name: "load")
        let t = try TestApp(stages: StageRegistry([stage])) { s in s.stuckAfterSeconds = 2 }
        let notify = #"[{"url":"\#(receiver.url)","events":["stuck"],"secret":"stuck-secret-0123456789"}]"#
        let id = try t.create(notifyBody("parked", stages: ["load"], notify: notify))
        #expect(try t.waitFor(id) { $0["status"] as? String == "running" }["status"] as? String == "running")
        let t0 = Date()
        func events(_ kind: String) throws -> [[String: Any]] {
            (try t.request("GET", "/v1/experiments/\(id)/events").json["items"] as? [[String: Any]] ?? []).filter {
                $0["kind"] as? String == kind
            }
        }
        #expect(try eventually(timeout: 10) { try !events("stuck").isEmpty })
        let elapsed = Date().timeIntervalSince(t0)
        #expect(elapsed <= 2 + 5, "stuck after \(elapsed) s")
        #expect(try events("stuck").first?["stage"] as? String == "load")
        #expect(eventually { receiver.all.contains { $0.event == "stuck" } })
        #expect(receiver.all.allSatisfy { signatureIsValid($0, secret: "stuck-secret-0123456789") })
        #expect(try t.metric("signalforge_experiments_stuck_total") == 1)

        // Progress resumes, then stalls again: a second episode, a second event.
        stage.nudges.add(1, ordering: .relaxed)
        #expect(try eventually(timeout: 10) { try events("progress_resumed").count == 1 })
        #expect(try eventually(timeout: 10) { try events("stuck").count == 2 })
        #expect(try events("progress_resumed").count == 1)
        #expect(eventually { receiver.all.filter { $0.event == "stuck" }.count == 2 })

        stage.released.store(true, ordering: .relaxed)
        #expect(try t.waitFor(id) { $0["status"] as? String == "succeeded" }["status"] as? String == "succeeded")
    }

    @Test func aPausedRunIsNotStuck() throws {
        let stage = ParkingStage(name: "load")
        let t = try TestApp(stages: StageRegistry([stage])) { s in
            s.stuckAfterSeconds = 1
            s.maxRunning = 2
        }
        func kinds(_ id: String) throws -> [String] {
            (try t.request("GET", "/v1/experiments/\(id)/events").json["items"] as? [[String: Any]] ?? []).compactMap {
                $0["kind"] as? String
            }
        }
        let paused = try t.create(notifyBody("paused", stages: ["load"], notify: "[]"))
        #expect(try t.waitFor(paused) { $0["status"] as? String == "running" }["status"] as? String == "running")
        #expect(try t.request("POST", "/v1/experiments/\(paused)/pause").status == 202)
        #expect(try t.waitFor(paused) { $0["status"] as? String == "paused" }["status"] as? String == "paused")
        // A second run stalls after the first was paused: by the time it is
        // stuck, the paused one has made no progress for longer, yet is not stuck.
        let stalled = try t.create(notifyBody("stalled", stages: ["load"], notify: "[]"))
        #expect(try eventually(timeout: 10) { try kinds(stalled).contains("stuck") })
        let pausedKinds = try kinds(paused)
        #expect(!pausedKinds.contains("stuck"), "\(pausedKinds)")
        // Resumed and still without progress, it is stuck in turn.
        #expect(try t.request("POST", "/v1/experiments/\(paused)/resume").status == 202)
        #expect(try eventually(timeout: 10) { try kinds(paused).contains("stuck") })
        let all = try kinds(paused)
        #expect(all.lastIndex(of: "resumed").map { $0 < all.firstIndex(of: "stuck")! } == true, "\(all)")
        stage.released.store(true, ordering: .relaxed)
    }

    @Test func secretsNeverLeave() throws {
        let receiver = try WebhookReceiver(failFirst: 1)
        let secret = "never-shown-\(UUID().uuidString)"
        let serverSecret = "never-shown-server-\(UUID().uuidString)"
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 5)])) { s in
            s.notifyBackoffBaseMs = 50
            s.webhooks = [WebhookSubscription(url: receiver.serverURL, events: ["started"], secret: serverSecret)]
        }
        let notify = #"[{"url":"\#(receiver.url)?token=abc","events":["succeeded"],"secret":"\#(secret)"}]"#
        let body = notifyBody("secret", stages: ["load"], notify: notify)
        var responses: [String] = []
        let created = try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": "secret-test"], body: body)
        #expect(created.status == 201)
        responses.append(created.text)
        let id = try #require(created.json["id"] as? String)
        let replay = try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": "secret-test"], body: body)
        #expect(replay.header("Idempotent-Replayed") == "true")
        responses.append(replay.text)
        #expect(try t.waitFor(id) { $0["status"] as? String == "succeeded" }["status"] as? String == "succeeded")
        #expect(
            try eventually {
                let items = try t.deliveries(id)
                return items.count == 2 && items.allSatisfy { $0["status"] as? String == "delivered" }
            })
        for target in [
            "/v1/experiments/\(id)", "/v1/experiments", "/v1/experiments/\(id)/notifications", "/v1/experiments/\(id)/events",
            "/v1/experiments/\(id)/logs", "/metrics",
        ] {
            responses.append(try t.request("GET", target).text)
        }
        // A rejected secret is not quoted back either.
        let bad = try t.request(
            "POST", "/v1/experiments",
            body: notifyBody("bad", stages: ["load"], notify: #"[{"url":"\#(receiver.url)","secret":"short-\#(secret.prefix(4))"}]"#))
        #expect(bad.status == 400)
        #expect(bad.json["field"] as? String == "notify[0].secret")
        responses.append(bad.text)

        let served = (t.app.settings.webhooks.map { "\($0)" } + ["\(t.app.settings)"]).joined()
        let logged = t.logs.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(logged.contains("will retry"), "the failed attempt was logged")
        for text in responses + [served, logged] {
            #expect(!text.contains(secret))
            #expect(!text.contains(serverSecret))
            #expect(!text.contains("token=abc"))
        }
        // The request as served keeps the subscription, without its secret.
        let request = try t.request("GET", "/v1/experiments/\(id)").json["request"] as? [String: Any]
        let sub = try #require((request?["notify"] as? [[String: Any]])?.first)
        #expect(sub["signed"] as? Bool == true)
        #expect(sub["secret"] == nil)
    }

    @Test func notifyIsValidated() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 1)]))
        func field(_ notify: String) throws -> String? {
            let r = try t.request("POST", "/v1/experiments", body: notifyBody("v", stages: ["load"], notify: notify))
            #expect(r.status == 400)
            #expect(r.header("Content-Type")?.hasPrefix("application/problem+json") == true)
            return r.json["field"] as? String
        }
        #expect(try field(#"{"url":"http://x"}"#) == "notify")
        #expect(try field(#"[{"url":"ftp://example.com/x"}]"#) == "notify[0].url")
        #expect(try field(#"[{"url":"http://user:pw@example.com/x"}]"#) == "notify[0].url")
        #expect(try field(#"[{"events":["failed"]}]"#) == "notify[0].url")
        #expect(try field(#"[{"url":"http://example.com","events":["failed","exploded"]}]"#) == "notify[0].events[1]")
        #expect(try field(#"[{"url":"http://example.com","events":[]}]"#) == "notify[0].events")
        #expect(try field(#"[{"url":"http://example.com","secret":"short"}]"#) == "notify[0].secret")
        #expect(try field(#"[{"url":"http://example.com"},{"url":"https://example.com","sekret":"x"}]"#) == "notify[1].sekret")
        let ok = try t.request(
            "POST", "/v1/experiments", body: notifyBody("ok", stages: ["load"], notify: #"[{"url":"https://example.com/hook"}]"#))
        #expect(ok.status == 201)
        let sub = ((ok.json["request"] as? [String: Any])?["notify"] as? [[String: Any]])?.first
        #expect(sub?["events"] as? [String] == WebhookSubscription.defaultEvents)
        #expect(sub?["signed"] as? Bool == false)
    }

    /// PostgreSQL goes away while a delivery waits for its next attempt: the
    /// workers wait, and deliver once it is back; every attempt is recorded.
    @Test func deliveriesWaitOutAPostgreSQLOutage() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let receiver = try WebhookReceiver()
        receiver.setFailing(true)
        let t = try TestApp(databaseURL: pg.url, stages: StageRegistry([ChunkedStage(name: "load", units: 5)])) { s in
            s.notifyBackoffBaseMs = 200
        }
        let notify = #"[{"url":"\#(receiver.url)","events":["succeeded"],"secret":"outage-secret-0123456789"}]"#
        let id = try t.create(notifyBody("outage", stages: ["load"], notify: notify))
        #expect(try eventually { (try t.deliveries(id).first?["attempts"] as? [[String: Any]])?.isEmpty == false })
        try pg.stop()
        #expect(eventually { !t.logs.messages("notifications: database call failed; waiting for it").isEmpty })
        receiver.setFailing(false)
        try pg.start()
        let delivered = eventually(timeout: 30) { (try? t.deliveries(id).first?["status"] as? String) == "delivered" }
        #expect(delivered)
        let item = try #require(try t.deliveries(id).first)
        let attempts = try #require(item["attempts"] as? [[String: Any]])
        #expect(attempts.count == receiver.all.count, "every attempt made is recorded")
        #expect(attempts.last?["outcome"] as? String == "delivered")
        #expect(attempts.dropLast().allSatisfy { $0["outcome"] as? String == "retry" })
        #expect(!t.logs.messages("notifications: the database is back; delivering").isEmpty)
    }

    /// An https receiver that never answers (through URLSession): each attempt
    /// records its error, and the delivery is given up after notify_give_up_s.
    @Test func anUnreachableReceiverIsGivenUp() throws {
        let port = try localFreePort()
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 2)])) { s in
            s.notifyBackoffBaseMs = 200
            // Long enough for a retry after the first refused attempt even on
            // a loaded machine (1 s saw a single attempt under load 20).
            s.notifyGiveUpSeconds = 4
        }
        let notify = #"[{"url":"https://127.0.0.1:\#(port)/hook","events":["succeeded"]}]"#
        let id = try t.create(notifyBody("unreachable", stages: ["load"], notify: notify))
        #expect(try eventually { try t.deliveries(id).first?["status"] as? String == "failed" })
        let item = try #require(try t.deliveries(id).first)
        let attempts = try #require(item["attempts"] as? [[String: Any]])
        #expect(attempts.count >= 2)
        #expect(attempts.last?["outcome"] as? String == "failed")
        #expect(attempts.dropLast().allSatisfy { $0["outcome"] as? String == "retry" })
        #expect(attempts.allSatisfy { $0["status_code"] is NSNull && ($0["error"] as? String)?.isEmpty == false })
        #expect(item["next_attempt_at"] is NSNull)
        #expect(try t.metric(#"signalforge_notification_deliveries_total{outcome="failed"}"#) == 1)
    }

    @Test func readsNeedTheReadScopeAndAKnownExperiment() throws {
        let t = try TestApp()
        #expect(try t.request("GET", "/v1/experiments/\(UUID().uuidString)/notifications").status == 404)
    }
}

struct WebhookSettingsTests {
    @Test func fileListAndEnvironmentWebhook() throws {
        let file = NSTemporaryDirectory() + "sf-config-\(UUID().uuidString).yaml"
        try """
        port: 9001
        webhooks:
          - url: https://ci.example.com/hook
            events: [failed, stuck]
            secret: file-secret-0123456789
          - url: http://10.0.0.5:9000/x
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let s = try Settings.resolve(
            flags: ["stuck_after_s": "30"],
            environment: [
                "SIGNALFORGE_WEBHOOK_URL": "http://127.0.0.1:1/h", "SIGNALFORGE_WEBHOOK_EVENTS": "succeeded, failed",
                "SIGNALFORGE_WEBHOOK_SECRET": "env-secret-0123456789",
            ],
            configFile: file)
        #expect(
            s.webhooks == [
                WebhookSubscription(url: "https://ci.example.com/hook", events: ["failed", "stuck"], secret: "file-secret-0123456789"),
                WebhookSubscription(url: "http://10.0.0.5:9000/x", events: WebhookSubscription.defaultEvents, secret: nil),
                WebhookSubscription(url: "http://127.0.0.1:1/h", events: ["succeeded", "failed"], secret: "env-secret-0123456789"),
            ])
        #expect(s.stuckAfterSeconds == 30)
        #expect(!"\(s)".contains("secret-0123456789"))
    }

    @Test func badWebhooksNameTheSetting() throws {
        #expect(
            throws: SettingsError(
                "SIGNALFORGE_WEBHOOK_EVENTS: webhook_events: 'done' is not one of started, paused, succeeded, failed, cancelled, interrupted, stuck"
            )
        ) {
            try Settings.resolve(
                flags: [:], environment: ["SIGNALFORGE_WEBHOOK_URL": "http://a/b", "SIGNALFORGE_WEBHOOK_EVENTS": "done"], configFile: nil)
        }
        #expect(throws: SettingsError("SIGNALFORGE_WEBHOOK_SECRET: webhook_secret: must be 16 to 256 bytes")) {
            try Settings.resolve(
                flags: [:], environment: ["SIGNALFORGE_WEBHOOK_URL": "http://a/b", "SIGNALFORGE_WEBHOOK_SECRET": "tiny"], configFile: nil)
        }
        #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [:], environment: ["SIGNALFORGE_WEBHOOK_URL": "gopher://a/b"], configFile: nil)
        }
    }
}

/// RFC 4231's HMAC-SHA-256 test cases.
struct HMACTests {
    func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test(
        arguments: [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Array(1...25), [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ] as [([UInt8], [UInt8], String)])
    func rfc4231(key: [UInt8], data: [UInt8], expected: String) {
        #expect(HMACSHA256.hex(key: key, message: data) == expected)
        #expect(HMACSHA256.constantTimeEquals(HMACSHA256.authenticationCode(key: key, message: data), bytes(expected)))
    }

    /// Test case 5: the output truncated to 128 bits.
    @Test func truncated() {
        let mac = HMACSHA256.authenticationCode(key: [UInt8](repeating: 0x0c, count: 20), message: Array("Test With Truncation".utf8))
        #expect(SHA256.hexString(Array(mac.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
        #expect(!HMACSHA256.constantTimeEquals(mac, Array(mac.prefix(16))))
    }
}
