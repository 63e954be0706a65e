import Synchronization
import Dispatch

/// Where a running stage parks when its experiment is paused, and learns that
/// it was cancelled. The runner's thread calls `checkpoint()` between chunks
/// of work; any thread may call `requestPause`, `resume` and `cancel`.
public final class PauseGate: Sendable {
    public enum Request: Sendable, Equatable { case run, pause, cancel }

    private struct State {
        var request: Request = .run
        var parked = false
        var onParked: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    /// Read on every checkpoint without taking the lock.
    private let flag = Atomic<Int>(0)

    public init() {}

    /// Ask the runner to park at its next checkpoint; `onParked` runs on the
    /// runner's thread once it has.
    public func requestPause(onParked: @escaping @Sendable () -> Void) {
        state.withLock { s in
            guard s.request == .run else { return }
            s.request = .pause
            s.onParked = onParked
        }
        flag.store(1, ordering: .releasing)
    }

    /// Let a parked (or about to park) runner continue.
    public func resume() {
        let wasParked = state.withLock { s -> Bool in
            guard s.request == .pause else { return false }
            s.request = .run
            s.onParked = nil
            return s.parked
        }
        flag.store(0, ordering: .releasing)
        if wasParked { wake.signal() }
    }

    /// Make the next (or current, if parked) checkpoint throw `StageCancelled`.
    public func cancel() {
        let wasParked = state.withLock { s -> Bool in
            s.request = .cancel
            return s.parked
        }
        flag.store(2, ordering: .releasing)
        if wasParked { wake.signal() }
    }

    public var request: Request { state.withLock { $0.request } }
    public var isParked: Bool { state.withLock { $0.parked } }

    /// Returns at once while running; parks while paused; throws when cancelled.
    /// - Throws: `StageCancelled`.
    public func checkpoint() throws(StageCancelled) {
        if flag.load(ordering: .acquiring) == 0 { return }
        while true {
            let (request, notify) = state.withLock { s -> (Request, (@Sendable () -> Void)?) in
                switch s.request {
                case .run:
                    return (.run, nil)
                case .cancel:
                    s.parked = false
                    return (.cancel, nil)
                case .pause:
                    let first = !s.parked
                    s.parked = true
                    let n = first ? s.onParked : nil
                    return (.pause, n)
                }
            }
            switch request {
            case .run:
                state.withLock { $0.parked = false }
                return
            case .cancel:
                throw StageCancelled()
            case .pause:
                notify?()
                wake.wait()
            }
        }
    }
}

/// Thrown by `checkpoint()` once the experiment is cancelled.
public struct StageCancelled: Error, Equatable, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled" }
}
