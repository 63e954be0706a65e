import Dispatch
import Synchronization

/// Where a running stage's workers park when its experiment is paused, and
/// learn that it was cancelled. The runner's thread is the first worker; a
/// stage that runs work on threads of its own (forecast's models) enrolls each
/// with ``join()`` and leaves with ``Worker/leave()``. Every worker calls its
/// checkpoint between chunks of work; any thread may call `requestPause`,
/// `resume` and `cancel`.
///
/// - Parked: the gate counts as parked (``isParked``; `onParked` runs) only
///   once every enrolled worker is parked, so "paused" never shows while a
///   worker still computes.
/// - Suspended time: ``suspendedTime`` adds up the time the gate was parked
///   and the time spent inside ``suspend(_:)`` (e.g. waiting for PostgreSQL),
///   so stage durations and forecast timeouts can leave it out.
public final class PauseGate: Sendable {
    public enum Request: Sendable, Equatable { case run, pause, cancel }

    private struct State {
        var request: Request = .run
        /// Enrolled workers: the runner's thread, plus each `join()`.
        var workers = 1
        /// Workers parked at a checkpoint (awake or not yet rewoken).
        var parked = 0
        /// Workers blocked on `wake` that no signal has been sent for yet.
        var waiting = 0
        var notified = false
        var onParked: (@Sendable () -> Void)?
        var suspendDepth = 0
        var suspendedSince: ContinuousClock.Instant?
        var suspended = Duration.zero

        var allParked: Bool { request == .pause && parked >= workers }

        /// Starts or ends a suspended interval after a change.
        mutating func account(_ now: ContinuousClock.Instant) {
            let isSuspended = allParked || suspendDepth > 0
            if isSuspended, suspendedSince == nil {
                suspendedSince = now
            } else if !isSuspended, let since = suspendedSince {
                suspended += now - since
                suspendedSince = nil
            }
        }

        /// The `onParked` callback, once, when the last worker has parked.
        mutating func parkedNotification() -> (@Sendable () -> Void)? {
            guard allParked, !notified else { return nil }
            notified = true
            return onParked
        }

        /// How many blocked workers to wake (all of them), and forgets them.
        mutating func takeWaiters() -> Int {
            defer { waiting = 0 }
            return waiting
        }
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    /// Read on every checkpoint without taking the lock.
    private let flag = Atomic<Int>(0)
    private let clock = ContinuousClock()

    public init() {}

    /// Ask the workers to park at their next checkpoint; `onParked` runs on
    /// the thread of the last worker to park, once all have.
    public func requestPause(onParked: @escaping @Sendable () -> Void) {
        let now = clock.now
        let notify = state.withLock { s -> (@Sendable () -> Void)? in
            guard s.request == .run else { return nil }
            s.request = .pause
            s.notified = false
            s.onParked = onParked
            s.account(now)
            // Workers still parked from a pause just resumed count at once.
            return s.parkedNotification()
        }
        flag.store(1, ordering: .releasing)
        notify?()
    }

    /// Let parked (or about to park) workers continue.
    public func resume() {
        let now = clock.now
        let waiters = state.withLock { s -> Int in
            guard s.request == .pause else { return 0 }
            s.request = .run
            s.onParked = nil
            s.account(now)
            return s.takeWaiters()
        }
        flag.store(0, ordering: .releasing)
        for _ in 0..<waiters { wake.signal() }
    }

    /// Make every worker's next (or current, if parked) checkpoint throw `StageCancelled`.
    public func cancel() {
        let now = clock.now
        let waiters = state.withLock { s -> Int in
            s.request = .cancel
            s.account(now)
            return s.takeWaiters()
        }
        flag.store(2, ordering: .releasing)
        for _ in 0..<waiters { wake.signal() }
    }

    public var request: Request { state.withLock { $0.request } }
    /// True while a pause is requested and every enrolled worker is parked.
    public var isParked: Bool { state.withLock { $0.allParked } }
    /// How many workers are enrolled (1 when only the runner's thread is).
    public var workerCount: Int { state.withLock { $0.workers } }

    /// The time so far during which every worker was parked, or some thread
    /// was inside ``suspend(_:)``: time that counts toward neither stage
    /// durations nor forecast timeouts. Never decreases.
    public var suspendedTime: Duration {
        let now = clock.now
        return state.withLock { s in s.suspended + (s.suspendedSince.map { now - $0 } ?? .zero) }
    }

    /// Runs `body` (a wait that is not work, e.g. retrying an unreachable
    /// PostgreSQL) with its time counted in ``suspendedTime``.
    public func suspend<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        state.withLock { s in
            s.suspendDepth += 1
            s.account(clock.now)
        }
        defer {
            state.withLock { s in
                s.suspendDepth -= 1
                s.account(clock.now)
            }
        }
        return try body()
    }

    /// Enrolls one more worker (e.g. a model's thread): from now on the gate
    /// is parked only once it parks too. Call ``Worker/leave()`` when it ends.
    public func join() -> Worker {
        state.withLock { s in s.workers += 1 }
        return Worker(gate: self)
    }

    /// A worker thread enrolled with ``PauseGate/join()``.
    public final class Worker: Sendable {
        let gate: PauseGate
        private let left = Atomic<Bool>(false)

        init(gate: PauseGate) { self.gate = gate }

        /// Returns at once while running (or after ``leave()``); parks while
        /// paused; throws when cancelled.
        public func checkpoint() throws(StageCancelled) {
            if left.load(ordering: .acquiring) {
                if gate.request == .cancel { throw StageCancelled() }
                return
            }
            try gate.checkpoint()
        }

        /// Withdraws the worker (it finished or stopped); a pause waiting only
        /// for it completes now. Calling it again does nothing.
        public func leave() {
            guard !left.exchange(true, ordering: .acquiringAndReleasing) else { return }
            gate.leave()
        }
    }

    private func leave() {
        let now = clock.now
        let notify = state.withLock { s -> (@Sendable () -> Void)? in
            s.workers -= 1
            s.account(now)
            return s.parkedNotification()
        }
        notify?()
    }

    /// Returns at once while running; parks while paused; throws when cancelled.
    /// - Throws: `StageCancelled`.
    public func checkpoint() throws(StageCancelled) {
        if flag.load(ordering: .acquiring) == 0 { return }
        let now = clock.now
        let (request, notify) = state.withLock { s -> (Request, (@Sendable () -> Void)?) in
            guard s.request == .pause else { return (s.request, nil) }
            s.parked += 1
            s.account(now)
            return (.pause, s.parkedNotification())
        }
        switch request {
        case .run: return
        case .cancel: throw StageCancelled()
        case .pause: break
        }
        notify?()
        while true {
            let blocked = state.withLock { s -> Bool in
                guard s.request == .pause else {
                    s.parked -= 1
                    return false
                }
                s.waiting += 1
                return true
            }
            if !blocked { break }
            wake.wait()
        }
        let outcome = state.withLock { $0.request }
        if outcome == .cancel { throw StageCancelled() }
    }
}

/// Thrown by `checkpoint()` once the experiment is cancelled.
public struct StageCancelled: Error, Equatable, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled" }
}
