public import Foundation
import Synchronization

/// Tells this process's readers that an `experiments` row changed, right
/// after the transaction that changed it committed.
///
/// The row cache of `GET /v1/experiments/{id}` learns of every change
/// through PostgreSQL (a trigger notifies `sf_experiments`, migration 12), but
/// a notification reaches the listener a little after the commit. The writers
/// of this process call ``committed(_:)`` as well, so that a client reading
/// right after its own request (or after an event it watched) never gets the
/// row as it was before a change made here. Observers must be cheap and never
/// block: they run on the writer's thread.
public enum ExperimentChanges {
    private static let observers = Mutex<[Int: @Sendable (UUID) -> Void]>([:])
    private static let nextToken = Atomic<Int>(0)

    /// Calls `observer` with the id of every row this process changes, until
    /// ``remove(_:)`` with the returned token.
    public static func observe(_ observer: @escaping @Sendable (UUID) -> Void) -> Int {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        observers.withLock { $0[token] = observer }
        return token
    }

    /// Stops calling the observer registered under `token`.
    public static func remove(_ token: Int) {
        _ = observers.withLock { $0.removeValue(forKey: token) }
    }

    /// Reports that the rows `ids` changed; call after the commit.
    public static func committed(_ ids: some Sequence<UUID>) {
        let all = observers.withLock { Array($0.values) }
        guard !all.isEmpty else { return }
        for id in ids { for o in all { o(id) } }
    }

    /// Reports that the row `id` changed; call after the commit.
    public static func committed(_ id: UUID) { committed(CollectionOfOne(id)) }
}
