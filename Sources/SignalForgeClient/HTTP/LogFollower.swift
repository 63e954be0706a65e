import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Follows an experiment's log live over Server-Sent Events
/// (`GET /v1/experiments/{id}/logs?follow=true`, `Accept: text/event-stream`),
/// reconnecting by itself.
///
/// How a reconnect loses nothing and repeats nothing: every `log` event
/// carries the line's id as its SSE `id:`. The follower remembers the id of
/// the last line it handed on — only complete events count, a half-received
/// event at a broken connection is dropped by ``ServerSentEventParser`` — and
/// reconnects with `Last-Event-ID: <that id>`; the server then sends exactly
/// the lines after it. As a second guard, a line whose id is not above the
/// last one handed on is skipped. The stream is over at the `end` event,
/// which the server sends once the experiment has finished.
///
/// A connection that breaks, times out (no byte, not even the server's
/// keep-alive comment, for `idleTimeout` seconds), ends without `end`, or
/// answers 502/503/504 is retried after a pause (the server's `retry:`
/// when it sent one, else 0.2 s doubling to 5 s). Consecutive failures give up
/// after `reconnectFor` seconds; any received event resets that clock.
///
/// The transport is a URLSession data task with a delegate (see
/// ``SessionRouter``): chunks arrive as libcurl reads them, on the session's
/// serial delegate queue, so `emit` is called in order, from one thread at a time.
struct LogFollower {
    let client: APIClient
    let id: String
    var level: String?
    var stage: String?
    var reconnectFor: Double = 60
    var idleTimeout: Double = 45

    /// Follows from the line after `lastID` to the end of the stream.
    /// - Parameters:
    ///   - lastID: The id of the last line already shown (0: from the start).
    ///   - emit: Called once per new line, in id order.
    /// - Returns: The experiment's final status, from the `end` event.
    /// - Throws: `ClientError`: a problem answer that retrying cannot fix (404,
    ///   401, 400…), or `reconnectFor` seconds without a working stream.
    func follow(after lastID: Int64, emit: @escaping @Sendable (JSONValue) -> Void) throws(ClientError) -> String {
        struct State {
            var parser = ServerSentEventParser()
            var lastID: Int64
            var status = 0
            var problem: [UInt8] = []
            var end: String?
            var events = 0
        }
        let state = Mutex(State(lastID: lastID))
        var failingSince: Date?
        var backoff = 0.2
        var query: [(String, String)] = [("follow", "true")]
        if let level { query.append(("level", level)) }
        if let stage { query.append(("stage", stage)) }

        while true {
            let resumeFrom = state.withLock { s -> Int64 in
                s.parser.reset()
                s.status = 0
                s.problem = []
                s.events = 0
                return s.lastID
            }
            var headers = ["Accept": "text/event-stream", "Cache-Control": "no-cache"]
            if resumeFrom > 0 { headers["Last-Event-ID"] = String(resumeFrom) }
            let request = client.request(
                "GET", APIClient.path("v1", "experiments", id, "logs"), query: query, headers: headers, timeout: idleTimeout)
            var failure: ClientError?
            do {
                _ = try client.exchange(request) { head in
                    state.withLock { $0.status = head.status }
                    return true
                } data: { chunk in
                    state.withLock { s -> Bool in
                        guard s.status == 200 else {
                            s.problem.append(contentsOf: chunk)
                            return true
                        }
                        for event in s.parser.feed(chunk) {
                            s.events += 1
                            switch event.event {
                            case "log":
                                guard let line = try? JSONValue.parse(event.data) else { continue }
                                let lineID = event.id.flatMap { Int64($0) } ?? line["id"]?.int.map(Int64.init) ?? 0
                                guard lineID > s.lastID else { continue }  // already shown
                                s.lastID = lineID
                                emit(line)
                            case "end":
                                s.end = (try? JSONValue.parse(event.data))?["status"]?.string ?? "ended"
                                return false
                            default:
                                continue
                            }
                        }
                        return true
                    }
                }
            } catch {
                failure = error
            }
            let (status, problem, end, events, retryMs) = state.withLock { s in
                (s.status, s.problem, s.end, s.events, s.parser.retryMilliseconds)
            }
            if let end { return end }
            if status != 0, status != 200 {
                guard HTTPStatus.isTransient(status) else { throw ClientError.problem(status: status, body: problem) }
                failure = ClientError.problem(status: status, body: problem)
            }
            if events > 0 {
                failingSince = nil
                backoff = 0.2
            }
            if failingSince == nil {
                Console.error(
                    "log stream: \(failure?.message ?? "the connection ended"); reconnecting after line \(state.withLock { $0.lastID })")
            }
            let since = failingSince ?? Date()
            failingSince = since
            if Date().timeIntervalSince(since) > reconnectFor {
                let reason = failure?.message ?? "the log stream kept ending before the experiment did"
                throw ClientError(
                    code: failure?.code ?? .transport, message: reason + " (gave up after \(Int(reconnectFor)) s)", status: failure?.status)
            }
            Thread.sleep(forTimeInterval: retryMs.map { Double($0) / 1000 } ?? backoff)
            backoff = min(5, backoff * 2)
        }
    }
}
