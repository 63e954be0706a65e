import Dispatch
import Synchronization

/// In-process publish/subscribe for logs, events and progress.
///
/// `publish` never blocks on a subscriber: each subscription has its own
/// buffer. A bounded subscription (a live stream to a client) drops what does
/// not fit and counts the drops; a lossless one (the database writer) keeps
/// everything. Consumers either drain from a thread they own (`next`) or are
/// told, on the publisher's thread, when their buffer stops being empty
/// (`onAvailable`), which is how a suspended HTTP stream gets resumed.
public final class EventBus<Event: Sendable>: Sendable {
    private let subscriptions = Mutex<[Subscription<Event>]>([])
    private let published = Atomic<Int>(0)

    public init() {}

    /// Subscribes.
    /// - Parameters:
    ///   - capacity: the most events buffered before new ones are dropped;
    ///     `nil` (the default) never drops.
    ///   - filter: only events for which it returns true are delivered
    ///     (runs on the publisher's thread; keep it cheap).
    public func subscribe(capacity: Int? = nil, filter: (@Sendable (Event) -> Bool)? = nil) -> Subscription<Event> {
        let s = Subscription<Event>(capacity: capacity, filter: filter)
        subscriptions.withLock { $0.append(s) }
        return s
    }

    /// Removes a subscription; its buffered events are discarded.
    public func unsubscribe(_ s: Subscription<Event>) {
        s.close()
        subscriptions.withLock { list in list.removeAll { $0 === s } }
    }

    /// Delivers `event` to every subscription whose filter accepts it.
    public func publish(_ event: Event) {
        published.add(1, ordering: .relaxed)
        let list = subscriptions.withLock { $0 }
        for s in list { s.deliver(event) }
    }

    /// Delivers a batch in order (one lock round per subscription).
    public func publish(contentsOf events: [Event]) {
        guard !events.isEmpty else { return }
        published.add(events.count, ordering: .relaxed)
        let list = subscriptions.withLock { $0 }
        for s in list { s.deliver(contentsOf: events) }
    }

    /// Events published so far.
    public var publishedCount: Int { published.load(ordering: .relaxed) }

    /// Events dropped so far by every bounded subscription still subscribed.
    public var droppedCount: Int { subscriptions.withLock { $0 }.reduce(0) { $0 + $1.droppedCount } }

    public var subscriberCount: Int { subscriptions.withLock { $0.count } }
}

/// One subscriber's buffer.
public final class Subscription<Event: Sendable>: Sendable {
    private struct State {
        var buffer: [Event] = []
        var head = 0
        var dropped = 0
        var closed = false
        var onAvailable: (@Sendable () -> Void)?
    }

    public let capacity: Int?
    private let filter: (@Sendable (Event) -> Bool)?
    private let state = Mutex(State())
    private let signal = DispatchSemaphore(value: 0)

    init(capacity: Int?, filter: (@Sendable (Event) -> Bool)?) {
        self.capacity = capacity.map { max(1, $0) }
        self.filter = filter
    }

    func deliver(_ event: Event) {
        if let filter, !filter(event) { return }
        let (wake, callback) = state.withLock { s -> (Bool, (@Sendable () -> Void)?) in
            if s.closed { return (false, nil) }
            let pending = s.buffer.count - s.head
            if let capacity, pending >= capacity {
                s.dropped += 1
                return (false, nil)
            }
            s.buffer.append(event)
            return pending == 0 ? (true, s.onAvailable) : (false, nil)
        }
        if wake {
            signal.signal()
            callback?()
        }
    }

    func deliver(contentsOf events: [Event]) {
        let accepted = filter.map { f in events.filter(f) } ?? events
        guard !accepted.isEmpty else { return }
        let (wake, callback) = state.withLock { s -> (Bool, (@Sendable () -> Void)?) in
            if s.closed { return (false, nil) }
            let pending = s.buffer.count - s.head
            var room = accepted.count
            if let capacity { room = max(0, min(room, capacity - pending)) }
            s.dropped += accepted.count - room
            guard room > 0 else { return (false, nil) }
            s.buffer.append(contentsOf: accepted.prefix(room))
            return pending == 0 ? (true, s.onAvailable) : (false, nil)
        }
        if wake {
            signal.signal()
            callback?()
        }
    }

    /// Takes up to `max` buffered events without waiting.
    public func poll(max: Int = .max) -> [Event] {
        state.withLock { s in
            let n = Swift.min(max, s.buffer.count - s.head)
            guard n > 0 else { return [] }
            let out = Array(s.buffer[s.head..<(s.head + n)])
            s.head += n
            if s.head == s.buffer.count {
                s.buffer.removeAll(keepingCapacity: true)
                s.head = 0
            } else if s.head > 4096, s.head > s.buffer.count / 2 {
                // Compact only when most of the array is consumed: amortized O(1) per event.
                s.buffer.removeFirst(s.head)
                s.head = 0
            }
            return out
        }
    }

    /// Waits up to `timeout` for events, then takes up to `max` of them
    /// (empty when the wait timed out or the subscription was closed).
    /// Blocks the calling thread: call it from a thread you own.
    public func next(max: Int = .max, timeout: Duration) -> [Event] {
        let first = poll(max: max)
        if !first.isEmpty || isClosed { return first }
        let (s, a) = timeout.components
        let nanos = Double(s) * 1e9 + Double(a) / 1e9
        _ = signal.wait(timeout: .now() + .nanoseconds(Int(min(nanos, 9e17))))
        return poll(max: max)
    }

    /// Calls `handler` on the publishing thread each time the buffer goes
    /// from empty to non-empty (and once now if it already holds events).
    public func onAvailable(_ handler: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            s.onAvailable = handler
            return s.buffer.count > s.head
        }
        if now { handler() }
    }

    /// Events this subscription dropped because its buffer was full.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Events waiting to be taken.
    public var pendingCount: Int { state.withLock { $0.buffer.count - $0.head } }

    public var isClosed: Bool { state.withLock { $0.closed } }

    func close() {
        state.withLock { s in
            s.closed = true
            s.buffer = []
            s.head = 0
            s.onAvailable = nil
        }
        signal.signal()
    }
}
