import Dispatch
import Foundation
import Logging
import MicroHTTP
import PostgresClient
import Store
import Synchronization

/// Answers `GET /v1/experiments/{id}` from PostgreSQL, many requests per
/// round trip.
///
/// A handler parks its connection (`PendingResponse`) and queues the id; a
/// few worker threads of ours take everything queued, read it with one
/// `WHERE id = ANY(…)` query and answer each request. While one query is in
/// flight the next batch gathers, so under load a round trip serves dozens of
/// requests, and the HTTP threads never wait on the database. With a
/// ``ExperimentRowCache`` (the default), a body whose row has not changed
/// since it was read is answered from memory on the HTTP thread, and the
/// bodies a batch reads are kept for the next requests.
final class ExperimentReadBatcher: Sendable {
    private struct Waiter {
        var id: UUID
        var pending: PendingResponse
    }
    private struct Queue {
        var items: [Waiter] = []
        var idle = 0
        var stopped = false
    }

    private let store: ExperimentStore
    private let cache: ExperimentRowCache?
    private let logger: Logger
    private let workers: Int
    private let maxBatch: Int
    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let running = Atomic<Int>(0)
    private let batches = Atomic<Int>(0)
    private let served = Atomic<Int>(0)

    init(store: ExperimentStore, cache: ExperimentRowCache?, logger: Logger, workers: Int = 2, maxBatch: Int = 256) {
        self.store = store
        self.cache = cache
        self.logger = logger
        self.workers = max(1, workers)
        self.maxBatch = max(1, maxBatch)
    }

    func start() {
        for i in 0..<workers {
            running.add(1, ordering: .relaxed)
            let t = Thread { [self] in
                loop()
                running.subtract(1, ordering: .relaxed)
            }
            t.name = "sf-read-\(i)"
            t.start()
        }
    }

    /// Stops the workers after they answer what is queued.
    func stop() {
        let idle = queue.withLock { q -> Int in
            q.stopped = true
            return q.idle
        }
        for _ in 0..<max(idle, workers) { wake.signal() }
        let deadline = Date().addingTimeInterval(2)
        while running.load(ordering: .relaxed) > 0, Date() < deadline { usleep(1000) }
    }

    /// Queries run and requests answered so far (the ratio is the batch size).
    var statistics: (batches: Int, served: Int) {
        (batches.load(ordering: .relaxed), served.load(ordering: .relaxed))
    }

    /// The response for `id`, to be filled in by a worker.
    func read(_ id: UUID) -> Response {
        if let body = cache?.body(id) { return .json(body) }
        let pending = PendingResponse()
        let (signal, stopped) = queue.withLock { q -> (Bool, Bool) in
            if q.stopped { return (false, true) }
            q.items.append(Waiter(id: id, pending: pending))
            guard q.idle > 0 else { return (false, false) }
            q.idle -= 1
            return (true, false)
        }
        if stopped { return ProblemDetails(status: 503, detail: "the server is stopping").response }
        if signal { wake.signal() }
        return Response(body: .pending(pending))
    }

    private func loop() {
        var batch: [Waiter] = []
        batch.reserveCapacity(maxBatch)
        while true {
            let stop = queue.withLock { q -> Bool in
                let n = min(q.items.count, maxBatch)
                if n == 0 {
                    if q.stopped { return true }
                    q.idle += 1
                    return false
                }
                batch.append(contentsOf: q.items[..<n])
                q.items.removeFirst(n)
                return false
            }
            if stop { return }
            if batch.isEmpty {
                wake.wait()
                continue
            }
            answer(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }

    private func answer(_ batch: [Waiter]) {
        batches.add(1, ordering: .relaxed)
        served.add(batch.count, ordering: .relaxed)
        var ids = batch.map(\.id)
        // Duplicates (many clients polling one experiment) are read once.
        if ids.count > 1 { ids = Array(Set(ids)) }
        do {
            // Before the query: a change reported after this is newer than what it reads.
            let token = cache?.readToken()
            let records = try database { try store.get(ids) }
            var rendered: [UUID: [UInt8]] = [:]
            rendered.reserveCapacity(records.count)
            for r in records {
                let body = Array(ExperimentRoutes.render(r).utf8)
                rendered[r.id] = body
                if let token { cache?.keep(r.id, body, readSince: token) }
            }
            for w in batch {
                if let body = rendered[w.id] {
                    w.pending.fulfill(.json(body))
                } else {
                    w.pending.fulfill(APIError.notFound("experiment \(w.id.uuidString.lowercased())").response)
                }
            }
        } catch {
            let response: Response
            if let e = error as? any HTTPResponseError {
                response = e.response
            } else {
                logger.error("experiment read failed", metadata: ["error": "\(error)"])
                response = ProblemDetails(status: 500, detail: "internal error; the server log has the details").response
            }
            for w in batch { w.pending.fulfill(response) }
        }
    }
}
